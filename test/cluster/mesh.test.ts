// How a mesh forms when every node's config lists every route, its own included (the usual
// cluster config): a route to self is dropped, two nodes that dial each other at once keep one
// route between them, and the mesh stays whole (no route closing again and again).
import { afterEach, describe, expect, it } from "vitest";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, startFullyConfigured, until, type Kind, type Node } from "./kit.js";

const MIXES: Kind[][] = [["gnat", "gnat", "gnat"], ["gnat", "nats", "nats"], ["gnat", "gnat", "nats"]];

describe.each(MIXES)("every route configured everywhere: %s + %s + %s", (...mix) => {
  const needsNats = mix.includes("nats");
  let nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes) await n.stop();
    nodes = [];
  });

  it.skipIf(needsNats && NATS_SERVER === null)(`settles on one route per pair and carries messages${needsNats && NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, async () => {
    nodes = await startFullyConfigured(mix);
    const conns = await Promise.all(nodes.map((n) => connectTo(n)));
    try {
      const got: string[] = [];
      conns[0]!.subscribe("m", { callback: (_e, m) => got.push(m.string()) });
      for (let i = 1; i < conns.length; i++) await interestArrived(conns[0]!, conns[i]!);
      for (let i = 1; i < conns.length; i++) conns[i]!.publish("m", `from ${i}`);
      for (const c of conns) await c.flush();
      await until(() => got.length === conns.length - 1, "a message from every other node");
      expect(got.sort()).toEqual(conns.slice(1).map((_c, i) => `from ${i + 1}`));
      // Still one route per pair after a while of traffic: nothing flapped.
      for (let i = 1; i < conns.length; i++) await interestArrived(conns[i]!, conns[0]!);
      for (const n of nodes) expect(await n.routeCount()).toBe(nodes.length - 1);
    } finally {
      for (const c of conns) await c.close();
    }
  });
});
