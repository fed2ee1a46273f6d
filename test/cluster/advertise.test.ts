// Cluster advertise: the route INFO a node sends names the advertised address in `host` and
// `port` as well as `ip`, as nats-server's does (setRouteInfoHostPortAndIP). A nats-server that
// accepted a route builds the route's URL from INFO's host:port and dials it to get the route
// back (2.9.10 retries a registered route that saw a duplicate of itself), so a listen address
// there sends it round whatever the advertise was for (a proxy, a NAT, a container's mapped port).
// Found by the route faults test (seed 1356524042, nats + gnat + nats): after a black hole the
// nats-server node dialled gnat's listen port directly, past the proxy the cluster advertised.
import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { startNode, type Kind, type Node } from "./kit.js";

/** The INFO a node sends first on a connection to its route port. */
function routeInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no INFO on route port ${port}`));
    }, 5000);
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const nl = buf.indexOf("\r\n");
      if (nl < 0) return;
      clearTimeout(t);
      s.destroy();
      resolve(JSON.parse(buf.slice(buf.indexOf(" ") + 1, nl)) as Record<string, unknown>);
    });
    s.on("error", reject);
  });
}

const KINDS: Kind[] = ["gnat", "gnat-process", "nats"];

describe("a route INFO with cluster advertise", () => {
  const nodes: Node[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
  });

  for (const kind of KINDS) {
    const skip = kind === "nats" && NATS_SERVER === null;
    it.skipIf(skip)(`names the advertised host and port, not the listen ones (${kind})${skip ? ` (${SKIP_REASON})` : ""}`, async () => {
      const advertised = await freePort();
      const n = await startNode({ name: `adv-${kind}`, kind, advertise: `127.0.0.1:${advertised}` });
      nodes.push(n);
      const info = await routeInfo(n.clusterPort);
      expect({ host: info["host"], port: info["port"], ip: info["ip"] })
        .toEqual({ host: "127.0.0.1", port: advertised, ip: `nats-route://127.0.0.1:${advertised}/` });
    });

    it.skipIf(skip)(`takes the cluster port when the advertise has none (${kind})${skip ? ` (${SKIP_REASON})` : ""}`, async () => {
      const n = await startNode({ name: `adv-noport-${kind}`, kind, advertise: "127.0.0.1" });
      nodes.push(n);
      const info = await routeInfo(n.clusterPort);
      expect({ host: info["host"], port: info["port"], ip: info["ip"] })
        .toEqual({ host: "127.0.0.1", port: n.clusterPort, ip: `nats-route://127.0.0.1:${n.clusterPort}/` });
    });
  }

  it("without advertise: the listen host and the bound port, no ip (gnat)", async () => {
    const n = await startNode({ name: "adv-none", kind: "gnat" });
    nodes.push(n);
    const info = await routeInfo(n.clusterPort);
    expect({ host: info["host"], port: info["port"], ip: info["ip"] }).toEqual({ host: "127.0.0.1", port: n.clusterPort, ip: undefined });
  });
});
