// nats.go (Debian's) over TLS against gnat: Go's crypto/tls on the other end, with a CA, with a
// client certificate under verify, and without one.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildGo, goMissing } from "./go-build.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { startGnat } from "../kit/gnat.js";

const SRC = join(import.meta.dirname, "go-tls");
const why = goMissing;
if (why) console.warn(`\n*** SKIPPING the nats.go TLS tests: ${why} ***\n`);

let bin = "";
let certs: TestCerts;
let plain: Server;
let verifying: Server;
beforeAll(async () => {
  if (why) return;
  certs = makeTestCerts();
  bin = buildGo(SRC, "client");
  const tls = { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca };
  plain = await startGnat({ tls });
  verifying = await startGnat({ tls: { ...tls, verify: true } });
}, 120_000);
afterAll(async () => {
  await Promise.all([plain?.close(), verifying?.close()]);
  certs?.cleanup();
});

/** Run the Go client; async, since the servers run in this process and must keep serving. */
async function run(s: Server, withCert: boolean): Promise<{ status: number | null; out: string }> {
  const args = ["-url", `tls://127.0.0.1:${s.port}`, "-ca", certs.ca, ...(withCert ? ["-cert", certs.alice.cert, "-key", certs.alice.key] : [])];
  return new Promise((resolve) => {
    const c = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (out += d.toString()));
    c.on("close", (status) => resolve({ status, out }));
  });
}

describe.skipIf(why !== "")("nats.go over TLS", () => {
  test("connects with the CA and round-trips a message, over TLS 1.3", async () => {
    const r = await run(plain, false);
    expect(r.out.trim()).toBe("ok hello tls=304");
    expect(r.status).toBe(0);
  });

  test("connects with a client certificate under verify", async () => {
    const r = await run(verifying, true);
    expect(r.out.trim()).toBe("ok hello tls=304");
  });

  test("fails without a client certificate under verify", async () => {
    const r = await run(verifying, false);
    expect(r.status).toBe(1);
    // TLS 1.3: the server's alert and its close race the client's first write, so nats.go
    // reports either the alert or the write it could not make. Either way, no connection.
    expect(r.out).toMatch(/^error: .*(certificate required|broken pipe|connection reset)/);
    expect(r.out).not.toMatch(/^ok/);
  });
});
