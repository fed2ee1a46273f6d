// TLS from flags and config files, read as nats-server reads them; and the gnat command serving
// TLS end to end.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { connect } from "@nats-io/transport-node";
import { loadConfigFile } from "../../server/config/index.js";
import { buildOptions, parseArgs } from "../../server/process/flags.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { ensureBuilt } from "./process-kit.js";

const root = resolve(import.meta.dirname, "../..");
const CLI = join(root, "dist/server/process/cli.js");

let certs: TestCerts;
let dir: string;
beforeAll(() => {
  certs = makeTestCerts();
  dir = mkdtempSync(join(tmpdir(), "gnat-tls-conf-"));
  ensureBuilt();
}, 120_000);
afterAll(() => certs.cleanup());

let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.conf`);
  writeFileSync(p, text);
  return p;
}

const q = (s: string): string => JSON.stringify(s);

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("tls {} in a config file", () => {
  test("reads cert_file, key_file, ca_file, verify, timeout (seconds) and handshake_first", () => {
    const p = file(`tls { cert_file: ${q(certs.server.cert)}, key_file: ${q(certs.server.key)}, ca_file: ${q(certs.ca)}, verify: true, timeout: 0.5, handshake_first: true }\n`);
    expect(loadConfigFile(p, {}).options.tls).toEqual({
      certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, verify: true, timeout: 500, handshakeFirst: true,
    });
  });

  test("takes a duration for timeout, \"on\" for handshake_first, and verify_and_map turns verify on", () => {
    const p = file(`tls { cert_file: ${q(certs.server.cert)}, key_file: ${q(certs.server.key)}, verify_and_map: true, timeout: "3s", first: "on" }\n`);
    expect(loadConfigFile(p, {}).options.tls).toEqual({
      certFile: certs.server.cert, keyFile: certs.server.key, verify: true, verifyAndMap: true, timeout: 3000, handshakeFirst: true,
    });
  });

  test("handshake_first: auto waits 50 ms for the handshake, a duration as long as it says", () => {
    const tls = (v: string) => loadConfigFile(file(`tls { cert_file: ${q(certs.server.cert)}, key_file: ${q(certs.server.key)}, handshake_first: ${v} }\n`), {}).options.tls;
    expect(tls("auto")).toMatchObject({ handshakeFirst: true, handshakeFirstFallback: 50 });
    expect(tls("\"300ms\"")).toMatchObject({ handshakeFirst: true, handshakeFirstFallback: 300 });
    expect(tls("off")).toMatchObject({ handshakeFirst: false });
  });

  test.each([
    ["tls { cert_file: CERT }", "missing 'key_file' in TLS configuration"],
    ["tls { cert_file: CERT, key_file: /nonexistent/k.pem }", "error parsing X509 certificate/key pair: open /nonexistent/k.pem: no such file or directory"],
    ["tls { cert_file: CERT, key_file: KEY, ca_file: GARBAGE }", "failed to parse root ca certificate"],
    ["tls { cert_file: GARBAGE, key_file: KEY }", "error parsing X509 certificate/key pair: tls: failed to find any PEM data in certificate input"],
    ["tls { cert_file: CERT, key_file: KEY, foo: 1 }", "error parsing tls config, unknown field [\"foo\"]"],
    ["tls { cert_file: CERT, key_file: KEY, verify: yes_please }", "error parsing tls config, expected 'verify' to be a boolean"],
    ["tls { cert_file: CERT, key_file: KEY, timeout: \"soon\" }", "error parsing tls config, 'timeout' time: invalid duration \"soon\""],
    ["tls { cert_file: CERT, key_file: KEY, handshake_first: maybe }", "field \"handshake_first\"'s value \"maybe\" is invalid"],
    ["tls { cert_file: CERT, key_file: KEY, pinned_certs: [\"ABC\"] }", "error parsing tls config, 'pinned_certs' key abc does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"],
  ])("%s is an error at the block's position", (text, message) => {
    const garbage = file("garbage\n");
    const p = file(`port: 4222\n${text.replace("CERT", q(certs.server.cert)).replace("KEY", q(certs.server.key)).replace("GARBAGE", q(garbage))}\n`);
    const e = errorOf(() => loadConfigFile(p, {}));
    expect(e.message).toBe(`${p}:2:1: ${message}`);
  });

  test.each(["cipher_suites: [\"TLS_AES_128_GCM_SHA256\"]", "curve_preferences: [\"X25519\"]", "ocsp_peer: true", "cert_store: WindowsCurrentUser"])(
    "refuses %s rather than run less protected than configured", (extra) => {
      const p = file(`tls { cert_file: ${q(certs.server.cert)}, key_file: ${q(certs.server.key)}, ${extra} }\n`);
      expect(errorOf(() => loadConfigFile(p, {})).message).toMatch(/not supported by gnat yet: refusing to start/);
    });
});

describe("--tls* flags", () => {
  const build = (args: string[]) => buildOptions(parseArgs(args), "gnat").options;

  test("--tlscert and --tlskey turn TLS on without verify", () => {
    expect(build(["--tlscert", certs.server.cert, "--tlskey", certs.server.key]).tls)
      .toEqual({ certFile: certs.server.cert, keyFile: certs.server.key, verify: false });
  });

  test("--tlsverify implies TLS and requires client certificates; --tlscacert names their CA", () => {
    expect(build(["--tlsverify", "--tlscert", certs.server.cert, "--tlskey", certs.server.key, "--tlscacert", certs.ca]).tls)
      .toEqual({ certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, verify: true });
  });

  test("a TLS flag without a certificate or key is nats-server's error", () => {
    expect(() => build(["--tls"])).toThrow("TLS Server certificate must be present and valid");
    expect(() => build(["--tlsverify", "--tlscert", certs.server.cert])).toThrow("TLS Server private key must be present and valid");
  });

  test("flags replace the config file's certificates and keep its timeout; --tls=false turns TLS off", () => {
    const p = file(`tls { cert_file: ${q(certs.otherServer.cert)}, key_file: ${q(certs.otherServer.key)}, timeout: 1 }\n`);
    expect(build(["-c", p, "--tlscert", certs.server.cert, "--tlskey", certs.server.key]).tls)
      .toEqual({ certFile: certs.server.cert, keyFile: certs.server.key, verify: false, timeout: 1000 });
    expect(build(["-c", p, "--tls=false", "--tlscert", certs.server.cert]).tls).toBeNull();
  });
});

describe("the gnat command with TLS", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  });

  async function portOf(c: ChildProcess, portsDir: string): Promise<number> {
    const deadline = Date.now() + 8000;
    for (;;) {
      const f = readdirSync(portsDir).find((x) => x.endsWith(".ports"));
      if (f) return Number(new URL((JSON.parse(readFileSync(join(portsDir, f), "utf8")) as { nats: string[] }).nats[0]!).port);
      if (c.exitCode !== null || Date.now() > deadline) throw new Error("gnat did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test("--tlsverify with --tlscert/--tlskey/--tlscacert serves clients with certificates only", async () => {
    const portsDir = mkdtempSync(join(tmpdir(), "gnat-tls-cli-"));
    const c = spawn(process.execPath, [CLI, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir, "--tlsverify",
      "--tlscert", certs.server.cert, "--tlskey", certs.server.key, "--tlscacert", certs.ca], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(c);
    let log = "";
    c.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    c.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    const port = await portOf(c, portsDir);
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, tls: { caFile: certs.ca, certFile: certs.bob.cert, keyFile: certs.bob.key } });
    const sub = nc.subscribe("cli.tls", { max: 1 });
    nc.publish("cli.tls", "ok");
    for await (const m of sub) expect(m.string()).toBe("ok");
    await nc.close();
    await expect(connect({ servers: `127.0.0.1:${port}`, reconnect: false, tls: { caFile: certs.ca } })).rejects.toThrow();
    expect(log).toContain("TLS required for client connections");
  });

  test("a config whose key file is missing exits 1 with the position and nats-server's words", () => {
    const p = file(`port: -1\ntls { cert_file: ${q(certs.server.cert)}, key_file: "/nonexistent/key.pem" }\n`);
    const r = spawnSync(process.execPath, [CLI, "-c", p], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`gnat: ${p}:2:1: error parsing X509 certificate/key pair: open /nonexistent/key.pem: no such file or directory\n`);
  });

  test("--help_tls describes the tls block and exits 0", () => {
    const r = spawnSync(process.execPath, [CLI, "--help_tls"], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("TLS configuration is specified in the tls section of a configuration file");
    expect(r.stdout).toContain("verify_and_map");
  });

  test("--tls without a certificate exits 1 with nats-server's words", () => {
    const r = spawnSync(process.execPath, [CLI, "--tls"], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("gnat: TLS Server certificate must be present and valid\n");
  });
});
