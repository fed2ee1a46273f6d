// Tested by test/client/usage.test.ts.
// Go-style durations, as natscli takes them: "500ms", "1.5s", "1m30s", "250us", "2h"; a bare
// number is seconds.
import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds (fractional) in `text`, or a UsageError naming `what`. */
export function parseDuration(text: string, what = "duration"): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (t === "" || pos !== t.length) throw new UsageError(`invalid ${what} "${text}": use a duration such as 500ms, 2s or 1m`);
  return total;
}

/** A duration for people: "812µs", "1.23ms", "2.5s". */
export function formatDuration(ms: number): string {
  if (ms < 0.001) return `${Math.round(ms * 1e6)}ns`;
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** A whole number ≥ min from a flag, or a UsageError. */
export function parseCount(text: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UsageError(`invalid value "${text}" for ${flag}: expected a whole number ≥ ${min}`);
  return Number(text);
}
