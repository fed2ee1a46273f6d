// The examples run unchanged against nats-server -js (as test/examples/ runs them against gnat):
// what they demonstrate is NATS behaviour, not gnat's.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../jetstream/helpers.js";
import { freePort, NATS_SERVER, SKIP_REASON, waitForPort } from "./harness.js";

describe.skipIf(NATS_SERVER === null)("examples against nats-server -js", () => {
  let child: ChildProcess;
  let url = "";
  const dir = tempDir("nats-examples-");

  beforeAll(async () => {
    const port = await freePort();
    child = spawn(NATS_SERVER!, ["-js", "-sd", dir.dir, "-a", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitForPort(port, child, () => stderr);
    url = `nats://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGKILL");
    await exited;
    dir.remove();
  });

  test.each(["work-queue", "consumer-groups"])("examples/%s.mjs exits 0", async (name) => {
    const { stdout } = await promisify(execFile)(process.execPath, [`examples/${name}.mjs`], { env: { ...process.env, NATS_URL: url }, timeout: 30_000 });
    expect(stdout).toMatch(/done: 6 tasks completed, 1 in TASKS_DLQ, 0 left in TASKS|\[replay-from-time\] offsets 51\.\.100/);
  }, 30_000);
});

if (NATS_SERVER === null) test.skip(SKIP_REASON, () => {});
