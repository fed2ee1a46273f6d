// Tested by test/server/config.test.ts.
// What every block's mapping shares: the typed readers (each error at the key's file and line),
// the map test, the refusal wording and nats-server's `listen` address form.
import { ConfigError, type ConfigValue, type ConfigMap } from "./parse.js";

export interface Readers {
  fail: (key: string, reason: string) => ConfigError;
  int: (key: string, v: ConfigValue, min?: number) => number;
  bool: (key: string, v: ConfigValue) => boolean;
  str: (key: string, v: ConfigValue) => string;
  duration: (key: string, v: ConfigValue) => number;
  warnings: string[];
  /** An error at a key of a nested map (its own line), when the mapping knows the map's positions. */
  failIn?: (map: ConfigMap, key: string, reason: string) => ConfigError;
}

export const STORAGE_UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export const isMap = (v: ConfigValue): v is ConfigMap => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Why a key that would leave the server less protected than configured is refused. */
export const REFUSE_REASON = "is not supported by gnat yet: refusing to start rather than run less protected than configured";

/** A `host:port`, `[v6]:port` or bare port, as nats-server reads `listen` and `http`. */
export function parseListen(key: string, v: ConfigValue, fail: (k: string, r: string) => ConfigError): { host?: string; port?: number } {
  if (typeof v === "number") return { port: v };
  if (typeof v !== "string") throw fail(key, `could not parse ${key}: ${JSON.stringify(v)}`);
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(-?\d+)$/.exec(v) ?? /^()()(-?\d+)$/.exec(v);
  if (!m) throw fail(key, `could not parse address string "${v}"`);
  const host = m[1] ?? m[2] ?? "";
  const out: { host?: string; port?: number } = { port: Number.parseInt(m[3]!, 10) };
  if (host) out.host = host;
  return out;
}
