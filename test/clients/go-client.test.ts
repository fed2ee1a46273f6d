// nats.go (Debian's golang-github-nats-io-go-nats-dev) against gnat, through the Go load
// generator in go/loadgen: a client from another runtime, publishing as fast as it can.
// The symptom that started the flow-control work: gnat cut off subscribers that were reading and
// lost most of the messages; nats-server delivered all of them.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { buildGo, goMissing } from "./go-build.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { startGnat } from "../kit/gnat.js";

const SRC = join(import.meta.dirname, "../../go/loadgen");
const why = goMissing;
if (why) console.warn(`\n*** SKIPPING the nats.go tests: ${why} ***\n`);

interface GenResult {
  ok: boolean;
  published: number;
  delivered: number;
  expectedDeliveries: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  deadSubscribers: number;
  timedOut: boolean;
}

let bin = "";
let server: Server;
beforeAll(async () => {
  if (why) return;
  bin = buildGo(SRC, "loadgen");
  // A 2 MiB byte budget (64 MiB by default) makes "behind for a while" happen within a short
  // run: before flow control, these runs lost 40-80% of their messages to cut-off subscribers.
  server = await startGnat({ maxPending: 2 * 1024 * 1024 });
}, 120_000);
afterAll(async () => {
  await server?.close();
});

function run(args: string[]): Promise<GenResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["-port", String(server.port), "-timeout", "60s", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as GenResult);
      } catch {
        reject(new Error(`no result from loadgen: ${out}${err}`));
      }
    });
  });
}

describe.skipIf(why !== "")("nats.go publishing as fast as it can", () => {
  test.each([
    { name: "1 → 1, 1 KiB, 300,000 messages", args: ["-mode", "pubsub", "-msgs", "300000", "-size", "1024", "-subs", "1"] },
    { name: "1 → 1, 64 KiB, 5,000 messages", args: ["-mode", "pubsub", "-msgs", "5000", "-size", "65536", "-subs", "1"] },
    // 400,000 (1,000,000 until CI time mattered): 8 subscribers' backlog still passes the 2 MiB
    // budget many times over, which is what the run is for; more only added time.
    { name: "1 → 8, 16 B, 400,000 messages", args: ["-mode", "pubsub", "-msgs", "400000", "-size", "16", "-subs", "8"] },
    { name: "queue group of 4, 1 KiB, 200,000 messages", args: ["-mode", "pubsub", "-msgs", "200000", "-size", "1024", "-subs", "4", "-queue", "q"] },
  ])("$name: every subscriber gets every message exactly once, in order", async ({ args }) => {
    const before = server.slowConsumers;
    const r = await run(args);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.outOfOrder).toBe(0);
    expect(r.deadSubscribers).toBe(0);
    expect(r.delivered).toBe(r.expectedDeliveries);
    expect(r.ok).toBe(true);
    expect(server.slowConsumers).toBe(before);
  }, 90_000);

  test("request-reply round trips complete", async () => {
    const r = await run(["-mode", "req", "-msgs", "2000", "-warmup", "100"]);
    expect(r.ok).toBe(true);
    expect(r.lost).toBe(0);
  }, 60_000);
});
