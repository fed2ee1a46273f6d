// The JetStream streams API driven by the official clients (@nats-io/jetstream v3 and nats v2)
// against gnat in-process, over real sockets.
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect as connectV2 } from "nats";
import { describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { jetStreamSuite, tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server;
let nc: NatsConnection;
let jsm: JetStreamManager;
jetStreamSuite("gnat-jsapi-", (t) => {
  ({ server, nc, jsm } = t);
});

/** A raw API request: the reply's JSON. */
async function api(subject: string, body: string | object = ""): Promise<Record<string, unknown>> {
  const m = await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 2000 });
  return m.json<Record<string, unknown>>();
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; status: number; description: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JetStreamApiError) return { code: e.code, status: e.status, description: e.message };
    throw e;
  }
  throw new Error("expected a JetStream API error");
}

describe("turning JetStream on", () => {
  test("INFO advertises jetstream, and the account info has nats-server's shape", async () => {
    expect(nc.info?.jetstream).toBe(true);
    const ai = await jsm.getAccountInfo();
    expect(ai.limits.max_memory).toBe(-1);
    expect(ai.streams).toBe(0);
    expect(ai.api.total).toBeGreaterThanOrEqual(0);
  });

  test("without JetStream, an API request has no responders, as from nats-server", async () => {
    const plain = await startGnat();
    const c = await connect({ servers: plain.url });
    try {
      await expect(c.request("$JS.API.INFO", "", { timeout: 1000 })).rejects.toThrow(/no responders/i);
      expect(c.info?.jetstream).toBeUndefined();
    } finally {
      await c.close();
      await plain.close();
    }
  });

  test("API errors are counted in the account info", async () => {
    const before = (await jsm.getAccountInfo()).api;
    await api("STREAM.INFO.NOPE");
    const after = (await jsm.getAccountInfo()).api;
    expect(after.errors).toBe(before.errors + 1);
    expect(after.total).toBe(before.total + 2);
  });
});

describe("streams", () => {
  test("create fills nats-server 2.10's defaults", async () => {
    const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    expect(si.config).toMatchObject({
      name: "ORDERS", subjects: ["orders.>"], retention: "limits", max_consumers: -1, max_msgs: -1,
      max_bytes: -1, max_age: 0, max_msgs_per_subject: -1, max_msg_size: -1, discard: "old",
      storage: "file", num_replicas: 1, duplicate_window: 120_000_000_000, compression: "none",
      allow_direct: false, mirror_direct: false, sealed: false, deny_delete: false, deny_purge: false,
      allow_rollup_hdrs: false,
    });
    expect(si.state.messages).toBe(0);
  });

  test("subjects default to the stream name", async () => {
    const si = await jsm.streams.add({ name: "plain" });
    expect(si.config.subjects).toEqual(["plain"]);
  });

  test("creating the same stream twice is fine; with another config it is error 10058", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    expect(await apiError(jsm.streams.add({ name: "A", subjects: ["a"], max_msgs: 3 }))).toEqual({
      code: 10058, status: 400, description: "stream name already in use with a different configuration",
    });
  });

  test("overlapping subjects with another stream are refused with 10065", async () => {
    await jsm.streams.add({ name: "A", subjects: ["x.>"] });
    expect((await apiError(jsm.streams.add({ name: "B", subjects: ["x.y"] }))).code).toBe(10065);
  });

  test("replicas > 1 get nats-server's standalone error", async () => {
    expect(await apiError(jsm.streams.add({ name: "R", num_replicas: 3 }))).toEqual({
      code: 10074, status: 500, description: "replicas > 1 not supported in non-clustered mode",
    });
  });

  test("a mirror with subjects and a republish feeding the stream get nats-server's errors (more in sourcing.test.ts)", async () => {
    const r = await api("STREAM.CREATE.M", { name: "M", mirror: { name: "A" }, subjects: ["m"] });
    expect(r.error).toEqual({ code: 400, err_code: 10034, description: "stream mirrors can not contain subjects" });
    const s = await api("STREAM.CREATE.M", { name: "M", subjects: ["x"], republish: { src: ">", dest: "x" } });
    expect(s.error).toEqual({ code: 500, err_code: 10052, description: "stream configuration for republish destination forms a cycle" });
  });

  test("bad names, malformed JSON, mismatched names and missing streams get nats-server's errors", async () => {
    expect(await api("STREAM.CREATE.S", "{bad")).toEqual({
      type: "io.nats.jetstream.api.v1.stream_create_response",
      error: { code: 400, err_code: 10025, description: "invalid JSON" },
    });
    expect((await api("STREAM.CREATE.S", { name: "T" })).error).toEqual({
      code: 400, err_code: 10056, description: "stream name in subject does not match request",
    });
    expect((await api("STREAM.CREATE.a/b", { name: "a/b" })).error).toEqual({
      code: 400, err_code: 10128, description: "Stream name can not contain path separators",
    });
    expect((await api("STREAM.CREATE.S", { name: "S", max_msgs: "x" })).error).toMatchObject({ err_code: 10025 });
    expect((await api("STREAM.CREATE.S", { name: "S", storage: "disk" })).error).toMatchObject({ err_code: 10025 });
    expect((await api("STREAM.INFO.NOPE")).error).toEqual({ code: 404, err_code: 10059, description: "stream not found" });
    expect((await api("STREAM.DELETE.NOPE")).error).toMatchObject({ err_code: 10059 });
    expect((await api("STREAM.UPDATE.S", { name: "S", subjects: ["q"] })).error).toMatchObject({ err_code: 10059 });
  });

  test("unknown fields are ignored, as Go's JSON decoder ignores them", async () => {
    const r = await api("STREAM.CREATE.U", { name: "U", not_a_field: 1 });
    expect(r.did_create).toBe(true);
  });

  test("invalid configs get nats-server's texts", async () => {
    const cases: Array<[object, string]> = [
      [{ name: "S", max_age: 1000 }, "max age needs to be >= 100ms"],
      [{ name: "S", deny_purge: true, allow_rollup_hdrs: true }, "roll-ups require the purge permission"],
      [{ name: "S", discard_new_per_subject: true }, "discard new per subject requires discard new policy to be set"],
      [{ name: "S", subjects: ["a", "a"] }, "duplicate subjects detected"],
      [{ name: "S", subjects: ["a.*", "a.b"] }, 'subject "a.*" overlaps with "a.b"'],
      [{ name: "S", sealed: true }, "stream configuration for create can not be sealed"],
      [{ name: "S", subjects: ["$JS.API.>"] }, "subjects that overlap with jetstream api require no-ack to be true"],
    ];
    for (const [cfg, text] of cases) {
      expect((await api("STREAM.CREATE.S", cfg)).error).toEqual({ code: 500, err_code: 10052, description: text });
    }
  });

  test("update changes what nats-server lets change and refuses the rest", async () => {
    await jsm.streams.add({ name: "U", subjects: ["u.>"], storage: "memory" as never });
    const si = await jsm.streams.update("U", { subjects: ["u.>", "v"], max_msgs: 10 });
    expect(si.config.subjects).toEqual(["u.>", "v"]);
    expect(si.config.max_msgs).toBe(10);
    const r = await api("STREAM.UPDATE.U", { name: "U", subjects: ["u.>"], storage: "file" });
    expect(r.error).toEqual({ code: 500, err_code: 10052, description: "stream configuration update can not change storage type" });
    await jsm.streams.update("U", { deny_delete: true });
    const r2 = await api("STREAM.UPDATE.U", { name: "U", subjects: ["u.>"], storage: "memory", deny_delete: false });
    expect((r2.error as { description: string }).description).toBe("stream configuration update can not cancel deny message deletes");
  });

  test("list and names are sorted, paged and filtered by subject", async () => {
    for (const n of ["C", "A", "B"]) await jsm.streams.add({ name: n, subjects: [`${n.toLowerCase()}.>`] });
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    expect(names).toEqual(["A", "B", "C"]);
    const filtered: string[] = [];
    for await (const n of jsm.streams.names("b.x")) filtered.push(n);
    expect(filtered).toEqual(["B"]);
    const listed: string[] = [];
    for await (const si of jsm.streams.list()) listed.push(si.config.name);
    expect(listed).toEqual(["A", "B", "C"]);
    const page = await api("STREAM.NAMES", { offset: 2 });
    expect(page).toMatchObject({ total: 3, offset: 2, limit: 1024, streams: ["C"] });
    expect(await api("STREAM.NAMES", { subject: "nothing" })).toMatchObject({ total: 0, streams: null });
  });

  test("delete removes the stream and its subjects stop being captured", async () => {
    await jsm.streams.add({ name: "D", subjects: ["d"] });
    expect(await jsm.streams.delete("D")).toBe(true);
    await expect(nc.request("d", "x", { timeout: 1000 })).rejects.toThrow(/no responders/i);
    expect((await api("STREAM.DELETE.D", "{\"x\":1}")).error).toMatchObject({ err_code: 10038 });
  });
});

describe("publishing", () => {
  test("a publish is stored and acknowledged with stream and seq", async () => {
    await jsm.streams.add({ name: "P", subjects: ["p.>"] });
    const js = jetstream(nc);
    const a1 = await js.publish("p.1", "one");
    const a2 = await js.publish("p.2", "two");
    expect([a1.stream, a1.seq, a2.seq]).toEqual(["P", 1, 2]);
    const m = await nc.request("p.3", "three");
    expect(m.string()).toBe('{"stream":"P", "seq":3}');
    const si = await jsm.streams.info("P");
    expect(si.state).toMatchObject({ messages: 3, first_seq: 1, last_seq: 3, num_subjects: 3 });
  });

  test("a repeated Nats-Msg-Id inside the duplicate window is acknowledged as a duplicate, not stored", async () => {
    await jsm.streams.add({ name: "P", subjects: ["p.>"] });
    const js = jetstream(nc);
    const a = await js.publish("p.1", "x", { msgID: "m1" });
    const b = await js.publish("p.1", "x", { msgID: "m1" });
    expect(a.duplicate).toBe(false);
    expect(b).toMatchObject({ seq: a.seq, duplicate: true });
    expect((await jsm.streams.info("P")).state.messages).toBe(1);
  });

  test("expected stream, last sequence, last subject sequence and last msg id are enforced", async () => {
    await jsm.streams.add({ name: "P", subjects: ["p.>"] });
    const js = jetstream(nc);
    await js.publish("p.a", "1", { msgID: "id1" });
    expect(await apiError(js.publish("p.a", "2", { expect: { streamName: "Q" } }))).toMatchObject({ code: 10060, description: "expected stream does not match" });
    expect(await apiError(js.publish("p.a", "2", { expect: { lastSequence: 5 } }))).toMatchObject({ code: 10071, description: "wrong last sequence: 1" });
    expect(await apiError(js.publish("p.b", "2", { expect: { lastSubjectSequence: 1 } }))).toMatchObject({ code: 10071, description: "wrong last sequence: 0" });
    expect(await apiError(js.publish("p.a", "2", { expect: { lastMsgID: "nope" } }))).toMatchObject({ code: 10070, description: "wrong last msg ID: id1" });
    const ok = await js.publish("p.a", "2", { expect: { streamName: "P", lastSequence: 1, lastSubjectSequence: 1, lastMsgID: "id1" } });
    expect(ok.seq).toBe(2);
  });

  test("discard new refuses messages past max_msgs with nats-server's store error", async () => {
    await jsm.streams.add({ name: "N", subjects: ["n"], max_msgs: 2, discard: "new" as never });
    const js = jetstream(nc);
    await js.publish("n", "1");
    await js.publish("n", "2");
    expect(await apiError(js.publish("n", "3"))).toEqual({ code: 10077, status: 503, description: "maximum messages exceeded" });
  });

  test("discard old keeps the newest max_msgs", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o"], max_msgs: 2, storage: "memory" as never });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish("o", String(i));
    expect((await jsm.streams.info("O")).state).toMatchObject({ messages: 2, first_seq: 4, last_seq: 5 });
  });

  test("discard new counts bytes as nats-server 2.10's store does (the incoming message included)", async () => {
    // memory store size: subject 1 + payload 40 + 16 = 57 bytes; 57 + 57 >= 114 refuses the second.
    await jsm.streams.add({ name: "B", subjects: ["b"], max_bytes: 114, discard: "new" as never, storage: "memory" as never });
    const js = jetstream(nc);
    await js.publish("b", "x".repeat(40));
    expect(await apiError(js.publish("b", "x".repeat(40)))).toMatchObject({ code: 10077, description: "maximum bytes exceeded" });
  });

  test("discard new per subject refuses a subject at its limit, others still go in", async () => {
    await jsm.streams.add({ name: "PS", subjects: ["ps.*"], max_msgs_per_subject: 1, discard: "new" as never, discard_new_per_subject: true });
    const js = jetstream(nc);
    await js.publish("ps.a", "1");
    await js.publish("ps.b", "1");
    expect(await apiError(js.publish("ps.a", "2"))).toMatchObject({ code: 10077, description: "maximum messages per subject exceeded" });
  });

  test("an interest stream without consumers acknowledges but keeps nothing, as nats-server", async () => {
    await jsm.streams.add({ name: "I", subjects: ["i"], retention: "interest" as never });
    const a = await jetstream(nc).publish("i", "x");
    expect(a.seq).toBe(1);
    expect((await jsm.streams.info("I")).state).toMatchObject({ messages: 0, last_seq: 1 });
  });

  test("max_msg_size refuses larger messages with 10054", async () => {
    await jsm.streams.add({ name: "Z", subjects: ["z"], max_msg_size: 4 });
    expect((await apiError(jetstream(nc).publish("z", "12345"))).code).toBe(10054);
  });

  test("a sealed stream refuses publishes with 10109, deletes and purges too", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s"] });
    await jetstream(nc).publish("s", "x");
    const si = await jsm.streams.update("S", { sealed: true });
    expect(si.config).toMatchObject({ sealed: true, deny_delete: true, deny_purge: true });
    expect(await apiError(jetstream(nc).publish("s", "y"))).toMatchObject({ code: 10109, description: "invalid operation on sealed stream" });
    expect((await api("STREAM.PURGE.S")).error).toMatchObject({ err_code: 10109 });
  });

  test("Nats-Rollup: sub keeps only the newest message of the subject", async () => {
    await jsm.streams.add({ name: "R", subjects: ["r.>"], allow_rollup_hdrs: true });
    const js = jetstream(nc);
    await js.publish("r.a", "1");
    await js.publish("r.a", "2");
    await js.publish("r.b", "3");
    const h = headers();
    h.set("Nats-Rollup", "sub");
    await js.publish("r.a", "4", { headers: h });
    const si = await jsm.streams.info("R", { subjects_filter: ">" });
    expect(si.state.subjects).toEqual({ "r.a": 1, "r.b": 1 });
  });

  test("Nats-Rollup without allow_rollup_hdrs is refused", async () => {
    await jsm.streams.add({ name: "R", subjects: ["r.>"] });
    const h = headers();
    h.set("Nats-Rollup", "all");
    expect(await apiError(jetstream(nc).publish("r.a", "1", { headers: h }))).toMatchObject({ code: 10111, description: "rollup not permitted" });
  });

  test("the nats v2 client publishes and reads back through jetstream()", async () => {
    await jsm.streams.add({ name: "V2", subjects: ["v2"] });
    const c = await connectV2({ servers: server.url });
    try {
      const js = c.jetstream();
      const a = await js.publish("v2", new TextEncoder().encode("hello"), { msgID: "x" });
      expect(a.seq).toBe(1);
      const m = await (await c.jetstreamManager()).streams.getMessage("V2", { seq: 1 });
      expect(new TextDecoder().decode(m.data)).toBe("hello");
    } finally {
      await c.close();
    }
  });
});

describe("messages and purge", () => {
  test("get by seq, last by subject and next by subject; delete and erase", async () => {
    await jsm.streams.add({ name: "G", subjects: ["g.>"] });
    const js = jetstream(nc);
    const h = headers();
    h.set("k", "v");
    await js.publish("g.a", "1", { headers: h });
    await js.publish("g.b", "2");
    await js.publish("g.a", "3");
    const m1 = await jsm.streams.getMessage("G", { seq: 1 });
    expect([m1?.subject, m1?.string(), m1?.header.get("k")]).toEqual(["g.a", "1", "v"]);
    expect((await jsm.streams.getMessage("G", { last_by_subj: "g.a" }))?.seq).toBe(3);
    expect((await jsm.streams.getMessage("G", { next_by_subj: "g.b", seq: 1 }))?.seq).toBe(2);
    expect(await jsm.streams.getMessage("G", { seq: 99 })).toBeNull();
    expect(await jsm.streams.deleteMessage("G", 2)).toBe(true);
    expect(await jsm.streams.deleteMessage("G", 3, false)).toBe(true);
    const r = await api("STREAM.MSG.DELETE.G", { seq: 2 });
    expect(r.error).toEqual({ code: 400, err_code: 10043, description: "sequence 2 not found" });
    const si = await jsm.streams.info("G", { deleted_details: true });
    expect(si.state).toMatchObject({ messages: 1, num_deleted: 2, deleted: [2, 3] });
    expect((await api("STREAM.MSG.GET.G", "")).error).toMatchObject({ err_code: 10003 });
  });

  test("purge: all, by filter, keep and up to a sequence", async () => {
    await jsm.streams.add({ name: "PU", subjects: ["pu.>"], storage: "memory" as never });
    const js = jetstream(nc);
    for (let i = 1; i <= 10; i++) await js.publish(i % 2 ? "pu.odd" : "pu.even", String(i));
    expect((await jsm.streams.purge("PU", { filter: "pu.odd", keep: 1 })).purged).toBe(4);
    expect((await jsm.streams.purge("PU", { seq: 5 })).purged).toBe(2);
    expect((await jsm.streams.purge("PU")).purged).toBe(4);
    expect((await jsm.streams.info("PU")).state).toMatchObject({ messages: 0, first_seq: 11, last_seq: 10 });
    expect((await api("STREAM.PURGE.PU", { seq: 1, keep: 1 })).error).toMatchObject({ err_code: 10003 });
  });

  test("deny_delete and deny_purge refuse with nats-server's texts", async () => {
    await jsm.streams.add({ name: "DD", subjects: ["dd"], deny_delete: true, deny_purge: true });
    await jetstream(nc).publish("dd", "x");
    expect((await api("STREAM.MSG.DELETE.DD", { seq: 1 })).error).toEqual({ code: 500, err_code: 10057, description: "message delete not permitted" });
    expect((await api("STREAM.PURGE.DD")).error).toEqual({ code: 500, err_code: 10110, description: "stream purge not permitted" });
  });

  test("direct get answers with the message and its Nats-* headers, 404 when missing", async () => {
    await jsm.streams.add({ name: "K", subjects: ["k.>"], allow_direct: true });
    await jetstream(nc).publish("k.x", "v1");
    const m = await nc.request("$JS.API.DIRECT.GET.K", JSON.stringify({ seq: 1 }));
    expect(m.string()).toBe("v1");
    expect([m.headers?.get("Nats-Stream"), m.headers?.get("Nats-Subject"), m.headers?.get("Nats-Sequence")]).toEqual(["K", "k.x", "1"]);
    expect(m.headers?.get("Nats-Time-Stamp")).toMatch(/^\d{4}-\d\d-\d\dT/);
    const last = await nc.request("$JS.API.DIRECT.GET.K.k.x", "");
    expect(last.headers?.get("Nats-Sequence")).toBe("1");
    const missing = await nc.request("$JS.API.DIRECT.GET.K", JSON.stringify({ seq: 9 }));
    expect([missing.headers?.code, missing.headers?.description]).toEqual([404, "Message Not Found"]);
    const empty = await nc.request("$JS.API.DIRECT.GET.K", "");
    expect([empty.headers?.code, empty.headers?.description]).toEqual([408, "Empty Request"]);
  });

  test("stream info with subjects_filter counts messages per subject", async () => {
    await jsm.streams.add({ name: "SF", subjects: ["sf.>"] });
    const js = jetstream(nc);
    await js.publish("sf.a", "1");
    await js.publish("sf.a", "2");
    await js.publish("sf.b", "3");
    const r = await api("STREAM.INFO.SF", { subjects_filter: "sf.a" });
    expect(r).toMatchObject({ total: 1, offset: 0, limit: 100000 });
    expect((r.state as { subjects: unknown }).subjects).toEqual({ "sf.a": 2 });
  });
});

describe("KV on top of streams (no watchers: those need consumers)", () => {
  test("@nats-io/kv creates a bucket, puts, gets, updates with revision checks and deletes", async () => {
    const kv = await new Kvm(nc).create("B", { history: 3 });
    expect(await kv.put("k", "v1")).toBe(1);
    expect(await kv.put("k", "v2")).toBe(2);
    const e = await kv.get("k");
    expect([e?.string(), e?.revision]).toEqual(["v2", 2]);
    await expect(kv.create("k", "x")).rejects.toThrow(/wrong last sequence: 2/);
    expect(await kv.update("k", "v3", 2)).toBe(3);
    await kv.delete("k");
    expect((await kv.get("k"))?.operation).toBe("DEL");
    expect((await kv.status()).history).toBe(3);
  });
});

describe("persistence", () => {
  test("file streams and their messages come back after a restart; memory streams do not", async () => {
    const dir = tempDir("gnat-jsrestart-");
    try {
      const s1 = await startGnat({ jetstream: true, storeDir: dir.dir });
      const c1 = await connect({ servers: s1.url });
      const m1 = await jetstreamManager(c1);
      await m1.streams.add({ name: "F", subjects: ["f"], max_msgs: 100, allow_direct: true });
      await m1.streams.add({ name: "M", subjects: ["m"], storage: "memory" as never });
      await m1.streams.update("F", { subjects: ["f", "g"], max_msgs: 100, allow_direct: true, description: "updated" });
      const js1 = jetstream(c1);
      await js1.publish("f", "one", { msgID: "a" });
      await js1.publish("f", "two");
      const created = (await m1.streams.info("F")).created;
      await c1.close();
      await s1.close();

      const s2 = await startGnat({ jetstream: true, storeDir: dir.dir });
      const c2 = await connect({ servers: s2.url });
      try {
        const m2 = await jetstreamManager(c2);
        const names: string[] = [];
        for await (const n of m2.streams.names()) names.push(n);
        expect(names).toEqual(["F"]);
        const si = await m2.streams.info("F");
        expect(si.config).toMatchObject({ max_msgs: 100, subjects: ["f", "g"], description: "updated" });
        expect(si.created).toBe(created);
        expect(si.state).toMatchObject({ messages: 2, last_seq: 2 });
        // The Msg-Id stored before the restart still dedupes.
        const dup = await jetstream(c2).publish("f", "one", { msgID: "a" });
        expect(dup).toMatchObject({ seq: 1, duplicate: true });
        expect((await m2.streams.getMessage("F", { seq: 2 }))?.string()).toBe("two");
      } finally {
        await c2.close();
        await s2.close();
      }
    } finally {
      dir.remove();
    }
  });
});
