// nats.go's JetStream API (Debian's nats.go 1.22: the legacy nc.JetStream() context, KV and
// object store) against gnat, through the checks in go/jsconform. The same program runs
// against nats-server -js below: a check failing on gnat and passing there is a gnat bug, one
// failing on both is a bug in the check.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildGo, goMissing } from "./go-build.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, spawnNatsServer } from "../kit/processes.js";

const SRC = join(import.meta.dirname, "../../go/jsconform");
const why = goMissing;
if (why) console.warn(`\n*** SKIPPING the nats.go JetStream tests: ${why} ***\n`);

const CHECKS = ["stream", "pull", "push", "queue", "ordered", "kv", "obj", "workqueue", "listing"] as const;

interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  ms: number;
}

let bin = "";
beforeAll(() => {
  if (why) return;
  bin = buildGo(SRC, "jsconform");
}, 120_000);
afterAll(() => {
  if (bin) rmSync(dirname(bin), { recursive: true, force: true });
});

/** Run one check against a port; resolves with its JSON line. */
function runCheck(port: number, check: string): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["-port", String(port), "-check", check, "-timeout", "30s"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as CheckResult);
      } catch {
        reject(new Error(`no result from jsconform ${check}: ${out}${err}`));
      }
    });
  });
}

describe.skipIf(why !== "")("nats.go JetStream against gnat", () => {
  let server: Server;
  let storeDir = "";
  beforeAll(async () => {
    storeDir = mkdtempSync(join(tmpdir(), "gnat-gojs-"));
    server = await startGnat({ jetstream: true, storeDir });
  });
  afterAll(async () => {
    await server?.close();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  test.each(CHECKS)("%s: every step works through nats.go", async (check) => {
    const r = await runCheck(server.port, check);
    expect(r.check).toBe(check);
    expect(r.ok, r.detail).toBe(true);
  }, 60_000);

  test("restart: streams, a half-consumed durable, KV and objects are back after a restart on the same store", async () => {
    const before = await runCheck(server.port, "restart1");
    expect(before.ok, before.detail).toBe(true);
    const port = server.port;
    await server.close();
    server = await startServer({ host: "127.0.0.1", port, jetstream: true, storeDir, noLog: true });
    const after = await runCheck(server.port, "restart2");
    expect(after.ok, after.detail).toBe(true);
  }, 60_000);
});

describe.skipIf(why !== "" || NATS_SERVER === null)(`nats.go JetStream against nats-server -js (differential${NATS_SERVER === null ? `: ${SKIP_REASON}` : ""})`, () => {
  let port = 0;
  let dir = "";
  let stop: (signal?: NodeJS.Signals) => Promise<void> = async () => {};
  async function startNats(): Promise<void> {
    const nats = await spawnNatsServer(["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)], port);
    stop = async (signal = "SIGKILL") => {
      await nats.stop(signal);
    };
  }
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nats-gojs-"));
    port = await freePort();
    await startNats();
  });
  afterAll(async () => {
    await stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each(CHECKS)("%s: the check passes on the reference server", async (check) => {
    const r = await runCheck(port, check);
    expect(r.check).toBe(check);
    expect(r.ok, r.detail).toBe(true);
  }, 60_000);

  test("restart: the check passes across a restart of the reference server", async () => {
    const before = await runCheck(port, "restart1");
    expect(before.ok, before.detail).toBe(true);
    await stop("SIGTERM");
    await startNats();
    const after = await runCheck(port, "restart2");
    expect(after.ok, after.detail).toBe(true);
  }, 60_000);
});
