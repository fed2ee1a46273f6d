// Go's time.Duration, printed and parsed: nats-server prints durations this way in its log
// lines, errors and monitoring JSON ("2m0s", "10s", "850µs"), and reads them so in its config
// and in a consumer's NAK delay. The one home of the unit table for all of gnat.

/** Nanoseconds per unit, as time.ParseDuration reads them (both micro signs, and "us"). */
const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
/** The same table in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(UNIT_NS).map(([u, ns]) => [u, ns / 1e6]));

/** `ns` as Go's Duration.String() prints it: "0s", "850µs", "1.5ms", "2m3.5s", "1h0m0s". */
export function goDurationNs(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let d = Math.round(Math.abs(ns));
  let out: string;
  if (d < 1e9) {
    if (d < 1e3) out = `${d}ns`;
    else if (d < 1e6) out = `${trimFrac(d / 1e3)}µs`;
    else out = `${trimFrac(d / 1e6)}ms`;
  } else {
    const h = Math.floor(d / 3.6e12);
    d -= h * 3.6e12;
    const m = Math.floor(d / 6e10);
    d -= m * 6e10;
    const s = `${trimFrac(d / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

/** `ms` as Go prints a time.Duration: "0s", "750ms", "1.5s", "2m0s", "1h0m0s". */
export function goDuration(ms: number): string {
  return goDurationNs(ms * 1e6);
}

/** Up to 9 fractional digits, trailing zeros dropped, as Go prints them. */
function trimFrac(x: number): string {
  return x.toFixed(9).replace(/\.?0+$/, "");
}

/** Go's time.ParseDuration, in milliseconds ("1m30s", "1.5h", "-2s", "0"); null when malformed. */
export function parseDuration(s: string): number | null {
  return parseIn(s, UNIT_MS);
}

/** Go's time.ParseDuration, in whole nanoseconds; null when malformed. */
export function parseDurationNs(s: string): number | null {
  const ns = parseIn(s, UNIT_NS);
  return ns === null ? null : Math.round(ns);
}

function parseIn(s: string, units: Readonly<Record<string, number>>): number | null {
  let rest = s.trim();
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return null;
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) return null;
    total += Number.parseFloat(m[1]!) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}
