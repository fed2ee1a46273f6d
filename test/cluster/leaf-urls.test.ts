// A hub cluster's leafnode URLs, against nats-server both ways: each node's INFO to a leaf lists
// every node's leafnode URL (leafnode_urls, learnt from the routes' INFO), and lists it no more once
// the node's route is gone; a leaf that dialled one node fails over to another when that one dies,
// from the URLs it was told (a gnat leaf of a nats-server cluster, a nats-server leaf of a gnat
// cluster, and mixed hub clusters).
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { interestArrived, meshed, startNode, until, type Kind, type Node } from "./kit.js";
import { closeLeafSuite, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
/** Hub A (the leaf dials it), hub B, the leaf. */
const CASES: [Kind, Kind, LeafKind][] = [["gnat", "gnat", "nats"], ["nats", "nats", "gnat"], ["gnat", "nats", "gnat"], ["nats", "gnat", "nats"]];

/** The first INFO a leafnode port sends, as JSON. */
function leafInfo(port: number): Promise<{ leafnode_urls?: string[] }> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port });
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("no INFO in time"));
    }, 5000);
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const nl = buf.indexOf("\r\n");
      if (nl < 0) return;
      clearTimeout(timer);
      s.destroy();
      resolve(JSON.parse(buf.slice(5, nl)) as { leafnode_urls?: string[] });
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Leafnode connections a hub node has registered now (-1: not answering). */
async function leafCount(n: Node): Promise<number> {
  if (n.server !== null) return n.server.leafnodes?.stats().leafs.length ?? 0;
  try {
    return ((await (await fetch(`${n.monitorUrl}/leafz`)).json()) as { leafnodes: number }).leafnodes;
  } catch {
    return -1;
  }
}

for (const [aKind, bKind, leafKind] of CASES) {
  const needsNats = aKind === "nats" || bKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`${leafKind} leaf of a ${aKind} + ${bKind} hub cluster${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    const tag = `${aKind}-${bKind}-${leafKind}`;
    let a: Node;
    let b: Node;
    let leaf: LeafServer;
    const lp = { a: 0, b: 0 };
    let onB: NatsConnection;
    let onLeaf: NatsConnection;

    beforeAll(async () => {
      lp.a = await freePort();
      lp.b = await freePort();
      b = await startNode({ name: `b-${tag}`, kind: bKind, config: `leafnodes { listen: 127.0.0.1:${lp.b} }` });
      a = await startNode({ name: `a-${tag}`, kind: aKind, routes: [`nats-route://127.0.0.1:${b.clusterPort}`], config: `leafnodes { listen: 127.0.0.1:${lp.a} }` });
      await meshed([a, b]);
      leaf = await startLeafServer({ kind: leafKind, name: `leaf-${tag}`, leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${lp.a}" } ]` });
      await until(async () => (await leafCount(a)) === 1 && (await leaf.leafCount()) === 1, "the leaf on hub A", 15_000);
      onB = await connect({ servers: b.url });
      onLeaf = await connect({ servers: leaf.url });
    }, 45_000);

    afterAll(async () => {
      await closeLeafSuite([onB, onLeaf], [leaf]);
      await a?.stop();
      await b?.stop();
    });

    it("lists every node's leafnode URL in each node's INFO to leafs", async () => {
      const want = [`127.0.0.1:${lp.a}`, `127.0.0.1:${lp.b}`].sort();
      await until(async () => {
        const [ia, ib] = await Promise.all([leafInfo(lp.a), leafInfo(lp.b)]);
        return JSON.stringify([...ia.leafnode_urls ?? []].sort()) === JSON.stringify(want)
          && JSON.stringify([...ib.leafnode_urls ?? []].sort()) === JSON.stringify(want);
      }, "both URLs in both INFOs");
    });

    it("fails the leaf over to the other node when its hub dies, and the URLs of the dead node are dropped", async () => {
      await a.kill();
      await until(async () => (await leafCount(b)) === 1 && (await leaf.leafCount()) === 1, "the leaf on hub B", 30_000);
      const s = onB.subscribe(`after.${tag}`);
      await interestArrived(onB, onLeaf);
      onLeaf.publish(`after.${tag}`, "via B");
      const it = s[Symbol.asyncIterator]();
      expect((await it.next()).value?.string()).toBe("via B");
      s.unsubscribe();
      await until(async () => JSON.stringify((await leafInfo(lp.b)).leafnode_urls) === JSON.stringify([`127.0.0.1:${lp.b}`]), "only B's URL in B's INFO");
    }, 45_000);
  });
}

// A node that joins after the leaf connected: the hub tells its leafs (an async INFO), so they can
// fail over to it.
const LATE: [Kind, Kind, LeafKind][] = [["gnat", "gnat", "gnat"], ["gnat", "nats", "nats"], ["nats", "gnat", "gnat"]];
for (const [aKind, bKind, leafKind] of LATE) {
  const needsNats = aKind === "nats" || bKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`${leafKind} leaf of a ${aKind} hub that a ${bKind} node joins later${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    const tag = `late-${aKind}-${bKind}-${leafKind}`;
    let a: Node;
    let b: Node | undefined;
    let leaf: LeafServer;
    let lpa = 0;

    beforeAll(async () => {
      lpa = await freePort();
      a = await startNode({ name: `a-${tag}`, kind: aKind, config: `leafnodes { listen: 127.0.0.1:${lpa} }` });
      leaf = await startLeafServer({ kind: leafKind, name: `leaf-${tag}`, leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${lpa}" } ]` });
      await until(async () => (await leafCount(a)) === 1 && (await leaf.leafCount()) === 1, "the leaf on hub A", 15_000);
    }, 45_000);

    afterAll(async () => {
      await closeLeafSuite([], [leaf]);
      await a?.stop();
      await b?.stop();
    });

    it("tells the connected leaf of the new node, which it fails over to when its hub dies", async () => {
      const lpb = await freePort();
      b = await startNode({ name: `b-${tag}`, kind: bKind, routes: [`nats-route://127.0.0.1:${a.clusterPort}`], config: `leafnodes { listen: 127.0.0.1:${lpb} }` });
      await meshed([a, b]);
      // A knows B's URL (its INFO to a new leaf lists it): it told its connected leaf at the same time.
      await until(async () => (await leafInfo(lpa)).leafnode_urls?.includes(`127.0.0.1:${lpb}`) === true, "B's URL in A's INFO");
      await a.kill();
      const bNode = b;
      await until(async () => (await leafCount(bNode)) === 1 && (await leaf.leafCount()) === 1, "the leaf on hub B", 30_000);
    }, 60_000);
  });
}

// A node whose leafnodes block says no_advertise keeps its URL out of its routes' INFO: the
// other nodes do not list it to their leafs (its own INFO still lists its own URL).
for (const [aKind, bKind] of [["gnat", "nats"], ["nats", "gnat"]] as [Kind, Kind][]) {
  describe.skipIf(NO_NATS)(`a ${bKind} node with leafnodes no_advertise, routed to a ${aKind} node${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    let a: Node;
    let b: Node;
    const lp = { a: 0, b: 0 };

    beforeAll(async () => {
      lp.a = await freePort();
      lp.b = await freePort();
      b = await startNode({ name: `nb-${aKind}-${bKind}`, kind: bKind, config: `leafnodes { listen: 127.0.0.1:${lp.b}, no_advertise: true }` });
      a = await startNode({ name: `na-${aKind}-${bKind}`, kind: aKind, routes: [`nats-route://127.0.0.1:${b.clusterPort}`], config: `leafnodes { listen: 127.0.0.1:${lp.a} }` });
      await meshed([a, b]);
    }, 45_000);

    afterAll(async () => {
      await a?.stop();
      await b?.stop();
    });

    it("is not in the other node's leafnode_urls; the other node's URL is in its own", async () => {
      await until(async () => (await leafInfo(lp.b)).leafnode_urls?.includes(`127.0.0.1:${lp.a}`) === true, "A's URL in B's INFO");
      expect((await leafInfo(lp.a)).leafnode_urls).toEqual([`127.0.0.1:${lp.a}`]);
      expect([...(await leafInfo(lp.b)).leafnode_urls ?? []].sort()).toEqual([`127.0.0.1:${lp.a}`, `127.0.0.1:${lp.b}`].sort());
    });
  });
}
