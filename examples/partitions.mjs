// Keyed records in order — Kafka's partitions, the NATS way: a subject mapping picks a record's
// partition from its key, a JetStream stream keeps every partition, one durable consumer per
// partition delivers it in order, and the members of a group each own some partitions.
//
//   gnat -js -c examples/partitions.conf          # in one terminal (nats-server -js -c … works too)
//   node examples/partitions.mjs                  # in another (NATS_URL=nats://host:port to point elsewhere)
//
// - Topic: the stream ORDERS on orders.*.* (partition.key). Producers publish on orders.<key>;
//   the server's mapping "orders.*" → "orders.{{partition(4,1)}}.{{wildcard(1)}}" stores the record
//   on orders.<0-3>.<key>: the same key, the same partition, always.
// - Partition: a durable pull consumer per partition (orders-p0 … orders-p3, filter orders.<p>.*);
//   its stream sequence is the offset, its ack floor the group's committed offset.
// - Group member: owns partitions (partition p → member p mod n), reads each one record at a
//   time and acks it before the next, so one key's records are handled in order, by one member.
// - Rebalance: a member that leaves acks what it handled and stops; its partitions go to the
//   others, who carry on from the partition's ack floor (no record lost, none handled twice).
//
// The functions are exported so that test/examples/ runs them against an in-process gnat.

import { connect } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { pathToFileURL } from "node:url";

export const STREAM = "ORDERS";
export const PARTITIONS = 4;

/**
 * The topic and one consumer per partition (afresh: a stream of the same name is deleted first).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 */
export async function createTopic(nc) {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => false);
  await jsm.streams.add({ name: STREAM, subjects: ["orders.*.*"] });
  for (let p = 0; p < PARTITIONS; p++) {
    await jsm.consumers.add(STREAM, {
      durable_name: `orders-p${p}`, filter_subject: `orders.${p}.*`,
      ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 1,
    });
  }
}

/**
 * Publish records with keys, in order; each is stored once the stream acks it. Returns the
 * partition each key landed in (from the stored subject).
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {Array<{ key: string, value: string }>} records
 */
export async function produce(nc, records) {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const partitionOf = new Map();
  for (const r of records) {
    const ack = await js.publish(`orders.${r.key}`, r.value);
    if (!partitionOf.has(r.key)) {
      const m = await jsm.streams.getMessage(STREAM, { seq: ack.seq });
      partitionOf.set(r.key, Number(m.subject.split(".")[1]));
    }
  }
  return partitionOf;
}

/**
 * A member of the group: reads the partitions it owns, one record at a time per partition, and
 * calls `onRecord` for each before acking it. Returns `stop()`, which resolves once the member
 * has acked what it handled and stopped.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 * @param {number[]} partitions
 * @param {(record: { partition: number, offset: number, key: string, value: string }) => void | Promise<void>} onRecord
 */
export async function startMember(nc, partitions, onRecord) {
  const js = jetstream(nc);
  let running = true;
  const loops = partitions.map(async (p) => {
    const consumer = await js.consumers.get(STREAM, `orders-p${p}`);
    while (running) {
      const m = await consumer.next({ expires: 1000 });
      if (m === null) continue;
      if (!running) {
        m.nak();
        break;
      }
      await onRecord({ partition: p, offset: m.seq, key: m.subject.split(".")[2], value: m.string() });
      await m.ackAck();
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

/** Partition p → member p mod n. */
export function assign(members) {
  const out = Array.from({ length: members }, () => []);
  for (let p = 0; p < PARTITIONS; p++) out[p % members].push(p);
  return out;
}

/**
 * Until every partition's consumer has nothing pending or unacked.
 * @param {import("@nats-io/transport-node").NatsConnection} nc
 */
export async function drained(nc, timeoutMs = 30_000) {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let left = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const ci = await jsm.consumers.info(STREAM, `orders-p${p}`);
      left += ci.num_pending + ci.num_ack_pending;
    }
    if (left === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What each key's records came to: in order, at one member only? (Over a rebalance a key moves
 * with its partition, so "one member at a time": its records never overlap between members.)
 * @param {Array<{ member: string, key: string, value: string }>} log in the order handled
 */
export function check(log, records) {
  const problems = [];
  const byKey = new Map();
  for (const r of log) {
    if (!byKey.has(r.key)) byKey.set(r.key, []);
    byKey.get(r.key).push(r);
  }
  for (const key of new Set(records.map((r) => r.key))) {
    const want = records.filter((r) => r.key === key).map((r) => r.value);
    const got = (byKey.get(key) ?? []).map((r) => r.value);
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${key}: got ${got.join(",")} want ${want.join(",")}`);
  }
  return problems;
}

async function main() {
  const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const conns = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: url })));
  const admin = conns[0];
  await createTopic(admin);
  const keys = Array.from({ length: 8 }, (_, i) => `customer-${i}`);
  const records = [];
  for (let n = 0; n < 10; n++) for (const key of keys) records.push({ key, value: `${key}#${n}` });

  const log = [];
  const members = ["member-1", "member-2", "member-3"];
  let owned = assign(3);
  const stops = new Map();
  for (const [i, name] of members.entries()) {
    stops.set(name, await startMember(conns[i + 1], owned[i], (r) => { log.push({ member: name, ...r }); }));
  }
  // Half the records, then member-3 leaves and its partitions are handed over, then the rest.
  const partitionOf = await produce(admin, records.slice(0, records.length / 2));
  await drained(admin);
  await stops.get("member-3")();
  owned = assign(2);
  for (const [i, name] of members.slice(0, 2).entries()) {
    await stops.get(name)();
    stops.set(name, await startMember(conns[i + 1], owned[i], (r) => { log.push({ member: name, ...r }); }));
  }
  for (const [k, p] of await produce(admin, records.slice(records.length / 2))) partitionOf.set(k, p);
  const done = await drained(admin);
  for (const name of members.slice(0, 2)) await stops.get(name)();

  for (const key of keys) {
    const who = [...new Set(log.filter((r) => r.key === key).map((r) => r.member))];
    console.log(`[${key}] partition ${partitionOf.get(key)}, ${log.filter((r) => r.key === key).length} records in order, handled by ${who.join(" then ")}`);
  }
  const problems = check(log, records);
  console.log(problems.length === 0 && done ? `done: ${log.length} records, every key in order, each record once` : `PROBLEMS: ${problems.join("; ")}`);
  for (const c of conns) await c.close();
  if (problems.length > 0 || !done) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
