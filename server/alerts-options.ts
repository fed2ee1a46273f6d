// Tested by test/monitor/alerts.test.ts.
// The threshold alerts' options (config key `alerts`, ServerOptions.alerts): names, rules, defaults
// and their validation. Below the options so they need not import the monitor that runs them.
export const ALERT_NAMES = ["consumer_pending", "slow_consumers", "store_usage", "publish_latency_p99", "link_down"] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** The subject an alert's events are published on. */
export const alertSubject = (name: AlertName): string => `$GNAT.ALERT.${name}`;

export interface AlertRule {
  /**
   * The alert's condition is `value >= threshold`. Units: consumer_pending messages,
   * slow_consumers cut-offs within `window`, store_usage a share of the limit (0..1],
   * publish_latency_p99 milliseconds, link_down configured links (routes, leafnode remotes) not
   * connected.
   */
  threshold: number;
  /** How long (ms) the condition must hold before the alert fires; 0 fires at the first tick. */
  for: number;
  /** Look-back (ms) for slow_consumers (cut-offs counted) and publish_latency_p99 (samples). */
  window: number;
}

export type AlertRules = { [K in AlertName]?: AlertRule };

export interface AlertsOptions {
  /** How often (ms) the rules are evaluated. */
  interval: number;
  rules: AlertRules;
}

/** What an embedder may pass: every field but `threshold` has a default. */
export type AlertsInput = { interval?: number } & { [K in AlertName]?: { threshold: number; for?: number; window?: number } };

export const DEFAULT_ALERT_INTERVAL_MS = 1000;
export const DEFAULT_ALERT_WINDOW_MS = 60_000;

export function resolveAlerts(input: AlertsInput | undefined): AlertsOptions {
  const out: AlertsOptions = { interval: input?.interval ?? DEFAULT_ALERT_INTERVAL_MS, rules: {} };
  if (!(out.interval > 0)) throw new Error(`invalid value for alerts.interval: ${String(out.interval)}`);
  if (input === undefined) return out;
  for (const key of Object.keys(input)) {
    if (key !== "interval" && !(ALERT_NAMES as readonly string[]).includes(key)) throw new Error(`unknown alert "${key}" (known: ${ALERT_NAMES.join(", ")})`);
  }
  for (const name of ALERT_NAMES) {
    const r = input[name];
    if (r === undefined) continue;
    const rule: AlertRule = { threshold: r.threshold, for: r.for ?? 0, window: r.window ?? DEFAULT_ALERT_WINDOW_MS };
    if (typeof rule.threshold !== "number" || !Number.isFinite(rule.threshold) || rule.threshold < 0) throw new Error(`invalid threshold for alert ${name}: ${String(r.threshold)}`);
    if (name === "store_usage" && !(rule.threshold > 0 && rule.threshold <= 1)) throw new Error(`alert store_usage: share must be in (0, 1], got ${rule.threshold}`);
    if (!(rule.for >= 0)) throw new Error(`invalid 'for' for alert ${name}: ${String(r.for)}`);
    if (!(rule.window > 0)) throw new Error(`invalid window for alert ${name}: ${String(r.window)}`);
    out.rules[name] = rule;
  }
  return out;
}
