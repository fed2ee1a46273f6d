// Go's time.Duration.String() for a duration in milliseconds: nats-server prints durations this
// way in its log lines and errors ("2m0s", "10s", "500ms"), and gnat's texts must match.

/** `ms` as Go prints a time.Duration: "0s", "750ms", "1.5s", "2m0s", "1h0m0s". */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${trim(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = `${trim(rest / 1000)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

/** A number with at most nanosecond digits and no trailing zeros. */
function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}
