// Leafnode TLS, as nats-server runs it: the hub's INFO in plain text says tls_required, then the
// leaf starts the handshake; `verify` on the hub asks the leaf for a certificate the CA signed; a
// remote's tls block (or a tls:// URL) checks the hub's certificate. gnat and nats-server at
// either end (nats-server at both is the reference): messages cross over TLS; a leaf that trusts
// another CA, or has no certificate for a hub that verifies, gets no link and a handshake error
// is logged, as nats-server logs it ("TLS leafnode handshake error: …").
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect as netConnect } from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { makeRouteCert, makeTestCerts, readPlainInfo, type TestCerts } from "../helpers/certs.js";
import { interestArrived, until } from "./kit.js";
import { leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
let certs: TestCerts;
let pair: { cert: string; key: string };
beforeAll(() => {
  certs = makeTestCerts();
  pair = makeRouteCert(certs, "leaf");
});
afterAll(() => certs?.cleanup());

let servers: LeafServer[] = [];
const conns: NatsConnection[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  for (const s of servers.reverse()) await s.stop();
  servers = [];
});

const hubTls = (verify: boolean): string =>
  `  tls { cert_file: "${pair.cert}", key_file: "${pair.key}", ca_file: "${certs.ca}"${verify ? ", verify: true" : ""}, timeout: 2 }`;
const remote = (hub: LeafServer, scheme: string, tls: string): string =>
  `  remotes [ { url: "${scheme}://127.0.0.1:${hub.leafPort}"${tls === "" ? "" : `, ${tls}`} } ]`;
const clientTls = (ca: string, withCert = true): string =>
  `tls { ${withCert ? `cert_file: "${pair.cert}", key_file: "${pair.key}", ` : ""}ca_file: "${ca}" }`;

async function start(kind: LeafKind, name: string, o: { hub?: boolean; leafnodes: string }): Promise<LeafServer> {
  const s = await startLeafServer({ kind, name, ...o });
  servers.push(s);
  return s;
}

async function crosses(hub: LeafServer, leaf: LeafServer, tag: string): Promise<void> {
  const onHub = await connect({ servers: hub.url });
  const onLeaf = await connect({ servers: leaf.url });
  conns.push(onHub, onLeaf);
  const got: string[] = [];
  onHub.subscribe(`up.${tag}`, { callback: (_e, m) => got.push(`hub:${m.string()}`) });
  onLeaf.subscribe(`down.${tag}`, { callback: (_e, m) => got.push(`leaf:${m.string()}`) });
  await interestArrived(onHub, onLeaf);
  await interestArrived(onLeaf, onHub);
  onLeaf.publish(`up.${tag}`, "from leaf");
  onHub.publish(`down.${tag}`, "from hub");
  await until(() => got.length >= 2, "a message each way over TLS");
  expect(got.sort()).toEqual(["hub:from leaf", "leaf:from hub"]);
}

const MIXES: [LeafKind, LeafKind][] = [["gnat", "gnat"], ["nats", "gnat"], ["gnat", "nats"], ["nats", "nats"]];

for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  const tag = `${hubKind}-${leafKind}`;
  describe.skipIf(needsNats && NO_NATS)(`leafnode TLS: ${leafKind} leaf of a ${hubKind} hub${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    it("links over TLS with certificates both ways (verify), nats-leaf:// URL and a tls block", async () => {
      const hub = await start(hubKind, `th1-${tag}`, { hub: true, leafnodes: hubTls(true) });
      const leaf = await start(leafKind, `tl1-${tag}`, { leafnodes: remote(hub, "nats-leaf", clientTls(certs.ca)) });
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `a${tag}`);
    });

    it("links with a tls:// URL and only the CA (the hub does not verify)", async () => {
      const hub = await start(hubKind, `th2-${tag}`, { hub: true, leafnodes: hubTls(false) });
      const leaf = await start(leafKind, `tl2-${tag}`, { leafnodes: remote(hub, "tls", clientTls(certs.ca, false)) });
      await leafsUp([hub, leaf]);
      await crosses(hub, leaf, `b${tag}`);
    });

    it("a leaf that trusts another CA gets no link, and says why", async () => {
      const hub = await start(hubKind, `th3-${tag}`, { hub: true, leafnodes: hubTls(false) });
      const leaf = await start(leafKind, `tl3-${tag}`, { leafnodes: remote(hub, "tls", clientTls(certs.otherCa, false)) });
      await until(() => /TLS leafnode handshake error/.test(leaf.log()), "the leaf's handshake error");
      expect(await leaf.leafCount()).toBe(0);
      expect(await hub.leafCount()).toBe(0);
    });

    it("a hub that verifies refuses a leaf without a certificate, and says why", async () => {
      const hub = await start(hubKind, `th4-${tag}`, { hub: true, leafnodes: hubTls(true) });
      const leaf = await start(leafKind, `tl4-${tag}`, { leafnodes: remote(hub, "tls", clientTls(certs.ca, false)) });
      await until(() => /TLS leafnode handshake error/.test(hub.log()), "the hub's handshake error");
      expect(await hub.leafCount()).toBe(0);
      expect(await leaf.leafCount()).toBe(0);
    });
  });
}

describe.skipIf(NO_NATS)("leafnode TLS on the wire", () => {
  it("gnat's hub sends INFO in plain text with tls_required and tls_verify, as nats-server's does", async () => {
    const infos: Record<string, unknown>[] = [];
    for (const kind of ["gnat", "nats"] as LeafKind[]) {
      const hub = await start(kind, `tw-${kind}`, { hub: true, leafnodes: hubTls(true) });
      const raw = netConnect(hub.leafPort, "127.0.0.1");
      const line = await readPlainInfo(raw);
      raw.destroy();
      infos.push(JSON.parse(line.slice(5)) as Record<string, unknown>);
    }
    for (const info of infos) expect(info).toMatchObject({ tls_required: true, tls_verify: true, info_on_connect: true });
    const keys = (i: Record<string, unknown>): string[] => Object.keys(i).filter((k) => ["auth_required", "tls_required", "tls_verify", "max_payload"].includes(k));
    expect(keys(infos[0]!)).toEqual(keys(infos[1]!));
  });

  it("a gnat leaf without a tls block follows a hub that asks for TLS (system CAs: a test CA is refused)", async () => {
    const hub = await start("nats", "tw-ask", { hub: true, leafnodes: hubTls(false) });
    const leaf = await start("gnat", "tw-follow", { leafnodes: remote(hub, "nats-leaf", "") });
    await until(() => /TLS leafnode handshake error/.test(leaf.log()), "the leaf tried TLS and refused the unknown CA");
    expect(await leaf.leafCount()).toBe(0);
  });
});

describe("a hub that never finishes the handshake", () => {
  it("is given up on after the remote's TLS timeout and dialled again", async () => {
    // A fake hub: a leafnode INFO that asks for TLS, then silence.
    const { createServer } = await import("node:net");
    let dials = 0;
    const fake = createServer((s) => {
      dials++;
      s.on("error", () => {});
      s.write(`INFO ${JSON.stringify({ server_id: "FAKE", version: "2.9.10", headers: true, tls_required: true, client_id: 1, leafnode_urls: [] })}\r\n`);
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    const port = (fake.address() as { port: number }).port;
    const leaf = await start("gnat", "tw-silent", {
      leafnodes: `  reconnect: 1\n  remotes [ { url: "tls://127.0.0.1:${port}", tls { ca_file: "${certs.ca}", timeout: 0.3 } } ]`,
    });
    try {
      await until(() => dials >= 2, "a second dial after the handshake timed out");
      expect(leaf.log()).toMatch(/TLS leafnode handshake timeout/);
    } finally {
      fake.close();
    }
  });
});
