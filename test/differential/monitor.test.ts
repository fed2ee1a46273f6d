// Differential monitoring: the same traffic through nats-server -m (Debian's 2.9.10) and gnat with
// a monitoring port, then every endpoint fetched from both and compared by key set and JSON value
// type, recursively (array elements merged under `path[]`). Differences are allowed only with a
// reason: 2.10 / newer fields gnat follows, and what gnat does not have (clustering, $SYS, TLS).
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { Server } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";
import { NATS_SERVER } from "./harness.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, spawnNatsServer, type Launched } from "../kit/processes.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function typeOf(v: Json): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** key path → JSON type; array elements merged under `path[]`. */
function shape(v: Json, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = `${prefix}[]`;
      out.set(p, typeOf(x));
      shape(x, p, out);
    }
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.set(p, typeOf(x));
      shape(x, p, out);
    }
  }
  return out;
}

/** Only nats-server has these, and why gnat does not (a prefix covers the keys below it). */
const NATS_ONLY: Record<string, string> = {};

/** Only gnat has these: fields nats-server 2.10 (or newer) has and Debian's 2.9.10 does not. */
const GNAT_ONLY: Record<string, string> = {
  slow_consumer_stats: "varz: 2.10 splits slow consumers by kind",
  stalled_clients: "varz: newer nats-server (2.12+) counts producers held back by flow control",
  http_engine: "varz: gnat's own, which HTTP/WebSocket engine serves (uws or node)",
  server_id: "subsz: 2.10 wraps the sublist stats with server_id, now, total, offset, limit",
  now: "subsz: as server_id",
  total: "subsz and jsz: 2.10 reports the total (subscriptions listed / accounts)",
  offset: "subsz: as server_id",
  limit: "subsz: as server_id",
  "account_details[].stream_detail[].consumer_detail[].cluster": "2.10 consumer info has the cluster block on a standalone server",
  "account_details[].stream_detail[].consumer_detail[].ts": "2.10 consumer info has ts",
  "account_details[].stream_detail[].config.compression": "2.10 stream config",
  "account_details[].stream_detail[].config.consumer_limits": "2.10 stream config",
};

/** Paths whose JSON type may differ, and why. */
const TYPE_DIFF: Record<string, string> = {
  leafs: "leafz: 2.9 marshals no leaf nodes as null, 2.10 as []",
};

const ENDPOINTS = [
  "/varz",
  "/connz",
  "/connz?subs=1",
  "/connz?subs=detail",
  "/connz?state=closed",
  "/connz?state=all&sort=uptime",
  "/connz?sort=msgs_to&limit=2&offset=1",
  // The cid of the client named beta on each server (nats-server numbers its internal clients too).
  "/connz?cid=BETA",
  "/subsz",
  "/subsz?subs=1",
  "/subsz?subs=1&test=orders.new",
  "/routez",
  "/leafz",
  "/gatewayz",
  "/accountz",
  "/healthz",
  "/healthz?js-enabled-only=true",
  "/healthz?js-server-only=true",
  "/jsz",
  "/jsz?accounts=1",
  "/jsz?streams=1",
  "/jsz?consumers=1",
  "/jsz?consumers=1&config=1",
] as const;

/** Bad queries: same status and same text. */
const BAD = ["/connz?sort=nope", "/connz?sort=stop", "/connz?state=weird", "/connz?limit=x", "/connz?cid=-1", "/subsz?subs=1&test=orders.*", "/subsz?subs=maybe"] as const;

/** A few clients, subscriptions, publishes, a stream with a consumer, and one closed client. */
async function drive(url: string): Promise<NatsConnection[]> {
  const a = await connect({ servers: url, name: "alpha" });
  const b = await connect({ servers: url, name: "beta" });
  const c = await connect({ servers: url, name: "gamma" });
  b.subscribe("orders.*");
  b.subscribe("orders.new", { queue: "workers" });
  c.subscribe("audit.>");
  c.subscribe("orders.new", { max: 100 });
  await Promise.all([b.flush(), c.flush()]);
  for (let i = 0; i < 20; i++) a.publish("orders.new", "0123456789");
  for (let i = 0; i < 5; i++) a.publish("audit.x", "abc");
  await Promise.all([a.flush(), b.flush(), c.flush()]);
  const jsm = await jetstreamManager(a);
  await jsm.streams.add({ name: "ORDERS", subjects: ["js.orders.>"] });
  await jsm.consumers.add("ORDERS", { durable_name: "PROC", ack_policy: AckPolicy.Explicit });
  const js = jetstream(a);
  for (let i = 0; i < 5; i++) await js.publish("js.orders.x", "payload");
  const cons = await js.consumers.get("ORDERS", "PROC");
  const batch = await cons.fetch({ max_messages: 2, expires: 1000 });
  for await (const m of batch) m.ack();
  const d = await connect({ servers: url, name: "delta" });
  d.subscribe("gone");
  d.publish("orders.new", "x");
  await d.flush();
  await d.close();
  return [a, b, c];
}

async function fetchAll(base: string): Promise<Map<string, { status: number; body: Json }>> {
  const out = new Map<string, { status: number; body: Json }>();
  const all = (await (await fetch(`${base}/connz`)).json()) as { connections: { cid: number; name?: string }[] };
  const beta = all.connections.find((c) => c.name === "beta")!.cid;
  for (const e of ENDPOINTS) {
    const r = await fetch(`${base}${e.replace("BETA", String(beta))}`);
    out.set(e, { status: r.status, body: JSON.parse(await r.text()) as Json });
  }
  for (const e of BAD) {
    const r = await fetch(`${base}${e}`);
    out.set(e, { status: r.status, body: (await r.text()).trim() });
  }
  return out;
}

describe.skipIf(NATS_SERVER === null)("monitoring endpoints against nats-server -m", () => {
  let gnat: Server;
  let nats: Launched;
  const dirs = [tempDir("gnat-mondiff-"), tempDir("nats-mondiff-")];
  let results: { gnat: Map<string, { status: number; body: Json }>; nats: Map<string, { status: number; body: Json }> };
  const clients: NatsConnection[] = [];
  let natsMonitor = "";

  beforeAll(async () => {
    gnat = await startGnat({ httpPort: 0, jetstream: true, storeDir: dirs[0]!.dir });
    const [port, mport] = [await freePort(), await freePort()];
    nats = await spawnNatsServer(["-js", "-sd", dirs[1]!.dir, "-a", "127.0.0.1", "-p", String(port), "-m", String(mport)], port);
    // nats-server opens its monitoring port before its client port, which spawnNatsServer waits for (INFO).
    clients.push(...(await drive(gnat.url)), ...(await drive(`nats://127.0.0.1:${port}`)));
    natsMonitor = `http://127.0.0.1:${mport}`;
    // Closed connections are recorded as each server sees the socket close: wait until both list
    // the one drive() closed (delta).
    await Promise.all([gnat.monitorUrl, natsMonitor].map((m) => vi.waitFor(async () => {
      const r = (await (await fetch(`${m}/connz?state=closed`)).json()) as { connections?: { name?: string }[] | null };
      expect((r.connections ?? []).some((c) => c.name === "delta")).toBe(true);
    }, { timeout: 5000, interval: 20 })));
    results = { gnat: await fetchAll(gnat.monitorUrl), nats: await fetchAll(natsMonitor) };
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await nats.stop();
    await gnat.close();
    for (const d of dirs) d.remove();
  });

  test.each(ENDPOINTS.map((e) => [e]))("%s: same status, keys and value types", (e) => {
    const g = results.gnat.get(e)!;
    const n = results.nats.get(e)!;
    expect(g.status, e).toBe(n.status);
    const gs = shape(g.body);
    const ns = shape(n.body);
    const problems: string[] = [];
    for (const [p, t] of ns) {
      const gt = gs.get(p);
      if (gt === undefined) {
        if (!(p in NATS_ONLY) && !Object.keys(NATS_ONLY).some((k) => p.startsWith(`${k}.`))) problems.push(`missing in gnat: ${p} (${t})`);
      } else if (gt !== t && !(p in TYPE_DIFF)) problems.push(`type of ${p}: gnat ${gt}, nats-server ${t}`);
    }
    for (const [p, t] of gs) {
      if (!ns.has(p) && !(p in GNAT_ONLY) && !Object.keys(GNAT_ONLY).some((k) => p.startsWith(`${k}.`))) problems.push(`only in gnat: ${p} (${t})`);
    }
    expect(problems, e).toEqual([]);
  });

  test("/healthz is byte for byte nats-server's", async () => {
    const [g, n] = await Promise.all([gnat.monitorUrl, natsMonitor].map(async (u) => (await fetch(`${u}/healthz`)).text()));
    expect(g).toBe(n);
  });

  test.each(BAD.map((e) => [e]))("%s: same 400 and error text", (e) => {
    expect(results.gnat.get(e)).toEqual(results.nats.get(e));
  });
});
