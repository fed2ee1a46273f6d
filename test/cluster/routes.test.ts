// Routes: gnat as a node of a NATS cluster, meshed with nats-server (Debian's 2.9) in every mix
// of three nodes. Each mix: the mesh forms by gossip from one seed; a message published on any
// node reaches subscribers on every other, headers included; a queue group spread over the
// nodes gets each message exactly once; request-reply and no-responders work across nodes; a
// client learns every node's URL (connect_urls).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, startCluster, until, type Kind, type Node } from "./kit.js";

const MIXES: Kind[][] = [
  ["gnat", "gnat", "gnat"],
  ["gnat", "nats", "nats"],
  ["nats", "gnat", "nats"],
  ["nats", "gnat", "gnat"],
];

for (const mix of MIXES) {
  const needsNats = mix.includes("nats");
  const title = mix.join(" + ");
  describe.skipIf(needsNats && NATS_SERVER === null)(`a cluster of ${title}${needsNats && NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, () => {
    let nodes: Node[] = [];
    let conns: NatsConnection[] = [];

    beforeAll(async () => {
      nodes = await startCluster(mix);
      conns = await Promise.all(nodes.map((n) => connectTo(n)));
    }, 30_000);

    afterAll(async () => {
      for (const c of conns) await c.close().catch(() => {});
      for (const n of nodes) await n.stop();
    });

    it("meshes by gossip: every node has a route to each of the others", async () => {
      for (const n of nodes) expect(await n.routeCount()).toBe(nodes.length - 1);
    });

    it("delivers a message published on any node to subscribers on every node, headers and all", async () => {
      const subject = `fan.${title.replace(/ \+ /g, "-")}`;
      const got: string[][] = nodes.map(() => []);
      const subs = conns.map((c, i) => c.subscribe(subject, {
        callback: (_e, m) => got[i]!.push(`${m.string()}|${m.headers?.get("X-From") ?? ""}`),
      }));
      for (const s of conns) for (const p of conns) if (s !== p) await interestArrived(s, p);
      for (let i = 0; i < conns.length; i++) {
        const h = headers();
        h.set("X-From", nodes[i]!.name);
        conns[i]!.publish(subject, `plain from ${nodes[i]!.name}`);
        conns[i]!.publish(subject, `with headers from ${nodes[i]!.name}`, { headers: h });
        await conns[i]!.flush();
      }
      const want = nodes.flatMap((n) => [`plain from ${n.name}|`, `with headers from ${n.name}|${n.name}`]).sort();
      await until(() => got.every((g) => g.length >= want.length), "every message on every node");
      for (const g of got) expect([...g].sort()).toEqual(want);
      for (const s of subs) s.unsubscribe();
    });

    it("gives each message of a queue group spread over the nodes to exactly one member", async () => {
      const subject = `work.${title.replace(/ \+ /g, "-")}`;
      const seen = new Map<string, number>();
      const perNode = nodes.map(() => 0);
      const subs = conns.flatMap((c, i) => [0, 1].map(() => c.subscribe(subject, {
        queue: "workers",
        callback: (_e, m) => {
          perNode[i]!++;
          seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
        },
      })));
      for (const s of conns) for (const p of conns) if (s !== p) await interestArrived(s, p);
      const N = 300;
      for (let i = 0; i < conns.length; i++) {
        for (let k = 0; k < N; k++) conns[i]!.publish(subject, `${i}-${k}`);
        await conns[i]!.flush();
      }
      await until(() => seen.size === N * conns.length, `all ${N * conns.length} queue messages`);
      // A late duplicate would show up on a round trip through every node.
      for (const s of conns) for (const p of conns) if (s !== p) await interestArrived(s, p);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(perNode.reduce((a, b) => a + b, 0)).toBe(N * conns.length);
      // Spread over the cluster, not kept on one node.
      for (const n of perNode) expect(n).toBeGreaterThan(0);
      for (const s of subs) s.unsubscribe();
    });

    it("answers a request across nodes, and says no responders when nobody in the cluster listens", async () => {
      const last = conns.length - 1;
      const svc = conns[last]!.subscribe(`svc.${title}`.replace(/ /g, ""), { callback: (_e, m) => m.respond(`from ${nodes[last]!.name}: ${m.string()}`) });
      await interestArrived(conns[last]!, conns[0]!);
      const r = await conns[0]!.request(`svc.${title}`.replace(/ /g, ""), "ping", { timeout: 5000 });
      expect(r.string()).toBe(`from ${nodes[last]!.name}: ping`);
      svc.unsubscribe();
      await expect(conns[0]!.request(`nobody.${title}`.replace(/ /g, ""), "x", { timeout: 5000 })).rejects.toThrow(/no responders/);
    });

    it("tells a client the client URLs of every node (connect_urls)", async () => {
      for (const c of conns) {
        await until(() => (c.info?.connect_urls?.length ?? 0) === nodes.length, "connect_urls of every node");
        expect([...(c.info?.connect_urls ?? [])].sort()).toEqual(nodes.map((n) => `127.0.0.1:${n.port}`).sort());
      }
    });
  });
}
