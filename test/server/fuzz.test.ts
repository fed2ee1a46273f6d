// Hostile input, fuzzed: seeded valid, mutated and random client frames from many connections,
// split at random places (bench/fuzz/engine.ts). Bounded: half a million frames or 40 s; `npm run
// fuzz` runs a long campaign. (A million until CI time mattered: the seed is fixed, so the second
// half was the same frames every run, confidence rather than a property; the asserts are the same.)
import { connect } from "node:net";
import { expect, test } from "vitest";
import { fuzz } from "../../bench/fuzz/engine.js";
import { gnatSuite, startGnat } from "../kit/gnat.js";

// A small payload limit makes "huge announced payload" frames common.
const server = gnatSuite({ maxPayload: 64 * 1024 });

test("fuzzed frames: no crash, only nats-server's -ERR texts, still serving, memory bounded", async () => {
  const rssBefore = process.memoryUsage().rss;
  const r = await fuzz(server().port, { seed: 20261125, frames: 500_000, maxMs: 40_000 });
  expect(r.frames).toBeGreaterThan(10_000);
  expect(r.unexpected).toEqual([]);
  // The fuzz hit the error paths, not just the happy ones.
  expect(r.errors.get("Unknown Protocol Operation") ?? 0).toBeGreaterThan(0);
  // Every fuzz connection is gone from the server.
  await expect.poll(() => server().clients.size, { timeout: 10_000 }).toBe(0);
  // A well-behaved client is served as usual.
  const out = await new Promise<string>((resolve, reject) => {
    const s = connect(server().port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("PONG\r\n")) { s.destroy(); resolve(buf); }
    });
    s.on("error", reject);
    s.write('CONNECT {"verbose":false}\r\nSUB ok 1\r\nPUB ok 2\r\nhi\r\nPING\r\n');
  });
  expect(out).toContain("MSG ok 1 2\r\nhi\r\n");
  // Server and fuzzer share this process: a leak would show here.
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
}, 60_000);

test("fuzzed frames with token auth on: the same, and unauthenticated input is refused", async () => {
  const authed = await startGnat({ maxPayload: 64 * 1024, authorization: { token: "s3cret" } });
  try {
    const r = await fuzz(authed.port, { seed: 7, frames: 150_000, maxMs: 20_000, token: "s3cret" });
    expect(r.unexpected).toEqual([]);
    expect(r.errors.get("Authorization Violation") ?? 0).toBeGreaterThan(0);
    // Authenticated connections got far enough to hit the parser's own errors too.
    expect(r.errors.get("Invalid Subject") ?? 0).toBeGreaterThan(0);
    await expect.poll(() => authed.clients.size, { timeout: 10_000 }).toBe(0);
    const out = await new Promise<string>((resolve, reject) => {
      const s = connect(authed.port, "127.0.0.1");
      let buf = "";
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (buf.includes("PONG\r\n")) { s.destroy(); resolve(buf); }
      });
      s.on("error", reject);
      s.write('CONNECT {"verbose":false,"auth_token":"s3cret"}\r\nSUB ok 1\r\nPUB ok 2\r\nhi\r\nPING\r\n');
    });
    expect(out).toContain("MSG ok 1 2\r\nhi\r\n");
  } finally {
    await authed.close();
  }
}, 60_000);
