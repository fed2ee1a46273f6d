// Regression: the write deadline cut off a consumer that was keeping up but never fully drained
// under sustained load. Like nats-server's, the deadline is for a write that makes no progress.
import { connect, type Socket } from "node:net";
import { expect, test } from "vitest";
import { gnatSuite } from "../kit/gnat.js";

// A large byte budget, so only the write deadline can cut a consumer off.
const server = gnatSuite({ writeDeadline: 1000, maxPending: 1024 * 1024 * 1024, maxPayload: 65536 });

function subscriber(subject: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(server().port, "127.0.0.1");
    let b = "";
    s.on("data", function f(d: Buffer) {
      b += d.toString("latin1");
      if (b.includes("PONG")) {
        s.off("data", f);
        resolve(s);
      }
    });
    s.on("error", () => {});
    s.write(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
  });
}

test("a consumer that keeps reading is not cut off, one that stops is", async () => {
  const steady = await subscriber("flood");
  const stalled = await subscriber("flood");
  let steadyClosed = false;
  steady.on("close", () => (steadyClosed = true));
  // steady reads 64 KiB every 10 ms (~6 MB/s) while ~13 MB/s is published: always behind,
  // never drained, always progressing. stalled never reads again.
  steady.pause();
  stalled.pause();
  const reader = setInterval(() => {
    steady.read(65536);
  }, 10);
  const pub = connect(server().port, "127.0.0.1");
  pub.on("error", () => {});
  pub.write('CONNECT {"verbose":false}\r\n');
  const frames = Buffer.from(`PUB flood 16384\r\n${"x".repeat(16384)}\r\n`.repeat(4));
  await new Promise<void>((resolve) => {
    const until = Date.now() + 1500;
    const tick = setInterval(() => {
      pub.write(frames);
      if (Date.now() > until) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  // (A deadline of 1 s rather than less: on a loaded machine this process — server and readers
  // alike — can be descheduled for a few hundred milliseconds.)
  // The stalled one was cut off within its deadline (a paused socket does not see its own
  // close, so ask the server); the steady one, behind all along, is still there.
  await expect.poll(() => server().slowConsumers, { timeout: 8000 }).toBeGreaterThanOrEqual(1);
  clearInterval(reader);
  expect(server().slowConsumers).toBe(1);
  expect(steadyClosed).toBe(false);
  expect(server().clients.size).toBe(2);
  steady.destroy();
  stalled.destroy();
  pub.destroy();
}, 20_000);
