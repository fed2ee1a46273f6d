// The backoff for repeated failed CONNECTs, on a fake clock.
import { expect, test } from "vitest";
import { AuthThrottle } from "../../../server/auth/throttle.js";

function clocked(): { t: AuthThrottle; advance(ms: number): void } {
  let now = 1_000_000;
  return { t: new AuthThrottle({ free: 3, baseMs: 100, maxMs: 1000, windowMs: 10_000, maxTracked: 4, exemptLoopback: false }, () => now), advance: (ms) => (now += ms) };
}

test("the first failures are answered at once, then the delay doubles up to its cap", () => {
  const { t } = clocked();
  expect(Array.from({ length: 9 }, () => t.failed("10.0.0.1"))).toEqual([0, 0, 0, 100, 200, 400, 800, 1000, 1000]);
});

test("new connections from a backing-off IP wait the current delay; other IPs never wait", () => {
  const { t, advance } = clocked();
  for (let i = 0; i < 3; i++) t.failed("10.0.0.1");
  expect(t.admitDelay("10.0.0.1")).toBe(0);
  t.failed("10.0.0.1");
  expect(t.admitDelay("10.0.0.1")).toBe(100);
  expect(t.admitDelay("10.0.0.2")).toBe(0);
  advance(5000);
  t.failed("10.0.0.1");
  expect(t.admitDelay("10.0.0.1")).toBe(200);
});

test("an IP's failures are forgotten after a quiet window", () => {
  const { t, advance } = clocked();
  for (let i = 0; i < 6; i++) t.failed("10.0.0.1");
  advance(10_001);
  expect(t.admitDelay("10.0.0.1")).toBe(0);
  expect(t.failed("10.0.0.1")).toBe(0);
  expect(t.failures("10.0.0.1")).toBe(1);
});

test("the IPs remembered are bounded; the least recently failing is forgotten first", () => {
  const { t } = clocked();
  for (const ip of ["a", "b", "c", "d"]) t.failed(ip);
  t.failed("a");
  t.failed("e");
  expect(t.failures("b")).toBe(0);
  expect(t.failures("a")).toBe(2);
  expect(t.failures("e")).toBe(1);
});

test("loopback clients are left alone by default (an embedding test suite is never slowed)", () => {
  const t = new AuthThrottle({ free: 1, baseMs: 100 });
  for (let i = 0; i < 10; i++) {
    expect(t.failed("127.0.0.1")).toBe(0);
    expect(t.failed("::1")).toBe(0);
    expect(t.failed("::ffff:127.0.0.1")).toBe(0);
  }
  expect(t.admitDelay("127.0.0.1")).toBe(0);
  expect(t.failed("10.1.2.3")).toBe(0);
  expect(t.failed("10.1.2.3")).toBe(100);
});
