// Leafnodes: gnat as a leaf of a hub and as a hub for leafs, with nats-server (Debian's 2.9) on
// the other side and with gnat on both. Each mix: messages both ways with headers, requests
// answered across the link, queue groups across the link (each message exactly once), and the
// hub killed (-9) and started again on its ports: the leaf dials again and tells its interest
// again. Then two remotes binding two accounts, loop detection, bad input on the leafnode port,
// and /leafz and /varz in nats-server's shape.
import { connect as netConnect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, meshed, startNode, until } from "./kit.js";
import { closeLeafSuite, leafsUp, remoteTo, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
const MIXES: [LeafKind, LeafKind][] = [["gnat", "gnat"], ["nats", "gnat"], ["gnat", "nats"]];

function title(hub: LeafKind, leaf: LeafKind): string {
  return `${leaf} leaf of a ${hub} hub`;
}

for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`${title(hubKind, leafKind)}${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    let hub: LeafServer;
    let leaf: LeafServer;
    let onHub: NatsConnection;
    let onLeaf: NatsConnection;
    const tag = `${hubKind}-${leafKind}`;

    beforeAll(async () => {
      hub = await startLeafServer({ kind: hubKind, name: `hub-${tag}`, hub: true });
      leaf = await startLeafServer({ kind: leafKind, name: `leaf-${tag}`, leafnodes: remoteTo(hub) });
      await leafsUp([hub, leaf]);
      onHub = await connect({ servers: hub.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
      onLeaf = await connect({ servers: leaf.url });
    }, 30_000);

    afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub]));

    it("carries messages both ways, headers and all", async () => {
      const got: string[] = [];
      const record = (side: string) => (_e: unknown, m: { string(): string; headers?: { get(k: string): string } }): void => {
        got.push(`${side}:${m.string()}|${m.headers?.get("X-From") ?? ""}`);
      };
      const a = onLeaf.subscribe(`down.${tag}`, { callback: record("leaf") });
      const b = onHub.subscribe(`up.${tag}`, { callback: record("hub") });
      await interestArrived(onLeaf, onHub);
      await interestArrived(onHub, onLeaf);
      const h = headers();
      h.set("X-From", "hub");
      onHub.publish(`down.${tag}`, "plain");
      onHub.publish(`down.${tag}`, "with headers", { headers: h });
      const h2 = headers();
      h2.set("X-From", "leaf");
      onLeaf.publish(`up.${tag}`, "plain");
      onLeaf.publish(`up.${tag}`, "with headers", { headers: h2 });
      await until(() => got.length >= 4, "four messages across the link");
      expect(got.sort()).toEqual(["hub:plain|", "hub:with headers|leaf", "leaf:plain|", "leaf:with headers|hub"]);
      a.unsubscribe();
      b.unsubscribe();
    });

    it("answers a request across the link, either way", async () => {
      const s1 = onHub.subscribe(`svc.hub.${tag}`, { callback: (_e, m) => m.respond(`hub says ${m.string()}`) });
      const s2 = onLeaf.subscribe(`svc.leaf.${tag}`, { callback: (_e, m) => m.respond(`leaf says ${m.string()}`) });
      await interestArrived(onHub, onLeaf);
      await interestArrived(onLeaf, onHub);
      expect((await onLeaf.request(`svc.hub.${tag}`, "hi", { timeout: 5000 })).string()).toBe("hub says hi");
      expect((await onHub.request(`svc.leaf.${tag}`, "ho", { timeout: 5000 })).string()).toBe("leaf says ho");
      s1.unsubscribe();
      s2.unsubscribe();
      await expect(onLeaf.request(`nobody.${tag}`, "x", { timeout: 5000 })).rejects.toThrow(/no responders/);
    });

    it("gives each message of a queue group to exactly one member, across the link when the members are there", async () => {
      // Members on the leaf only: what the hub's clients publish crosses, spread over them.
      const perMember = [0, 0];
      const seen = new Map<string, number>();
      const count = (i: number) => (_e: unknown, m: { string(): string }): void => {
        perMember[i]!++;
        seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
      };
      const qs = [0, 1].map((i) => onLeaf.subscribe(`work.${tag}`, { queue: "workers", callback: count(i) }));
      await interestArrived(onLeaf, onHub);
      const N = 200;
      for (let k = 0; k < N; k++) onHub.publish(`work.${tag}`, `h${k}`);
      await onHub.flush();
      await until(() => seen.size === N, `all ${N} queue messages on the leaf`);
      // And members on both sides: each message once, whichever side published it.
      const hubSide = [0, 1].map(() => onHub.subscribe(`work.${tag}`, { queue: "workers", callback: (_e, m) => seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1) }));
      await interestArrived(onHub, onLeaf);
      for (let k = 0; k < N; k++) {
        onHub.publish(`work.${tag}`, `b${k}`);
        onLeaf.publish(`work.${tag}`, `l${k}`);
      }
      await onHub.flush();
      await onLeaf.flush();
      await until(() => seen.size === 3 * N, `all ${3 * N} queue messages`);
      // A late duplicate would show up on a round trip over the link.
      await interestArrived(onLeaf, onHub);
      await interestArrived(onHub, onLeaf);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(perMember[0]! > 0 && perMember[1]! > 0).toBe(true);
      for (const s of [...qs, ...hubSide]) s.unsubscribe();
    });

    it("dials again when the hub is killed and restarted on its ports, and tells its interest again", async () => {
      const got: string[] = [];
      const s = onLeaf.subscribe(`after.${tag}`, { callback: (_e, m) => got.push(m.string()) });
      await interestArrived(onLeaf, onHub);
      await hub.kill();
      await hub.restart();
      await leafsUp([hub, leaf]);
      await until(() => !onHub.isClosed() && onHub.info !== undefined, "the hub client reconnected");
      await interestArrived(onLeaf, onHub);
      onHub.publish(`after.${tag}`, "back");
      await until(() => got.length === 1, "a message after the restart");
      expect(got).toEqual(["back"]);
      s.unsubscribe();
    }, 30_000);
  });
}

describe.skipIf(NO_NATS)(`two remotes binding two accounts${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const servers: LeafServer[] = [];
  const conns: NatsConnection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) await c.close().catch(() => {});
    for (const s of servers.splice(0)) await s.stop();
  });

  const accounts = (a: string, b: string): string =>
    `accounts { ${a} { users [ { user: ${a.toLowerCase()}, password: pw } ] }, ${b} { users [ { user: ${b.toLowerCase()}, password: pw } ] } }`;

  for (const [hubKind, leafKind] of [["nats", "gnat"], ["gnat", "nats"]] as [LeafKind, LeafKind][]) {
    it(`keeps each account's traffic apart (${title(hubKind, leafKind)})`, async () => {
      const hub = await startLeafServer({ kind: hubKind, name: "hub2", hub: true, config: accounts("HA", "HB") });
      servers.push(hub);
      const leaf = await startLeafServer({
        kind: leafKind, name: "leaf2", config: accounts("LA", "LB"),
        leafnodes: `  remotes [
    { url: "nats-leaf://ha:pw@127.0.0.1:${hub.leafPort}", account: LA }
    { url: "nats-leaf://hb:pw@127.0.0.1:${hub.leafPort}", account: LB }
  ]`,
      });
      servers.push(leaf);
      await leafsUp([hub, leaf], 2);
      const c = async (s: LeafServer, user: string): Promise<NatsConnection> => {
        const nc = await connect({ servers: s.url, user, pass: "pw" });
        conns.push(nc);
        return nc;
      };
      const [ha, hb, la, lb] = await Promise.all([c(hub, "ha"), c(hub, "hb"), c(leaf, "la"), c(leaf, "lb")]);
      const got: string[] = [];
      for (const [name, nc] of [["HA", ha], ["HB", hb], ["LA", la], ["LB", lb]] as const) {
        nc.subscribe("news", { callback: (_e, m) => got.push(`${name}<${m.string()}`) });
      }
      for (const [s, p] of [[la, ha], [lb, hb], [ha, la], [hb, lb]] as const) await interestArrived(s, p);
      ha.publish("news", "from HA");
      lb.publish("news", "from LB");
      await ha.flush();
      await lb.flush();
      await until(() => got.length >= 4, "each message in its own account on both sides");
      // A stray copy would have arrived before these round trips.
      for (const [s, p] of [[la, ha], [lb, hb], [hb, lb], [ha, la]] as const) await interestArrived(s, p);
      expect(got.sort()).toEqual(["HA<from HA", "HB<from LB", "LA<from HA", "LB<from LB"]);
    }, 30_000);
  }
});

describe(`loop detection`, () => {
  const servers: LeafServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  for (const [a, b] of [["gnat", "nats"], ["gnat", "gnat"]] as [LeafKind, LeafKind][]) {
    it.skipIf(b === "nats" && NO_NATS)(`breaks a loop of two servers, each the other's hub (${a} and ${b}), with nats-server's 'Loop detected'`, async () => {
      const [pa, pb] = [await freePort(), await freePort()];
      const remote = (p: number): string => `  remotes [ { url: "nats-leaf://127.0.0.1:${p}" } ]`;
      const x = await startLeafServer({ kind: a, name: "loop-a", hub: true, leafPort: pa, leafnodes: remote(pb) });
      servers.push(x);
      const y = await startLeafServer({ kind: b, name: "loop-b", hub: true, leafPort: pb, leafnodes: remote(pa) });
      servers.push(y);
      // The first to hear its own $LDS. subject come back says so, and the loop is cut.
      await until(() => /Loop detected for leafnode account=\\?"\$G\\?"/.test(x.log() + y.log()), "a 'Loop detected' error", 15_000);
      await until(async () => (await x.leafCount()) + (await y.leafCount()) < 4, "the looping connection closed", 15_000);
    }, 30_000);
  }
});

describe("bad input on a leafnode connection", () => {
  let hub: LeafServer;
  beforeAll(async () => {
    hub = await startLeafServer({ kind: "gnat", name: "hub-bad", hub: true });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  /** Send `bytes` to the leafnode port; resolves with what came back once gnat closed the connection. */
  function probe(bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = netConnect(hub.leafPort, "127.0.0.1");
      let got = "";
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`not closed after ${JSON.stringify(bytes)}: ${got}`));
      }, 8000);
      s.on("data", (d) => {
        got += d.toString();
      });
      s.once("data", () => s.write(bytes));
      s.on("error", () => {});
      s.on("close", () => {
        clearTimeout(t);
        resolve(got);
      });
    });
  }

  it.each([
    ["an unknown operation", "HELLO\r\n", ""],
    ["a CONNECT that is not JSON", "CONNECT {nope\r\n", ""],
    ["a CONNECT that is not an object", "CONNECT [1,2]\r\n", ""],
    ["a client's CONNECT", 'CONNECT {"lang":"node","version":"1"}\r\n', "-ERR 'attempted to connect to leaf node port'"],
    ["an INFO without server_id", "INFO {}\r\n", ""],
    ["LS+ without a subject", "CONNECT {}\r\nLS+\r\n", ""],
    ["LS+ with a bad queue weight", "CONNECT {}\r\nLS+ foo q x\r\n", ""],
    ["interest in JetStream's API, which never crosses", "CONNECT {}\r\nLS+ $JS.API.INFO\r\n", `-ERR 'Permissions Violation for Subscription to "$JS.API.INFO"'`],
    ["LMSG without a size", "CONNECT {}\r\nLMSG foo\r\n", ""],
    ["LMSG with a bad reply indicator", "CONNECT {}\r\nLMSG foo ? q 5\r\nhello\r\n", ""],
    ["LMSG over max_payload", "CONNECT {}\r\nLMSG foo 99999999\r\n", ""],
    ["HMSG whose headers are longer than the message", "CONNECT {}\r\nHMSG foo 10 5\r\nhello\r\n", ""],
    ["a payload not ended by CRLF", "CONNECT {}\r\nLMSG foo 2\r\nhello\r\n", ""],
    ["a control line past max_control_line", `CONNECT {}\r\nLS+ ${"x".repeat(70_000)}`, ""],
  ])("closes the connection on %s and goes on serving", async (_what, bytes, err) => {
    const got = await probe(bytes);
    expect(got).toMatch(/^INFO \{.*"info_on_connect":true.*\}\r\n/);
    if (err !== "") expect(got).toContain(err);
    const nc = await connect({ servers: hub.url });
    const sub = nc.subscribe("still.alive", { max: 1 });
    nc.publish("still.alive", "yes");
    for await (const m of sub) expect(m.string()).toBe("yes");
    await nc.close();
  });

  it("times out a leaf that never sends CONNECT", async () => {
    const got = await probe("");
    expect(got).toContain("-ERR 'Authentication Timeout'");
  }, 10_000);

  it("a leaf survives a hub that speaks nonsense, and dials it again", async () => {
    const { createServer } = await import("node:net");
    let accepted = 0;
    const fake = createServer((s) => {
      accepted++;
      s.on("error", () => {});
      s.write(`INFO {"server_id":"NFAKE","client_id":7,"leafnode_urls":["127.0.0.1:1"],"info_on_connect":true,"headers":true}\r\n`);
      s.once("data", () => s.write(`INFO {"server_id":"NFAKE","connect_info":true}\r\nLS+ a\r\nLMSG a + 3\r\nabc\r\nLS+ ${"y".repeat(10)} q -1\r\n\u0000\u0001garbage\r\n`));
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const port = (fake.address() as { port: number }).port;
    const leaf = await startLeafServer({ kind: "gnat", name: "leaf-bad", leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${port}" } ]\n  reconnect: 1` });
    try {
      await until(() => accepted >= 2, "the leaf dialled the hub again", 10_000);
      const nc = await connect({ servers: leaf.url });
      await nc.flush();
      await nc.close();
    } finally {
      await leaf.stop();
      fake.close();
    }
  }, 20_000);

  it("a leaf that dials a client port says it is the wrong port and tries again", async () => {
    const leaf = await startLeafServer({ kind: "gnat", name: "leaf-wrong", leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.port}" } ]` });
    try {
      await until(() => (leaf.log().match(/attempted to connect to wrong port/g) ?? []).length >= 2, "two attempts at the wrong port", 10_000);
    } finally {
      await leaf.stop();
    }
  }, 20_000);
});

describe.skipIf(NO_NATS)(`/leafz and /varz in nats-server's shape${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const servers: LeafServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  /** Every key path of a JSON value (array items merged), for comparing shapes, not values. */
  function keys(v: unknown, path = ""): string[] {
    if (Array.isArray(v)) return [...new Set(v.flatMap((x) => keys(x, `${path}[]`)))];
    if (typeof v !== "object" || v === null) return [path];
    return Object.entries(v).flatMap(([k, x]) => keys(x, path === "" ? k : `${path}.${k}`)).sort();
  }

  it("has nats-server's keys on the hub and on the leaf side", async () => {
    const natsHub = await startLeafServer({ kind: "nats", name: "zhub-n", hub: true });
    servers.push(natsHub);
    const gnatHub = await startLeafServer({ kind: "gnat", name: "zhub-g", hub: true });
    servers.push(gnatHub);
    const gnatLeaf = await startLeafServer({ kind: "gnat", name: "zleaf-g", leafnodes: remoteTo(natsHub) });
    servers.push(gnatLeaf);
    const natsLeaf = await startLeafServer({ kind: "nats", name: "zleaf-n", leafnodes: remoteTo(gnatHub) });
    servers.push(natsLeaf);
    await leafsUp(servers);
    for (const [n, g] of [[natsHub, gnatHub], [natsLeaf, gnatLeaf]] as const) {
      const [nz, gz] = [await n.monitor("/leafz?subs=1"), await g.monitor("/leafz?subs=1")];
      expect(keys(gz)).toEqual(keys(nz));
      expect(gz.leafnodes).toBe(1);
      const [nv, gv] = [await n.monitor("/varz"), await g.monitor("/varz")];
      expect(keys(gv.leaf)).toEqual(keys(nv.leaf));
      expect(gv.leafnodes).toBe(nv.leafnodes);
    }
    const gz = await gnatHub.monitor("/leafz?subs=1&acc=NOPE");
    expect(gz).toMatchObject({ leafnodes: 0, leafs: [] });
  }, 30_000);
});

describe.skipIf(NO_NATS)(`a leaf of a cluster's node${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  for (const leafKind of ["nats", "gnat"] as LeafKind[]) {
    it(`reaches the whole cluster, and the cluster it (${leafKind} leaf of gnat, routed to nats-server)`, async () => {
      const leafPort = await freePort();
      const n0 = await startNode({ name: `c-g-${leafKind}`, kind: "gnat", gnat: { leafnodes: { host: "127.0.0.1", port: leafPort, advertise: "", noAdvertise: false, reconnect: 1, remotes: [] } } });
      const n1 = await startNode({ name: `c-n-${leafKind}`, kind: "nats", routes: [`nats-route://127.0.0.1:${n0.clusterPort}`] });
      const hubAsLeafTarget = { leafPort } as LeafServer;
      const leaf = await startLeafServer({ kind: leafKind, name: `cl-${leafKind}`, leafnodes: remoteTo(hubAsLeafTarget) });
      const conns: NatsConnection[] = [];
      try {
        await meshed([n0, n1]);
        await leafsUp([leaf]);
        const [c1, cl] = [await connectTo(n1), await connect({ servers: leaf.url })];
        conns.push(c1, cl);
        const got: string[] = [];
        c1.subscribe("to.cluster", { callback: (_e, m) => got.push(`n1:${m.string()}`) });
        cl.subscribe("to.leaf", { callback: (_e, m) => got.push(`leaf:${m.string()}`) });
        // Interest crosses a route and a leafnode connection: n1's reaches the leaf through n0.
        await interestArrived(c1, cl);
        await interestArrived(cl, c1);
        c1.publish("to.leaf", "hello leaf");
        cl.publish("to.cluster", "hello cluster");
        await until(() => got.length >= 2, "a message each way over a route and a leafnode connection");
        expect(got.sort()).toEqual(["leaf:hello leaf", "n1:hello cluster"]);
        const svc = cl.subscribe("svc.leaf", { callback: (_e, m) => m.respond("from the leaf") });
        await interestArrived(cl, c1);
        expect((await c1.request("svc.leaf", "", { timeout: 5000 })).string()).toBe("from the leaf");
        svc.unsubscribe();
      } finally {
        for (const c of conns) await c.close().catch(() => {});
        await leaf.stop();
        await n1.stop();
        await n0.stop();
      }
    }, 30_000);
  }
});

describe.skipIf(NO_NATS)(`leafnode authorization and deny lists${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const servers: LeafServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it("a gnat hub's leafnodes authorization binds the leaf to its account; wrong credentials are refused", async () => {
    const hub = await startLeafServer({
      kind: "gnat", name: "auth-hub", hub: true,
      config: "accounts { A { users [ { user: a, password: pa } ] } }",
      leafnodes: "  authorization { user: leafy, password: \"$2b$04$k7p39e.NgX4Tmm15u73UYe9sPd8PmEPT80zsLbyyKMrCgV.bXR.h6\", account: A }",
    });
    servers.push(hub);
    const good = await startLeafServer({ kind: "nats", name: "auth-good", leafnodes: remoteTo(hub, { user: "leafy", pass: "s3cret" }) });
    servers.push(good);
    const bad = await startLeafServer({ kind: "nats", name: "auth-bad", leafnodes: remoteTo(hub, { user: "leafy", pass: "wrong" }) });
    servers.push(bad);
    await leafsUp([hub, good]);
    await until(() => bad.log().includes("Authorization Violation"), "the wrong password refused");
    expect(((await hub.monitor("/leafz")) as { leafs: { account: string }[] }).leafs.map((l) => l.account)).toEqual(["A"]);
    const [ca, cl] = [await connect({ servers: hub.url, user: "a", pass: "pa" }), await connect({ servers: good.url })];
    try {
      const got: string[] = [];
      ca.subscribe("in.a", { callback: (_e, m) => got.push(m.string()) });
      await interestArrived(ca, cl);
      cl.publish("in.a", "to account A");
      await until(() => got.length === 1, "the leaf's message in account A");
    } finally {
      await ca.close();
      await cl.close();
    }
  }, 30_000);

  it("a remote with hub: true plays the hub on the connection it dials (nats-server's is_hub)", async () => {
    const listener = await startLeafServer({ kind: "nats", name: "hub-true-listener", hub: true });
    servers.push(listener);
    const dialler = await startLeafServer({ kind: "gnat", name: "hub-true-dialler", leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${listener.leafPort}", hub: true } ]` });
    servers.push(dialler);
    await leafsUp([listener, dialler]);
    const [cn, cg] = [await connect({ servers: listener.url }), await connect({ servers: dialler.url })];
    try {
      const got: string[] = [];
      cn.subscribe("to.n", { callback: (_e, m) => got.push(`n<${m.string()}`) });
      cg.subscribe("to.g", { callback: (_e, m) => got.push(`g<${m.string()}`) });
      await interestArrived(cn, cg);
      await interestArrived(cg, cn);
      cg.publish("to.n", "1");
      cn.publish("to.g", "2");
      await until(() => got.length >= 2, "a message each way");
      expect(got.sort()).toEqual(["g<2", "n<1"]);
    } finally {
      await cn.close();
      await cg.close();
    }
  }, 30_000);

  it("deny_exports keeps a leaf's messages home; deny_imports keeps the hub's away", async () => {
    const hub = await startLeafServer({ kind: "nats", name: "deny-hub", hub: true });
    servers.push(hub);
    const leaf = await startLeafServer({
      kind: "gnat", name: "deny-leaf",
      leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", deny_exports: ["secret.>"], deny_imports: ["private.>"] } ]`,
    });
    servers.push(leaf);
    await leafsUp([hub, leaf]);
    const [ch, cl] = [await connect({ servers: hub.url }), await connect({ servers: leaf.url })];
    try {
      const got: string[] = [];
      for (const s of ["secret.x", "public.x"]) ch.subscribe(s, { callback: (_e, m) => got.push(`hub<${m.string()}`) });
      for (const s of ["private.x", "open.x"]) cl.subscribe(s, { callback: (_e, m) => got.push(`leaf<${m.string()}`) });
      await interestArrived(ch, cl);
      await interestArrived(cl, ch);
      cl.publish("secret.x", "s");
      cl.publish("public.x", "p");
      ch.publish("private.x", "q");
      ch.publish("open.x", "o");
      await until(() => got.length >= 2, "the allowed messages");
      await interestArrived(ch, cl);
      await interestArrived(cl, ch);
      expect(got.sort()).toEqual(["hub<p", "leaf<o"]);
    } finally {
      await ch.close();
      await cl.close();
    }
  }, 30_000);
});
