// JetStream consumers driven by the official clients (@nats-io/jetstream v3, @nats-io/kv and
// nats v2) against gnat in-process, over real sockets.
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, ReplayPolicy, type JetStreamClient, type JetStreamManager, type JsMsg,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { AckPolicy as AckPolicyV2, connect as connectV2, consumerOpts, createInbox } from "nats";
import { describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { StateFile } from "../../server/jetstream/state-file.js";
import { jetStreamSuite, tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
jetStreamSuite("gnat-jscons-", (t) => {
  ({ server, nc, jsm } = t); js = jetstream(t.nc);
});

async function publish(subject: string, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) await js.publish(subject, `m${i}`);
}

async function apiErr(p: Promise<unknown>): Promise<{ code: number; description: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JetStreamApiError) return { code: e.code, description: e.message };
    throw e;
  }
  throw new Error("expected a JetStream API error");
}

/** A raw request; the reply's JSON. */
async function api(subject: string, body: string | object = ""): Promise<Record<string, unknown>> {
  const m = await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 2000 });
  return m.json<Record<string, unknown>>();
}

describe("consumer management", () => {
  test("a durable gets nats-server's defaults, and shows in info, names and list", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 3);
    const ci = await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    expect(ci.config).toMatchObject({ ack_wait: 30_000_000_000, max_deliver: -1, max_ack_pending: 1000, max_waiting: 512, deliver_policy: "all", replay_policy: "instant" });
    expect(ci.num_pending).toBe(3);
    expect(ci.delivered).toEqual({ consumer_seq: 0, stream_seq: 0 });
    const info = await jsm.consumers.info("S", "D");
    expect(info.name).toBe("D");
    const names: string[] = [];
    for await (const c of jsm.consumers.list("S")) names.push(c.name);
    expect(names).toEqual(["D"]);
    expect((await jsm.streams.info("S")).state.consumer_count).toBe(1);
    expect(await jsm.consumers.delete("S", "D")).toBe(true);
    expect(await apiErr(jsm.consumers.info("S", "D"))).toEqual({ code: 10014, description: "consumer not found" });
  });

  test("creating again with another config fails with action create, and updates otherwise", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await api("CONSUMER.CREATE.S.C", { stream_name: "S", config: { name: "C", ack_policy: "explicit" }, action: "create" });
    const again = await api("CONSUMER.CREATE.S.C", { stream_name: "S", config: { name: "C", ack_policy: "explicit", max_deliver: 3 }, action: "create" });
    expect(again.error).toEqual({ code: 400, err_code: 10148, description: "consumer already exists" });
    const upd = await api("CONSUMER.CREATE.S.C", { stream_name: "S", config: { name: "C", ack_policy: "explicit", max_deliver: 3 }, action: "update" });
    expect((upd.config as { max_deliver: number }).max_deliver).toBe(3);
    const missing = await api("CONSUMER.CREATE.S.X", { stream_name: "S", config: { name: "X" }, action: "update" });
    expect(missing.error).toEqual({ code: 400, err_code: 10149, description: "consumer does not exist" });
  });

  test("invalid configs get nats-server's errors", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    const bad = async (cfg: object, subject = "CONSUMER.CREATE.S"): Promise<unknown> => (await api(subject, { stream_name: "S", config: cfg })).error;
    expect(await bad({ deliver_policy: "by_start_sequence" })).toMatchObject({ err_code: 10094, description: "consumer delivery policy is deliver by start sequence, but optional start sequence is not set" });
    expect(await bad({ durable_name: "D" })).toMatchObject({ err_code: 10020 });
    expect(await bad({ idle_heartbeat: 1_000_000_000 })).toMatchObject({ err_code: 10088 });
    expect(await bad({ filter_subject: "s.a", filter_subjects: ["s.b"] })).toMatchObject({ err_code: 10136 });
    expect(await bad({ filter_subjects: ["s.>", "s.a"] })).toMatchObject({ err_code: 10138 });
    expect(await bad({ deliver_subject: "s.x" })).toMatchObject({ err_code: 10081 });
    expect((await api("CONSUMER.CREATE.NOPE", { stream_name: "NOPE", config: {} })).error).toMatchObject({ err_code: 10059 });
    expect((await api("CONSUMER.CREATE.S", { stream_name: "OTHER", config: {} })).error).toMatchObject({ err_code: 10056 });
    expect((await api("CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "E" } })).error).toMatchObject({ err_code: 10017 });
  });

  test("a work-queue stream refuses overlapping consumers", async () => {
    await jsm.streams.add({ name: "WQ", subjects: ["wq.>"], retention: "workqueue" as never });
    await jsm.consumers.add("WQ", { durable_name: "A", ack_policy: AckPolicy.Explicit, filter_subject: "wq.a" });
    expect(await apiErr(jsm.consumers.add("WQ", { durable_name: "B", ack_policy: AckPolicy.Explicit, filter_subject: "wq.>" })))
      .toEqual({ code: 10100, description: "filtered consumer not unique on workqueue stream" });
    expect(await apiErr(jsm.consumers.add("WQ", { durable_name: "C", ack_policy: AckPolicy.Explicit })))
      .toEqual({ code: 10099, description: "multiple non-filtered consumers not allowed on workqueue stream" });
  });
});

describe("pull consumers", () => {
  test("fetch delivers in order with ack subjects nats-server's way, and acks move the ack floor", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 5);
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("S", "D");
    const got: JsMsg[] = [];
    for await (const m of await c.fetch({ max_messages: 3, expires: 2000 })) got.push(m);
    expect(got.map((m) => [m.seq, m.string(), m.info.pending, m.info.deliveryCount])).toEqual([[1, "m0", 4, 1], [2, "m1", 3, 1], [3, "m2", 2, 1]]);
    expect(got[0]!.reply).toMatch(/^\$JS\.ACK\.S\.D\.1\.1\.1\.\d+\.4$/);
    for (const m of got) await m.ackAck();
    const ci = await jsm.consumers.info("S", "D");
    expect(ci.ack_floor).toMatchObject({ consumer_seq: 3, stream_seq: 3 });
    expect(ci.delivered).toMatchObject({ consumer_seq: 3, stream_seq: 3 });
    expect(ci.num_pending).toBe(2);
    expect(ci.num_ack_pending).toBe(0);
  });

  test("a big batch is written out while it is built, not only when the request's read ends", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    for (let i = 0; i < 300; i++) js.publish("s.a", `m${i}`);
    await nc.flush();
    while ((await jsm.streams.info("S")).state.messages < 300) await nc.flush();
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.None });
    const c = await js.consumers.get("S", "D");
    // Count the server's writes of queued output (its end-of-read flush, or one run early).
    const flush = server.flushDirty.bind(server);
    let flushes = 0;
    server.flushDirty = () => { flushes++; flush(); };
    try {
      const seqs: number[] = [];
      for await (const m of await c.fetch({ max_messages: 300, expires: 2000 })) seqs.push(m.seq);
      expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    } finally {
      server.flushDirty = flush;
    }
    // After the first 16 messages and every 64th (16, 64, 128, 192, 256), then the end of the read.
    expect(flushes).toBeGreaterThanOrEqual(6);
  });

  test("acks find their consumer when two consumers' acks alternate and after one is deleted and made again", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 4);
    for (const d of ["A", "B"]) await jsm.consumers.add("S", { durable_name: d, ack_policy: AckPolicy.Explicit });
    const [a, b] = [await js.consumers.get("S", "A"), await js.consumers.get("S", "B")];
    const fetched = async (c: typeof a, n: number): Promise<JsMsg[]> => {
      const out: JsMsg[] = [];
      for await (const m of await c.fetch({ max_messages: n, expires: 2000 })) out.push(m);
      return out;
    };
    const ma = await fetched(a, 2);
    const mb = await fetched(b, 2);
    await ma[0]!.ackAck();
    await mb[0]!.ackAck();
    await ma[1]!.ackAck();
    expect((await jsm.consumers.info("S", "A")).ack_floor.stream_seq).toBe(2);
    expect((await jsm.consumers.info("S", "B")).ack_floor.stream_seq).toBe(1);
    // A made again under the same name: acks go to the new one, not the deleted object.
    await jsm.consumers.delete("S", "A");
    await jsm.consumers.add("S", { durable_name: "A", ack_policy: AckPolicy.Explicit });
    const again = await fetched(await js.consumers.get("S", "A"), 1);
    expect(again[0]!.seq).toBe(1);
    expect(await again[0]!.ackAck()).toBe(true);
    const ci = await jsm.consumers.info("S", "A");
    expect(ci.ack_floor.stream_seq).toBe(1);
    expect(ci.num_ack_pending).toBe(0);
  });

  test("next waits for a message published later", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("S", "D");
    const p = c.next({ expires: 5000 });
    // The request is queued once num_waiting says so.
    while ((await jsm.consumers.info("S", "D")).num_waiting === 0) await nc.flush();
    await js.publish("s.later", "hi");
    const m = await p;
    expect(m?.subject).toBe("s.later");
    expect(m?.string()).toBe("hi");
    m?.ack();
  });

  test("a no_wait request on an empty consumer gets 404 No Messages; an expired one 408", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    const noWait = await nc.request("$JS.API.CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 1, no_wait: true }));
    expect(noWait.headers?.code).toBe(404);
    expect(noWait.headers?.description).toBe("No Messages");
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 1 });
    nc.publish("$JS.API.CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 2, expires: 100_000_000 }), { reply: inbox });
    for await (const m of sub) {
      expect(m.headers?.code).toBe(408);
      expect(m.headers?.get("Nats-Pending-Messages")).toBe("2");
      expect(m.headers?.get("Nats-Pending-Bytes")).toBe("0");
    }
  });

  test("nak redelivers at once, term drops, working holds, and ack_wait redelivers", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 3);
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, ack_wait: 300_000_000 });
    const c = await js.consumers.get("S", "D");
    const m1 = (await c.next({ expires: 2000 }))!;
    m1.nak();
    const again = (await c.next({ expires: 2000 }))!;
    expect([again.seq, again.info.deliveryCount, again.info.redelivered]).toEqual([1, 2, true]);
    again.term();
    const m2 = (await c.next({ expires: 2000 }))!;
    expect(m2.seq).toBe(2);
    const m3 = (await c.next({ expires: 2000 }))!;
    expect(m3.seq).toBe(3);
    m3.working();
    await m3.ackAck();
    // m2 is never acked: it comes back once ack_wait passes.
    const late = (await c.next({ expires: 3000 }))!;
    expect([late.seq, late.info.deliveryCount]).toEqual([2, 2]);
    await late.ackAck();
    const ci = await jsm.consumers.info("S", "D");
    expect(ci.num_ack_pending).toBe(0);
    expect(ci.ack_floor.stream_seq).toBe(3);
  });

  test("max_deliver stops redelivery", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 1);
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 2 });
    const c = await js.consumers.get("S", "D");
    (await c.next({ expires: 2000 }))!.nak();
    (await c.next({ expires: 2000 }))!.nak();
    expect(await c.next({ expires: 1000 })).toBeNull();
  });

  test("consume keeps pulling as messages arrive", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("S", "D");
    const msgs = await c.consume({ max_messages: 10 });
    const seen: number[] = [];
    const done = (async () => {
      for await (const m of msgs) {
        seen.push(m.seq);
        m.ack();
        if (seen.length === 25) break;
      }
    })();
    await publish("s.x", 25);
    await done;
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  test("an ordered consumer reads the whole stream, filtered or not", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 3);
    await publish("s.b", 3, 3);
    const oc = await js.consumers.get("S");
    const all: number[] = [];
    for await (const m of await oc.fetch({ max_messages: 6, expires: 2000 })) all.push(m.seq);
    expect(all).toEqual([1, 2, 3, 4, 5, 6]);
    const ob = await js.consumers.get("S", { filter_subjects: ["s.b"] });
    const b: string[] = [];
    const it = await ob.consume();
    for await (const m of it) {
      b.push(m.string());
      if (b.length === 3) break;
    }
    expect(b).toEqual(["m3", "m4", "m5"]);
  });

  test("deliver policies last, new, by_start_sequence and last_per_subject", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 2);
    await publish("s.b", 2, 2);
    const first = async (cfg: object): Promise<number> => {
      const ci = await jsm.consumers.add("S", { ack_policy: AckPolicy.None, ...cfg });
      const c = await js.consumers.get("S", ci.name);
      return (await c.next({ expires: 1000 }))?.seq ?? 0;
    };
    expect(await first({ deliver_policy: DeliverPolicy.Last })).toBe(4);
    expect(await first({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 3 })).toBe(3);
    expect(await first({ deliver_policy: DeliverPolicy.New })).toBe(0);
    const ci = await jsm.consumers.add("S", { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: "s.>" });
    const c = await js.consumers.get("S", ci.name);
    const seqs: number[] = [];
    for await (const m of await c.fetch({ max_messages: 2, expires: 1000 })) seqs.push(m.seq);
    expect(seqs).toEqual([2, 4]);
  });
});

describe("push consumers", () => {
  test("a push consumer starts when its deliver subject gets a subscriber later, by a literal or a wildcard", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 3);
    for (const [name, to] of [["lit", "deliver.lit"], ["w1", "deliver.x.1"], ["w2", "deliver.x.2"]] as const) {
      // Durables: an ephemeral's activity check (once a second) would start it too, only later.
      await jsm.consumers.add("S", { durable_name: name, deliver_subject: to, ack_policy: AckPolicy.None });
    }
    const got = (subject: string, n: number): Promise<string[]> => new Promise((resolve) => {
      const seen: string[] = [];
      nc.subscribe(subject, { callback: (_, m) => {
        seen.push(`${m.subject}:${m.string()}`);
        if (seen.length === n) resolve(seen);
      } });
    });
    expect(await got("deliver.lit", 3)).toEqual(["s.a:m0", "s.a:m1", "s.a:m2"]);
    // A literal subscriber starts only its own consumer.
    expect((await jsm.consumers.info("S", "w1")).delivered.stream_seq).toBe(0);
    const both = await got("deliver.x.*", 6);
    expect(both.sort()).toEqual(["s.a:m0", "s.a:m0", "s.a:m1", "s.a:m1", "s.a:m2", "s.a:m2"]);
    for (const name of ["w1", "w2"]) expect((await jsm.consumers.info("S", name)).delivered.stream_seq).toBe(3);
  });
});

describe("replay policy", () => {
  test("original replays messages with the gaps they were stored with", async () => {
    await jsm.streams.add({ name: "REPLAY", subjects: ["replay.>"] });
    // Three messages 300 ms apart (the waits make the data, they synchronise nothing).
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      await js.publish(`replay.${i}`, `m${i}`);
    }
    const arrivals = async (replay: "original" | "instant", name: string): Promise<number[]> => {
      const times: number[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const sub = nc.subscribe(`deliver.${name}`, { callback: () => {
        times.push(Date.now());
        if (times.length === 3) done();
      } });
      await nc.flush();
      await jsm.consumers.add("REPLAY", { name, deliver_subject: `deliver.${name}`, ack_policy: AckPolicy.None,
        replay_policy: replay === "original" ? ReplayPolicy.Original : ReplayPolicy.Instant });
      await all;
      sub.unsubscribe();
      return times;
    };
    const original = await arrivals("original", "orig");
    expect(original[1]! - original[0]!).toBeGreaterThanOrEqual(250);
    expect(original[2]! - original[1]!).toBeGreaterThanOrEqual(250);
    // Instant (the default) sends them as fast as it can: all three arrive.
    expect(await arrivals("instant", "inst")).toHaveLength(3);
  });
});

describe("rate limit and ack sampling", () => {
  test("rate_limit_bps paces a push consumer: no faster than the rate once the burst is spent", async () => {
    // Burst = the stream's max_msg_size (200 B); 8,000 bit/s = 1,000 B/s; 6 messages of 200 B
    // (payload counted with the subject) need at least about 1 s after the first one.
    await jsm.streams.add({ name: "RATE", subjects: ["rate.>"], max_msg_size: 200 });
    for (let i = 0; i < 6; i++) await js.publish("rate.x", new Uint8Array(190));
    const times: number[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const sub = nc.subscribe("deliver.rate", { callback: () => {
      times.push(Date.now());
      if (times.length === 6) done();
    } });
    await nc.flush();
    await jsm.consumers.add("RATE", { name: "paced", deliver_subject: "deliver.rate", ack_policy: AckPolicy.None, rate_limit_bps: 8_000 });
    await all;
    sub.unsubscribe();
    expect(times[5]! - times[0]!).toBeGreaterThanOrEqual(900);
    const info = await jsm.consumers.info("RATE", "paced");
    expect(info.config.rate_limit_bps).toBe(8_000);
    expect(info.delivered.stream_seq).toBe(6);
  });

  test("a pull consumer refuses rate_limit_bps with nats-server's error", async () => {
    await jsm.streams.add({ name: "RATEPULL", subjects: ["ratepull.>"] });
    const e = await apiErr(jsm.consumers.add("RATEPULL", { durable_name: "p", ack_policy: AckPolicy.Explicit, rate_limit_bps: 1000 }));
    expect(e.description).toBe("consumer in pull mode can not have rate limit set");
  });

  test("sample_freq 100% publishes an ack metric per ack on $JS.EVENT.METRIC.CONSUMER.ACK", async () => {
    await jsm.streams.add({ name: "SAMPLE", subjects: ["sample.>"] });
    const metrics: Record<string, unknown>[] = [];
    let done!: () => void;
    const two = new Promise<void>((r) => (done = r));
    const msub = nc.subscribe("$JS.EVENT.METRIC.CONSUMER.ACK.SAMPLE.sampled", { callback: (_e, m) => {
      metrics.push(m.json<Record<string, unknown>>());
      if (metrics.length === 2) done();
    } });
    await nc.flush();
    await publish("sample.a", 3);
    await jsm.consumers.add("SAMPLE", { durable_name: "sampled", ack_policy: AckPolicy.Explicit, sample_freq: "100%" });
    await jsm.consumers.add("SAMPLE", { durable_name: "quiet", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("SAMPLE", "sampled");
    const quiet = await js.consumers.get("SAMPLE", "quiet");
    for (const cons of [c, quiet]) {
      const batch = await cons.fetch({ max_messages: 2, expires: 2000 });
      for await (const m of batch) await m.ackAck();
    }
    await two;
    msub.unsubscribe();
    expect(metrics.map((m) => [m.type, m.stream, m.consumer, m.consumer_seq, m.stream_seq, m.deliveries])).toEqual([
      ["io.nats.jetstream.metric.v1.consumer_ack", "SAMPLE", "sampled", 1, 1, 1],
      ["io.nats.jetstream.metric.v1.consumer_ack", "SAMPLE", "sampled", 2, 2, 1],
    ]);
    expect(typeof metrics[0]!.ack_time).toBe("number");
    expect(metrics[0]!.id).toMatch(/^[0-9A-Za-z]{22}$/);
  });
});

describe("with the nats v2 client", () => {
  test("pullSubscribe and fetch", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 4);
    const nc2 = await connectV2({ servers: server.url });
    try {
      const js2 = nc2.jetstream();
      const got: number[] = [];
      for await (const m of js2.fetch("S", "P", { batch: 4, expires: 2000 })) {
        got.push(m.seq);
        m.ack();
      }
      expect(got).toEqual([]); // no such durable yet: the request has no responders
    } catch (e) {
      expect(String(e)).toMatch(/503|no responders/i);
    }
    try {
      const js2 = nc2.jetstream();
      const jsm2 = await nc2.jetstreamManager();
      await jsm2.consumers.add("S", { durable_name: "P", ack_policy: AckPolicyV2.Explicit });
      const got: number[] = [];
      for await (const m of js2.fetch("S", "P", { batch: 4, expires: 2000 })) {
        got.push(m.seq);
        m.ack();
      }
      expect(got).toEqual([1, 2, 3, 4]);
    } finally {
      await nc2.close();
    }
  });

  test("a push subscription gets every message", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await publish("s.a", 3);
    const nc2 = await connectV2({ servers: server.url });
    try {
      const js2 = nc2.jetstream();
      const opts = consumerOpts();
      opts.durable("PUSH");
      opts.deliverTo(createInbox());
      opts.ackExplicit();
      const sub = await js2.subscribe("s.a", opts);
      const seen: string[] = [];
      for await (const m of sub) {
        seen.push(m.string());
        m.ack();
        if (seen.length === 3) break;
      }
      expect(seen).toEqual(["m0", "m1", "m2"]);
    } finally {
      await nc2.close();
    }
  });
});

describe("KV (needs consumers)", () => {
  test("watch, keys and history", async () => {
    const kv = await new Kvm(nc).create("B", { history: 5 });
    await kv.put("a", "1");
    await kv.put("a", "2");
    await kv.put("b", "3");
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys.sort()).toEqual(["a", "b"]);
    const hist: string[] = [];
    for await (const e of await kv.history({ key: "a" })) hist.push(e.string());
    expect(hist).toEqual(["1", "2"]);
    const w = await kv.watch();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of w) {
        seen.push(`${e.key}=${e.string()}`);
        if (seen.length === 3) break;
      }
    })();
    await kv.put("c", "4");
    await done;
    expect(seen).toEqual(["a=2", "b=3", "c=4"]);
  });
});

describe("work queue", () => {
  test("two workers pull; one dies mid-job; its job is redelivered to the other after ack_wait", async () => {
    await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"], retention: "workqueue" as never });
    await jsm.consumers.add("JOBS", { durable_name: "W", ack_policy: AckPolicy.Explicit, ack_wait: 300_000_000 });
    for (let i = 0; i < 10; i++) await js.publish("jobs.x", `job${i}`);
    const dying = await connect({ servers: server.url });
    const dc = await jetstream(dying).consumers.get("JOBS", "W");
    const taken = (await dc.next({ expires: 2000 }))!;
    expect(taken.string()).toBe("job0");
    await dying.close(); // never acked

    const done = new Set<string>();
    const c = await js.consumers.get("JOBS", "W");
    while (done.size < 10) {
      const m = await c.next({ expires: 3000 });
      if (m === null) continue;
      done.add(m.string());
      await m.ackAck();
    }
    expect([...done].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job${i}`).sort());
    const si = await jsm.streams.info("JOBS");
    expect(si.state.messages).toBe(0);
  });
});

describe("durable state on file streams", () => {
  /**
   * Stream F with `n` messages and durable D on a file store; `before` works it, the server
   * restarts on the same directory (`between` runs while it is down) and `after` checks it.
   */
  async function acrossRestart(n: number, before: (c: NatsConnection) => Promise<void>,
    after: (c: NatsConnection) => Promise<void>, between: (dir: string) => void = () => {}): Promise<void> {
    const dir = tempDir("gnat-jscons-restart-");
    let s = await startGnat({ jetstream: true, storeDir: dir.dir });
    let c2 = await connect({ servers: s.url });
    try {
      const m2 = await jetstreamManager(c2);
      await m2.streams.add({ name: "F", subjects: ["f.>"] });
      const j2 = jetstream(c2);
      for (let i = 0; i < n; i++) await j2.publish("f.x", `v${i}`);
      await m2.consumers.add("F", { durable_name: "D", ack_policy: AckPolicy.Explicit });
      await before(c2);
      await c2.close();
      await s.close();
      between(dir.dir);
      s = await startGnat({ jetstream: true, storeDir: dir.dir });
      c2 = await connect({ servers: s.url });
      await after(c2);
    } finally {
      await c2.close();
      await s.close();
      dir.remove();
    }
  }

  test("delivered, ack floor and pending survive a restart", async () => {
    await acrossRestart(4, async (c2) => {
      const c = await jetstream(c2).consumers.get("F", "D");
      await (await c.next({ expires: 1000 }))!.ackAck();
      (await c.next({ expires: 1000 }))!; // delivered, not acked
    }, async (c2) => {
      const ci = await (await jetstreamManager(c2)).consumers.info("F", "D");
      expect(ci.delivered).toMatchObject({ consumer_seq: 2, stream_seq: 2 });
      expect(ci.ack_floor).toMatchObject({ consumer_seq: 1, stream_seq: 1 });
      expect(ci.num_ack_pending).toBe(1);
      expect(ci.num_pending).toBe(2);
      const next = (await (await jetstream(c2).consumers.get("F", "D")).next({ expires: 1000 }))!;
      expect(next.seq).toBe(3);
    });
  });

  test("a durable saved in the older layout (one state.json) resumes from it", async () => {
    let cdir = "";
    await acrossRestart(3, async (c2) => {
      await (await (await jetstream(c2).consumers.get("F", "D")).next({ expires: 1000 }))!.ackAck();
    }, async (c2) => {
      const ci = await (await jetstreamManager(c2)).consumers.info("F", "D");
      expect(ci.ack_floor).toMatchObject({ consumer_seq: 1, stream_seq: 1 });
      expect(ci.num_pending).toBe(2);
      const next = (await (await jetstream(c2).consumers.get("F", "D")).next({ expires: 1000 }))!;
      expect(next.seq).toBe(2);
      await next.ackAck();
      expect(existsSync(join(cdir, "state.json"))).toBe(false);
      expect(JSON.parse(StateFile.read(cdir)!)).toMatchObject({ ack_floor: { stream_seq: 2 } });
    }, (dir) => {
      // Rewrite the saved state as the layout before the two slots had it.
      cdir = join(dir, "jetstream", "$G", "streams", "F", "obj", "D");
      const text = StateFile.read(cdir)!;
      for (const f of readdirSync(cdir)) rmSync(join(cdir, f));
      writeFileSync(join(cdir, "state.json"), text);
    });
  });
});

