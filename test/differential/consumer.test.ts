// Differential consumer API: the same requests to nats-server -js (Debian's 2.9) and to gnat,
// replies compared by key set (recursively) and by error code and text; pull-request status
// lines compared as they arrive. Keys 2.10 added since 2.9 are allowed on gnat's side only.
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JetStreamPair, NATS_SERVER, SKIP_REASON, startJetStreamPair } from "./harness.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** 2.10 additions: the cluster block for a standalone server, and timestamps. */
const NEWER_KEYS = new Set(["config.compression", "config.consumer_limits", "cluster", "cluster.leader", "ts", "consumers.cluster", "consumers.cluster.leader", "consumers.ts"]);

function keyPaths(v: Json, prefix = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keyPaths(x, prefix, out);
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      keyPaths(x, p, out);
    }
  }
  return out;
}

const STEPS: Array<[string, string | object]> = [
  ["STREAM.CREATE.S", { name: "S", subjects: ["s.>"], storage: "memory" }],
  ["STREAM.CREATE.WQ", { name: "WQ", subjects: ["wq.>"], retention: "workqueue", storage: "memory" }],
  ["CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "D", ack_policy: "explicit" } }],
  ["CONSUMER.CREATE.S.N", { stream_name: "S", config: { name: "N", ack_policy: "explicit", filter_subject: "s.a" } }],
  ["CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "E" } }],
  ["CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: {} }],
  ["CONSUMER.DURABLE.CREATE.S.D", { stream_name: "X", config: { durable_name: "D" } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { durable_name: "D" } }],
  ["CONSUMER.CREATE.NOPE", { stream_name: "NOPE", config: {} }],
  ["CONSUMER.CREATE.S", "{bad"],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_policy: "by_start_sequence" } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_policy: "all", opt_start_seq: 4 } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_policy: "last_per_subject" } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { idle_heartbeat: 1_000_000_000 } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { flow_control: true } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_subject: "s.x" } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_subject: "out", max_waiting: 5 } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_subject: "out", idle_heartbeat: 10_000_000 } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_subject: "out", flow_control: true } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { max_waiting: -1 } }],
  ["CONSUMER.CREATE.S", { stream_name: "S", config: { backoff: [1_000_000_000, 2_000_000_000], max_deliver: 1 } }],
  ["CONSUMER.DURABLE.CREATE.WQ.W1", { stream_name: "WQ", config: { durable_name: "W1", ack_policy: "explicit" } }],
  ["CONSUMER.DURABLE.CREATE.WQ.W2", { stream_name: "WQ", config: { durable_name: "W2", ack_policy: "explicit" } }],
  ["CONSUMER.DURABLE.CREATE.WQ.W3", { stream_name: "WQ", config: { durable_name: "W3", ack_policy: "none" } }],
  ["CONSUMER.INFO.S.D", ""],
  ["CONSUMER.INFO.S.NOPE", ""],
  ["CONSUMER.INFO.NOPE.D", ""],
  ["CONSUMER.NAMES.S", ""],
  ["CONSUMER.NAMES.NOPE", ""],
  ["CONSUMER.LIST.S", ""],
  ["CONSUMER.DELETE.S.N", ""],
  ["CONSUMER.DELETE.S.N", ""],
  ["CONSUMER.DELETE.S.D", "x"],
];

/** Pull requests: the status line of the first reply. */
const PULLS: Array<[string, string]> = [
  ["CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 1, no_wait: true })],
  ["CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 1, expires: 50_000_000 })],
  ["CONSUMER.MSG.NEXT.S.D", JSON.stringify({ batch: 1, expires: 50_000_000, idle_heartbeat: 40_000_000 })],
];

async function run(nc: NatsConnection): Promise<{ api: Json[]; pulls: string[] }> {
  const api: Json[] = [];
  for (const [subj, body] of STEPS) {
    const m = await nc.request(`$JS.API.${subj}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 2000 });
    api.push(m.json<Json>());
  }
  const pulls: string[] = [];
  for (const [subj, body] of PULLS) {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 1 });
    nc.publish(`$JS.API.${subj}`, body, { reply: inbox });
    for await (const m of sub) {
      const h = m.headers;
      const keys = [...(h?.keys() ?? [])].sort().join(",");
      pulls.push(`${h?.code ?? 0} ${h?.description ?? ""} [${keys}]`);
    }
  }
  return { api, pulls };
}

function compare(gnat: Json, nats: Json, label: string): void {
  const g = keyPaths(gnat);
  const n = keyPaths(nats);
  const missing = [...n].filter((k) => !g.has(k));
  const extra = [...g].filter((k) => !n.has(k) && !NEWER_KEYS.has(k));
  expect({ label, missing, extra }).toEqual({ label, missing: [], extra: [] });
  const ge = (gnat as { error?: Json } | null)?.error ?? null;
  const ne = (nats as { error?: Json } | null)?.error ?? null;
  expect({ label, error: ge }).toEqual({ label, error: ne });
}

describe.skipIf(NATS_SERVER === null)("consumer API against nats-server -js", () => {
  let pair: JetStreamPair;
  let results: { gnat: Awaited<ReturnType<typeof run>>; nats: Awaited<ReturnType<typeof run>> };

  beforeAll(async () => {
    pair = await startJetStreamPair("consdiff");
    const [a, b] = await Promise.all([connect({ servers: pair.gnat.url }), connect({ servers: pair.natsUrl })]);
    results = { gnat: await run(a), nats: await run(b) };
    await Promise.all([a.close(), b.close()]);
  });

  afterAll(() => pair.stop());

  test.each(STEPS.map((s, i) => [i, s[0], JSON.stringify(s[1])] as const))("request %i %s %s: same keys and error", (i, subj) => {
    compare(results.gnat.api[i]!, results.nats.api[i]!, `${i} ${subj}`);
  });

  test("pull requests get the same status lines and headers", () => {
    expect(results.gnat.pulls).toEqual(results.nats.pulls);
  });

  test("an ack on a consumer with sample_freq: the same ack metric, subject and fields", async () => {
    const metric = async (url: string): Promise<{ subject: string; body: Json }> => {
      const nc = await connect({ servers: url });
      try {
        const req = (subj: string, body: object): Promise<unknown> =>
          nc.request(`$JS.API.${subj}`, JSON.stringify(body), { timeout: 2000 });
        await req("STREAM.CREATE.SAMP", { name: "SAMP", subjects: ["samp.>"] });
        await req("CONSUMER.DURABLE.CREATE.SAMP.SD", { stream_name: "SAMP", config: { durable_name: "SD", ack_policy: "explicit", sample_freq: "100%" } });
        const seen = nc.subscribe("$JS.EVENT.METRIC.CONSUMER.ACK.>", { max: 1 });
        await nc.request("samp.one", "x", { timeout: 2000 });
        // Delivered messages carry their own subject, not the inbox's: a muxed request would drop them.
        const inbox = createInbox();
        const got = nc.subscribe(inbox, { max: 1 });
        nc.publish("$JS.API.CONSUMER.MSG.NEXT.SAMP.SD", JSON.stringify({ batch: 1 }), { reply: inbox });
        for await (const m of got) m.respond("+ACK");
        for await (const m of seen) return { subject: m.subject, body: m.json<Json>() };
        throw new Error("no ack metric");
      } finally {
        await nc.close();
      }
    };
    const g = await metric(pair.gnat.url);
    const n = await metric(pair.natsUrl);
    expect(g.subject).toBe(n.subject);
    expect([...keyPaths(g.body)].sort()).toEqual([...keyPaths(n.body)].sort());
    const pick = (b: Json): unknown[] => { const o = b as Record<string, unknown>; return [o.type, o.stream, o.consumer, o.consumer_seq, o.stream_seq, o.deliveries]; };
    expect(pick(g.body)).toEqual(pick(n.body));
  });
});

if (NATS_SERVER === null) test.skip(SKIP_REASON, () => {});
