// Nodes that come and go, as a cluster's clients see them: a node that stops drops out of the
// other nodes' connect_urls (an async INFO), one that comes back is added again, and a node in
// lame duck mode tells its clients to go (ldm, with only the other nodes' URLs) and the other
// nodes stop advertising it. gnat and nats-server both ways.
import { afterEach, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, meshed, startNode, until, type Kind, type Node } from "./kit.js";

const skip = NATS_SERVER === null;
let nodes: Node[] = [];
let conns: NatsConnection[] = [];
afterEach(async () => {
  for (const c of conns) await c.close().catch(() => {});
  for (const n of nodes) await n.stop();
  nodes = [];
  conns = [];
});

const urls = (c: NatsConnection): string[] => [...(c.info?.connect_urls ?? [])].sort();
const url = (n: Node): string => `127.0.0.1:${n.port}`;

async function two(a: Kind, b: Kind): Promise<[Node, Node]> {
  const x = await startNode({ name: "x", kind: a, gnat: { lameDuckGracePeriod: 30_000, lameDuckDuration: 60_000 }, config: a === "nats" ? "lame_duck_grace_period: 30s\nlame_duck_duration: 60s" : "" });
  nodes.push(x);
  const y = await startNode({ name: "y", kind: b, routes: [`nats-route://127.0.0.1:${x.clusterPort}`] });
  nodes.push(y);
  await meshed([x, y]);
  return [x, y];
}

describe.skipIf(skip)(`nodes that come and go${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  for (const [a, b] of [["gnat", "nats"], ["nats", "gnat"], ["gnat", "gnat"]] as [Kind, Kind][]) {
    it(`a ${b} node that stops leaves the ${a} node's clients' URLs, and is back when it returns`, async () => {
      const [x, y] = await two(a, b);
      const cx = await connectTo(x);
      conns.push(cx);
      await until(() => urls(cx).length === 2, "both URLs");
      expect(urls(cx)).toEqual([url(x), url(y)].sort());
      await y.stop();
      await until(() => urls(cx).length === 1, "the stopped node's URL removed");
      expect(urls(cx)).toEqual([url(x)]);
      const y2 = await startNode({ name: "y", kind: b, port: y.port, clusterPort: y.clusterPort, routes: [`nats-route://127.0.0.1:${x.clusterPort}`] });
      nodes.push(y2);
      await meshed([x, y2]);
      await until(() => urls(cx).length === 2, "its URL back");
    });

    if (a === "gnat" || a === "nats") {
      it(`a ${a} node in lame duck mode sends its clients to the ${b} node, which stops advertising it`, async () => {
        const [x, y] = await two(a, b);
        const cx = await connectTo(x, { reconnect: false });
        const cy = await connectTo(y);
        conns.push(cx, cy);
        await until(() => urls(cx).length === 2 && urls(cy).length === 2, "both URLs on both");
        let ldm = false;
        void (async () => {
          for await (const s of cx.status()) if (s.type === "ldm") ldm = true;
        })();
        x.signal("SIGUSR2");
        await until(() => ldm, "the lame duck's client is told (ldm)");
        expect(urls(cx)).toEqual([url(y)]);
        await until(() => urls(cy).length === 1, "the other node stops advertising the lame duck");
        expect(urls(cy)).toEqual([url(y)]);
      });
    }
  }
});
