// /routez and /varz's cluster part, against nats-server's: the same keys, and figures that are
// true (a route's counters move with the traffic it carries).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, meshed, startNode, until, type Node } from "./kit.js";

const skip = NATS_SERVER === null;

describe.skipIf(skip)(`cluster monitoring${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  let g: Node;
  let n: Node;
  let gMon = 0;
  let nMon = 0;
  let cg: NatsConnection;
  let cn: NatsConnection;
  beforeAll(async () => {
    gMon = await freePort();
    nMon = await freePort();
    g = await startNode({ name: "g", kind: "gnat", gnat: { httpPort: gMon, httpHost: "127.0.0.1" } });
    // The kit gives nats-server a monitoring port of its own; this one is asked for explicitly.
    n = await startNode({ name: "n", kind: "nats", routes: [`nats-route://127.0.0.1:${g.clusterPort}`], monitorPort: nMon });
    await meshed([g, n]);
    cg = await connectTo(g);
    cn = await connectTo(n);
  }, 20_000);
  afterAll(async () => {
    await cg.close();
    await cn.close();
    await n.stop();
    await g.stop();
  });

  const get = async (port: number, path: string): Promise<Record<string, unknown>> => (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as Record<string, unknown>;

  it("/routez has nats-server's keys, and its counters follow the traffic", async () => {
    const got: string[] = [];
    cn.subscribe("count.me", { callback: (_e, m) => got.push(m.string()) });
    await interestArrived(cn, cg);
    const before = ((await get(gMon, "/routez")).routes as Record<string, number>[])[0]!;
    for (let i = 0; i < 10; i++) cg.publish("count.me", "0123456789");
    await cg.flush();
    await until(() => got.length === 10, "10 messages across");
    const [gz, nz] = [await get(gMon, "/routez?subs=1"), await get(nMon, "/routez?subs=1")];
    expect(gz.num_routes).toBe(1);
    const gr = (gz.routes as Record<string, unknown>[])[0]!;
    const nr = (nz.routes as Record<string, unknown>[])[0]!;
    // 2.10 adds remote_name: gnat has it; the rest are 2.9's keys.
    expect(Object.keys(gr).filter((k) => k !== "remote_name").sort()).toEqual(Object.keys(nr).sort());
    expect(Object.keys(gz).sort()).toEqual(Object.keys(nz).sort());
    expect(gr.remote_name).toBe("n");
    expect((gr.out_msgs as number) - (before.out_msgs ?? 0)).toBeGreaterThanOrEqual(10);
    expect((gr.out_bytes as number) - (before.out_bytes ?? 0)).toBeGreaterThanOrEqual(100);
    expect(gr.subscriptions_list as string[]).toContain("count.me");
  });

  it("/varz's cluster part and connect_urls have nats-server's keys", async () => {
    const [gv, nv] = [await get(gMon, "/varz"), await get(nMon, "/varz")];
    expect(Object.keys(gv.cluster as object).sort()).toEqual(Object.keys(nv.cluster as object).filter((k) => k !== "urls").sort());
    expect((gv.cluster as { name: string }).name).toBe("c1");
    expect((gv.cluster as { cluster_port: number }).cluster_port).toBe(g.clusterPort);
    expect(gv.routes).toBe(1);
    expect([...(gv.connect_urls as string[])].sort()).toEqual([...(nv.connect_urls as string[])].sort());
  });
});

describe.skipIf(skip)(`links in /metrics and the link_down alert${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  it("counts the route's traffic per link, and fires link_down while a configured route is down", async () => {
    const n = await startNode({ name: "peer", kind: "nats" });
    const mon = await freePort();
    const g = await startNode({
      name: "g", kind: "gnat", routes: [`nats-route://127.0.0.1:${n.clusterPort}`],
      gnat: { httpPort: mon, httpHost: "127.0.0.1", alerts: { interval: 50, link_down: { threshold: 1 } } },
    });
    let n2: Node | null = null;
    const c = await connectTo(g);
    try {
      await meshed([g, n]);
      const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${mon}/metrics`)).text();
      // link_down may have fired while the route was still being dialled at start: wait until it
      // is quiet, so its "resolved" is not taken for the next event.
      await until(async () => /^gnat_alert_active\{alert="link_down"\} 0$/m.test(await metrics()), "link_down quiet");
      const events: { state: string; detail: string }[] = [];
      c.subscribe("$GNAT.ALERT.link_down", { callback: (_e, m) => events.push(m.json()) });
      await c.flush();
      let text = await metrics();
      expect(text).toMatch(/^gnat_links\{kind="route"\} 1$/m);
      expect(text).toMatch(/^gnat_link_messages_out_total\{kind="route",remote="peer",remote_id="N[A-Z0-9]+"\} \d+$/m);
      expect(text).toMatch(/^gnat_links_down 0$/m);
      await n.kill();
      await until(() => events.length === 1, "link_down fires");
      expect(events[0]).toMatchObject({ state: "firing", detail: `route 127.0.0.1:${n.clusterPort}` });
      text = await metrics();
      expect(text).toMatch(/^gnat_links_down 1$/m);
      expect(text).toMatch(/^gnat_alert_active\{alert="link_down"\} 1$/m);
      n2 = await startNode({ name: "peer", kind: "nats", port: n.port, clusterPort: n.clusterPort });
      await meshed([g, n2]);
      await until(() => events.length === 2, "link_down resolves");
      expect(events[1]).toMatchObject({ state: "resolved" });
    } finally {
      await c.close();
      await g.stop();
      await n.stop();
      await n2?.stop();
    }
  });
});

describe.skipIf(skip)(`links on the dashboard${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  it("/dashboard.json lists each route with its peer and counters, and configured routes that are down", async () => {
    const n = await startNode({ name: "peer", kind: "nats" });
    const mon = await freePort();
    const g = await startNode({ name: "g", kind: "gnat", routes: [`nats-route://127.0.0.1:${n.clusterPort}`, "nats-route://127.0.0.1:1"], gnat: { httpPort: mon, httpHost: "127.0.0.1" } });
    try {
      await until(async () => (await g.routeCount()) === 1, "the route to the peer");
      const d = (await (await fetch(`http://127.0.0.1:${mon}/dashboard.json`)).json()) as { links: { kind: string; remote: string }[]; links_down: { url: string }[] };
      expect(d.links).toMatchObject([{ kind: "route", remote: "peer" }]);
      expect(d.links_down).toEqual([{ kind: "route", url: "127.0.0.1:1" }]);
    } finally {
      await g.stop();
      await n.stop();
    }
  });
});

describe.skipIf(skip)(`leafnode links in /metrics and link_down${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  it("counts a leafnode connection per link and fires link_down while its remote is down", async () => {
    const leafPort = await freePort();
    const hub = await startNode({ name: "hub", kind: "nats", config: `leafnodes { listen: 127.0.0.1:${leafPort} }` });
    const mon = await freePort();
    const g = await startNode({
      name: "edge", kind: "gnat", clusterName: "edge", config: `leafnodes { reconnect: 1, remotes [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }`,
      gnat: { httpPort: mon, httpHost: "127.0.0.1", alerts: { interval: 50, link_down: { threshold: 1 } } },
    });
    const c = await connectTo(g);
    try {
      const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${mon}/metrics`)).text();
      // The link counted and the alert quiet again: link_down may have fired while the remote
      // was still dialling at start, and its "resolved" must not be taken for the next event.
      await until(async () => {
        const m = await metrics();
        return /^gnat_links\{kind="leaf"\} 1$/m.test(m) && /^gnat_alert_active\{alert="link_down"\} 0$/m.test(m);
      }, "the leaf link counted and link_down quiet");
      const events: { state: string; detail: string }[] = [];
      c.subscribe("$GNAT.ALERT.link_down", { callback: (_e, m) => events.push(m.json()) });
      await c.flush();
      expect(await metrics()).toMatch(/^gnat_link_messages_in_total\{kind="leaf",remote="hub",remote_id="N[A-Z0-9]+"\} \d+$/m);
      await hub.kill();
      await until(() => events.length === 1, "link_down fires for the leaf remote");
      expect(events[0]).toMatchObject({ state: "firing", detail: `leaf 127.0.0.1:${leafPort}` });
      const d = (await (await fetch(`http://127.0.0.1:${mon}/dashboard.json`)).json()) as { links_down: unknown[] };
      expect(d.links_down).toEqual([{ kind: "leaf", url: `127.0.0.1:${leafPort}` }]);
    } finally {
      await c.close();
      await g.stop();
      await hub.stop();
    }
  });
});
