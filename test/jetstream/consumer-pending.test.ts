// A consumer keeps its num_pending itself (counted once, then kept up as it delivers and as
// messages are stored and leave) instead of asking the store on every delivery. These tests
// drive consumers through stores, deliveries, deletes, purges and limits, and after every step
// compare each one's num_pending with a fresh count: a new consumer of the same filters starting
// where the old one is (by_start_sequence at its delivered stream_seq + 1), which counts from
// the store. Seeded, so a failing run is repeatable.
import { AckPolicy, DeliverPolicy, jetstream, type JetStreamClient, type JetStreamManager, type ConsumerConfig } from "@nats-io/jetstream";
import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { describe, expect, test } from "vitest";
import { jetStreamSuite } from "./helpers.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
jetStreamSuite("gnat-jspending-", (t) => {
  ({ nc, jsm } = t); js = jetstream(t.nc);
});

const FILTERS: Record<string, Partial<ConsumerConfig>> = {
  all: {},
  wildcard: { filter_subject: "a.*" },
  literal: { filter_subject: "a.3" },
  multi: { filter_subjects: ["a.1", "b.>"] },
};

let probe = 0;
/** num_pending of a new consumer of these filters starting at seq: the store's own count. */
async function freshCount(stream: string, filters: Partial<ConsumerConfig>, seq: number): Promise<number> {
  const name = `probe${probe++}`;
  const ci = await jsm.consumers.add(stream, {
    name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, seq), ...filters,
  });
  await jsm.consumers.delete(stream, name);
  return ci.num_pending;
}

async function checkAll(stream: string, step: string): Promise<void> {
  for (const [name, filters] of Object.entries(FILTERS)) {
    const info = await jsm.consumers.info(stream, name);
    const want = await freshCount(stream, filters, info.delivered.stream_seq + 1);
    expect(info.num_pending, `${name} after ${step}`).toBe(want);
  }
}

/** Fetch up to n messages from consumer `name` (never more than it has pending); ack about half. */
async function take(stream: string, name: string, n: number, rand: () => number): Promise<number> {
  const pending = (await jsm.consumers.info(stream, name)).num_pending;
  const want = Math.min(n, pending);
  if (want === 0) return 0;
  const c = await js.consumers.get(stream, name);
  let got = 0;
  const it = await c.fetch({ max_messages: want, expires: 5000 });
  for await (const m of it) {
    got++;
    // The pending count each delivery carries is the one kept: never negative, never above what was pending.
    expect(m.info.pending).toBeGreaterThanOrEqual(0);
    expect(m.info.pending).toBeLessThan(pending);
    if (rand() < 0.5) m.ack();
  }
  return got;
}

const SUBJECTS = ["a.0", "a.1", "a.2", "a.3", "a.4", "b.x", "b.y.z"];

async function randomRun(storage: "file" | "memory", seed: number, limits: Record<string, number>): Promise<void> {
  const rand = rng(seed);
  const stream = `PEND_${storage}_${seed}`;
  await jsm.streams.add({ name: stream, subjects: ["a.*", "b.>"], storage: storage as never, ...limits });
  for (const [name, filters] of Object.entries(FILTERS)) {
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, ...filters });
  }
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let step = 0; step < 40; step++) {
    const op = rand();
    let what: string;
    if (op < 0.35) {
      const n = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < n; i++) await js.publish(pick(SUBJECTS), `m${step}.${i}`);
      what = `publish ${n}`;
    } else if (op < 0.6) {
      const name = pick(Object.keys(FILTERS));
      const n = await take(stream, name, 1 + Math.floor(rand() * 10), rand);
      what = `${name} took ${n}`;
    } else if (op < 0.75) {
      const st = (await jsm.streams.info(stream)).state;
      const seq = st.first_seq + Math.floor(rand() * Math.max(1, st.last_seq - st.first_seq + 1));
      const ok = await jsm.streams.deleteMessage(stream, seq, rand() < 0.5).catch(() => false);
      what = `delete ${seq} (${String(ok)})`;
    } else if (op < 0.85) {
      const f = pick(["a.3", "b.>", "a.*"]);
      const keep = rand() < 0.5 ? Math.floor(rand() * 4) : 0;
      await jsm.streams.purge(stream, keep > 0 ? { filter: f, keep } : { filter: f });
      what = `purge ${f} keep ${keep}`;
    } else if (op < 0.93) {
      const st = (await jsm.streams.info(stream)).state;
      const seq = st.first_seq + Math.floor(rand() * 8);
      await jsm.streams.purge(stream, { seq });
      what = `purge below ${seq}`;
    } else {
      await jsm.streams.purge(stream);
      what = "purge all";
    }
    await checkAll(stream, `step ${step}: ${what}`);
  }
}

describe("a consumer's own num_pending", () => {
  for (const storage of ["file", "memory"] as const) {
    test(`${storage}: equals a fresh count after stores, deliveries, deletes and purges (seed 11)`, async () => {
      await randomRun(storage, 11, {});
    }, 120_000);

    test(`${storage}: equals a fresh count while max_msgs and max_msgs_per_subject remove messages (seed 12)`, async () => {
      await randomRun(storage, 12, { max_msgs: 40, max_msgs_per_subject: 6 });
    }, 120_000);
  }

  test("counts down to 0 as a wildcard consumer delivers across many subjects, each ack subject carrying the count", async () => {
    await jsm.streams.add({ name: "MANY", subjects: ["m.>"] });
    const N = 2000;
    for (let i = 0; i < N; i++) nc.publish(`m.${i % 500}`, "x");
    await nc.flush();
    for (let t = 0; (await jsm.streams.info("MANY")).state.messages < N; t++) {
      if (t > 200) throw new Error("stream did not fill");
      await new Promise((r) => setTimeout(r, 25));
    }
    await jsm.consumers.add("MANY", { durable_name: "w", ack_policy: AckPolicy.None, filter_subject: "m.*" });
    const c = await js.consumers.get("MANY", "w");
    const seen: number[] = [];
    while (seen.length < N) {
      const it = await c.fetch({ max_messages: 500, expires: 5000 });
      for await (const m of it) seen.push(m.info.pending);
    }
    // The i-th delivery leaves N - i - 1 behind it.
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => N - i - 1));
    expect((await jsm.consumers.info("MANY", "w")).num_pending).toBe(0);
    // Stored after it caught up: counted when next asked.
    for (let i = 0; i < 7; i++) nc.publish(`m.${i}`, "y");
    nc.publish("m.x.deeper", "not for m.*");
    await nc.flush();
    await expect.poll(async () => (await jsm.streams.info("MANY")).state.messages, { timeout: 10_000 }).toBe(N + 8);
    expect((await jsm.consumers.info("MANY", "w")).num_pending).toBe(7);
  }, 120_000);

  test("a message put back (too large for the pull's max_bytes) is pending again", async () => {
    await jsm.streams.add({ name: "BACK", subjects: ["k.*"] });
    for (let i = 0; i < 5; i++) await js.publish(`k.${i}`, "x".repeat(100));
    await jsm.consumers.add("BACK", { durable_name: "c", ack_policy: AckPolicy.Explicit, filter_subject: "k.*" });
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 1 });
    nc.publish("$JS.API.CONSUMER.MSG.NEXT.BACK.c", JSON.stringify({ batch: 1, max_bytes: 20 }), { reply: inbox });
    for await (const m of sub) expect(m.headers?.code).toBe(409);
    const info = await jsm.consumers.info("BACK", "c");
    expect(info.delivered.stream_seq).toBe(0);
    expect(info.num_pending).toBe(5);
    expect(await take("BACK", "c", 2, () => 0)).toBe(2);
    expect((await jsm.consumers.info("BACK", "c")).num_pending).toBe(3);
  }, 60_000);

  test("work-queue acks remove delivered messages without touching what is still pending", async () => {
    await jsm.streams.add({ name: "WQ", subjects: ["w.*"], retention: "workqueue" as never });
    for (let i = 0; i < 30; i++) await js.publish(`w.${i % 4}`, `m${i}`);
    await jsm.consumers.add("WQ", { durable_name: "c", ack_policy: AckPolicy.Explicit, filter_subject: "w.*" });
    // rand() always 0: every message taken is acked, so the stream removes it.
    expect(await take("WQ", "c", 12, () => 0)).toBe(12);
    await expect.poll(async () => (await jsm.streams.info("WQ")).state.messages, { timeout: 10_000 }).toBe(18);
    expect((await jsm.consumers.info("WQ", "c")).num_pending).toBe(18);
    await jsm.streams.deleteMessage("WQ", 20);
    await jsm.streams.purge("WQ", { filter: "w.1" });
    const st = (await jsm.streams.info("WQ")).state;
    expect((await jsm.consumers.info("WQ", "c")).num_pending).toBe(st.messages);
  }, 60_000);
});
