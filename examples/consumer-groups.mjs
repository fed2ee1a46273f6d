// Consumer groups on JetStream — Kafka's topic / consumer-group example, the NATS way, with the
// official clients (@nats-io/transport-node, @nats-io/jetstream).
//
//   npm start                                    # gnat with JetStream, in one terminal
//   node examples/consumer-groups.mjs            # in another (NATS_URL=nats://host:port to point elsewhere)
//
// - The topic "my-topic" is a stream (limits retention: messages stay, whoever reads them).
// - A consumer group is a durable pull consumer: "group-a" and "group-b". The members of a group
//   pull from the same durable, so they share its messages; each group sees every message once,
//   and keeps its place (its ack floor is the group's committed offset) when members come and go.
// - A group created later can start where it likes: from an offset (deliver_policy
//   by_start_sequence, Kafka's seek) or from a time (by_start_time, Kafka's offsetsForTimes).
//
// The functions are exported so that test/examples/ runs them against an in-process gnat.

import { connect } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pathToFileURL } from "node:url";

export const TOPIC = "my-topic";

/**
 * Create the topic (afresh: a stream of the same name is deleted first).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 */
export async function createTopic(nc) {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(TOPIC).catch(() => false);
  await jsm.streams.add({ name: TOPIC, subjects: [TOPIC] });
}

/**
 * Publish records; each is stored once the stream acks it. Returns their offsets (sequences).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {string[]} records
 */
export async function produce(nc, records) {
  const js = jetstream(nc);
  const offsets = [];
  for (const r of records) offsets.push((await js.publish(TOPIC, r)).seq);
  return offsets;
}

/**
 * A consumer group: a durable consumer, from the start of the topic unless told otherwise.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {string} group
 * @param {{ fromOffset?: number, fromTime?: Date }} [from]
 */
export async function createGroup(nc, group, from = {}) {
  const jsm = await jetstreamManager(nc);
  const start = from.fromOffset !== undefined
    ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.fromOffset }
    : from.fromTime !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.fromTime.toISOString() }
      : { deliver_policy: DeliverPolicy.All };
  await jsm.consumers.add(TOPIC, { durable_name: group, ack_policy: AckPolicy.Explicit, ...start });
}

/**
 * A member of a group: fetches the group's messages in small batches and acks each after
 * `onRecord`. Returns `stop()`, which resolves once the member has stopped; records it had
 * fetched but not handled are NAKed, so the group's other members get them at once (rather than
 * after ack_wait, as when a member dies).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {string} group
 * @param {(record: { offset: number, value: string }) => void | Promise<void>} onRecord
 */
export async function startMember(nc, group, onRecord) {
  const consumer = await jetstream(nc).consumers.get(TOPIC, group);
  let running = true;
  const done = (async () => {
    while (running) {
      const batch = await consumer.fetch({ max_messages: 10, expires: 1000 });
      for await (const m of batch) {
        if (!running) {
          m.nak();
          continue;
        }
        await onRecord({ offset: m.seq, value: m.string() });
        await m.ackAck();
      }
    }
  })();
  return async () => {
    running = false;
    await done;
  };
}

/**
 * Run members of a group until the group has nothing left to deliver; what each member saw.
 * @param {import("@nats-io/transport-node").NatsConnection[]} conns one connection per member
 * @param {string} group
 * @returns {Promise<Map<string, Array<{ offset: number, value: string }>>>}
 */
export async function drainGroup(conns, group, timeoutMs = 30_000) {
  const seen = new Map();
  const stops = [];
  for (const [i, nc] of conns.entries()) {
    const name = `${group}/member-${i + 1}`;
    seen.set(name, []);
    stops.push(await startMember(nc, group, (r) => { seen.get(name).push(r); }));
  }
  const jsm = await jetstreamManager(conns[0]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ci = await jsm.consumers.info(TOPIC, group);
    if ((ci.num_pending === 0 && ci.num_ack_pending === 0) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(stops.map((s) => s()));
  return seen;
}

async function main() {
  const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const conns = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: url })));
  const admin = conns[0];
  const members = conns.slice(1, 3);
  const summary = (seen) => [...seen].map(([m, rs]) => `${m}: ${rs.length}`).join(", ");
  const offsetsOf = (seen) => [...seen.values()].flat().map((r) => r.offset).sort((a, b) => a - b);

  await createTopic(admin);
  const first = await produce(admin, Array.from({ length: 50 }, (_, i) => `record-${i}`));
  await new Promise((r) => setTimeout(r, 20));
  const middle = new Date();
  await new Promise((r) => setTimeout(r, 20));
  const second = await produce(admin, Array.from({ length: 50 }, (_, i) => `record-${50 + i}`));
  console.log(`[producer] ${first.length + second.length} records at offsets ${first[0]}..${second.at(-1)}`);

  let ok = true;
  for (const group of ["group-a", "group-b"]) {
    await createGroup(admin, group);
    const seen = await drainGroup(members, group);
    const got = offsetsOf(seen);
    console.log(`[${group}] ${got.length} records (${summary(seen)})`);
    ok &&= got.length === 100 && new Set(got).size === 100;
  }
  await createGroup(admin, "replay-from-offset", { fromOffset: 90 });
  const fromOffset = offsetsOf(await drainGroup(members, "replay-from-offset"));
  console.log(`[replay-from-offset] offsets ${fromOffset[0]}..${fromOffset.at(-1)} (${fromOffset.length} records)`);
  await createGroup(admin, "replay-from-time", { fromTime: middle });
  const fromTime = offsetsOf(await drainGroup(members, "replay-from-time"));
  console.log(`[replay-from-time] offsets ${fromTime[0]}..${fromTime.at(-1)} (${fromTime.length} records, sent after ${middle.toISOString()})`);
  ok &&= fromOffset.length === 11 && fromTime.length === 50 && fromTime[0] === second[0];

  for (const c of conns) await c.close();
  if (!ok) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
