// Regression: a by_start_time consumer started at a client's "now", taken just before a publish,
// missed that message. gnat's timestamps were up to 1 ms behind the wall clock (its ns clock was
// anchored on Date.now(), truncated to the ms), and opt_start_time was read with Date.parse, which
// drops everything past the ms. nats-server stamps and compares in ns. Found by
// go/jsconform's push check (nats.go: StartTime(time.Now()), publish, nothing delivered).
import { type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, test, vi } from "vitest";
import { NsClock, rfc3339ToNs } from "../../server/jetstream/store.js";
import { jetStreamSuite } from "../jetstream/helpers.js";

/**
 * The wall clock in ns (a Go client's time.Now()): performance's µs-resolution clock, kept within
 * the ms Date.now() gives. performance's clock runs from the wall time the process started at,
 * so once the system clock is stepped it is off by the step (a CI run on Node 24 saw it 9 ms
 * ahead, and the store clock, which follows the wall clock, looked 9 ms behind).
 */
const fineNowNs = (): bigint => {
  const ms = Date.now();
  const fine = Math.min(Math.max(performance.timeOrigin + performance.now(), ms), ms + 0.999);
  return BigInt(Math.round(fine * 1000)) * 1000n;
};

/** RFC3339 with 9 fractional digits, as Go marshals a time.Time. */
function rfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
}

test("the store clock is never behind a wall-clock reading taken before it", () => {
  const clock = new NsClock();
  for (let i = 0; i < 1000; i++) {
    const before = fineNowNs();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
  }
});

// Regression: after the system clock was stepped forward, the store clock went on from its
// anchor for up to a minute, behind the wall clock by the step (CI runs on this VM saw 9-11 ms).
test("the store clock follows a wall clock stepped forward at once", () => {
  const clock = new NsClock();
  clock.now();
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + 5_000);
    expect(clock.now()).toBeGreaterThanOrEqual(BigInt(Date.now()) * 1_000_000n);
  } finally {
    vi.useRealTimers();
  }
});

test("an RFC3339 time keeps its nanoseconds", () => {
  expect(rfc3339ToNs("2026-12-03T11:33:00.123456789Z")).toBe(1796297580123456789n);
  expect(rfc3339ToNs("2026-12-03T12:33:00.123456789+01:00")).toBe(1796297580123456789n);
  expect(rfc3339ToNs("2026-12-03T11:33:00.5Z")).toBe(1796297580500000000n);
  expect(rfc3339ToNs("2026-12-03T11:33:00Z")).toBe(1796297580000000000n);
  expect(rfc3339ToNs("not a time")).toBeNull();
});

let nc: NatsConnection;
jetStreamSuite("gnat-starttime-", (t) => { nc = t.nc; });

test("a consumer starting at the time taken just before a publish gets that message", async () => {
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  await jsm.streams.add({ name: "ST", subjects: ["st"], storage: "memory" });
  const n = 20;
  const marks: string[] = [];
  for (let i = 0; i < n; i++) {
    marks.push(rfc3339(fineNowNs()));
    await js.publish("st", String(i));
  }
  for (let i = 0; i < n; i++) {
    const ci = await jsm.consumers.add("ST", {
      name: `c${i}`, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartTime, opt_start_time: marks[i]!,
    });
    expect(ci.num_pending, `start ${marks[i]} (message ${i + 1})`).toBe(n - i);
  }
});
