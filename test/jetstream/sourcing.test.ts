// Stream mirrors, sources, subject_transform and republish, driven by the official clients
// (@nats-io/jetstream) against gnat in-process. nats-server side by side: test/differential/sourcing.test.ts;
// kills: test/jetstream/sourcing-crash.test.ts.
import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, JetStreamApiError, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { describe, expect, test } from "vitest";
import { startGnat } from "../kit/gnat.js";
import { until } from "../kit/wait.js";
import { jetStreamSuite, tempDir } from "./helpers.js";
import { compileTransform } from "../../server/jetstream/transform.js";

let nc: NatsConnection;
let jsm: JetStreamManager;
jetStreamSuite("gnat-sourcing-", (t) => {
  ({ nc, jsm } = t);
});

async function pub(subject: string, data: string, hdrs: Record<string, string> = {}): Promise<number> {
  const h = headers();
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  const ack = await jetstream(nc).publish(subject, data, { headers: h });
  return ack.seq;
}

/** Stream info once `pred` holds for it. */
async function infoWhen(name: string, pred: (si: StreamInfo) => boolean, what = `${name} caught up`): Promise<StreamInfo> {
  return until(async () => {
    const si = await jsm.streams.info(name);
    return pred(si) ? si : null;
  }, { timeout: 5000, interval: 20, what });
}

/** Every message of a stream: seq, subject, payload and the Nats-Stream-Source header. */
async function contents(name: string): Promise<Array<[number, string, string, string]>> {
  const si = await jsm.streams.info(name);
  const out: Array<[number, string, string, string]> = [];
  for (let seq = si.state.first_seq; seq > 0 && seq <= si.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (m === null) continue;
    out.push([m.seq, m.subject, m.string(), m.header?.get("Nats-Stream-Source") ?? ""]);
  }
  return out;
}

async function apiErr(p: Promise<unknown>): Promise<[number, number, string]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JetStreamApiError) return [e.status, e.code, e.message];
    throw e;
  }
  throw new Error("expected a JetStream API error");
}

describe("mirrors", () => {
  test("a mirror copies its origin with the origin's sequences and times, with lag 0 and a recent active", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    for (let i = 1; i <= 5; i++) await pub(`o.${i % 2 === 0 ? "even" : "odd"}`, `m${i}`, { "X-N": String(i) });
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    const si = await infoWhen("M", (s) => s.state.messages === 5);
    expect(si.config.subjects ?? []).toEqual([]);
    expect(si.mirror).toMatchObject({ name: "O", lag: 0 });
    expect(si.mirror!.active).toBeGreaterThanOrEqual(0);
    expect(si.mirror!.active).toBeLessThan(1e9);
    const o = await jsm.streams.getMessage("O", { seq: 3 });
    const m = await jsm.streams.getMessage("M", { seq: 3 });
    expect([m.subject, m.string(), m.header?.get("X-N"), m.time.getTime()]).toEqual([o.subject, o.string(), "3", o.time.getTime()]);
    // Mirrors keep no duplicate window (nats-server: none for a mirror).
    expect(si.config.duplicate_window ?? 0).toBe(0);
    // And it follows new messages.
    await pub("o.x", "m6");
    await infoWhen("M", (s) => s.state.last_seq === 6 && s.mirror?.lag === 0);
  });

  test("a filtered mirror keeps the origin's sequences, the others left as gaps", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    for (const s of ["o.a", "o.b", "o.a", "o.b"]) await pub(s, s);
    await jsm.streams.add({ name: "M", mirror: { name: "O", filter_subject: "o.b" } });
    await infoWhen("M", (s) => s.state.messages === 2);
    expect((await contents("M")).map(([seq, subj]) => [seq, subj])).toEqual([[2, "o.b"], [4, "o.b"]]);
  });

  test("a filtered mirror fills a long gap of other subjects, a slice per turn of the event loop", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"], storage: "memory" });
    await jsm.streams.add({ name: "M", mirror: { name: "O", filter_subject: "o.rare" }, storage: "memory" });
    await pub("o.rare", "first");
    for (let i = 0; i < 40_000; i++) nc.publish("o.common", "x");
    await pub("o.rare", "second");
    const si = await infoWhen("M", (s) => s.state.messages === 2);
    expect([si.state.first_seq, si.state.last_seq, si.mirror?.lag]).toEqual([1, 40_002, 0]);
    expect((await jsm.streams.getMessage("M", { seq: 40_002 })).string()).toBe("second");
  });

  test("copies chain: a mirror of a stream that sources another follows both hops", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "S", sources: [{ name: "A" }] });
    await jsm.streams.add({ name: "M", mirror: { name: "S" } });
    await pub("a", "hop");
    await infoWhen("M", (s) => s.state.messages === 1);
    const m = await jsm.streams.getMessage("M", { seq: 1 });
    expect([m.string(), m.header?.get("Nats-Stream-Source")]).toEqual(["hop", "A 1 > >"]);
  });

  test("opt_start_seq and opt_start_time start a mirror part way through its origin", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    for (let i = 1; i <= 3; i++) await pub("o.a", `m${i}`);
    const third = await jsm.streams.getMessage("O", { seq: 3 });
    await jsm.streams.add({ name: "BYSEQ", mirror: { name: "O", opt_start_seq: 2 } });
    // The server's own timestamp, in ns: a Date (ms) would also take messages 1 and 2 when they
    // were stored in the same millisecond as 3 (a CI run on Node 24).
    await jsm.streams.add({ name: "BYTIME", mirror: { name: "O", opt_start_time: third.timestamp } as StreamConfig["mirror"] });
    await infoWhen("BYSEQ", (s) => s.state.messages === 2 && s.state.first_seq === 2);
    const bt = await infoWhen("BYTIME", (s) => s.state.last_seq === 3);
    expect(bt.state.first_seq).toBe(3);
    // The time comes back as Go marshals it (RFC3339Nano, trailing zeros of the fraction dropped),
    // which is how the server wrote the message's timestamp.
    expect(bt.config.mirror?.opt_start_time).toBe(third.timestamp);
  });

  test("subject_transforms rename what a mirror copies", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    await pub("o.a.1", "x");
    await jsm.streams.add({ name: "M", mirror: { name: "O", subject_transforms: [{ src: "o.*.>", dest: "m.{{wildcard(1)}}.>" }] } });
    await infoWhen("M", (s) => s.state.messages === 1);
    expect((await jsm.streams.getMessage("M", { seq: 1 })).subject).toBe("m.a.1");
  });

  test("a mirror keeps up after its origin is purged, keeping what it had", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    for (let i = 1; i <= 3; i++) await pub("o.a", `m${i}`);
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    await infoWhen("M", (s) => s.state.messages === 3);
    await jsm.streams.purge("O");
    await pub("o.a", "m4");
    await pub("o.a", "m5");
    const si = await infoWhen("M", (s) => s.state.messages === 5);
    expect([si.state.first_seq, si.state.last_seq, si.mirror?.lag]).toEqual([1, 5, 0]);
  });

  test("a mirror created after the origin's first messages expired starts at the origin's first sequence", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"], max_age: 200_000_000 });
    await pub("o.a", "old");
    await until(async () => (await jsm.streams.info("O")).state.messages === 0, { timeout: 5000, what: "the first message expired" });
    await pub("o.a", "new");
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    const si = await infoWhen("M", (s) => s.state.messages === 1);
    expect([si.state.first_seq, si.state.last_seq]).toEqual([2, 2]);
  });

  test("a mirror of a stream that does not exist yet reports it not found, then copies it once it appears", async () => {
    await jsm.streams.add({ name: "M", mirror: { name: "LATER" } });
    const before = await jsm.streams.info("M");
    expect(before.mirror).toEqual({ name: "LATER", lag: 0, active: -1, error: { code: 404, err_code: 10059, description: "stream not found" } });
    await jsm.streams.add({ name: "LATER", subjects: ["later"] });
    // Found, nothing to copy yet: live (active within nats-server's one-second heartbeat), lag 0.
    const idle = await jsm.streams.info("M");
    expect([idle.mirror?.lag, idle.mirror?.error, idle.mirror!.active >= 0 && idle.mirror!.active < 1e9]).toEqual([0, undefined, true]);
    await pub("later", "x");
    const si = await infoWhen("M", (s) => s.state.messages === 1);
    expect(si.mirror?.error).toBeUndefined();
  });

  test("a re-created origin is mirrored from where its sequences pass the mirror's (as nats-server)", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"], storage: "memory" });
    for (let i = 1; i <= 3; i++) await pub("o.a", `a${i}`);
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    await infoWhen("M", (s) => s.state.messages === 3);
    await jsm.streams.delete("O");
    await infoWhen("M", (s) => s.mirror?.error?.err_code === 10059, "M sees its origin gone");
    await jsm.streams.add({ name: "O", subjects: ["o.>"], storage: "memory" });
    for (let i = 1; i <= 4; i++) await pub("o.a", `b${i}`);
    const si = await infoWhen("M", (s) => s.state.last_seq === 4);
    expect(si.state.messages).toBe(4);
    expect((await jsm.streams.getMessage("M", { seq: 4 })).string()).toBe("b4");
    expect((await jsm.streams.getMessage("M", { seq: 3 })).string()).toBe("a3");
  });

  test("a mirror answers direct gets for its origin (mirror_direct, taken from the origin's allow_direct)", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"], allow_direct: true });
    await pub("o.a", "x");
    const added = await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    expect(added.config.mirror_direct).toBe(true);
    await infoWhen("M", (s) => s.state.messages === 1);
    // With the origin gone only the mirror can answer.
    await jsm.streams.delete("O");
    const m = await nc.request("$JS.API.DIRECT.GET.O", JSON.stringify({ seq: 1 }), { timeout: 2000 });
    expect([m.string(), m.headers?.get("Nats-Subject")]).toEqual(["x", "o.a"]);
  });

  test("a mirror's configuration can not be changed, nor the mirror removed", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    expect(await apiErr(jsm.streams.update("M", { mirror: { name: "O", filter_subject: "o.a" } }))).toEqual([400, 10055, "stream mirror configuration can not be updated"]);
  });
});

describe("sources", () => {
  test("a stream sources several streams, each with its filter or transforms, and marks each copy with Nats-Stream-Source", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a.>"] });
    await jsm.streams.add({ name: "B", subjects: ["b.>"] });
    await pub("a.1", "a1");
    await pub("a.2", "a2");
    await pub("b.x.1", "b1");
    await jsm.streams.add({
      name: "S",
      subjects: ["s.own"],
      sources: [{ name: "A", filter_subject: "a.2" }, { name: "B", subject_transforms: [{ src: "b.*.>", dest: "from-b.{{wildcard(1)}}.>" }] }],
    });
    const si = await infoWhen("S", (s) => s.state.messages === 2);
    expect(si.sources?.map((x) => [x.name, x.lag])).toEqual([["A", 0], ["B", 0]]);
    expect((await contents("S")).map(([, subj, data, src]) => [subj, data, src]).sort()).toEqual([
      ["a.2", "a2", "A 2 a.2 >"],
      ["from-b.x.1", "b1", "B 1 b.*.> from-b.{{wildcard(1)}}.>"],
    ]);
    // Its own subjects still take publishes, beside what it sources.
    expect(await pub("s.own", "own")).toBe(3);
    await pub("a.2", "a2 again");
    await infoWhen("S", (s) => s.state.messages === 4);
  });

  test("a source that does not exist yet is sourced from its first message once it appears", async () => {
    await jsm.streams.add({ name: "S", sources: [{ name: "LATER" }] });
    expect((await jsm.streams.info("S")).sources?.[0]?.error?.err_code).toBe(10059);
    await jsm.streams.add({ name: "LATER", subjects: ["later"] });
    await pub("later", "1");
    await pub("later", "2");
    await infoWhen("S", (s) => s.state.messages === 2);
  });

  test("sources keep up after the origin is purged and after its messages expire", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o"], max_age: 300_000_000 });
    await jsm.streams.add({ name: "S", sources: [{ name: "O" }] });
    await pub("o", "1");
    await infoWhen("S", (s) => s.state.messages === 1);
    await jsm.streams.purge("O");
    await pub("o", "2");
    await infoWhen("S", (s) => s.state.messages === 2);
    await until(async () => (await jsm.streams.info("O")).state.messages === 0, { timeout: 5000, what: "origin messages expired" });
    await pub("o", "3");
    await infoWhen("S", (s) => s.state.messages === 3);
    expect((await contents("S")).map(([, , d, src]) => `${d}:${src}`)).toEqual(["1:O 1 > >", "2:O 2 > >", "3:O 3 > >"]);
  });

  test("a source whose origin is deleted and re-created reads the new origin from its start", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o"], storage: "memory" });
    await jsm.streams.add({ name: "S", sources: [{ name: "O" }] });
    for (let i = 1; i <= 3; i++) await pub("o", `old${i}`);
    await infoWhen("S", (s) => s.state.messages === 3);
    await jsm.streams.delete("O");
    await jsm.streams.add({ name: "O", subjects: ["o"], storage: "memory" });
    await pub("o", "new1");
    await infoWhen("S", (s) => s.state.messages === 4);
    expect((await contents("S")).map(([, , d]) => d)).toEqual(["old1", "old2", "old3", "new1"]);
  });

  test("a sealed stream takes no more copies from its sources", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "S", sources: [{ name: "A" }] });
    await pub("a", "1");
    await infoWhen("S", (s) => s.state.messages === 1);
    await jsm.streams.update("S", { sources: [{ name: "A" }], sealed: true });
    await pub("a", "2");
    const si = await infoWhen("S", (s) => s.sources?.[0]?.lag === 0 && (s.sources?.[0]?.active ?? -1) >= 0, "S passed over A's second message");
    expect(si.state.messages).toBe(1);
  });

  test("a source of a source names only its own origin, and Nats-Expected-* headers are not copied", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "S1", sources: [{ name: "A" }] });
    await jsm.streams.add({ name: "S2", sources: [{ name: "S1" }] });
    await pub("a", "x", { "Nats-Expected-Stream": "A", "X-Keep": "1" });
    await infoWhen("S2", (s) => s.state.messages === 1);
    const m = await jsm.streams.getMessage("S2", { seq: 1 });
    expect([m.header?.values("Nats-Stream-Source"), m.header?.get("X-Keep"), m.header?.has("Nats-Expected-Stream")]).toEqual([["S1 1 > >"], "1", false]);
  });

  test("sourced messages dedupe on Nats-Msg-Id across sources", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "B", subjects: ["b"] });
    await pub("a", "x", { "Nats-Msg-Id": "same" });
    await pub("b", "x", { "Nats-Msg-Id": "same" });
    await pub("b", "y", { "Nats-Msg-Id": "other" });
    await jsm.streams.add({ name: "S", sources: [{ name: "A" }, { name: "B" }] });
    await infoWhen("S", (s) => s.sources?.every((x) => x.lag === 0 && x.active >= 0) === true && s.state.messages >= 2);
    expect((await jsm.streams.info("S")).state.messages).toBe(2);
  });

  test("an update adding a source starts it; the sources kept carry on without copying again", async () => {
    await jsm.streams.add({ name: "A", subjects: ["a"] });
    await jsm.streams.add({ name: "B", subjects: ["b"] });
    await pub("a", "a1");
    await pub("b", "b1");
    await jsm.streams.add({ name: "S", sources: [{ name: "A" }] });
    await infoWhen("S", (s) => s.state.messages === 1);
    await jsm.streams.update("S", { sources: [{ name: "A" }, { name: "B" }] });
    await infoWhen("S", (s) => s.state.messages === 2);
    await pub("a", "a2");
    await infoWhen("S", (s) => s.state.messages === 3);
    expect((await contents("S")).map(([, , d]) => d)).toEqual(["a1", "b1", "a2"]);
  });
});

describe("config errors (nats-server 2.10's checks and codes)", () => {
  test.each<[string, Partial<StreamConfig>, [number, number, string]]>([
    ["mirror with subjects", { mirror: { name: "O" }, subjects: ["x"] }, [400, 10034, "stream mirrors can not contain subjects"]],
    ["mirror with sources", { mirror: { name: "O" }, sources: [{ name: "O" }] }, [400, 10031, "stream mirrors can not also contain other sources"]],
    ["mirror with first_seq", { mirror: { name: "O" }, first_seq: 5 }, [400, 10143, "stream mirrors can not have first sequence configured"]],
    ["mirror with a bad name", { mirror: { name: "a.b" } }, [400, 10142, "mirrored stream name is invalid"]],
    ["mirror with filter and transforms", { mirror: { name: "O", filter_subject: "a", subject_transforms: [{ src: "b", dest: "c" }] } }, [400, 10150, "mirror with multiple subject transforms cannot also have a single subject filter"]],
    ["mirror transforms overlapping", { mirror: { name: "O", subject_transforms: [{ src: "a.*", dest: "x.$1" }, { src: "a.b", dest: "y" }] } }, [400, 10152, "mirror subject filters can not overlap"]],
    ["mirror transform bad source", { mirror: { name: "O", subject_transforms: [{ src: "a..b", dest: "x" }] } }, [400, 10151, "mirror subject filter is invalid"]],
    ["source with a bad name", { sources: [{ name: "" }] }, [400, 10141, "sourced stream name is invalid"]],
    ["the same source twice", { sources: [{ name: "O" }, { name: "O" }] }, [400, 10140, "duplicate source configuration detected"]],
    ["source with filter and transforms", { sources: [{ name: "O", filter_subject: "a", subject_transforms: [{ src: "b", dest: "c" }] }] }, [400, 10144, "source with multiple subject transforms cannot also have a single subject filter"]],
    ["source transform bad destination", { sources: [{ name: "O", subject_transforms: [{ src: "a.*", dest: "x.$2" }] }] }, [400, 10146, "source transform destination is invalid"]],
    ["source transforms overlapping", { sources: [{ name: "O", subject_transforms: [{ src: "a.>", dest: "x.>" }, { src: "a.b", dest: "y" }] }] }, [400, 10147, "source filters can not overlap"]],
    ["a stream sourcing itself", { sources: [{ name: "SELF" }] }, [500, 10052, "detected cycle"]],
    ["republish into its own subjects", { subjects: ["r.*"], republish: { src: "r.*", dest: "r.x" } }, [500, 10052, "stream configuration for republish destination forms a cycle"]],
    ["republish with a bad transform", { subjects: ["r.*"], republish: { src: "r.*", dest: "rp.>" } }, [500, 10052, "stream configuration for republish with transform from 'r.*' to 'rp.>' not valid"]],
    // nats-server 2.10 stream.go checkStreamCfg on `external` (errors.json 10021, 10024).
    ["external api prefix of the account's own API", { mirror: { name: "O", external: { api: "$JS.API", deliver: "" } } }, [400, 10021, "stream external api prefix $JS.API must not overlap with $JS.API"]],
    ["external api prefix with a wildcard", { sources: [{ name: "O", external: { api: "$JS.*.API", deliver: "" } }] }, [500, 10052, "stream external api prefix \"$JS.*.API\" must be a valid subject without wildcards"]],
    ["external delivery prefix with a wildcard", { mirror: { name: "O", external: { api: "$JS.hub.API", deliver: "d.>" } } }, [400, 10024, "stream external delivery prefix d.> must not contain wildcards"]],
  ])("%s", async (_what, cfg, want) => {
    const name = cfg.sources?.[0]?.name === "SELF" ? "SELF" : "BAD";
    expect(await apiErr(jsm.streams.add({ name, ...cfg } as StreamConfig))).toEqual(want);
  });

  test("a cycle through another stream's sources is refused", async () => {
    await jsm.streams.add({ name: "A", sources: [{ name: "B" }] });
    expect(await apiErr(jsm.streams.add({ name: "B", sources: [{ name: "A" }] }))).toEqual([500, 10052, "detected cycle"]);
  });

  test("a mirror's max_msg_size below its origin's is refused", async () => {
    await jsm.streams.add({ name: "O", subjects: ["o"], max_msg_size: 100 });
    expect(await apiErr(jsm.streams.add({ name: "M", mirror: { name: "O" }, max_msg_size: 10 }))).toEqual([400, 10030, "stream mirror must have max message size >= source"]);
    expect(await apiErr(jsm.streams.add({ name: "S", sources: [{ name: "O" }], max_msg_size: 10 }))).toEqual([400, 10046, "stream source must have max message size >= target"]);
  });

  test("a bad subject_transform fails the create with the transform's error", async () => {
    expect(await apiErr(jsm.streams.add({ name: "T", subjects: ["t.*"], subject_transform: { src: "t.*", dest: "x.$3" } }))).toEqual(
      [500, 10049, "stream subject transform from 't.*' to 'x.$3': invalid mapping destination: wildcard index out of range in $3: [3]"]);
  });
});

describe("subject_transform and republish", () => {
  test("subject_transform stores messages under the transformed subject", async () => {
    await jsm.streams.add({ name: "T", subjects: ["t.*.*"], subject_transform: { src: "t.*.*", dest: "x.$2.{{wildcard(1)}}" } });
    await pub("t.a.b", "1");
    expect((await jsm.streams.getMessage("T", { seq: 1 })).subject).toBe("x.b.a");
  });

  test("republish sends each stored message on with Nats-Stream, -Subject, -Sequence, -Time-Stamp and -Last-Sequence", async () => {
    await jsm.streams.add({ name: "R", subjects: ["r.*"], republish: { src: "r.*", dest: "rp.{{wildcard(1)}}" } });
    const got: Msg[] = [];
    const sub = nc.subscribe("rp.>", { callback: (_e, m) => got.push(m) });
    await nc.flush();
    await pub("r.a", "one", { "X-Mine": "1" });
    await pub("r.b", "two");
    await pub("r.a", "three");
    await until(() => got.length === 3, { what: "three republished messages" });
    sub.unsubscribe();
    const view = got.map((m) => ({
      subject: m.subject, data: m.string(), mine: m.headers?.get("X-Mine") ?? "",
      stream: m.headers?.get("Nats-Stream"), subj: m.headers?.get("Nats-Subject"), seq: m.headers?.get("Nats-Sequence"),
      last: m.headers?.get("Nats-Last-Sequence"), ts: /^\d{4}-\d\d-\d\dT/.test(m.headers?.get("Nats-Time-Stamp") ?? ""),
    }));
    expect(view).toEqual([
      { subject: "rp.a", data: "one", mine: "1", stream: "R", subj: "r.a", seq: "1", last: "0", ts: true },
      { subject: "rp.b", data: "two", mine: "", stream: "R", subj: "r.b", seq: "2", last: "0", ts: true },
      { subject: "rp.a", data: "three", mine: "", stream: "R", subj: "r.a", seq: "3", last: "1", ts: true },
    ]);
  });

  test("republish with headers_only sends no payload and Nats-Msg-Size", async () => {
    await jsm.streams.add({ name: "R", subjects: ["r.*"], republish: { dest: "rp.>", headers_only: true } as StreamConfig["republish"] });
    const sub = nc.subscribe("rp.>", { max: 1 });
    await nc.flush();
    await pub("r.a", "12345");
    for await (const m of sub) {
      expect([m.subject, m.data.length, m.headers?.get("Nats-Msg-Size")]).toEqual(["rp.r.a", 0, "5"]);
    }
    expect((await jsm.streams.info("R")).config.republish).toEqual({ src: ">", dest: "rp.>", headers_only: true });
  });
});

describe("monitoring", () => {
  test("/jsz?streams=1 reports a mirror's and a source's lag, as nats-server's StreamDetail does", async () => {
    const store = tempDir("gnat-sourcing-jsz-");
    const s = await startGnat({ jetstream: true, storeDir: store.dir, httpPort: 0 });
    try {
      const c = await (await import("@nats-io/transport-node")).connect({ servers: s.url });
      const m = await (await import("@nats-io/jetstream")).jetstreamManager(c);
      await m.streams.add({ name: "O", subjects: ["o"] });
      await m.streams.add({ name: "M", mirror: { name: "O" } });
      await m.streams.add({ name: "S", sources: [{ name: "O" }, { name: "GONE" }] });
      await jetstream(c).publish("o", "x");
      await until(async () => (await m.streams.info("S")).state.messages === 1 && (await m.streams.info("M")).state.messages === 1);
      const z = await (await fetch(`${s.monitorUrl}/jsz?streams=1`)).json() as { account_details: Array<{ stream_detail: Array<Record<string, unknown>> }> };
      const by = new Map(z.account_details[0]!.stream_detail.map((d) => [d["name"], d]));
      expect(by.get("M")?.["mirror"]).toMatchObject({ name: "O", lag: 0 });
      expect(by.get("S")?.["sources"]).toMatchObject([{ name: "O", lag: 0 }, { name: "GONE", active: -1, error: { err_code: 10059 } }]);
      expect(by.get("O")?.["mirror"]).toBeUndefined();
      await c.close();
    } finally {
      await s.close();
      store.remove();
    }
  });
});

describe("KV buckets (@nats-io/kv) with mirror and sources", () => {
  test("a bucket sourcing another has its keys under its own name; a mirror bucket answers the origin's gets", async () => {
    const kvm = new Kvm(nc);
    const a = await kvm.create("A", { history: 5 });
    await a.put("k", "v1");
    await a.put("k", "v2");
    await a.put("j", "j1");
    await kvm.create("B", { mirror: { name: "A" } });
    const c = await kvm.create("C", { sources: [{ name: "A" }] });
    // Both keep one value per key (history 1): k's first value is gone, from the mirror at its origin seq.
    expect((await infoWhen("KV_B", (s) => s.state.last_seq === 3)).state.messages).toBe(2);
    await infoWhen("KV_C", (s) => s.sources?.[0]?.lag === 0 && s.state.last_seq === 3);
    expect([(await c.get("k"))?.string(), (await c.get("j"))?.string()]).toEqual(["v2", "j1"]);
    const keys: string[] = [];
    for await (const k of await c.keys()) keys.push(k);
    expect(keys.sort()).toEqual(["j", "k"]);
    // The origin gone, its mirror (mirror_direct, as the client asks) still answers gets for it.
    await jsm.streams.delete("KV_A");
    expect((await a.get("k"))?.string()).toBe("v2");
  });
});

describe("restarts", () => {
  test("after a restart mirrors and sources resume where they were: no duplicates, no gaps", async () => {
    const store = tempDir("gnat-sourcing-restart-");
    try {
      let s = await startGnat({ jetstream: true, storeDir: store.dir });
      let c = await (await import("@nats-io/transport-node")).connect({ servers: s.url });
      let m = await (await import("@nats-io/jetstream")).jetstreamManager(c);
      await m.streams.add({ name: "O", subjects: ["o"] });
      await m.streams.add({ name: "M", mirror: { name: "O" } });
      await m.streams.add({ name: "S", sources: [{ name: "O" }] });
      const js = jetstream(c);
      for (let i = 1; i <= 10; i++) await js.publish("o", String(i));
      await until(async () => (await m.streams.info("S")).state.messages === 10 && (await m.streams.info("M")).state.messages === 10);
      await c.close();
      await s.close();
      s = await startGnat({ jetstream: true, storeDir: store.dir });
      c = await (await import("@nats-io/transport-node")).connect({ servers: s.url });
      m = await (await import("@nats-io/jetstream")).jetstreamManager(c);
      for (let i = 11; i <= 15; i++) await jetstream(c).publish("o", String(i));
      await until(async () => (await m.streams.info("S")).state.messages >= 15 && (await m.streams.info("M")).state.messages >= 15);
      const si = await m.streams.info("S");
      const mi = await m.streams.info("M");
      expect([si.state.messages, si.state.last_seq, mi.state.messages, mi.state.last_seq]).toEqual([15, 15, 15, 15]);
      const datas: string[] = [];
      for (let seq = 1; seq <= 15; seq++) datas.push((await m.streams.getMessage("S", { seq })).string());
      expect(datas).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1)));
      await c.close();
      await s.close();
    } finally {
      store.remove();
    }
  });
});

describe("restarts: an origin that did not survive", () => {
  test("a file source of a memory stream reads the stream re-created after a restart from its start", async () => {
    const store = tempDir("gnat-sourcing-memorigin-");
    const { connect } = await import("@nats-io/transport-node");
    const { jetstreamManager } = await import("@nats-io/jetstream");
    try {
      let s = await startGnat({ jetstream: true, storeDir: store.dir });
      let c = await connect({ servers: s.url });
      let m = await jetstreamManager(c);
      await m.streams.add({ name: "O", subjects: ["o"], storage: "memory" });
      await m.streams.add({ name: "S", sources: [{ name: "O" }] });
      for (let i = 1; i <= 3; i++) await jetstream(c).publish("o", `before ${i}`);
      await until(async () => (await m.streams.info("S")).state.messages === 3);
      await c.close();
      await s.close();
      s = await startGnat({ jetstream: true, storeDir: store.dir });
      c = await connect({ servers: s.url });
      m = await jetstreamManager(c);
      await m.streams.add({ name: "O", subjects: ["o"], storage: "memory" });
      await jetstream(c).publish("o", "after 1");
      await until(async () => (await m.streams.info("S")).state.messages === 4, { what: "S copied the new O's first message" });
      expect((await m.streams.getMessage("S", { seq: 4 })).header?.get("Nats-Stream-Source")).toBe("O 1 > >");
      await c.close();
      await s.close();
    } finally {
      store.remove();
    }
  });
});

describe("transforms (unit)", () => {
  test("wildcards by $n and {{wildcard(n)}}, a trailing >, and subjects that do not match", () => {
    const t = compileTransform("a.*.b.*", "x.{{ wildcard(2) }}.$1")!;
    expect([t.map("a.1.b.2"), t.map("a.1.c.2"), t.map("a.1.b")]).toEqual(["x.2.1", null, null]);
    expect(compileTransform("a.>", "b.>")!.map("a.x.y")).toBe("b.x.y");
    expect(compileTransform("", "z.>")!.map("q.r")).toBe("z.q.r");
    // Every function of account mappings, from the same implementation (protocol/subject-transform.ts).
    const p = compileTransform("a.*", "b.{{partition(3,1)}}")!;
    expect(["0", "1", "2"]).toContain(p.map("a.k")!.slice(2));
    expect(compileTransform("a.*", "b.{{splitFromLeft(1,2)}}")!.map("a.abcd")).toBe("b.ab.cd");
    expect(() => compileTransform("a.*", "b.*")).toThrow("invalid subject");
  });
});
