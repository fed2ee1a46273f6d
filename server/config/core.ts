// Tested by test/server/config.test.ts.
// A parsed config → ServerOptions: the top-level keys (listen, limits, logging, files), the keys
// refused or not yet supported, and each block handed to its own mapping (jetstream.ts, auth.ts,
// tls.ts, websocket.ts, monitoring.ts, cluster.ts, leafnodes.ts).
import { authConfigError } from "../auth/auth.js";
import { readFileSync } from "node:fs";
import { setHttpPort, type ServerOptions } from "../options.js";
import { goDuration } from "../duration.js";
import { mapTls } from "./tls.js";
import { accountsConfigError, mergedAuthorization } from "../accounts/options.js";
import { ConfigError, type ConfigValue, type ConfigMap, type Env, type Parsed, parseWithMeta, parseDuration } from "./parse.js";
import { parseListen } from "./readers.js";
import { mapJetStream } from "./jetstream.js";
import { mapAlerts, mapHttp } from "./monitoring.js";
import { mapAuthorization, mapAccounts } from "./auth.js";
import { mapWebSocket } from "./websocket.js";
import { mapCluster } from "./cluster.js";
import { mapLeafNodes } from "./leafnodes.js";
import { mapMappings } from "./mappings.js";
import { mapOperator, mapResolver, mapResolverPreload } from "./operator.js";

export interface LoadedConfig {
  options: Partial<ServerOptions>;
  warnings: string[];
}

/** Keys that would leave the server less protected than its operator believes if ignored. */
const REFUSED = new Set([
  "ocsp",
  "resolver_tls", "resolver_pinned_accounts", "trusted", "trusted_keys", "https", "https_port",
  "users", "nkeys",
]);

/** nats-server keys of features gnat does not have yet: ignored, with a warning. */
const NOT_YET = new Set([
  "client_advertise", "trace_verbose", "logtime", "disable_sublist_cache",
  "no_sublist_cache", "http_base_path",
  "logfile_size_limit",
  "log_size_limit", "syslog", "remote_syslog", "prof_port", "max_traced_msg_len",
  "max_sub_tokens", "max_subscription_tokens", "mode", "urls", "url", "no_system_account", "no_system", "no_sys_acc", "no_header_support",
  "connect_error_reports", "reconnect_error_reports", "mqtt", "server_tags",
  "default_js_domain", "CACHE", "FULL",
]);

/** Sub-keys of otherwise-ignored blocks that change security: refuse rather than ignore. */
const REFUSED_INSIDE = ["authorization", "tls", "accounts"];

/** Map a parsed config onto options; unknown keys are errors, as in nats-server. */
export function configToOptions(cfg: ConfigMap, filename = ""): LoadedConfig {
  return mapConfig({ map: cfg, meta: { positions: new WeakMap(), usedAsVariable: new WeakMap() }, file: filename });
}

function mapConfig(p: Parsed): LoadedConfig {
  const options: Partial<ServerOptions> = {};
  const warnings: string[] = [];
  const positions = p.meta.positions.get(p.map);
  const used = p.meta.usedAsVariable.get(p.map);
  const where = (key: string): [string, number, number] => positions?.get(key) ?? [p.file, 0, 0];
  const fail = (key: string, reason: string): ConfigError => {
    const [f, l, c] = where(key);
    return new ConfigError(f, l, c, reason);
  };
  const failIn = (map: ConfigMap, key: string, reason: string): ConfigError => {
    const [f, l, c] = p.meta.positions.get(map)?.get(key) ?? where("");
    return new ConfigError(f, l, c, reason);
  };
  const int = (key: string, v: ConfigValue, min = 0): number => {
    if (typeof v !== "number" || !Number.isInteger(v)) throw fail(key, `${key} must be an integer, got ${JSON.stringify(v)}`);
    if (v < min) throw fail(key, `${key} must be at least ${min}, got ${v}`);
    return v;
  };
  const bool = (key: string, v: ConfigValue): boolean => {
    if (typeof v !== "boolean") throw fail(key, `${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const str = (key: string, v: ConfigValue): string => {
    if (typeof v !== "string" && typeof v !== "number") throw fail(key, `${key} must be a string`);
    return String(v);
  };
  const duration = (key: string, v: ConfigValue): number => {
    if (typeof v === "number") {
      warnings.push(`${key} should be converted to a duration (a number means seconds)`);
      return v * 1000;
    }
    if (typeof v !== "string") throw fail(key, `error parsing ${key}: not a duration`);
    const ms = parseDuration(v);
    if (ms === null) throw fail(key, `error parsing ${key}: time: invalid duration "${v}"`);
    return ms;
  };

  for (const [key, v] of Object.entries(p.map)) {
    const k = key.toLowerCase();
    if (REFUSED.has(k)) {
      throw fail(key, `'${key}' is not supported by gnat yet: refusing to start rather than run less protected than configured`);
    }
    switch (k) {
      case "listen": {
        const { host, port } = parseListen(key, v, fail);
        if (host !== undefined) options.host = host;
        if (port !== undefined) options.port = port;
        break;
      }
      case "host":
      case "net":
        options.host = str(key, v);
        break;
      case "port":
        options.port = int(key, v, -1);
        break;
      case "server_name":
        options.serverName = str(key, v);
        if (/\s/.test(options.serverName)) throw fail(key, "server name cannot contain spaces");
        break;
      case "max_payload":
        options.maxPayload = int(key, v);
        if (options.maxPayload > 2 ** 31 - 1) throw fail(key, `${key} value is too big`);
        break;
      case "max_pending":
        options.maxPending = int(key, v);
        break;
      case "max_control_line":
        options.maxControlLine = int(key, v);
        break;
      case "max_connections":
      case "max_conn":
        options.maxConnections = int(key, v);
        break;
      case "max_subscriptions":
      case "max_subs":
        options.maxSubscriptions = int(key, v);
        break;
      case "ping_interval":
        options.pingInterval = duration(key, v);
        break;
      case "ping_max":
        options.pingMax = int(key, v);
        break;
      case "write_deadline":
        options.writeDeadline = duration(key, v);
        break;
      case "lame_duck_duration": {
        const ms = duration(key, v);
        if (ms < 30_000) throw fail(key, `invalid lame_duck_duration of ${goDuration(ms)}, minimum is 30 seconds`);
        options.lameDuckDuration = ms;
        break;
      }
      case "lame_duck_grace_period": {
        const ms = duration(key, v);
        if (ms < 0) throw fail(key, "invalid lame_duck_grace_period, needs to be positive");
        options.lameDuckGracePeriod = ms;
        break;
      }
      case "debug":
        options.debug = bool(key, v);
        break;
      case "trace":
        options.trace = bool(key, v);
        break;
      case "logfile":
      case "log_file":
        options.logFile = str(key, v);
        break;
      case "pidfile":
      case "pid_file":
        options.pidFile = str(key, v);
        break;
      case "ports_file_dir":
        options.portsFileDir = str(key, v);
        break;
      case "store_dir":
      case "storedir":
        if (options.storeDir) throw fail(key, "Duplicate 'store_dir' configuration");
        options.storeDir = str(key, v);
        break;
      case "http":
        mapHttp(key, v, options, fail);
        break;
      case "http_port":
      case "monitor_port":
        setHttpPort(options, int(key, v, -1));
        break;
      case "jetstream":
        mapJetStream(key, v, options, { fail, int, bool, str, duration, warnings });
        break;
      case "alerts":
        // gnat's own key (nats-server has no alerts): see README, Alerts.
        options.alerts = mapAlerts(key, v, { fail, int, bool, str, duration, warnings });
        break;
      case "authorization":
        options.authorization = mapAuthorization(key, v, { fail, int, bool, str, duration, warnings });
        break;
      case "tls":
        options.tls = mapTls(key, v, { fail, parseDuration });
        break;
      case "mappings":
      case "maps":
        options.mappings = mapMappings(key, v, { fail, int, bool, str, duration, warnings, failIn });
        break;
      case "allow_non_tls":
        options.allowNonTls = bool(key, v);
        break;
      case "accounts":
        options.accounts = mapAccounts(key, v, { fail, int, bool, str, duration, warnings, failIn });
        break;
      case "no_auth_user":
        options.noAuthUser = str(key, v);
        break;
      case "system_account":
      case "system":
        options.systemAccount = str(key, v);
        break;
      case "operator":
      case "operators":
      case "roots":
      case "root":
      case "root_operators":
      case "root_operator":
        mapOperator(key, v, options, { fail, int, bool, str, duration, warnings });
        break;
      case "resolver":
      case "account_resolver":
      case "accounts_resolver":
        mapResolver(key, v, options, { fail, int, bool, str, duration, warnings });
        break;
      case "resolver_preload":
        mapResolverPreload(key, v, options, { fail, int, bool, str, duration, warnings });
        break;
      case "cluster":
        mapCluster(key, v, options, { fail, int, bool, str, duration, warnings });
        // nats-server routes only with a port: a block without one (or 0) is no cluster.
        if (options.cluster?.port === 0) options.cluster = null;
        break;
      case "gateway":
        throw fail(key, "'gateway' is not supported by gnat: superclusters (gateways) are out of its scope; refusing to start rather than run without the gateway configured");
      case "leafnodes":
      case "leaf":
        mapLeafNodes(key, v, options, { fail, int, bool, str, duration, warnings });
        // Neither a listener nor a remote: no leafnodes, as in nats-server.
        if (options.leafnodes !== undefined && options.leafnodes !== null && options.leafnodes.port === 0 && options.leafnodes.remotes.length === 0) {
          options.leafnodes = null;
        }
        break;
      case "websocket":
      case "ws":
        mapWebSocket(key, v, options, { fail, int, bool, str, duration, warnings }, where);
        break;
      default:
        if (NOT_YET.has(key) || NOT_YET.has(k)) {
          if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date)) {
            for (const inner of REFUSED_INSIDE) {
              if (inner in v) throw fail(key, `'${key}.${inner}' is not supported by gnat yet: refusing to start rather than run less protected than configured`);
            }
          }
          const [f, l, c] = where(key);
          warnings.push(`${f || "<config>"}:${l}:${c}: config key '${key}' is not supported by gnat yet and is ignored`);
        } else if (!used?.has(key)) {
          throw fail(key, `unknown field "${key}"`);
        }
    }
  }
  if (options.accounts !== undefined && options.accounts !== null) {
    // Checked here too, for the error to name the file and line (no_auth_user is checked at start).
    const merged = mergedAuthorization(options.authorization ?? null, options.accounts);
    const err = (merged === null ? null : authConfigError(merged)) ?? accountsConfigError(options.accounts, "", options.authorization ?? null);
    if (err !== null) throw fail(Object.keys(p.map).find((k) => k.toLowerCase() === "accounts") ?? "accounts", err);
  }
  return { options, warnings };
}

/** Read a config file, parse it, and map it onto options. Throws ConfigError when malformed. */
export function loadConfigFile(path: string, env: Env = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, 0, 0, `cannot read config file: ${(err as Error).message}`);
  }
  return mapConfig(parseWithMeta(text, path, env));
}
