// Reloading a leafnodes block, as nats-server 2.9 allows it: its TLS only. A hub's certificate
// and a remote's CA rotated in place (new file contents, same names) take effect for the next
// connection on a reload, with gnat and nats-server on the other side; any other change (a
// remote's URL, the leafnode port, turning leafnodes on) is refused with nats-server's
// "config reload not supported for LeafNode", and the link that is up stays up.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { processSuite, startProcess } from "../server/process-kit.js";
import { makeRouteCert, makeTestCerts, type CertPair, type TestCerts } from "../helpers/certs.js";
import { until } from "./kit.js";
import { leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
let certs: TestCerts;
/** Signed by the test CA, and by the other one. */
let byCa: CertPair;
let byOther: CertPair;
let dir: string;
beforeAll(() => {
  certs = makeTestCerts();
  byCa = makeRouteCert(certs, "leafrl-a", "ca");
  byOther = makeRouteCert(certs, "leafrl-b", "ca2");
  dir = mkdtempSync(join(tmpdir(), "gnat-leaf-reload-"));
});
afterAll(() => {
  certs?.cleanup();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let servers: LeafServer[] = [];
afterEach(async () => {
  for (const s of servers.reverse()) await s.stop();
  servers = [];
});

/** Reload a gnat (in-process) with the options it runs with: the files are read again. */
function reloadSame(s: LeafServer): void {
  const srv = s.server!;
  srv.reload(srv.options);
}

const failedAttempt = /Error trying to connect as leafnode to remote server|TLS leafnode handshake error|certificate|x509/i;

describe.skipIf(NO_NATS)(`leafnode TLS reload${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  for (const leafKind of ["nats", "gnat"] as LeafKind[]) {
    it(`a gnat hub's certificate rotated in place: a ${leafKind} leaf that trusts only the new CA links after the reload`, async () => {
      const cert = join(dir, `hub-${leafKind}.pem`);
      const key = join(dir, `hub-${leafKind}-key.pem`);
      copyFileSync(byCa.cert, cert);
      copyFileSync(byCa.key, key);
      const hub = await startLeafServer({ kind: "gnat", name: `rh-${leafKind}`, hub: true, leafnodes: `  tls { cert_file: "${cert}", key_file: "${key}" }` });
      servers.push(hub);
      const leaf = await startLeafServer({ kind: leafKind, name: `rl-${leafKind}`,
        leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", tls { ca_file: "${certs.otherCa}" } } ]` });
      servers.push(leaf);
      await until(() => failedAttempt.test(leaf.log()), "the leaf's refused handshake");
      expect(await hub.leafCount()).toBe(0);
      copyFileSync(byOther.cert, cert);
      copyFileSync(byOther.key, key);
      reloadSame(hub);
      await leafsUp([hub, leaf]);
    });
  }

  for (const hubKind of ["nats", "gnat"] as LeafKind[]) {
    it(`a gnat remote's CA rotated in place: it links to the ${hubKind} hub it did not trust before the reload`, async () => {
      const hub = await startLeafServer({ kind: hubKind, name: `rch-${hubKind}`, hub: true, leafnodes: `  tls { cert_file: "${byCa.cert}", key_file: "${byCa.key}" }` });
      servers.push(hub);
      const ca = join(dir, `ca-${hubKind}.pem`);
      copyFileSync(certs.otherCa, ca);
      const leaf = await startLeafServer({ kind: "gnat", name: `rcl-${hubKind}`,
        leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", tls { ca_file: "${ca}" } } ]` });
      servers.push(leaf);
      await until(() => failedAttempt.test(leaf.log()), "the leaf's refused handshake");
      expect(await leaf.leafCount()).toBe(0);
      copyFileSync(certs.ca, ca);
      reloadSame(leaf);
      await leafsUp([hub, leaf]);
    });
  }

  it("a remote's TLS block may change (another CA file); its URL, the leafnode port or turning leafnodes on may not", async () => {
    const hub = await startLeafServer({ kind: "gnat", name: "rfh", hub: true, leafnodes: `  tls { cert_file: "${byCa.cert}", key_file: "${byCa.key}" }` });
    servers.push(hub);
    const leaf = await startLeafServer({ kind: "gnat", name: "rfl",
      leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", tls { ca_file: "${certs.ca}" } } ]` });
    servers.push(leaf);
    await leafsUp([hub, leaf]);
    const l = leaf.server!;
    const h = hub.server!;
    const lo = l.options.leafnodes!;
    const remote = lo.remotes[0]!;
    const copy = join(dir, "ca-copy.pem");
    copyFileSync(certs.ca, copy);
    // TLS only: reloaded.
    l.reload({ ...l.options, leafnodes: { ...lo, remotes: [{ ...remote, tls: { caFile: copy } }] } });
    expect(l.options.leafnodes!.remotes[0]!.tls?.caFile).toBe(copy);
    // Anything else: refused, the running configuration kept.
    expect(() => l.reload({ ...l.options, leafnodes: { ...lo, remotes: [{ ...remote, urls: ["nats-leaf://127.0.0.1:1"] }] } }))
      .toThrow(/^config reload not supported for LeafNode: old=.*nats-leaf:\/\/127\.0\.0\.1:\d+.*, new=.*nats-leaf:\/\/127\.0\.0\.1:1"/);
    const ho = h.options.leafnodes!;
    expect(() => h.reload({ ...h.options, leafnodes: { ...ho, port: hub.leafPort + 1 } })).toThrow(/^config reload not supported for LeafNode: /);
    expect(() => hub.server!.reload({ ...h.options, leafnodes: null })).toThrow(/^config reload not supported for LeafNode: old=\{.*, new=null$/);
    const plain = await startLeafServer({ kind: "gnat", name: "rfp" });
    servers.push(plain);
    const p = plain.server!;
    expect(() => p.reload({ ...p.options, leafnodes: { ...lo, remotes: [] } })).toThrow(/^config reload not supported for LeafNode: old=null, new=/);
    expect(l.options.leafnodes!.remotes[0]!.urls).toEqual(remote.urls);
    expect(await leaf.leafCount()).toBe(1);
    expect(await hub.leafCount()).toBe(1);
  });
});

describe.skipIf(NO_NATS)(`leafnode reload, the gnat command beside nats-server${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const { procs } = processSuite();

  it("SIGHUP: a remote's new CA file reloads, a remote's new URL is refused with the same words", async () => {
    const logs: Record<string, string> = {};
    for (const nats of [NATS_SERVER!, undefined]) {
      const deadPort = await freePort();
      const remote = (port: number, ca: string): string => `leafnodes { remotes [ { url: "nats-leaf://127.0.0.1:${port}", tls { ca_file: "${ca}" } } ] }\n`;
      const p = await startProcess(remote(deadPort, certs.ca), { port: await freePort(), ...(nats !== undefined ? { nats } : {}) });
      procs.push(p);
      p.rewrite(remote(deadPort, certs.otherCa));
      p.signal("SIGHUP");
      await p.waitLog(/Reloaded server configuration/);
      p.rewrite(remote(deadPort + 1, certs.otherCa));
      p.signal("SIGHUP");
      await p.waitLog(/config reload not supported for LeafNode/);
      logs[nats === undefined ? "gnat" : "nats"] = p.log();
    }
    for (const log of Object.values(logs)) {
      expect(log).toMatch(/Reloaded server configuration/);
      expect(log).toMatch(/Failed to reload server configuration: config reload not supported for LeafNode: old=/);
    }
  });
});
