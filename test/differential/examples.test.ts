// The examples run unchanged against nats-server -js (as test/examples/ runs them against gnat):
// what they demonstrate is NATS behaviour, not gnat's.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "../jetstream/helpers.js";
import { NATS_SERVER, SKIP_REASON } from "./harness.js";
import { freePort, spawnNatsServer, type Launched } from "../kit/processes.js";
import { hashPartition } from "../../protocol/subject-transform.js";

describe.skipIf(NATS_SERVER === null)("examples against nats-server -js", () => {
  let nats: Launched;
  let url = "";
  const dir = tempDir("nats-examples-");

  beforeAll(async () => {
    const port = await freePort();
    // examples/partitions.conf: the subject mapping examples/partitions.mjs relies on (it touches orders.* only).
    nats = await spawnNatsServer(["-js", "-sd", dir.dir, "-a", "127.0.0.1", "-p", String(port), "-c", "examples/partitions.conf"], port);
    url = `nats://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await nats.stop();
    dir.remove();
  });

  test.each(["work-queue", "consumer-groups", "partitions"])("examples/%s.mjs exits 0", async (name) => {
    const { stdout } = await promisify(execFile)(process.execPath, [`examples/${name}.mjs`], { env: { ...process.env, NATS_URL: url }, timeout: 60_000 });
    expect(stdout).toMatch(/done: 6 tasks completed, 1 in TASKS_DLQ, 0 left in TASKS|\[replay-from-time\] offsets 51\.\.100|done: 80 records, every key in order, each record once/);
  }, 60_000);

  test("nats-server puts each key in the partition gnat computes", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/partitions.mjs"], { env: { ...process.env, NATS_URL: url }, timeout: 60_000 });
    const parts = [...stdout.matchAll(/\[(customer-\d+)\] partition (\d)/g)].map((m) => [m[1], Number(m[2])]);
    expect(parts).toHaveLength(8);
    for (const [key, p] of parts) expect(p).toBe(Number(hashPartition(key as string, 4)));
  }, 60_000);
});

if (NATS_SERVER === null) test.skip(SKIP_REASON, () => {});
