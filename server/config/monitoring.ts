// Tested by test/server/config.test.ts.
// The monitoring keys: `http` (the monitoring listener) and gnat's own `alerts` block.
import { setHttpPort, type ServerOptions } from "../options.js";
import { ALERT_NAMES, type AlertName, type AlertsInput } from "../alerts-options.js";
import type { ConfigValue } from "./parse.js";
import { type Readers, isMap, parseListen } from "./readers.js";

/** nats-server's `http` key: `host:port` (or a bare port) for the monitoring listener. */
export function mapHttp(key: string, v: ConfigValue, options: Partial<ServerOptions>, fail: Readers["fail"]): void {
  const { host, port } = parseListen(key, v, fail);
  if (host !== undefined) options.httpHost = host;
  if (port !== undefined) setHttpPort(options, port);
}

/**
 * gnat's `alerts` block: `interval`, and one block per alert with `threshold` (or the alert's
 * own word: `share` for store_usage, `per_minute` for slow_consumers), `for` and `window`.
 * publish_latency_p99's threshold is a duration ("50ms").
 */
export function mapAlerts(key: string, v: ConfigValue, r: Readers): AlertsInput {
  if (!isMap(v)) throw r.fail(key, "alerts must be a block: alerts { consumer_pending: { threshold: 1000, for: \"30s\" } }");
  const out: AlertsInput = {};
  const num = (k: string, x: ConfigValue): number => {
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw r.fail(key, `alerts: ${k} must be a non-negative number, got ${JSON.stringify(x)}`);
    return x;
  };
  for (const [ak, av] of Object.entries(v)) {
    const name = ak.toLowerCase();
    if (name === "interval") {
      out.interval = r.duration(`alerts.${ak}`, av);
      continue;
    }
    if (!(ALERT_NAMES as readonly string[]).includes(name)) throw r.fail(key, `alerts: unknown alert "${ak}" (known: ${ALERT_NAMES.join(", ")})`);
    if (!isMap(av)) throw r.fail(key, `alerts.${ak} must be a block, e.g. { threshold: 10, for: "30s" }`);
    let threshold: number | undefined;
    const rule: { threshold: number; for?: number; window?: number } = { threshold: 0 };
    for (const [fk, fv] of Object.entries(av)) {
      const f = fk.toLowerCase();
      const where = `alerts.${ak}.${fk}`;
      if (f === "for") rule.for = r.duration(where, fv);
      else if (f === "window") rule.window = r.duration(where, fv);
      else if (f === "threshold" && name === "publish_latency_p99") threshold = r.duration(where, fv);
      else if (f === "threshold" || (f === "share" && name === "store_usage")) threshold = num(where, fv);
      else if (f === "per_minute" && name === "slow_consumers") {
        threshold = num(where, fv);
        rule.window = 60_000;
      } else throw r.fail(key, `alerts.${ak}: unknown field "${fk}"`);
    }
    if (threshold === undefined) throw r.fail(key, `alerts.${ak} needs a threshold`);
    rule.threshold = threshold;
    out[name as AlertName] = rule;
  }
  return out;
}
