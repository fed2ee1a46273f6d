// Leafnodes over WebSocket, as nats-server runs them: a remote with a ws:// (or wss://) URL
// upgrades at /leafnode on the hub's websocket port and speaks the leafnode protocol in binary
// frames. gnat as the leaf of a nats-server hub and as the hub of gnat and nats-server leafs
// (nats-server on both ends as the reference): messages both ways, a request across, wss:// with
// the hub's certificate checked (into nats-server and gnat hubs, gnat's `websocket { tls }` on
// either HTTP engine), and a hub with no leafnodes block refusing with nats-server's log line.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { makeRouteCert, makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { interestArrived, until } from "./kit.js";
import { leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";
import { startGnat } from "../kit/gnat.js";
import { leafDefaults } from "../../server/cluster/leaf-options.js";
import { loadUws } from "../../server/transport/engine-uws.js";

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

async function hubWithWebSocket(kind: LeafKind, name: string, tls: boolean, compression = false): Promise<{ hub: LeafServer; wsPort: number }> {
  const wsPort = await freePort();
  const wsTls = tls ? `tls { cert_file: "${pair.cert}", key_file: "${pair.key}" }` : "no_tls: true";
  const hub = await startLeafServer({ kind, name, hub: true, config: `websocket { listen: "127.0.0.1:${wsPort}", ${wsTls}, compression: ${compression} }` });
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

for (const leafKind of ["gnat", "nats"] as LeafKind[]) {
  describe.skipIf(NO_NATS)(`${leafKind} leaf of a gnat hub over WebSocket${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    it("the hub's websocket port takes the leaf at /leafnode, and messages and requests cross", async () => {
      const { hub, wsPort } = await hubWithWebSocket("gnat", `gh1-${leafKind}`, false);
      const leaf = await startLeafServer({ kind: leafKind, name: `gl1-${leafKind}`, leafnodes: `  remotes [ { url: "ws://127.0.0.1:${wsPort}" } ]` });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `gws${leafKind}`);
    });

    it("takes the leaf over wss:// (websocket { tls }), its certificate checked against the CA", async () => {
      const { hub, wsPort } = await hubWithWebSocket("gnat", `gh2-${leafKind}`, true);
      const leaf = await startLeafServer({ kind: leafKind, name: `gl2-${leafKind}`, leafnodes: `  remotes [ { url: "wss://127.0.0.1:${wsPort}", tls { ca_file: "${certs.ca}" } } ]` });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `gwss${leafKind}`);
    });

    it("a leaf that does not trust the hub's wss:// certificate gets no link", async () => {
      const { hub, wsPort } = await hubWithWebSocket("gnat", `gh3-${leafKind}`, true);
      const leaf = await startLeafServer({ kind: leafKind, name: `gl3-${leafKind}`, leafnodes: `  remotes [ { url: "wss://127.0.0.1:${wsPort}", tls { ca_file: "${certs.otherCa}" } } ]` });
      servers.push(leaf);
      await until(() => /Error trying to connect as leafnode to remote server|certificate/i.test(leaf.log()), "the leaf's failed attempt");
      expect(await leaf.leafCount()).toBe(0);
      expect(await hub.leafCount()).toBe(0);
    });
  });
}

describe.skipIf(NO_NATS)(`ws_compression: a leafnode link over WebSocket, deflated${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const pairs: [LeafKind, LeafKind][] = [["gnat", "nats"], ["nats", "gnat"], ["gnat", "gnat"]];
  for (const [hubKind, leafKind] of pairs) {
    it(`${leafKind} leaf of a ${hubKind} hub (websocket { compression: true }): negotiated, and big and small messages cross`, async () => {
      const { hub, wsPort } = await hubWithWebSocket(hubKind, `ch-${hubKind}-${leafKind}`, false, true);
      const leaf = await startLeafServer({ kind: leafKind, name: `cl-${hubKind}-${leafKind}`, config: leafKind === "nats" ? "debug: true" : "",
        leafnodes: `  remotes [ { url: "ws://127.0.0.1:${wsPort}", ws_compression: true } ]` });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      // Both sides' solicit log says what was negotiated (nats-server's debug line, gnat's too).
      await until(() => /Leafnode compression=true/.test(leaf.log()), "the leaf's 'Leafnode compression=true'");
      await crosses(hub, leaf, `cz${hubKind}${leafKind}`);
      const onHub = await connect({ servers: hub.url });
      const onLeaf = await connect({ servers: leaf.url });
      conns.push(onHub, onLeaf);
      const got: number[] = [];
      onHub.subscribe("big.up", { callback: (_e, m) => got.push(m.data.length) });
      await interestArrived(onHub, onLeaf);
      const sizes = [1, 64, 65, 5000, 200_000];
      for (const n of sizes) onLeaf.publish("big.up", new Uint8Array(n).fill(97));
      await until(() => got.length === sizes.length, "every size across the deflated link");
      expect(got).toEqual(sizes);
    });
  }

  it("a leaf offering compression to a hub without it links uncompressed", async () => {
    const { hub, wsPort } = await hubWithWebSocket("nats", "ch-off", false, false);
    const leaf = await startLeafServer({ kind: "gnat", name: "cl-off", leafnodes: `  remotes [ { url: "ws://127.0.0.1:${wsPort}", ws_compression: true } ]` });
    servers.push(leaf);
    await leafsUp([hub, leaf]);
    await until(() => /Leafnode compression=false/.test(leaf.log()), "the leaf's 'Leafnode compression=false'");
    await crosses(hub, leaf, "czoff");
  });
});

describe.skipIf(NO_NATS)("a hub without a leafnode port", () => {
  it("refuses a leaf on its websocket port with nats-server's log line", async () => {
    const logs: string[] = [];
    for (const kind of ["gnat", "nats"] as LeafKind[]) {
      const wsPort = await freePort();
      const hub = await startLeafServer({ kind, name: `nl-${kind}`, config: `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }` });
      servers.push(hub);
      const leaf = await startLeafServer({ kind: "gnat", name: `nl-leaf-${kind}`, leafnodes: `  remotes [ { url: "ws://127.0.0.1:${wsPort}" } ]` });
      servers.push(leaf);
      await until(() => /Not configured to accept leaf node connections/.test(hub.log()), `${kind}: the refusal logged`);
      expect(await leaf.leafCount()).toBe(0);
      logs.push(kind);
    }
    expect(logs).toEqual(["gnat", "nats"]);
  });
});

describe("a gnat hub takes WebSocket leafs on either HTTP engine", () => {
  for (const [engine, secure] of [["node", false], ["uws", false], ["node", true], ["uws", true]] as const) {
    it.skipIf(engine === "uws" && !loadUws().ok)(`${engine}${secure ? " over wss://" : ""}`, async () => {
      const ws = secure ? { tls: { certFile: pair.cert, keyFile: pair.key } } : { noTls: true };
      const hub = await startGnat({ httpEngine: engine, websocket: { host: "127.0.0.1", port: 0, ...ws },
        leafnodes: { ...leafDefaults(), host: "127.0.0.1", port: -1 } });
      expect(hub.websocketUrl.startsWith(secure ? "wss://" : "ws://")).toBe(true);
      const remote = { urls: [hub.websocketUrl], account: "", ...(secure ? { tls: { caFile: certs.ca } } : {}) };
      const leaf = await startGnat({ leafnodes: { ...leafDefaults(), remotes: [remote] } });
      try {
        const onHub = await connect({ servers: hub.url });
        const onLeaf = await connect({ servers: leaf.url });
        conns.push(onHub, onLeaf);
        const got: string[] = [];
        onHub.subscribe("eng.up", { callback: (_e, m) => got.push(m.string()) });
        await interestArrived(onHub, onLeaf);
        onLeaf.publish("eng.up", engine);
        await until(() => got.length === 1, "the message over the WebSocket leaf link");
        expect(got).toEqual([engine]);
      } finally {
        for (const c of conns.splice(0)) await c.close().catch(() => {});
        await leaf.close();
        await hub.close();
      }
    });
  }
});
