// Differential JetStream API: the same requests to nats-server -js and to gnat, replies compared
// by shape (the set of keys, recursively) and by error code and text. Values that differ by nature
// (times, server names) are not compared; keys nats-server 2.10 added since the 2.9 that Debian
// ships are allowed on gnat's side only.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JetStreamPair, NATS_SERVER, SKIP_REASON, startJetStreamPair } from "./harness.js";

/** Keys 2.10 sends and 2.9 does not (paths with array indexes dropped). */
const NEWER_KEYS = new Set([
  "config.compression", "config.consumer_limits", "ts", "cluster", "cluster.leader",
  "reserved_memory", "reserved_storage", "streams.config.compression", "streams.config.consumer_limits", "streams.ts",
  "config.metadata", "config.metadata.team", "streams.config.metadata", "streams.config.metadata.team",
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function keyPaths(v: Json, prefix = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) {
    for (const x of v) keyPaths(x, prefix, out);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      // Per-subject maps and metadata are keyed by data, not by schema.
      if (k !== "subjects" || Array.isArray(x)) keyPaths(x, p, out);
    }
  }
  return out;
}

/** Requests in order; each step's reply is compared. */
const STEPS: Array<[string, string | object]> = [
  ["INFO", ""],
  ["STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "memory" }],
  ["STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "memory" }],
  ["STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], max_msgs: 5 }],
  ["STREAM.CREATE.OTHER", { name: "OTHER", subjects: ["orders.new"] }],
  ["STREAM.CREATE.FILE", { name: "FILE", subjects: ["file.*"], max_age: 3_600_000_000_000, max_msgs_per_subject: 3, allow_direct: true }],
  ["STREAM.CREATE.BAD", "{not json"],
  ["STREAM.CREATE.BAD", { name: "BAD", max_msgs: "lots" }],
  ["STREAM.CREATE.BAD", { name: "OTHER_NAME" }],
  ["STREAM.CREATE.a\\b", { name: "a\\b" }],
  ["STREAM.CREATE.R3", { name: "R3", num_replicas: 3 }],
  ["STREAM.CREATE.AGE", { name: "AGE", max_age: 1000 }],
  ["STREAM.CREATE.ROLL", { name: "ROLL", deny_purge: true, allow_rollup_hdrs: true }],
  ["STREAM.CREATE.DUP", { name: "DUP", subjects: ["d", "d"] }],
  ["STREAM.CREATE.SEAL", { name: "SEAL", sealed: true }],
  ["STREAM.CREATE.DNP", { name: "DNP", discard_new_per_subject: true }],
  ["STREAM.CREATE.API", { name: "API", subjects: ["$JS.API.>"] }],
  ["STREAM.CREATE.INT", { name: "INT", subjects: ["int"], retention: "interest" }],
  ["STREAM.CREATE.WQ", { name: "WQ", subjects: ["wq"], retention: "workqueue", storage: "memory" }],
  ["STREAM.CREATE.DN", { name: "DN", subjects: ["dn"], max_msgs: 1, discard: "new" }],
  ["STREAM.CREATE.DNS", { name: "DNS", subjects: ["dns.*"], max_msgs_per_subject: 1, discard: "new", discard_new_per_subject: true, storage: "memory" }],
  ["STREAM.CREATE.DNB", { name: "DNB", subjects: ["dnb"], max_bytes: 100, discard: "new" }],
  ["STREAM.CREATE.SZ", { name: "SZ", subjects: ["sz"], max_msg_size: 3 }],
  ["STREAM.CREATE.RA", { name: "RA", subjects: ["ra.*"], allow_rollup_hdrs: true, storage: "memory" }],
  ["STREAM.CREATE.SL", { name: "SL", subjects: ["sl"] }],
  ["STREAM.UPDATE.SL", { name: "SL", subjects: ["sl"], sealed: true }],
  ["STREAM.UPDATE.SL", { name: "SL", subjects: ["sl"], sealed: false }],
  ["STREAM.CREATE.MD", { name: "MD", subjects: ["md"], metadata: { team: "a" }, description: "meta" }],
  ["STREAM.NAMES", ""],
  ["STREAM.NAMES", { subject: "file.x" }],
  ["STREAM.NAMES", { offset: 5 }],
  ["STREAM.LIST", ""],
  ["STREAM.INFO.ORDERS", ""],
  ["STREAM.INFO.NOPE", ""],
  ["STREAM.INFO.ORDERS", "{bad"],
  ["STREAM.UPDATE.ORDERS", { name: "ORDERS", subjects: ["orders.>", "more"], storage: "memory", max_msgs: 10 }],
  ["STREAM.UPDATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "file" }],
  ["STREAM.UPDATE.NOPE", { name: "NOPE" }],
  ["STREAM.UPDATE.ORDERS", { name: "X" }],
  ["STREAM.MSG.GET.ORDERS", ""],
  ["STREAM.MSG.GET.ORDERS", { seq: 1 }],
  ["STREAM.MSG.GET.ORDERS", { seq: 1, last_by_subj: "a" }],
  ["STREAM.MSG.GET.NOPE", { seq: 1 }],
  ["STREAM.MSG.DELETE.ORDERS", ""],
  ["STREAM.MSG.DELETE.ORDERS", { seq: 1 }],
  ["STREAM.PURGE.ORDERS", ""],
  ["STREAM.PURGE.ORDERS", { seq: 2, keep: 1 }],
  ["STREAM.PURGE.NOPE", ""],
  ["STREAM.DELETE.ORDERS", "{\"x\":1}"],
  ["STREAM.DELETE.NOPE", ""],
  ["STREAM.DELETE.ORDERS", ""],
  ["INFO", ""],
];

/** Publishes (with reply) whose acks are compared byte for byte. */
const PUBLISHES: Array<[string, string, Record<string, string>]> = [
  ["file.a", "1", {}],
  ["file.a", "2", { "Nats-Msg-Id": "m1" }],
  ["file.a", "2", { "Nats-Msg-Id": "m1" }],
  ["file.b", "3", { "Nats-Expected-Last-Sequence": "9" }],
  ["file.b", "3", { "Nats-Expected-Stream": "NOPE" }],
  ["file.b", "3", { "Nats-Expected-Last-Subject-Sequence": "4" }],
  ["file.b", "3", { "Nats-Expected-Last-Msg-Id": "zz" }],
  ["file.b", "4", { "Nats-Rollup": "sub" }],
  ["int", "x", {}],
  ["int", "y", { "Nats-Msg-Id": "i1" }],
  ["wq", "x", {}],
  ["dn", "1", {}],
  ["dn", "2", {}],
  ["dns.a", "1", {}],
  ["dns.b", "1", {}],
  ["dns.a", "2", {}],
  ["dnb", "0123456789012345678901234567890123456789", {}],
  ["dnb", "0123456789012345678901234567890123456789", {}],
  ["dnb", "0123456789012345678901234567890123456789", {}],
  ["sz", "123", {}],
  ["sz", "1234", {}],
  ["ra.a", "1", {}],
  ["ra.b", "2", {}],
  ["ra.c", "3", { "Nats-Rollup": "all" }],
  ["ra.c", "4", { "Nats-Rollup": "bogus" }],
  ["sl", "x", {}],
];

async function run(nc: NatsConnection): Promise<{ api: Json[]; acks: string[]; after: Json[] }> {
  const api: Json[] = [];
  for (const [subj, body] of STEPS) {
    const m = await nc.request(`$JS.API.${subj}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 2000 });
    api.push(m.json<Json>());
  }
  const acks: string[] = [];
  const { headers } = await import("@nats-io/transport-node");
  for (const [subj, data, hv] of PUBLISHES) {
    const h = headers();
    for (const [k, v] of Object.entries(hv)) h.set(k, v);
    // A message nats-server drops silently (a bogus rollup value) gets no reply at all.
    const m = await nc.request(subj, data, { timeout: 500, headers: h }).catch(() => null);
    acks.push(m === null ? "(no reply)" : m.string());
  }
  const after: Json[] = [];
  for (const [subj, body] of [
    ["STREAM.INFO.FILE", { subjects_filter: ">", deleted_details: true }],
    ["STREAM.MSG.GET.FILE", { last_by_subj: "file.a" }],
    ["STREAM.MSG.GET.FILE", { next_by_subj: "file.b", seq: 1 }],
    ["STREAM.MSG.DELETE.FILE", { seq: 1, no_erase: true }],
    ["STREAM.MSG.DELETE.FILE", { seq: 1 }],
    ["STREAM.PURGE.FILE", { filter: "file.a" }],
    ["STREAM.INFO.INT", {}],
    ["STREAM.INFO.RA", { subjects_filter: ">" }],
    ["STREAM.INFO.DNB", {}],
  ] as const) {
    const m = await nc.request(`$JS.API.${subj}`, JSON.stringify(body), { timeout: 2000 });
    after.push(m.json<Json>());
  }
  // Direct gets: status line, headers (but the time stamp) and payload, raw.
  const hc = headers();
  hc.set("X-Foo", "bar");
  hc.set("Nats-Msg-Id", "c1");
  await nc.request("file.c", "payload-c", { timeout: 2000, headers: hc });
  await nc.request("file.d", "payload-d", { timeout: 2000 });
  for (const [subj, body] of [
    ["$JS.API.DIRECT.GET.FILE", JSON.stringify({ last_by_subj: "file.c" })],
    ["$JS.API.DIRECT.GET.FILE", JSON.stringify({ next_by_subj: "file.*", seq: 1 })],
    ["$JS.API.DIRECT.GET.FILE.file.d", ""],
    ["$JS.API.DIRECT.GET.FILE.file.d", "x"],
    ["$JS.API.DIRECT.GET.FILE", JSON.stringify({ seq: 99 })],
    ["$JS.API.DIRECT.GET.FILE", ""],
    ["$JS.API.DIRECT.GET.FILE", "{bad"],
    ["$JS.API.DIRECT.GET.FILE", JSON.stringify({ seq: 1, last_by_subj: "x" })],
  ] as const) {
    const m = await nc.request(subj, body, { timeout: 2000 });
    const h: string[] = [];
    for (const k of m.headers?.keys() ?? []) if (k !== "Nats-Time-Stamp") h.push(`${k}: ${m.headers!.values(k).join(",")}`);
    after.push({ code: m.headers?.code ?? 0, description: m.headers?.description ?? "", headers: h, data: m.string() });
  }
  return { api, acks, after };
}

/** Error texts nats-server rewrote between 2.9 (what is installed) and 2.10 (what gnat follows). */
const RENAMED_ERRORS = new Map([
  ["subjects overlap with jetstream api", "subjects that overlap with jetstream api require no-ack to be true"],
]);

function compare(gnat: Json, nats: Json, label: string): void {
  const g = keyPaths(gnat);
  const n = keyPaths(nats);
  const missing = [...n].filter((k) => !g.has(k));
  const extra = [...g].filter((k) => !n.has(k) && !NEWER_KEYS.has(k));
  expect({ label, missing, extra }).toEqual({ label, missing: [], extra: [] });
  const ge = (gnat as { error?: Json } | null)?.error;
  const ne = (nats as { error?: { description?: string } } | null)?.error;
  if (ne?.description !== undefined) ne.description = RENAMED_ERRORS.get(ne.description) ?? ne.description;
  expect({ label, error: ge ?? null }).toEqual({ label, error: ne ?? null });
}

describe.skipIf(NATS_SERVER === null)("JetStream API against nats-server -js", () => {
  let pair: JetStreamPair;
  let results: { gnat: Awaited<ReturnType<typeof run>>; nats: Awaited<ReturnType<typeof run>> };

  beforeAll(async () => {
    pair = await startJetStreamPair("jsdiff");
    const [a, b] = await Promise.all([connect({ servers: pair.gnat.url }), connect({ servers: pair.natsUrl })]);
    results = { gnat: await run(a), nats: await run(b) };
    await Promise.all([a.close(), b.close()]);
  });

  afterAll(() => pair.stop());

  test.each(STEPS.map((s, i) => [i, s[0], JSON.stringify(s[1])] as const))("request %i %s %s: same shape and error", (i, subj) => {
    compare(results.gnat.api[i]!, results.nats.api[i]!, `${i} ${subj}`);
  });

  test("publish acks are byte-identical", () => {
    expect(results.gnat.acks).toEqual(results.nats.acks);
  });

  test("reads after publishing: same shape, errors and messages", () => {
    results.gnat.after.forEach((g, i) => compare(g, results.nats.after[i]!, `after ${i}`));
    const strip = (v: Json): Json => JSON.parse(JSON.stringify(v, (k, x: Json) => (k === "time" ? undefined : x))) as Json;
    expect(strip(results.gnat.after[1]!)).toEqual(strip(results.nats.after[1]!));
    expect(strip(results.gnat.after[2]!)).toEqual(strip(results.nats.after[2]!));
    const state = (v: Json): Json => {
      const s = (v as { state: Record<string, Json> }).state;
      return { messages: s.messages!, first_seq: s.first_seq!, last_seq: s.last_seq!, subjects: s.subjects!, deleted: s.deleted ?? null, bytes: s.bytes! };
    };
    expect(state(results.gnat.after[0]!)).toEqual(state(results.nats.after[0]!));
    for (const i of [6, 8]) expect({ i, s: state(results.gnat.after[i]!) }).toEqual({ i, s: state(results.nats.after[i]!) });
    // After a rollup of everything, 2.9's memory store still lists the purged subjects in
    // subjects/num_subjects (fixed since); the messages themselves must agree.
    const counts = (v: Json): Json => {
      const st = (v as { state: Record<string, Json> }).state;
      return [st.messages!, st.first_seq!, st.last_seq!, st.bytes!];
    };
    expect(counts(results.gnat.after[7]!)).toEqual(counts(results.nats.after[7]!));
  });

  test("direct gets: same status, headers and payload", () => {
    expect(results.gnat.after.slice(9)).toEqual(results.nats.after.slice(9));
  });
});

if (NATS_SERVER === null) test.skip(SKIP_REASON, () => {});
