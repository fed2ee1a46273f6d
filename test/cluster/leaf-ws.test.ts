// Leafnodes over WebSocket, as nats-server runs them: a remote with a ws:// (or wss://) URL
// upgrades at /leafnode on the hub's websocket port and speaks the leafnode protocol in binary
// frames. gnat as the leaf of a nats-server hub (and nats-server's own leaf as the reference):
// messages both ways, a request across, and wss:// with the hub's certificate checked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { makeRouteCert, makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { interestArrived, until } from "./kit.js";
import { leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
let certs: TestCerts;
let pair: { cert: string; key: string };
beforeAll(() => {
  certs = makeTestCerts();
  pair = makeRouteCert(certs, "wsleaf");
});
afterAll(() => certs?.cleanup());

let servers: LeafServer[] = [];
const conns: NatsConnection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  for (const s of servers.reverse()) await s.stop();
  servers = [];
});

async function hubWithWebSocket(kind: LeafKind, name: string, tls: boolean): Promise<{ hub: LeafServer; wsPort: number }> {
  const wsPort = await freePort();
  const wsTls = tls ? `tls { cert_file: "${pair.cert}", key_file: "${pair.key}" }` : "no_tls: true";
  const hub = await startLeafServer({ kind, name, hub: true, config: `websocket { listen: "127.0.0.1:${wsPort}", ${wsTls} }` });
  servers.push(hub);
  return { hub, wsPort };
}

async function crosses(hub: LeafServer, leaf: LeafServer, tag: string): Promise<void> {
  const onHub = await connect({ servers: hub.url });
  const onLeaf = await connect({ servers: leaf.url });
  conns.push(onHub, onLeaf);
  const got: string[] = [];
  onHub.subscribe(`up.${tag}`, { callback: (_e, m) => got.push(`hub:${m.string()}`) });
  onLeaf.subscribe(`down.${tag}`, { callback: (_e, m) => got.push(`leaf:${m.string()}`) });
  onLeaf.subscribe(`svc.${tag}`, { callback: (_e, m) => m.respond(`leaf answers ${m.string()}`) });
  await interestArrived(onHub, onLeaf);
  await interestArrived(onLeaf, onHub);
  onLeaf.publish(`up.${tag}`, "from leaf");
  onHub.publish(`down.${tag}`, "from hub");
  await until(() => got.length >= 2, "a message each way over the WebSocket link");
  expect(got.sort()).toEqual(["hub:from leaf", "leaf:from hub"]);
  expect((await onHub.request(`svc.${tag}`, "q", { timeout: 5000 })).string()).toBe("leaf answers q");
}

for (const leafKind of ["gnat", "nats"] as LeafKind[]) {
  describe.skipIf(NO_NATS)(`${leafKind} leaf of a nats-server hub over WebSocket${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    it("links over ws:// and carries messages and requests both ways", async () => {
      const { hub, wsPort } = await hubWithWebSocket("nats", `wh1-${leafKind}`, false);
      const leaf = await startLeafServer({ kind: leafKind, name: `wl1-${leafKind}`, leafnodes: `  remotes [ { url: "ws://127.0.0.1:${wsPort}" } ]` });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `ws${leafKind}`);
    });

    it("links over wss:// with the hub's certificate checked against the CA", async () => {
      const { hub, wsPort } = await hubWithWebSocket("nats", `wh2-${leafKind}`, true);
      const leaf = await startLeafServer({ kind: leafKind, name: `wl2-${leafKind}`, leafnodes: `  remotes [ { url: "wss://127.0.0.1:${wsPort}", tls { ca_file: "${certs.ca}" } } ]` });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `wss${leafKind}`);
    });

    it("a wss:// hub whose certificate another CA signed gets no link", async () => {
      const { hub, wsPort } = await hubWithWebSocket("nats", `wh3-${leafKind}`, true);
      const leaf = await startLeafServer({ kind: leafKind, name: `wl3-${leafKind}`, leafnodes: `  remotes [ { url: "wss://127.0.0.1:${wsPort}", tls { ca_file: "${certs.otherCa}" } } ]` });
      servers.push(leaf);
      await until(() => /Error trying to connect as leafnode to remote server|certificate/i.test(leaf.log()), "the leaf's failed attempt");
      expect(await leaf.leafCount()).toBe(0);
      expect(await hub.leafCount()).toBe(0);
    });
  });
}
