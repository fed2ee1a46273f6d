// Test certificates made at run time with openssl (EC P-256: fast to generate): a CA, a server
// certificate for localhost/127.0.0.1/::1, and client certificates. Made once per test file.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** CA certificate file. */
  ca: string;
  server: CertPair;
  /** CN=alice,OU=eng,O=gnat with an email SAN alice@example.com. */
  alice: CertPair;
  /** CN=bob,O=gnat with a DNS SAN bob.example.com. */
  bob: CertPair;
  /** CN=mallory,O=elsewhere: signed by the CA, named by no user. */
  mallory: CertPair;
  /** A second CA and a server certificate it signed (for rotation tests). */
  otherCa: string;
  otherServer: CertPair;
  /** Read a file's text. */
  pem(path: string): string;
  cleanup(): void;
}

const OPENSSL = "/usr/bin/openssl";

function run(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string): void {
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}-key.pem`], dir);
  run(["req", "-x509", "-new", "-key", `${name}-key.pem`, "-sha256", "-days", "2", "-subj", `/O=gnat/CN=${name}`, "-out", `${name}.pem`], dir);
}

function makeLeaf(dir: string, ca: string, name: string, subj: string, ext: string): CertPair {
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}-key.pem`], dir);
  run(["req", "-new", "-key", `${name}-key.pem`, "-subj", subj, "-out", `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  run(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}-key.pem`, "-CAcreateserial",
    "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.pem`], dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
}

/** One more client certificate, signed by the test CA of `certs`, with an openssl -subj and SAN. */
export function makeClientCert(certs: TestCerts, name: string, subj: string, san = ""): CertPair {
  return makeLeaf(certs.dir, "ca", name, subj, `${san ? `subjectAltName=${san}\n` : ""}extendedKeyUsage=clientAuth\n`);
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "gnat-certs-"));
  makeCa(dir, "ca");
  makeCa(dir, "ca2");
  const serverExt = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n";
  const clientExt = (san: string): string => `${san ? `subjectAltName=${san}\n` : ""}extendedKeyUsage=clientAuth\n`;
  return {
    dir,
    ca: join(dir, "ca.pem"),
    server: makeLeaf(dir, "ca", "server", "/O=gnat/CN=localhost", serverExt),
    alice: makeLeaf(dir, "ca", "alice", "/O=gnat/OU=eng/CN=alice", clientExt("email:alice@example.com")),
    bob: makeLeaf(dir, "ca", "bob", "/O=gnat/CN=bob", clientExt("DNS:bob.example.com")),
    mallory: makeLeaf(dir, "ca", "mallory", "/O=elsewhere/CN=mallory", clientExt("")),
    otherCa: join(dir, "ca2.pem"),
    otherServer: makeLeaf(dir, "ca2", "server2", "/O=gnat/CN=localhost", serverExt),
    pem: (p) => readFileSync(p, "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The plain INFO line a TLS port sends before the handshake; the socket is left paused after it. */
export function readPlainInfo(raw: import("node:net").Socket): Promise<string> {
  return new Promise<string>((resolve) => {
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n")) {
        raw.off("data", onData);
        raw.pause();
        resolve(buf);
      }
    };
    raw.on("data", onData);
  });
}

/** A certificate for both ends of a route (serverAuth and clientAuth), for localhost and 127.0.0.1. */
export function makeRouteCert(certs: TestCerts, name = "route", ca = "ca"): CertPair {
  return makeLeaf(certs.dir, ca, name, "/O=gnat/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\n");
}
