// Go's time.Duration as gnat prints and parses it (server/duration.ts), against what Go's
// Duration.String() and time.ParseDuration give for the same values.

import { describe, expect, test } from "vitest";
import { goDuration, goDurationNs, parseDuration, parseDurationNs } from "../../server/duration.js";

describe("goDurationNs (Duration.String)", () => {
  test.each([
    [0, "0s"],
    [1, "1ns"],
    [999, "999ns"],
    [1_000, "1µs"],
    [850_000, "850µs"],
    [1_500, "1.5µs"],
    [1_000_000, "1ms"],
    [1_500_000, "1.5ms"],
    [100_000_000, "100ms"],
    [1e9, "1s"],
    [1.5e9, "1.5s"],
    [5e9, "5s"],
    [60e9, "1m0s"],
    [90.5e9, "1m30.5s"],
    [3600e9, "1h0m0s"],
    [3723e9, "1h2m3s"],
    [2 * 3600e9 + 1, "2h0m0.000000001s"],
    [-1.5e9, "-1.5s"],
  ])("%d ns → %s", (ns, text) => {
    expect(goDurationNs(ns)).toBe(text);
  });
});

describe("goDuration (milliseconds)", () => {
  test("prints as Go prints the same nanoseconds", () => {
    expect([0, 500, 1000, 1500, 10_000, 60_000, 120_000, 90_500, 3_600_000, 3_723_000, -2000].map(goDuration))
      .toEqual(["0s", "500ms", "1s", "1.5s", "10s", "1m0s", "2m0s", "1m30.5s", "1h0m0s", "1h2m3s", "-2s"]);
    expect(goDuration(0.5)).toBe("500µs");
  });
});

describe("parseDuration (milliseconds)", () => {
  test("reads Go durations", () => {
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration("-2s")).toBe(-2000);
    expect(parseDuration("+1s")).toBe(1000);
    expect(parseDuration(" 3s ")).toBe(3000);
    expect(parseDuration(".5s")).toBe(500);
    expect(parseDuration("1.s")).toBe(1000);
    expect(parseDuration("250us")).toBe(0.25);
    expect(parseDuration("250µs")).toBe(0.25);
    expect(parseDuration("250μs")).toBe(0.25);
  });

  test.each(["10", "1x", "", "-", "s", "1m x", "1.5"])("rejects %j", (s) => {
    expect(parseDuration(s)).toBeNull();
  });
});

describe("parseDurationNs", () => {
  test("reads whole nanoseconds", () => {
    expect(parseDurationNs("5s")).toBe(5e9);
    expect(parseDurationNs("100ms")).toBe(1e8);
    expect(parseDurationNs("1m30s")).toBe(90e9);
    expect(parseDurationNs("1.5us")).toBe(1500);
    expect(parseDurationNs("7ns")).toBe(7);
    expect(parseDurationNs("0")).toBe(0);
    expect(parseDurationNs("bogus")).toBeNull();
  });

  test("round-trips what goDurationNs prints", () => {
    for (const ns of [1, 1_500, 850_000, 1_500_000, 1.5e9, 90.5e9, 3723e9]) expect(parseDurationNs(goDurationNs(ns))).toBe(ns);
  });
});
