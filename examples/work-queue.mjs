// A durable work queue on JetStream — RabbitMQ's "Hello World" and "Work Queues" tutorials, the
// NATS way, with the official clients (@nats-io/transport-node, @nats-io/jetstream).
//
//   npm start                                  # gnat with JetStream, in one terminal
//   node examples/work-queue.mjs               # in another (NATS_URL=nats://host:port to point elsewhere)
//
// - TASKS is a work-queue stream: a task is stored until a worker acknowledges it, then removed.
// - One durable pull consumer, "workers", is shared by every worker: each task goes to one of them,
//   and a worker only asks for the next task when it is free (fair dispatch, like prefetch=1).
// - A worker that dies while holding a task never acks it: after ack_wait the server gives the
//   task to another worker.
// - A task that fails max_deliver times is given up on: the server publishes a MAX_DELIVERIES
//   advisory, and the dead-letter handler copies the task (found by its stream sequence) into the
//   TASKS_DLQ stream and removes it from TASKS.
//
// The functions are exported so that test/examples/ runs them against an in-process gnat.

import { connect, headers } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { pathToFileURL } from "node:url";

export const STREAM = "TASKS";
export const SUBJECT = "tasks.new";
export const CONSUMER = "workers";
export const DLQ = "TASKS_DLQ";
export const DLQ_SUBJECT = "dlq.tasks";
const MAX_DELIVERIES_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAM}.${CONSUMER}`;

/**
 * Create the work queue, its dead-letter stream and the shared consumer. The demo starts afresh:
 * streams of the same names are deleted first.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {{ ackWaitMs?: number, maxDeliver?: number }} [opts]
 */
export async function setup(nc, { ackWaitMs = 2000, maxDeliver = 3 } = {}) {
  const jsm = await jetstreamManager(nc);
  for (const name of [STREAM, DLQ]) await jsm.streams.delete(name).catch(() => false);
  await jsm.streams.add({ name: STREAM, subjects: ["tasks.>"], retention: RetentionPolicy.Workqueue });
  await jsm.streams.add({ name: DLQ, subjects: [DLQ_SUBJECT] });
  await jsm.consumers.add(STREAM, {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ackWaitMs * 1_000_000, // nanoseconds
    max_deliver: maxDeliver,
  });
}

/**
 * The producer: "Hello World!", then the tasks (each acknowledged by the stream: it is stored).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {string[]} tasks
 */
export async function produce(nc, tasks) {
  const js = jetstream(nc);
  for (const t of ["Hello World!", ...tasks]) await js.publish(SUBJECT, t);
}

/**
 * A worker: takes one task at a time from the shared consumer, runs `work` on it and acks it; if
 * `work` throws, the task is NAKed and comes back (to any worker) until max_deliver is reached.
 * Returns `stop()`, which resolves once the worker has finished its current task.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {(task: string, info: { seq: number, deliveries: number }) => Promise<void>} work
 */
export async function startWorker(nc, work) {
  const consumer = await jetstream(nc).consumers.get(STREAM, CONSUMER);
  let running = true;
  const loop = (async () => {
    while (running && !nc.isClosed()) {
      let m;
      try {
        m = await consumer.next({ expires: 1000 });
      } catch {
        if (nc.isClosed()) break; // the worker's connection is gone: so is the worker
        continue;
      }
      if (m === null) continue;
      try {
        await work(m.string(), { seq: m.seq, deliveries: m.info.deliveryCount });
        await m.ackAck();
      } catch {
        if (!nc.isClosed()) m.nak();
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/**
 * The dead-letter handler: on each MAX_DELIVERIES advisory, copy the task into TASKS_DLQ (with
 * where it came from in headers; Nats-Msg-Id makes a repeated advisory harmless) and remove it
 * from the work queue, where nothing would take it any more.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {(task: string, seq: number) => void} [onDead]
 */
export async function startDeadLetters(nc, onDead = () => {}) {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const sub = nc.subscribe(MAX_DELIVERIES_ADVISORY);
  const done = (async () => {
    for await (const adv of sub) {
      const { stream_seq: seq, deliveries } = adv.json();
      const original = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
      if (original === null) continue;
      const h = headers();
      h.set("Nats-Msg-Id", `${STREAM}-${seq}`);
      h.set("Dlq-Stream", STREAM);
      h.set("Dlq-Subject", original.subject);
      h.set("Dlq-Sequence", String(seq));
      h.set("Dlq-Deliveries", String(deliveries));
      await js.publish(DLQ_SUBJECT, original.data, { headers: h });
      await jsm.streams.deleteMessage(STREAM, seq, false).catch(() => false);
      onDead(original.string(), seq);
    }
  })();
  await nc.flush(); // the subscription is in place before anything can fail
  return async () => {
    sub.unsubscribe();
    await done;
  };
}

/** The tasks in the dead-letter stream. @param {import("@nats-io/transport-node").NatsConnection} nc */
export async function deadLetters(nc) {
  const jsm = await jetstreamManager(nc);
  const n = (await jsm.streams.info(DLQ)).state.messages;
  const out = [];
  for (let seq = 1, found = 0; found < n; seq++) {
    const m = await jsm.streams.getMessage(DLQ, { seq }).catch(() => null);
    if (m === null) continue;
    found++;
    out.push({ task: m.string(), from: Number(m.header.get("Dlq-Sequence")), deliveries: Number(m.header.get("Dlq-Deliveries")) });
  }
  return out;
}

/** RabbitMQ's fake work: a second per dot in the task ("task..." takes 3), shortened here. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pretend = (task) => sleep(100 * (task.split(".").length - 1));

async function main() {
  const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const conns = [];
  const open = async () => {
    const c = await connect({ servers: url });
    conns.push(c);
    return c;
  };
  const admin = await open();
  await setup(admin, { ackWaitMs: 2000, maxDeliver: 3 });
  const stopDlq = await startDeadLetters(admin, (task, seq) => console.log(`[dlq] task #${seq} "${task}" moved to ${DLQ}`));

  // A worker that takes one task and dies (its connection closes) before acking it.
  const doomed = await open();
  const stopDoomed = await startWorker(doomed, async (task, { seq }) => {
    console.log(`[doomed] took #${seq} "${task}" and crashes without acking`);
    await doomed.close();
    throw new Error("crashed");
  });

  const tasks = ["First task.", "Second task..", "Third task.", "Fourth task....", "Fifth task..", "poison"];
  await produce(admin, tasks);
  console.log(`[producer] sent "Hello World!" and ${tasks.length} tasks`);
  await sleep(200); // let the doomed worker take its task first

  const done = new Map();
  const stops = [];
  for (const name of ["worker-1", "worker-2", "worker-3"]) {
    const nc = await open();
    stops.push(await startWorker(nc, async (task, { seq, deliveries }) => {
      if (task === "poison") {
        console.log(`[${name}] #${seq} "${task}" fails (delivery ${deliveries})`);
        throw new Error("cannot process");
      }
      await pretend(task);
      done.set(seq, name);
      console.log(`[${name}] #${seq} "${task}" done${deliveries > 1 ? ` (delivery ${deliveries})` : ""}`);
    }));
  }

  const jsm = await jetstreamManager(admin);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const [left, dead] = await Promise.all([jsm.streams.info(STREAM), jsm.streams.info(DLQ)]);
    if (left.state.messages === 0 && dead.state.messages === 1) break;
    await sleep(200);
  }
  await Promise.all([stopDoomed(), ...stops.map((s) => s())]);
  await stopDlq();
  const left = (await jsm.streams.info(STREAM)).state.messages;
  console.log(`done: ${done.size} tasks completed, ${(await deadLetters(admin)).length} in ${DLQ}, ${left} left in ${STREAM}`);
  for (const c of conns) if (!c.isClosed()) await c.close();
  const expected = tasks.filter((t) => t !== "poison").length + 1; // and "Hello World!"
  if (done.size !== expected || left !== 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
