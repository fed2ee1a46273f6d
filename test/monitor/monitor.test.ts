// The monitoring HTTP server: every endpoint over real HTTP against a server with real clients,
// the query options nats-server supports, and /metrics read back with a Prometheus text parser.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { METRICS } from "../../server/monitor/metrics.js";
import { tempDir } from "../jetstream/helpers.js";
import { parsePrometheusText } from "./prom-text.js";
import { startGnat } from "../kit/gnat.js";

type Obj = Record<string, unknown>;

async function get(s: Server, path: string): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${s.monitorUrl}${path}`);
  return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
}

async function json(s: Server, path: string): Promise<Obj> {
  const r = await get(s, path);
  expect(r.status, `${path}: ${r.text}`).toBe(200);
  expect(r.type).toBe("application/json");
  return JSON.parse(r.text) as Obj;
}

const conns = (o: Obj): Obj[] => o.connections as Obj[];

describe("monitoring endpoints", () => {
  let server: Server;
  let a: NatsConnection, b: NatsConnection, c: NatsConnection;
  const store = tempDir("gnat-monitor-");

  beforeAll(async () => {
    server = await startGnat({ httpPort: 0, jetstream: true, storeDir: store.dir });
    a = await connect({ servers: server.url, name: "alpha" });
    b = await connect({ servers: server.url, name: "beta" });
    c = await connect({ servers: server.url, name: "gamma" });
    b.subscribe("orders.*");
    b.subscribe("orders.new", { queue: "workers" });
    c.subscribe("audit.>");
    c.subscribe("orders.new", { max: 100 });
    await b.flush();
    await c.flush();
    for (let i = 0; i < 20; i++) a.publish("orders.new", "0123456789");
    for (let i = 0; i < 5; i++) a.publish("audit.x", "abc");
    await a.flush();
    await b.flush();
    await c.flush();
    const jsm = await jetstreamManager(a);
    await jsm.streams.add({ name: "ORDERS", subjects: ["js.orders.>"] });
    await jsm.consumers.add("ORDERS", { durable_name: "PROC", ack_policy: AckPolicy.Explicit });
    const js = jetstream(a);
    for (let i = 0; i < 7; i++) await js.publish("js.orders.x", "payload");
    const cons = await js.consumers.get("ORDERS", "PROC");
    const batch = await cons.fetch({ max_messages: 3, expires: 1000 });
    for await (const m of batch) { void m; break; }
  });

  afterAll(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
    await server.close();
    store.remove();
  });

  test("the server knows its monitoring URL and writes it to the ports file", async () => {
    expect(server.monitorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.ports().monitoring).toEqual([server.monitorUrl]);
  });

  test("/varz reports totals and configuration in nats-server's units", async () => {
    const v = await json(server, "/varz");
    expect(v.server_id).toBe(server.serverId);
    expect(v.port).toBe(server.port);
    expect(v.http_port).toBe(Number(new URL(server.monitorUrl).port));
    expect(v.connections).toBe(3);
    expect(v.total_connections).toBe(3);
    expect(v.ping_interval).toBe(120_000_000_000);
    expect(v.write_deadline).toBe(10_000_000_000);
    expect(v.in_msgs as number).toBeGreaterThanOrEqual(25);
    expect(v.out_msgs as number).toBeGreaterThanOrEqual(20 + 20 + 20 + 5);
    expect(v.in_bytes as number).toBeGreaterThanOrEqual(20 * 10 + 5 * 3);
    expect(v.slow_consumers).toBe(0);
    expect(v.stalled_clients).toBe(0);
    expect(v.subscriptions as number).toBeGreaterThanOrEqual(4);
    expect(typeof v.mem).toBe("number");
    expect(typeof v.cpu).toBe("number");
    expect(v.uptime).toMatch(/^\d+s$/);
    expect(Date.parse(v.now as string)).toBeGreaterThanOrEqual(Date.parse(v.start as string));
    const jsv = v.jetstream as Obj;
    expect((jsv.config as Obj).store_dir).toBe(join(store.dir, "jetstream"));
    expect(((v.http_req_stats as Obj)["/varz"] as number)).toBeGreaterThanOrEqual(1);
  });

  test("/connz lists open connections with their counters, names and client versions", async () => {
    const z = await json(server, "/connz");
    expect(z.num_connections).toBe(3);
    expect(z.total).toBe(3);
    expect(z.limit).toBe(1024);
    const [ca, cb, cc] = conns(z);
    expect(ca).toMatchObject({ name: "alpha", lang: "nats.js", ip: "127.0.0.1", kind: "Client", type: "nats" });
    expect(ca!.in_msgs as number).toBeGreaterThanOrEqual(25);
    expect(ca!.in_bytes as number).toBeGreaterThanOrEqual(215);
    expect(cb).toMatchObject({ name: "beta", subscriptions: 2, out_msgs: 40, out_bytes: 400 });
    expect(cc).toMatchObject({ name: "gamma", subscriptions: 2, out_msgs: 25 });
    expect(cb!.rtt).toMatch(/^[\d.]+(ns|µs|ms|s)$/);
    expect(cb!.pending_bytes).toBe(0);
    expect(cb!.subscriptions_list).toBeUndefined();
  });

  test("/connz sorts by each of nats-server's keys, pages with offset and limit, and finds a cid", async () => {
    const names = (o: Obj): unknown[] => conns(o).map((x) => x.name);
    expect(names(await json(server, "/connz?sort=msgs_to"))).toEqual(["beta", "gamma", "alpha"]);
    // Descending by the field each key names, as nats-server sorts.
    for (const [k, field] of [["bytes_to", "out_bytes"], ["msgs_from", "in_msgs"], ["bytes_from", "in_bytes"], ["subs", "subscriptions"]] as const) {
      const vals = conns(await json(server, `/connz?sort=${k}`)).map((x) => x[field] as number);
      expect(vals, k).toEqual([...vals].sort((x, y) => y - x));
    }
    expect(names(await json(server, "/connz?sort=msgs_from"))[0]).toBe("alpha");
    for (const k of ["cid", "start", "subs", "pending", "last", "idle", "uptime", "rtt"]) {
      expect(conns(await json(server, `/connz?sort=${k}`)).length, k).toBe(3);
    }
    const page = await json(server, "/connz?offset=1&limit=1");
    expect(page).toMatchObject({ offset: 1, limit: 1, num_connections: 1, total: 3 });
    expect(names(page)).toEqual(["beta"]);
    const cid = conns(page)[0]!.cid as number;
    expect(names(await json(server, `/connz?cid=${cid}`))).toEqual(["beta"]);
    expect((await get(server, "/connz?sort=stop")).status).toBe(400);
    const bad = await get(server, "/connz?sort=nope");
    expect(bad).toMatchObject({ status: 400, text: "invalid sorting option: nope" });
    expect((await get(server, "/connz?state=weird")).status).toBe(400);
    expect((await get(server, "/connz?limit=x")).text).toBe(`Error decoding int for 'limit': strconv.Atoi: parsing "x": invalid syntax`);
  });

  test("/connz?subs=1 lists subjects and subs=detail each subscription's queue, sid and count", async () => {
    const list = conns(await json(server, "/connz?subs=1")).find((x) => x.name === "beta")!;
    expect((list.subscriptions_list as string[]).sort()).toEqual(["orders.*", "orders.new"]);
    const det = conns(await json(server, "/connz?subs=detail")).find((x) => x.name === "gamma")!;
    const subs = det.subscriptions_list_detail as Obj[];
    expect(subs).toContainEqual({ subject: "orders.new", sid: expect.any(String), msgs: 20, max: 100, cid: det.cid });
    const q = (conns(await json(server, "/connz?subs=detail")).find((x) => x.name === "beta")!.subscriptions_list_detail as Obj[])
      .find((s) => s.qgroup === "workers");
    expect(q).toMatchObject({ subject: "orders.new", msgs: 20 });
  });

  test("/connz?state=closed keeps closed connections with their stop time, reason and subscriptions", async () => {
    const d = await connect({ servers: server.url, name: "delta" });
    d.subscribe("gone.soon");
    d.publish("orders.new", "x");
    await d.flush();
    await d.close();
    let closed: Obj[] = [];
    for (let i = 0; i < 50 && closed.length === 0; i++) {
      closed = conns(await json(server, "/connz?state=closed&subs=1"));
      if (closed.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ name: "delta", reason: "Client Closed", in_msgs: 1, subscriptions: 1, subscriptions_list: ["gone.soon"] });
    expect(typeof closed[0]!.stop).toBe("string");
    const all = await json(server, "/connz?state=all");
    expect(all.total).toBe(4);
    expect(conns(await json(server, `/connz?state=closed&cid=${closed[0]!.cid as number}`))[0]!.name).toBe("delta");
    expect(conns(await json(server, "/connz?state=closed&sort=reason")).length).toBe(1);
  });

  test("/subsz gives the index's statistics, its subscriptions with subs=1, and those matching test=", async () => {
    const s = await json(server, "/subsz");
    expect(s.num_subscriptions as number).toBeGreaterThanOrEqual(4);
    expect(s.num_inserts as number).toBeGreaterThanOrEqual(4);
    expect(s.subscriptions_list).toBeUndefined();
    const all = await json(server, "/subsz?subs=1");
    const subjects = (all.subscriptions_list as Obj[]).map((x) => x.subject);
    expect(subjects).toEqual(expect.arrayContaining(["orders.*", "orders.new", "audit.>"]));
    const t = await json(server, "/subsz?subs=1&test=orders.new");
    expect((t.subscriptions_list as Obj[]).map((x) => x.subject).sort()).toEqual(["orders.*", "orders.new", "orders.new"]);
    expect(t.total).toBe(3);
    expect((t.subscriptions_list as Obj[])[0]!.account).toBe("$G");
    expect((await get(server, "/subsz?subs=1&test=orders.*")).status).toBe(400);
    expect((await json(server, "/subscriptionsz")).num_subscriptions).toBe(s.num_subscriptions);
  });

  test("/routez, /leafz and /gatewayz answer nats-server's empty shapes; /accountz names $G and $SYS, as nats-server's does", async () => {
    expect(await json(server, "/routez")).toMatchObject({ num_routes: 0, routes: [] });
    expect(await json(server, "/leafz")).toMatchObject({ leafnodes: 0, leafs: [] });
    expect(await json(server, "/gatewayz")).toMatchObject({ outbound_gateways: {}, inbound_gateways: {} });
    expect((await json(server, "/accountz")).accounts).toEqual(["$G", "$SYS"]);
  });

  test("/healthz is ok, also when asked about JetStream only", async () => {
    for (const q of ["", "?js-enabled-only=true", "?js-server-only=true"]) {
      expect((await get(server, `/healthz${q}`)).text).toBe('{"status":"ok"}');
    }
  });

  test("/jsz totals streams and consumers; streams=1, consumers=1 and config=1 add detail", async () => {
    const z = await json(server, "/jsz");
    expect(z).toMatchObject({ streams: 1, consumers: 1, messages: 7, accounts: 1 });
    expect(z.account_details).toBeUndefined();
    expect((z.api as Obj).total as number).toBeGreaterThan(0);
    const s = await json(server, "/jsz?streams=1");
    const sd = ((s.account_details as Obj[])[0]!.stream_detail as Obj[])[0]!;
    expect(sd).toMatchObject({ name: "ORDERS", state: { messages: 7, consumer_count: 1 } });
    expect(sd.config).toBeUndefined();
    expect(sd.consumer_detail).toBeUndefined();
    const c = await json(server, "/jsz?consumers=1&config=1");
    const cd = (((c.account_details as Obj[])[0]!.stream_detail as Obj[])[0]!);
    expect((cd.config as Obj).name).toBe("ORDERS");
    const cons = (cd.consumer_detail as Obj[])[0]!;
    expect(cons).toMatchObject({ name: "PROC", num_ack_pending: 3, num_pending: 4 });
    expect((cons.config as Obj).durable_name).toBe("PROC");
    const noCfg = await json(server, "/jsz?consumers=1");
    expect((((noCfg.account_details as Obj[])[0]!.stream_detail as Obj[])[0]!.consumer_detail as Obj[])[0]!.config).toBeUndefined();
  });

  test("/metrics is valid Prometheus text with every documented metric, read at scrape time", async () => {
    const r = await get(server, "/metrics");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheusText(r.text);
    for (const [name] of Object.values(METRICS)) expect(fams.has(name), name).toBe(true);
    const one = (name: string, labels: Obj = {}): number => {
      const f = fams.get(name)!;
      const s = f.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      expect(s, `${name} ${JSON.stringify(labels)}`).toBeDefined();
      return s!.value;
    };
    const v = await json(server, "/varz");
    expect(fams.get("gnat_messages_in_total")!.type).toBe("counter");
    expect(one("gnat_messages_in_total")).toBeLessThanOrEqual(v.in_msgs as number);
    expect(one("gnat_messages_in_total")).toBeGreaterThanOrEqual(25);
    expect(one("gnat_connections")).toBe(3);
    expect(one("gnat_client_pending_bytes", { name: "beta" })).toBe(0);
    expect(one("gnat_jetstream_stream_messages", { stream: "ORDERS" })).toBe(7);
    expect(one("gnat_jetstream_stream_consumers", { stream: "ORDERS" })).toBe(1);
    expect(one("gnat_jetstream_consumer_num_pending", { stream: "ORDERS", consumer: "PROC" })).toBe(4);
    expect(one("gnat_jetstream_consumer_num_ack_pending", { stream: "ORDERS", consumer: "PROC" })).toBe(3);
    expect(one("gnat_jetstream_consumer_num_redelivered", { stream: "ORDERS", consumer: "PROC" })).toBe(0);
    const lat = fams.get("gnat_jetstream_store_latency_seconds")!;
    expect(lat.type).toBe("histogram");
    expect(lat.samples.find((s) => s.name.endsWith("_count"))!.value).toBe(7);
    expect(fams.get("gnat_jetstream_consumer_ack_latency_seconds")!.type).toBe("histogram");
  });

  test("README lists every metric the server exposes", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const [name] of Object.values(METRICS)) expect(readme, name).toMatch(new RegExp(`\\| \`${name}(\\{[a-z_,]+\\})?\` \\|`));
  });

  test("unknown paths are 404 and the root page links the endpoints", async () => {
    expect((await get(server, "/nope")).status).toBe(404);
    const root = await get(server, "/");
    expect(root.status).toBe(200);
    expect(root.text).toContain('href="./connz"');
  });
});

describe("monitoring lifecycle", () => {
  test("without a monitoring port there is no monitor", async () => {
    const s = await startGnat();
    expect(s.monitorUrl).toBe("");
    expect(s.ports().monitoring).toBeUndefined();
    await s.close();
  });

  test("close() stops the monitoring listener", async () => {
    const s = await startGnat({ httpPort: 0 });
    const url = s.monitorUrl;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await s.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  test("the ports file names the monitoring URL as nats-server's does", async () => {
    const dir = tempDir("gnat-ports-");
    const s = await startGnat({ httpPort: 0, portsFileDir: dir.dir });
    const file = readdirSync(dir.dir).find((f) => f.endsWith(".ports"))!;
    expect(JSON.parse(readFileSync(join(dir.dir, file), "utf8"))).toEqual({ nats: [s.url], monitoring: [s.monitorUrl] });
    await s.close();
    dir.remove();
  });

  test("an explicit ack is timed from its delivery, per consumer", async () => {
    const dir = tempDir("gnat-acklat-");
    const s = await startGnat({ httpPort: 0, jetstream: true, storeDir: dir.dir });
    const nc = await connect({ servers: s.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "LAT", subjects: ["lat.>"] });
      const js = jetstream(nc);
      for (let i = 0; i < 3; i++) await js.publish("lat.x", "x");
      await jsm.consumers.add("LAT", { durable_name: "W", ack_policy: AckPolicy.Explicit });
      const c = await js.consumers.get("LAT", "W");
      const batch = await c.fetch({ max_messages: 3, expires: 2000 });
      for await (const m of batch) await m.ackAck();
      const fams = parsePrometheusText((await get(s, "/metrics")).text);
      const h = fams.get("gnat_jetstream_consumer_ack_latency_seconds")!;
      const count = h.samples.find((x) => x.name.endsWith("_count") && x.labels.stream === "LAT" && x.labels.consumer === "W");
      expect(count?.value).toBe(3);
    } finally {
      await nc.close();
      await s.close();
      dir.remove();
    }
  });

  test("a JetStream server with a monitor times stored messages; without one it reads no clock", async () => {
    const dir = tempDir("gnat-lat-");
    const s = await startGnat({ jetstream: true, storeDir: dir.dir });
    expect(s.jetstream!.storeLatency).toBeNull();
    await s.close();
    dir.remove();
  });
});
