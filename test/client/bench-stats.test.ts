// The figures gnat bench prints: exact percentiles, group rates over the whole span, natscli's
// CSV columns.
import { describe, expect, test } from "vitest";
import { csv, groupRate, percentile, report, Sample, summarize } from "../../client/bench/stats.js";

function sample(start: number, lat: number[], size = 100): Sample {
  const s = new Sample(lat.length);
  lat.forEach((l, i) => s.record(size, start + i * 10, l));
  return s;
}

describe("bench figures", () => {
  test("percentiles are nearest-rank over the sorted latencies", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(Float64Array.of(7), 99)).toBe(7);
    expect(percentile(new Float64Array(0), 50)).toBeNaN();
  });

  test("a sample's latencies come back sorted whatever the order they were recorded in", () => {
    const s = sample(0, [5, 1, 4, 2, 3]);
    expect([...s.latencies]).toEqual([1, 2, 3, 4, 5]);
    expect(summarize(s.latencies)).toMatchObject({ min: 1, max: 5, avg: 3, p50: 3 });
    // More than the expected count grows the store rather than losing any.
    const big = new Sample(1);
    for (let i = 0; i < 100; i++) big.addLatency(100 - i);
    expect(big.latencies.length).toBe(100);
    expect(big.latencies[0]).toBe(1);
  });

  test("rates are messages over the time from first to last; a group spans all its clients", () => {
    const a = sample(0, Array(101).fill(1)); // 101 messages over 1 s
    expect(a.seconds).toBe(1);
    expect(a.rate).toBe(101);
    expect(a.throughput).toBe(10_100);
    const b = sample(1000, Array(101).fill(1)); // the next second
    const g = groupRate([a, b]);
    expect(g.seconds).toBe(2);
    expect(g.rate).toBe(101);
  });

  test("the report has a line per group and per client, with p50/p90/p99/max", () => {
    const text = report("NATS Pub/Sub", [
      { label: "Pub", samples: [sample(0, [1, 2, 3]), sample(0, [1, 2, 3])] },
      { label: "Sub", samples: [sample(0, [0.5, 0.25, 0.75])] },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NATS Pub\/Sub stats: [\d,]+ msgs\/sec ~ [\d.]+ (B|KiB|MiB)\/sec$/);
    expect(lines[1]).toMatch(/^ Pub stats: .* ~ p50 2\.00ms ~ p90 3\.00ms ~ p99 3\.00ms ~ max 3\.00ms$/);
    expect(lines[2]).toMatch(/^ {2}\[1\] .* \(3 msgs\)$/);
    expect(lines[4]).toMatch(/^ {2}min [\d,]+ \| avg [\d,]+ \| max [\d,]+ \| stddev [\d,]+ msgs$/);
    expect(lines[5]).toMatch(/^ Sub stats: .* ~ p50 500µs ~ p90 750µs ~ p99 750µs ~ max 750µs$/);
  });

  test("the CSV has natscli's columns and one row per client, latencies in microseconds", () => {
    const text = csv("run1", [{ label: "JS Pub", samples: [sample(0, [1, 3])] }, { label: "Sub", samples: [sample(0, [2])] }]);
    const rows = text.trimEnd().split("\n").map((r) => r.split(","));
    expect(rows[0]!.slice(0, 7)).toEqual(["#RunID", "ClientID", "MsgCount", "MsgBytes", "MsgsPerSec", "BytesPerSec", "DurationSecs"]);
    expect(rows[0]).toContain("P99LatencyMicroSecs");
    expect(rows[1]!.slice(0, 4)).toEqual(["run1", "JSPUB0", "2", "200"]);
    expect(rows[1]![rows[0]!.indexOf("MaxLatencyMicroSecs")]).toBe("3000.000");
    expect(rows[2]!.slice(0, 3)).toEqual(["run1", "SUB0", "1"]);
    expect(rows).toHaveLength(3);
  });
});
