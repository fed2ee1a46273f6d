// Who may route, and what stays apart across routes: cluster authorization (good and bad
// credentials, both ways with nats-server), cluster name conflicts, and accounts whose interest
// and messages stay in their account on every node.
import { connect as netConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, meshed, startNode, until, type Kind, type Node } from "./kit.js";

const AUTH = "authorization { user: ruser, password: s3cret }";
const skip = NATS_SERVER === null;
const why = skip ? ` (${SKIP_REASON})` : "";

let nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes = [];
});

/** A seed of `hub` kind with cluster authorization, and a `dialer` that routes to it with `creds`. */
async function pair(hub: Kind, dialer: Kind, creds: string, dialerConfig: { clusterName?: string } = {}): Promise<[Node, Node]> {
  const seed = await startNode({ name: "seed", kind: hub, clusterConfig: AUTH });
  nodes.push(seed);
  const other = await startNode({ name: "dialer", kind: dialer, routes: [`nats-route://${creds}127.0.0.1:${seed.clusterPort}`], ...dialerConfig });
  nodes.push(other);
  return [seed, other];
}

describe.skipIf(skip)(`cluster authorization, with nats-server on the other side${why}`, () => {
  for (const [hub, dialer] of [["gnat", "nats"], ["nats", "gnat"], ["gnat", "gnat"]] as [Kind, Kind][]) {
    it(`${dialer} routes to a ${hub} that requires credentials when it has them`, async () => {
      const [a, b] = await pair(hub, dialer, "ruser:s3cret@");
      await meshed([a, b]);
    });

    it(`${dialer} with a wrong password gets no route to ${hub}, and both say why in nats-server's words`, async () => {
      const [a, b] = await pair(hub, dialer, "ruser:wrong@");
      await until(() => /authentication error/.test(a.log()) && /Route Error 'Authorization Violation'/.test(b.log()), "both sides log the refusal");
      expect(await a.routeCount()).toBe(0);
      expect(await b.routeCount()).toBe(0);
      expect(a.log()).toMatch(/Router connection closed: Authentication Failure/);
    });
  }

  for (const [hub, dialer] of [["gnat", "nats"], ["nats", "gnat"]] as [Kind, Kind][]) {
    it(`a ${dialer} of another cluster name gets no route to ${hub}: Cluster Name Conflict`, async () => {
      const seed = await startNode({ name: "seed", kind: hub });
      nodes.push(seed);
      const other = await startNode({ name: "other", kind: dialer, clusterName: "elsewhere", routes: [`nats-route://127.0.0.1:${seed.clusterPort}`] });
      nodes.push(other);
      await until(() => /cluster name "elsewhere" does not match "c1"/.test(seed.log()), "the seed logs the conflict");
      await until(() => /Cluster Name Conflict/.test(other.log()), "the dialer closes on the conflict");
      expect(await seed.routeCount()).toBe(0);
      expect(await other.routeCount()).toBe(0);
    });
  }
});

const ACCOUNTS = `accounts {
  A: { users: [ { user: a, password: a } ] }
  B: { users: [ { user: b, password: b } ] }
}`;

describe.skipIf(skip)(`accounts across routes${why}`, () => {
  for (const mix of [["gnat", "nats"], ["nats", "gnat"], ["gnat", "gnat"]] as [Kind, Kind][]) {
    it(`keeps each account's interest and messages in that account: ${mix.join(" + ")}`, async () => {
      const seed = await startNode({ name: "s", kind: mix[0], config: ACCOUNTS });
      nodes.push(seed);
      const other = await startNode({ name: "o", kind: mix[1], config: ACCOUNTS, routes: [`nats-route://127.0.0.1:${seed.clusterPort}`] });
      nodes.push(other);
      await meshed([seed, other]);
      const a1 = await connectTo(seed, { user: "a", pass: "a" });
      const b1 = await connectTo(seed, { user: "b", pass: "b" });
      const a2 = await connectTo(other, { user: "a", pass: "a" });
      const b2 = await connectTo(other, { user: "b", pass: "b" });
      try {
        const inA: string[] = [];
        const inB: string[] = [];
        a1.subscribe("orders", { callback: (_e, m) => inA.push(m.string()) });
        b1.subscribe("orders", { callback: (_e, m) => inB.push(m.string()) });
        await interestArrived(a1, a2);
        await interestArrived(b1, b2);
        a2.publish("orders", "for A");
        b2.publish("orders", "for B");
        await a2.flush();
        await b2.flush();
        await until(() => inA.length === 1 && inB.length === 1, "one message in each account");
        // A request in B that only A answers finds nobody: the responder's interest stays in A.
        a1.subscribe("svc", { callback: (_e, m) => m.respond("A") });
        await interestArrived(a1, a2);
        expect((await a2.request("svc", "", { timeout: 2000 })).string()).toBe("A");
        await expect(b2.request("svc", "", { timeout: 2000 })).rejects.toThrow(/no responders/);
        expect(inA).toEqual(["for A"]);
        expect(inB).toEqual(["for B"]);
      } finally {
        for (const c of [a1, b1, a2, b2]) await c.close();
      }
    });
  }
});

describe("a route's CONNECT", () => {
  it("that is JSON but no object closes the route as a protocol violation, and the node meshes on", async () => {
    const seed = await startNode({ name: "seed", kind: "gnat" });
    nodes.push(seed);
    const got = await new Promise<string>((resolve, reject) => {
      const s = netConnect(seed.clusterPort, "127.0.0.1");
      let text = "";
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`still open; got ${JSON.stringify(text)}`));
      }, 5000);
      s.on("data", (b) => {
        // Taken as a CONNECT, it would let the INFO after it register a route.
        if (text === "") s.write(`CONNECT [1,2]\r\nINFO {"server_id":"NFAKE","name":"fake","cluster":"c1"}\r\n`);
        text += b.toString("latin1");
      });
      s.on("error", () => {});
      s.on("close", () => {
        clearTimeout(t);
        resolve(text);
      });
    });
    expect(got).toMatch(/^INFO /);
    expect(await seed.routeCount()).toBe(0);
    const other = await startNode({ name: "other", kind: "gnat", routes: [`nats-route://127.0.0.1:${seed.clusterPort}`] });
    nodes.push(other);
    await meshed([seed, other]);
  });
});
