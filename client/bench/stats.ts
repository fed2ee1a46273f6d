// Tested by test/client/bench-stats.test.ts.
// What `gnat bench` measures and how it reports it: one Sample per publisher or subscriber
// (messages, bytes, first and last instant, one latency per message), rates and exact
// percentiles from the sorted latencies, natscli's summary lines and its CSV columns.
import { bytes } from "../ui.js";

/** One client's run. Times are performance.now() milliseconds; latencies are milliseconds. */
export class Sample {
  msgs = 0;
  bytes = 0;
  start = 0;
  end = 0;
  private lat: Float64Array;
  private nLat = 0;
  private sorted: Float64Array | null = null;

  constructor(expected: number) {
    this.lat = new Float64Array(Math.max(16, expected));
  }

  /** Count a message of `size` bytes at `now`, with its latency when it has one. */
  record(size: number, now: number, latency?: number): void {
    if (this.msgs === 0) this.start = now;
    this.msgs++;
    this.bytes += size;
    this.end = now;
    if (latency !== undefined) this.addLatency(latency);
  }

  addLatency(ms: number): void {
    if (this.nLat === this.lat.length) {
      const grown = new Float64Array(this.lat.length * 2);
      grown.set(this.lat);
      this.lat = grown;
    }
    this.lat[this.nLat++] = ms;
    this.sorted = null;
  }

  get latencies(): Float64Array {
    if (this.sorted === null) this.sorted = this.lat.slice(0, this.nLat).sort();
    return this.sorted;
  }

  /** Seconds from the first message to the last (a floor of 1µs: one message still has a rate). */
  get seconds(): number {
    return Math.max(0.000001, (this.end - this.start) / 1000);
  }

  get rate(): number {
    return this.msgs / this.seconds;
  }

  get throughput(): number {
    return this.bytes / this.seconds;
  }
}

/** The p-th percentile (0–100) of sorted values, nearest rank; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface LatencySummary {
  min: number;
  avg: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  stddev: number;
}

export function summarize(sorted: Float64Array): LatencySummary | null {
  const n = sorted.length;
  if (n === 0) return null;
  let sum = 0;
  for (const v of sorted) sum += v;
  const avg = sum / n;
  let sq = 0;
  for (const v of sorted) sq += (v - avg) ** 2;
  return { min: sorted[0]!, avg, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[n - 1]!, stddev: Math.sqrt(sq / n) };
}

/** All of a group's latencies, sorted. */
export function merged(samples: Sample[]): Float64Array {
  const total = samples.reduce((n, s) => n + s.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const s of samples) {
    all.set(s.latencies, at);
    at += s.latencies.length;
  }
  return all.sort();
}

/** A group's rate: all its messages over the span from the first start to the last end. */
export function groupRate(samples: Sample[]): { msgs: number; bytes: number; seconds: number; rate: number; throughput: number } {
  const active = samples.filter((s) => s.msgs > 0);
  const msgs = active.reduce((n, s) => n + s.msgs, 0);
  const bytes = active.reduce((n, s) => n + s.bytes, 0);
  if (active.length === 0) return { msgs: 0, bytes: 0, seconds: 0, rate: 0, throughput: 0 };
  const start = Math.min(...active.map((s) => s.start));
  const end = Math.max(...active.map((s) => s.end));
  const seconds = Math.max(0.000001, (end - start) / 1000);
  return { msgs, bytes, seconds, rate: msgs / seconds, throughput: bytes / seconds };
}

const comma = (n: number): string => Math.round(n).toLocaleString("en-US");

/** humanize.IBytes, as natscli prints throughput: "150 MiB", "1.2 KiB" (client/ui.ts's, rounded below 1 KiB). */
export function ibytes(n: number): string {
  return bytes(n < 1024 ? Math.round(n) : n);
}

/** A latency for people: "35µs", "1.24ms", "2.50s". */
export function latency(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${ms.toFixed(2)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

const rateLine = (rate: number, throughput: number): string => `${comma(rate)} msgs/sec ~ ${ibytes(throughput)}/sec`;

function latencyLine(l: LatencySummary | null): string {
  if (l === null) return "";
  return ` ~ p50 ${latency(l.p50)} ~ p90 ${latency(l.p90)} ~ p99 ${latency(l.p99)} ~ max ${latency(l.max)}`;
}

export interface Group {
  /** "Pub", "Sub", "Req", "Rep", "JS Pub", "JS Pull" … */
  label: string;
  samples: Sample[];
}

/** The summary: each group's total and latencies, then each client's line; the overall rate first. */
export function report(title: string, groups: Group[]): string {
  const out: string[] = [];
  const present = groups.filter((g) => g.samples.length > 0);
  if (present.length > 1) {
    const all = groupRate(present.flatMap((g) => g.samples));
    out.push(`${title} stats: ${rateLine(all.rate, all.throughput)}`);
  }
  for (const g of present) {
    const r = groupRate(g.samples);
    const lat = summarize(merged(g.samples));
    out.push(`${present.length > 1 ? " " : ""}${g.label} stats: ${rateLine(r.rate, r.throughput)}${latencyLine(lat)}`);
    if (g.samples.length > 1 || lat !== null) {
      g.samples.forEach((s, i) => {
        out.push(`  [${i + 1}] ${rateLine(s.rate, s.throughput)}${latencyLine(summarize(s.latencies))} (${comma(s.msgs)} msgs)`);
      });
    }
    if (g.samples.length > 1) {
      const rates = g.samples.map((s) => s.rate);
      const avg = rates.reduce((a, b) => a + b, 0) / rates.length;
      const sd = Math.sqrt(rates.reduce((a, b) => a + (b - avg) ** 2, 0) / rates.length);
      out.push(`  min ${comma(Math.min(...rates))} | avg ${comma(avg)} | max ${comma(Math.max(...rates))} | stddev ${comma(sd)} msgs`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** natscli's CSV columns, one row per client; the latency columns (microseconds) always present. */
export function csv(runId: string, groups: Group[]): string {
  const head = ["#RunID", "ClientID", "MsgCount", "MsgBytes", "MsgsPerSec", "BytesPerSec", "DurationSecs",
    "MinLatencyMicroSecs", "AvgLatencyMicroSecs", "MaxLatencyMicroSecs", "P50LatencyMicroSecs", "P90LatencyMicroSecs",
    "P99LatencyMicroSecs", "StdDevLatencyMicroSecs"];
  const rows = [head.join(",")];
  for (const g of groups) {
    const prefix = g.label.replace(/\s+/g, "").toUpperCase();
    g.samples.forEach((s, i) => {
      const l = summarize(s.latencies);
      const us = (v: number | undefined): string => (v === undefined ? "" : (v * 1000).toFixed(3));
      rows.push([runId, `${prefix}${i}`, s.msgs, s.bytes, Math.round(s.rate), s.throughput.toFixed(3), s.seconds.toFixed(6),
        us(l?.min), us(l?.avg), us(l?.max), us(l?.p50), us(l?.p90), us(l?.p99), us(l?.stddev)].join(","));
    });
  }
  return `${rows.join("\n")}\n`;
}
