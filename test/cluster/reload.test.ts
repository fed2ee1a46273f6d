// Reloading a running cluster's configuration, as nats-server allows it: routes added and
// removed take effect (the route is dialled, or closed and not dialled again); what a running
// cluster cannot take (its port, turning clustering on or off) is refused in nats-server's words.
import { afterEach, describe, expect, it } from "vitest";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { startNode, until, type Node } from "./kit.js";
import type { ServerOptionsInput } from "../../server/index.js";

const skip = NATS_SERVER === null;
let nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes = [];
});

describe.skipIf(skip)(`cluster reload${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  it("adds and removes routes; refuses a new cluster port or turning clustering off", async () => {
    const g = await startNode({ name: "g", kind: "gnat" });
    const n = await startNode({ name: "n", kind: "nats" });
    nodes.push(g, n);
    const s = g.server!;
    const base = (routes: string[]): ServerOptionsInput => ({
      host: "127.0.0.1", port: g.port, noLog: true, serverName: "g",
      cluster: { name: "c1", host: "127.0.0.1", port: g.clusterPort, routes, noAdvertise: false, connectRetries: 5, advertise: "" },
    });
    expect(await g.routeCount()).toBe(0);
    s.reload(base([`nats-route://127.0.0.1:${n.clusterPort}`]));
    await until(async () => (await g.routeCount()) === 1 && (await n.routeCount()) === 1, "the added route is up on both");
    s.reload(base([]));
    await until(async () => (await g.routeCount()) === 0 && (await n.routeCount()) === 0, "the removed route is closed on both");
    expect(g.log()).toMatch(/Reloaded: cluster routes/);
    expect(() => s.reload({ ...base([]), cluster: { ...base([]).cluster!, port: g.clusterPort + 1 } }))
      .toThrow(`config reload not supported for cluster port: old=${g.clusterPort}, new=${g.clusterPort + 1}`);
    expect(() => s.reload({ ...base([]), cluster: null })).toThrow(/config reload not supported for cluster port/);
    // The removed route stays removed: nothing dials it again.
    expect(await n.routeCount()).toBe(0);
  });
});
