// The edge-to-cluster redundancy story (issue #19), end to end on loopback: a gnat leaf (JetStream
// domain `edge`) takes acknowledged publishes while a 3-node nats-server JetStream cluster (domain
// `hub`) holds an R3 mirror of its stream, over the leafnode link (`external: {api: "$JS.edge.API"}`).
// Once the mirror's lag is 0, gnat is killed with SIGKILL and its store deleted: every acknowledged
// message is read back from the cluster, in order, once; then a fresh gnat sources the stream back
// from the cluster (`external: {api: "$JS.hub.API"}`) and serves it again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, freePort, NATS_SERVER, spawnGnat, spawnNatsServer, type GnatProcess, type Listening } from "../kit/processes.js";
import { until } from "../kit/wait.js";

const SKIP = NATS_SERVER === null;
const N = 300;

interface ClusterNode { name: string; port: number; leafPort: number; proc: Listening }

async function startCluster(dir: string): Promise<ClusterNode[]> {
  const ports = await Promise.all([0, 1, 2].map(async () => ({ port: await freePort(), cluster: await freePort(), leaf: await freePort() })));
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.cluster}"`).join(", ");
  return Promise.all(ports.map(async (p, i) => {
    const name = `hub${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, [
      `server_name: ${name}`,
      `listen: 127.0.0.1:${p.port}`,
      `jetstream { domain: hub, store_dir: "${join(dir, name)}" }`,
      `cluster { name: hub, listen: 127.0.0.1:${p.cluster}, routes: [${routes}] }`,
      `leafnodes { listen: 127.0.0.1:${p.leaf} }`,
    ].join("\n"));
    return { name, port: p.port, leafPort: p.leaf, proc: await spawnNatsServer(["-c", conf], p.port) };
  }));
}

async function startEdge(dir: string, store: string, hubs: ClusterNode[]): Promise<GnatProcess> {
  const conf = join(dir, "edge.conf");
  writeFileSync(conf, [
    `server_name: edge1`,
    `jetstream { domain: edge, store_dir: "${store}" }`,
    `leafnodes { remotes [ { urls: [${hubs.map((h) => `"nats-leaf://127.0.0.1:${h.leafPort}"`).join(", ")}] } ] }`,
  ].join("\n"));
  return spawnGnat(["-c", conf], dir);
}

describe.skipIf(SKIP)("edge to cluster: a gnat leaf's stream mirrored R3 on nats-server, restored from it", () => {
  const dir = mkdtempSync(join(tmpdir(), "gnat-edge-"));
  let hubs: ClusterNode[] = [];
  let edge: GnatProcess | null = null;
  let onHub: NatsConnection;
  const acked: Array<{ seq: number; data: string }> = [];

  beforeAll(async () => {
    ensureBuilt();
    hubs = await startCluster(dir);
    onHub = await connect({ servers: hubs.map((h) => `nats://127.0.0.1:${h.port}`) });
    // The cluster's JetStream is ready once its meta group answers.
    const jsm = await jetstreamManager(onHub, { checkAPI: false });
    await until(async () => jsm.getAccountInfo().then(() => true, () => false), { timeout: 20_000, what: "the cluster's JetStream" });
  }, 30_000);

  afterAll(async () => {
    await onHub?.close().catch(() => {});
    await edge?.stop();
    for (const h of hubs) await h.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const mirrorInfo = async (): Promise<StreamInfo> => (await jetstreamManager(onHub)).streams.info("BACKUP");

  it("the cluster mirrors the edge stream (R3) until its lag is 0", async () => {
    const store = join(dir, "edge-store");
    mkdirSync(store);
    edge = await startEdge(dir, store, hubs);
    // The hub reaches the edge's API once the leafnode link is up.
    const edgeJsm = await jetstreamManager(onHub, { domain: "edge", checkAPI: false });
    await until(async () => edgeJsm.getAccountInfo().then((a) => a.domain === "edge", () => false), { timeout: 15_000, what: "the edge's API from the hub" });
    await edgeJsm.streams.add({ name: "EDGE", subjects: ["edge.>"] });

    const jsm = await jetstreamManager(onHub);
    await jsm.streams.add({ name: "BACKUP", num_replicas: 3, mirror: { name: "EDGE", external: { api: "$JS.edge.API", deliver: "" } } });

    // Acknowledged publishes on the edge itself, while the mirror runs.
    const onEdge = await connect({ servers: edge.url });
    const js = jetstream(onEdge);
    for (let i = 1; i <= N; i++) {
      const data = `m${i}`;
      const ack = await js.publish(`edge.${i % 7}`, data);
      expect(ack.domain).toBe("edge");
      acked.push({ seq: ack.seq, data });
    }
    await onEdge.close();
    expect(acked.map((a) => a.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));

    const si = await until(async () => {
      const i = await mirrorInfo();
      return i.state.messages === N && i.mirror?.lag === 0 ? i : null;
    }, { timeout: 20_000, what: `the mirror holding ${N} messages with lag 0` });
    expect(si.config.num_replicas).toBe(3);
    expect(si.state.last_seq).toBe(N);
    expect(si.cluster?.replicas?.length).toBe(2);
  }, 60_000);

  it("kill -9 the edge and delete its store: every acked message is in the cluster, in order, once", async () => {
    await edge!.stop("SIGKILL");
    edge = null;
    rmSync(join(dir, "edge-store"), { recursive: true, force: true });
    const js = jetstream(onHub);
    const c = await js.consumers.get("BACKUP");
    const got: Array<{ seq: number; data: string }> = [];
    const msgs = await c.fetch({ max_messages: N, expires: 5000 });
    for await (const m of msgs) {
      got.push({ seq: m.seq, data: m.string() });
      if (got.length === N) break;
    }
    expect(got).toEqual(acked);
  }, 30_000);

  it("a fresh edge sources the stream back from the cluster and serves it again", async () => {
    const store = join(dir, "edge-store-2");
    mkdirSync(store);
    edge = await startEdge(dir, store, hubs);
    const onEdge = await connect({ servers: edge.url });
    try {
      const jsm = await jetstreamManager(onEdge);
      await jsm.streams.add({ name: "RESTORED", sources: [{ name: "BACKUP", external: { api: "$JS.hub.API", deliver: "" } }] });
      const si = await until(async () => {
        const i = await jsm.streams.info("RESTORED");
        return i.state.messages === N && i.sources?.[0]?.lag === 0 ? i : null;
      }, { timeout: 20_000, what: `the restored stream holding ${N} messages` });
      expect((si.sources?.[0] as { external?: { api: string } } | undefined)?.external?.api).toBe("$JS.hub.API");
      const c = await jetstream(onEdge).consumers.get("RESTORED");
      const got: string[] = [];
      const msgs = await c.fetch({ max_messages: N, expires: 5000 });
      for await (const m of msgs) {
        got.push(m.string());
        expect(m.headers?.get("Nats-Stream-Source")).toMatch(new RegExp(`^BACKUP:[0-9A-Za-z]{8} ${got.length} > >$`));
        if (got.length === N) break;
      }
      expect(got).toEqual(acked.map((a) => a.data));
    } finally {
      await onEdge.close();
    }
  }, 30_000);

  it("kill -9 during publishing: the mirror holds nothing the edge lost, and nothing acked is lost", async () => {
    const store = join(dir, "edge-store-2");
    const onEdge = await connect({ servers: edge!.url, reconnect: false });
    await jetstreamManager(onEdge).then((m) => m.streams.add({ name: "LIVE", subjects: ["live.>"] }));
    const jsm = await jetstreamManager(onHub);
    await jsm.streams.add({ name: "LIVE_BACKUP", num_replicas: 3, mirror: { name: "LIVE", external: { api: "$JS.edge.API", deliver: "" } } });
    const js = jetstream(onEdge);
    const live: string[] = [];
    let sent = 0;
    const publishing = (async () => {
      for (;;) {
        const data = `l${++sent}`;
        try {
          await js.publish("live.x", data, { timeout: 2000 });
        } catch {
          return;
        }
        live.push(data);
      }
    })();
    // The mirror is copying while the publisher runs; the edge dies in the middle of both.
    await until(async () => live.length >= 150 && (await jsm.streams.info("LIVE_BACKUP")).state.messages > 0, { timeout: 20_000, what: "publishing under way, the mirror copying" });
    await edge!.stop("SIGKILL");
    edge = null;
    await publishing;
    await onEdge.close().catch(() => {});
    const held = (await jsm.streams.info("LIVE_BACKUP")).state.messages;
    // Sequential publishes: at most the one in flight was stored (and maybe copied) without its ack arriving.
    expect(held).toBeLessThanOrEqual(live.length + 1);
    const read = async (stream: string, nc: NatsConnection, n: number): Promise<string[]> => {
      const out: string[] = [];
      if (n === 0) return out;
      for await (const m of await (await jetstream(nc).consumers.get(stream)).fetch({ max_messages: n, expires: 5000 })) {
        out.push(m.string());
        if (out.length === n) break;
      }
      return out;
    };
    const mirrored = await read("LIVE_BACKUP", onHub, held);
    expect(mirrored).toEqual(Array.from({ length: held }, (_, i) => `l${i + 1}`));

    // The edge again, on its store: everything acked is there, and everything the mirror holds.
    edge = await startEdge(dir, store, hubs);
    const back = await connect({ servers: edge.url });
    try {
      const si = await (await jetstreamManager(back)).streams.info("LIVE");
      expect(si.state.messages).toBeGreaterThanOrEqual(Math.max(live.length, held));
      expect(si.state.messages).toBeLessThanOrEqual(live.length + 1);
      const origin = await read("LIVE", back, si.state.messages);
      expect(origin.slice(0, live.length)).toEqual(live);
      expect(origin.slice(0, held)).toEqual(mirrored);
      // The mirror resumes over the returned link: the edge's whole stream, no gap, no duplicate.
      await until(async () => {
        const i = await jsm.streams.info("LIVE_BACKUP");
        return i.state.messages === si.state.messages && i.mirror?.lag === 0;
      }, { timeout: 20_000, what: "the mirror caught up with the restarted edge" });
      expect(await read("LIVE_BACKUP", onHub, si.state.messages)).toEqual(origin);
    } finally {
      await back.close();
    }
  }, 60_000);
});
