// nats-server's configuration syntax, read into gnat's options. The grammar: `key: value`,
// `key = value` or `key value`; `{}` blocks and `[]` arrays; `#` and `//` comments; `include`;
// `$VAR` variables (the file's own keys in scope, then the environment); sizes with k/kb/m/mb…
// suffixes; quoted and bare strings. Errors carry file, line and column.
import { authConfigError, isPublicUserKey, type AuthorizationOptions, type NkeyUser, type UserEntry } from "./auth/auth.js";
import { DEFAULT_RESPONSE_PERMISSION, type Permissions, type ResponsePermission, type SubjectPermission } from "./auth/permissions.js";
import { isValidSubject } from "../protocol/subject.js";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setHttpPort, WS_REQUIRES_TLS, type ServerOptions, type WebSocketOptions } from "./options.js";
import { ALERT_NAMES, type AlertName, type AlertsInput } from "./alerts-options.js";
import { goDuration } from "./duration.js";
import { mapTls } from "./config-tls.js";
import {
  accountsConfigError, mergedAuthorization, type AccountJetStreamLimits, type AccountOptions, type AccountsOptions,
  type ExportOption, type ImportOption,
} from "./accounts/options.js";

export class ConfigError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string) {
    super(`${file || "<config>"}:${line}:${column}: ${reason}`);
    this.name = "ConfigError";
  }
}

export type ConfigValue = string | number | boolean | Date | ConfigValue[] | ConfigMap;
export interface ConfigMap {
  [key: string]: ConfigValue;
}

/** Where each key was defined, and which keys served as variables (for "unknown field" checks). */
interface Meta {
  positions: WeakMap<ConfigMap, Map<string, [string, number, number]>>;
  usedAsVariable: WeakMap<ConfigMap, Set<string>>;
}

type Env = Record<string, string | undefined>;

const SIZE_SUFFIX: Record<string, number> = {
  k: 1e3, kb: 1024, ki: 1024, kib: 1024,
  m: 1e6, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1024 ** 4, ti: 1024 ** 4, tib: 1024 ** 4,
};

class Reader {
  i = 0;
  line = 1;
  col = 1;

  constructor(readonly text: string, readonly file: string, readonly env: Env, readonly meta: Meta,
    readonly scopes: ConfigMap[] = [], readonly depth = 0) {}

  error(reason: string, line = this.line, col = this.col): ConfigError {
    return new ConfigError(this.file, line, col, reason);
  }

  peek(k = 0): string {
    return this.text[this.i + k] ?? "";
  }

  next(): string {
    const c = this.text[this.i++] ?? "";
    if (c === "\n") {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }

  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** Skip spaces and tabs (not newlines). */
  blanks(): void {
    while (this.peek() === " " || this.peek() === "\t") this.next();
  }

  /** At a comment start? (`#` anywhere a token may start, `//` likewise.) */
  atComment(): boolean {
    return this.peek() === "#" || (this.peek() === "/" && this.peek(1) === "/");
  }

  skipComment(): void {
    while (!this.atEnd() && this.peek() !== "\n") this.next();
  }

  /** Skip blanks, newlines, comments and (where allowed) separators. */
  skipSpace(alsoSeparators: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || c === "\n" || (alsoSeparators && (c === "," || c === ";"))) this.next();
      else if (this.atComment()) this.skipComment();
      else return;
    }
  }

  /** Parse entries until `close` ("}" for a block, "" for the end of input). */
  parseMap(close: string): ConfigMap {
    const map: ConfigMap = {};
    const positions = new Map<string, [string, number, number]>();
    this.meta.positions.set(map, positions);
    this.scopes.push(map);
    for (;;) {
      this.skipSpace(true);
      if (this.atEnd()) {
        if (close) throw this.error(`unexpected end of file: missing '${close}'`);
        break;
      }
      if (close && this.peek() === close) {
        this.next();
        break;
      }
      const line = this.line;
      const col = this.col;
      const key = this.readKey();
      if (key === "include") {
        this.blanks();
        this.include(map, positions);
        this.endOfEntry();
        continue;
      }
      this.blanks();
      if (this.peek() === ":" || this.peek() === "=") this.next();
      this.blanks();
      if (this.atEnd() || this.peek() === "\n" || this.peek() === "\r") throw this.error(`expected a value for '${key}' but found a new line`);
      const value = this.parseValue();
      map[key] = value;
      positions.set(key, [this.file, line, col]);
      this.endOfEntry();
    }
    this.scopes.pop();
    return map;
  }

  readKey(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.readQuoted();
    let key = "";
    while (!this.atEnd()) {
      const k = this.peek();
      if (k === " " || k === "\t" || k === ":" || k === "=" || k === "\n" || k === "\r") break;
      if ("{}[],;#\"'".includes(k)) {
        if (key === "") throw this.error(`unexpected '${k}' where a key was expected`);
        break;
      }
      key += this.next();
    }
    if (key === "") throw this.error("expected a key");
    return key;
  }

  /** After a value: blanks, then a newline, `;`, `,`, a comment, the block's end or EOF. */
  endOfEntry(): void {
    this.blanks();
    const c = this.peek();
    if (c === "" || c === "\n" || c === "\r" || c === ";" || c === "," || c === "}" || this.atComment()) return;
    throw this.error(`unexpected '${c}' after a value`);
  }

  parseValue(): ConfigValue {
    const c = this.peek();
    if (c === "{") {
      this.next();
      return this.parseMap("}");
    }
    if (c === "[") {
      this.next();
      return this.parseArray();
    }
    if (c === '"' || c === "'") return this.readQuoted();
    if (c === "(") return this.readBlock();
    const line = this.line;
    const col = this.col;
    const word = this.readBare();
    if (word === "") throw this.error(`expected a value but found '${c}'`);
    return this.typeBare(word, line, col);
  }

  parseArray(): ConfigValue[] {
    const out: ConfigValue[] = [];
    for (;;) {
      this.skipSpace(false);
      if (this.atEnd()) throw this.error("unexpected end of file: missing ']'");
      if (this.peek() === "]") {
        this.next();
        return out;
      }
      if (this.peek() === ",") throw this.error("unexpected ',' in an array");
      out.push(this.parseValue());
      this.blanks();
      if (this.atComment()) this.skipComment();
      const c = this.peek();
      if (c === ",") this.next();
      else if (c === "]" || c === "\n" || c === "\r") continue;
      else if (!this.atEnd()) throw this.error(`unexpected '${c}' in an array`);
    }
  }

  readBare(): string {
    let s = "";
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "," || c === ";" || c === "]" || c === "}") break;
      s += this.next();
    }
    return s;
  }

  readQuoted(): string {
    const line = this.line;
    const col = this.col;
    const q = this.next();
    let s = "";
    for (;;) {
      if (this.atEnd() || this.peek() === "\n") throw this.error("unterminated string", line, col);
      const c = this.next();
      if (c === q) return s;
      if (c === "\\" && q === '"') {
        const e = this.next();
        switch (e) {
          case "n": s += "\n"; break;
          case "t": s += "\t"; break;
          case "r": s += "\r"; break;
          case '"': s += '"'; break;
          case "\\": s += "\\"; break;
          case "x": {
            const hex = this.next() + this.next();
            if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw this.error(`expected two hexadecimal digits after '\\x', got '${hex}'`);
            s += String.fromCharCode(Number.parseInt(hex, 16));
            break;
          }
          default:
            throw this.error(`invalid escape '\\${e}'`);
        }
      } else {
        s += c;
      }
    }
  }

  /** `( … )`: raw text up to a `)` alone on a line. */
  readBlock(): string {
    const line = this.line;
    const col = this.col;
    this.next();
    const start = this.i;
    for (;;) {
      if (this.atEnd()) throw this.error("unterminated block", line, col);
      if (this.peek() === "\n" && this.text.slice(this.i + 1).trimStart().startsWith(")")) {
        const body = this.text.slice(start, this.i + 1);
        this.next();
        this.blanks();
        this.next();
        return body.trim();
      }
      this.next();
    }
  }

  typeBare(word: string, line: number, col: number): ConfigValue {
    if (word.startsWith("$")) return this.variable(word.slice(1), line, col);
    const lower = word.toLowerCase();
    if (lower === "true" || lower === "yes" || lower === "on") return true;
    if (lower === "false" || lower === "no" || lower === "off") return false;
    const num = /^(-?\d+)([a-zA-Z]*)$/.exec(word);
    if (num) {
      const n = Number.parseInt(num[1]!, 10);
      const suffix = num[2]!.toLowerCase();
      if (suffix === "") return n;
      const mult = SIZE_SUFFIX[suffix];
      if (mult !== undefined) return n * mult;
      return word;
    }
    if (/^-?\d+\.\d+$/.test(word)) return Number.parseFloat(word);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(word)) return new Date(word);
    return word;
  }

  variable(name: string, line: number, col: number): ConfigValue {
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const scope = this.scopes[k]!;
      if (Object.prototype.hasOwnProperty.call(scope, name)) {
        let used = this.meta.usedAsVariable.get(scope);
        if (!used) this.meta.usedAsVariable.set(scope, (used = new Set()));
        used.add(name);
        return scope[name]!;
      }
    }
    const fromEnv = this.env[name];
    if (fromEnv !== undefined) {
      // An environment value is read as a value of the config language would be.
      const r = new Reader(fromEnv, `$${name}`, {}, this.meta);
      r.blanks();
      const v = r.parseValue();
      return v;
    }
    throw this.error(`variable reference for '${name}' can not be found`, line, col);
  }

  include(into: ConfigMap, positions: Map<string, [string, number, number]>): void {
    const line = this.line;
    const col = this.col;
    const c = this.peek();
    const path = c === '"' || c === "'" ? this.readQuoted() : this.readBare();
    if (!path) throw this.error("include needs a file name");
    if (this.depth > 16) throw this.error("includes nest too deep", line, col);
    const full = resolve(dirname(this.file || "."), path);
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch (err) {
      throw this.error(`error reading include file '${path}': ${(err as Error).message}`, line, col);
    }
    const inner = new Reader(text, full, this.env, this.meta, [...this.scopes], this.depth + 1);
    const m = inner.parseMap("");
    const innerPos = this.meta.positions.get(m);
    for (const [k, v] of Object.entries(m)) {
      into[k] = v;
      positions.set(k, innerPos?.get(k) ?? [full, line, col]);
    }
    const used = this.meta.usedAsVariable.get(m);
    if (used) {
      let mine = this.meta.usedAsVariable.get(into);
      if (!mine) this.meta.usedAsVariable.set(into, (mine = new Set()));
      for (const k of used) mine.add(k);
    }
  }
}

interface Parsed {
  map: ConfigMap;
  meta: Meta;
  file: string;
}

function parseWithMeta(text: string, filename: string, env: Env): Parsed {
  const meta: Meta = { positions: new WeakMap(), usedAsVariable: new WeakMap() };
  const r = new Reader(text.replace(/^\uFEFF/, ""), filename, env, meta);
  const map = r.parseMap("");
  return { map, meta, file: filename };
}

/** Parse config text into plain values. `include` paths resolve against the file's folder. */
export function parseConfig(text: string, filename = "", env: Env = process.env): ConfigMap {
  return parseWithMeta(text, filename, env).map;
}

export interface LoadedConfig {
  options: Partial<ServerOptions>;
  warnings: string[];
}

/** Keys that would leave the server less protected than its operator believes if ignored. */
const REFUSED = new Set([
  "ocsp", "operator", "operators", "roots", "root",
  "root_operators", "root_operator", "resolver", "account_resolver", "accounts_resolver",
  "resolver_tls", "resolver_preload", "resolver_pinned_accounts", "trusted", "trusted_keys", "allow_non_tls", "https", "https_port",
  "users", "nkeys",
]);

/** nats-server keys of features gnat does not have yet: ignored, with a warning. */
const NOT_YET = new Set([
  "client_advertise", "trace_verbose", "logtime", "mappings", "maps", "disable_sublist_cache",
  "no_sublist_cache", "http_base_path", "cluster", "gateway",
  "leaf", "leafnodes", "logfile_size_limit",
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
      case "http": {
        // nats-server: `http: host:port` (or a bare port) for the monitoring listener.
        const { host, port } = parseListen(key, v, fail);
        if (host !== undefined) options.httpHost = host;
        if (port !== undefined) setHttpPort(options, port);
        break;
      }
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
      case "accounts":
        options.accounts = mapAccounts(key, v, { fail, int, bool, str, duration, warnings });
        break;
      case "no_auth_user":
        options.noAuthUser = str(key, v);
        break;
      case "system_account":
      case "system":
        options.systemAccount = str(key, v);
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

interface Readers {
  fail: (key: string, reason: string) => ConfigError;
  int: (key: string, v: ConfigValue, min?: number) => number;
  bool: (key: string, v: ConfigValue) => boolean;
  str: (key: string, v: ConfigValue) => string;
  duration: (key: string, v: ConfigValue) => number;
  warnings: string[];
}

const STORAGE_UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** nats-server's `jetstream` key: a bool, "enabled"/"disabled", or a block of settings. */
function mapJetStream(key: string, v: ConfigValue, options: Partial<ServerOptions>, r: Readers): void {
  if (typeof v === "boolean") {
    options.jetstream = v;
    return;
  }
  if (typeof v === "string") {
    const l = v.toLowerCase();
    if (l === "enabled" || l === "enable") options.jetstream = true;
    else if (l === "disabled" || l === "disable") options.jetstream = false;
    else throw r.fail(key, `Expected 'enabled' or 'disabled' for string value, got '${v}'`);
    return;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw r.fail(key, "Expected map, bool or string to define JetStream");
  }
  // Size values may be numbers (the parser already applied 1GB-style suffixes) or strings.
  const size = (k: string, x: ConfigValue): number => {
    if (typeof x === "number" && Number.isInteger(x)) return x;
    if (typeof x === "string") {
      const m = /^\s*(\d+)\s*([KMGT])?B?\s*$/i.exec(x);
      if (m) return Number.parseInt(m[1]!, 10) * (m[2] ? STORAGE_UNITS[m[2].toUpperCase()]! : 1);
    }
    throw r.fail(k, `${k} must be a size, got ${JSON.stringify(x)}`);
  };
  let enable = true;
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "store":
      case "store_dir":
      case "storedir":
        if (options.storeDir) throw r.fail(mk, "Duplicate 'store_dir' configuration");
        options.storeDir = r.str(mk, mv);
        break;
      case "sync":
      case "sync_interval":
        if (typeof mv === "string" && mv.toLowerCase() === "always") options.syncAlways = true;
        else options.syncInterval = r.duration(mk, mv);
        break;
      case "max_memory_store":
      case "max_mem_store":
      case "max_mem":
        options.maxMemoryStore = size(mk, mv);
        break;
      case "max_file_store":
      case "max_file":
        options.maxFileStore = size(mk, mv);
        break;
      case "enable":
      case "enabled":
        enable = r.bool(mk, mv);
        break;
      default:
        r.warnings.push(`config key 'jetstream.${mk}' is not supported by gnat yet and is ignored`);
    }
  }
  options.jetstream = enable;
}

const isMap = (v: ConfigValue): v is ConfigMap => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * gnat's `alerts` block: `interval`, and one block per alert with `threshold` (or the alert's
 * own word: `share` for store_usage, `per_minute` for slow_consumers), `for` and `window`.
 * publish_latency_p99's threshold is a duration ("50ms").
 */
function mapAlerts(key: string, v: ConfigValue, r: Readers): AlertsInput {
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

const REFUSE_REASON = "is not supported by gnat yet: refusing to start rather than run less protected than configured";

/** Keys of `authorization {}` (and of its users) that gnat does not implement yet: refused. */
const AUTH_REFUSED = new Set(["auth_callout", "auth_hook"]);
const USER_REFUSED = new Set(["account", "allowed_connection_types", "connection_types"]);

/** nats-server's `authorization {}` block: a token, one user/password, or a users list. */
function mapAuthorization(key: string, v: ConfigValue, r: Readers): AuthorizationOptions {
  if (!isMap(v)) throw r.fail(key, "Expected authorization to be a map");
  const a: AuthorizationOptions = {};
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    if (AUTH_REFUSED.has(k)) throw r.fail(key, `'${key}.${mk}' ${REFUSE_REASON}`);
    switch (k) {
      case "user":
      case "username":
        a.user = r.str(mk, mv);
        break;
      case "pass":
      case "password":
        a.password = r.str(mk, mv);
        break;
      case "token":
        a.token = r.str(mk, mv);
        break;
      case "timeout":
        // Seconds, as in nats-server (a float is allowed).
        if (typeof mv !== "number" || !(mv > 0)) throw r.fail(mk, `${key}.${mk} must be a positive number of seconds`);
        a.timeout = mv * 1000;
        break;
      case "default_permission":
      case "default_permissions":
      case "permissions":
        a.defaultPermissions = mapPermissions(key, mv, r);
        break;
      case "users": {
        if (!Array.isArray(mv)) throw r.fail(key, `Expected users field to be an array, got ${typeof mv}`);
        // As nats-server does, one list holds both kinds; they are kept apart from here on.
        const entries = mv.map((u) => mapUser(key, u, r));
        a.users = entries.filter((e): e is UserEntry => "user" in e);
        const nkeys = entries.filter((e): e is NkeyUser => "nkey" in e);
        if (nkeys.length > 0) a.nkeys = nkeys;
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  const err = authConfigError(a);
  if (err !== null) throw r.fail(key, err);
  if (a.defaultPermissions !== undefined && a.users === undefined && a.nkeys === undefined) {
    // nats-server applies them to users lists only; say so rather than let it pass unnoticed.
    r.warnings.push(`${key}.default_permissions apply to users lists only: the token or single user has no permissions`);
  }
  return a;
}

function mapUser(key: string, v: ConfigValue, r: Readers): UserEntry | NkeyUser {
  if (!isMap(v)) throw r.fail(key, "Expected user entry to be a map/struct");
  let user: string | undefined;
  let password: string | undefined;
  let nkey: string | undefined;
  let permissions: Permissions | undefined;
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    if (USER_REFUSED.has(k)) throw r.fail(key, `'${key}.users.${mk}' ${REFUSE_REASON}`);
    switch (k) {
      case "user":
      case "username":
        user = r.str(mk, mv);
        break;
      case "pass":
      case "password":
        password = r.str(mk, mv);
        break;
      case "nkey":
        nkey = r.str(mk, mv);
        break;
      case "permission":
      case "permissions":
        permissions = mapPermissions(key, mv, r);
        break;
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  if (nkey !== undefined) {
    if (!isPublicUserKey(nkey)) throw r.fail(key, "Not a valid public nkey for a user");
    if (user !== undefined || password !== undefined) throw r.fail(key, "Nkey users do not take usernames or passwords");
    return permissions === undefined ? { nkey } : { nkey, permissions };
  }
  if (user === undefined) throw r.fail(key, "User entry requires a user");
  return permissions === undefined ? { user, password: password ?? "" } : { user, password: password ?? "", permissions };
}

/** A user's `permissions { publish, subscribe }`. */
function mapPermissions(key: string, v: ConfigValue, r: Readers): Permissions {
  if (!isMap(v)) throw r.fail(key, "Expected permissions to be a map");
  const p: Permissions = {};
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "pub":
      case "publish":
      case "import":
        p.publish = mapSubjectPermission(key, mk, mv, r);
        break;
      case "sub":
      case "subscribe":
      case "export":
        p.subscribe = mapSubjectPermission(key, mk, mv, r);
        break;
      case "allow_responses":
      case "publish_allow_responses": {
        const rp = mapAllowResponses(key, mv, r);
        if (rp !== undefined) p.allowResponses = rp;
        else delete p.allowResponses;
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  return p;
}

/**
 * `allow_responses: true` (one response within 2 minutes), `false` (none), or
 * `{ max: N, expires: "1m" }`; 0 for either means its default, a negative value no limit.
 */
function mapAllowResponses(key: string, v: ConfigValue, r: Readers): ResponsePermission | undefined {
  if (typeof v === "boolean") return v ? { ...DEFAULT_RESPONSE_PERMISSION } : undefined;
  if (!isMap(v)) throw r.fail(key, "error parsing response permissions, expected a boolean or a map");
  const rp: ResponsePermission = { ...DEFAULT_RESPONSE_PERMISSION };
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "max":
      case "max_msgs":
      case "max_messages":
      case "max_responses": {
        if (typeof x !== "number" || !Number.isInteger(x)) throw r.fail(key, `error parsing ${k}: expected an integer`);
        if (x !== 0) rp.max = x;
        break;
      }
      case "expires":
      case "expiration":
      case "ttl": {
        if (typeof x !== "string") throw r.fail(key, "error parsing expires, not a duration string");
        const ms = parseDuration(x);
        if (ms === null) throw r.fail(key, `error parsing expires: time: invalid duration "${x}"`);
        if (ms !== 0) rp.expires = ms;
        break;
      }
      default:
        throw r.fail(key, `Unknown field "${k}" parsing permissions`);
    }
  }
  return rp;
}

/**
 * `"foo.>"`, `["a", "b"]` (both: an allow list) or `{ allow: …, deny: … }`. Subscribe entries
 * may be `"subject queue"` (queue permissions), as nats-server's checkPermSubjectArray allows.
 */
function mapSubjectPermission(key: string, mk: string, v: ConfigValue, r: Readers): SubjectPermission {
  const queues = /^(sub|subscribe|export)$/i.test(mk);
  const list = (k: string, x: ConfigValue): string[] => {
    const items = (Array.isArray(x) ? x : [x]).map((s) => r.str(k, s));
    for (const s of items) {
      if (isValidSubject(s)) continue;
      const parts = s.trim().split(/\s+/);
      if (!queues || parts.length !== 2) throw r.fail(key, `subject "${s}" is not a valid subject`);
      if (!isValidSubject(parts[0]!)) throw r.fail(key, `subject "${parts[0]}" is not a valid subject`);
    }
    return items;
  };
  if (!isMap(v)) return { allow: list(mk, v) };
  const p: SubjectPermission = {};
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "allow":
        p.allow = list(k, x);
        break;
      case "deny":
        p.deny = list(k, x);
        break;
      default:
        throw r.fail(key, `unknown field "${k}"`);
    }
  }
  return p;
}

/** Keys of the websocket block that change who may connect: refused until gnat has them. */
const WS_REFUSED = new Set(["tls", "authorization", "authentication", "jwt_cookie", "no_auth_user"]);

/** nats-server's `websocket {}` (alias `ws`) block. Port 0 or none: no WebSocket listener. */
function mapWebSocket(
  key: string,
  v: ConfigValue,
  options: Partial<ServerOptions>,
  r: Readers,
  where: (key: string) => [string, number, number],
): void {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw r.fail(key, `Expected websocket to be a map, got ${Array.isArray(v) ? "array" : typeof v}`);
  }
  const ws: WebSocketOptions = { port: 0 };
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    if (WS_REFUSED.has(k)) {
      throw r.fail(key, `'${key}.${mk}' is not supported by gnat yet: refusing to start rather than run less protected than configured`);
    }
    switch (k) {
      case "listen": {
        const { host, port } = parseListen(mk, mv, r.fail);
        if (host !== undefined) ws.host = host;
        if (port !== undefined) ws.port = port;
        break;
      }
      case "port":
        ws.port = r.int(mk, mv, -1);
        break;
      case "host":
      case "net":
        ws.host = r.str(mk, mv);
        break;
      case "no_tls":
        ws.noTls = r.bool(mk, mv);
        break;
      case "compress":
      case "compression":
        ws.compression = r.bool(mk, mv);
        break;
      case "same_origin":
        ws.sameOrigin = r.bool(mk, mv);
        break;
      case "allowed_origins":
      case "allowed_origin":
      case "allow_origins":
      case "allow_origin":
      case "origins":
      case "origin":
        ws.allowedOrigins = (Array.isArray(mv) ? mv : [mv]).map((x) => r.str(mk, x));
        break;
      case "advertise":
      case "handshake_timeout": {
        const [f, l, c] = where(key);
        r.warnings.push(`${f || "<config>"}:${l}:${c}: config key '${key}.${mk}' is not supported by gnat yet and is ignored`);
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  // nats-server checks the rest only for a listener that will run.
  if (ws.port === 0) {
    options.websocket = null;
    return;
  }
  if (ws.noTls !== true) throw r.fail(key, WS_REQUIRES_TLS);
  options.websocket = ws;
}

function parseListen(key: string, v: ConfigValue, fail: (k: string, r: string) => ConfigError): { host?: string; port?: number } {
  if (typeof v === "number") return { port: v };
  if (typeof v !== "string") throw fail(key, `could not parse ${key}: ${JSON.stringify(v)}`);
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(-?\d+)$/.exec(v) ?? /^()()(-?\d+)$/.exec(v);
  if (!m) throw fail(key, `could not parse address string "${v}"`);
  const host = m[1] ?? m[2] ?? "";
  const out: { host?: string; port?: number } = { port: Number.parseInt(m[3]!, 10) };
  if (host) out.host = host;
  return out;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; null when malformed. */
export function parseDuration(s: string): number | null {
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
    total += Number.parseFloat(m[1]!) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
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

/** nats-server's `accounts { A: { users, exports, imports, jetstream } }`. */
function mapAccounts(key: string, v: ConfigValue, r: Readers): AccountsOptions {
  if (!isMap(v)) throw r.fail(key, "Expected accounts to be a map");
  const out: AccountsOptions = {};
  for (const [name, av] of Object.entries(v)) {
    if (!isMap(av)) throw r.fail(key, `Expected account "${name}" to be a map`);
    const acc: AccountOptions = {};
    for (const [mk, mv] of Object.entries(av)) {
      switch (mk.toLowerCase()) {
        case "users": {
          if (!Array.isArray(mv)) throw r.fail(key, `Expected users field to be an array, got ${typeof mv}`);
          const entries = mv.map((u) => mapUser(key, u, r));
          acc.users = entries.filter((e): e is UserEntry => "user" in e);
          const nkeys = entries.filter((e): e is NkeyUser => "nkey" in e);
          if (nkeys.length > 0) acc.nkeys = nkeys;
          break;
        }
        case "exports":
          if (!Array.isArray(mv)) throw r.fail(key, `Exports should be an array, got ${typeof mv}`);
          acc.exports = mv.map((e) => mapExport(key, e, r));
          break;
        case "imports":
          if (!Array.isArray(mv)) throw r.fail(key, `Imports should be an array, got ${typeof mv}`);
          acc.imports = mv.map((e) => mapImport(key, e, r));
          break;
        case "jetstream":
          acc.jetstream = mapAccountJetStream(key, mv, r);
          break;
        default:
          throw r.fail(key, `'${key}.${name}.${mk}' ${REFUSE_REASON}`);
      }
    }
    out[name] = acc;
  }
  return out;
}

function mapExport(key: string, v: ConfigValue, r: Readers): ExportOption {
  if (!isMap(v)) throw r.fail(key, "Export Items should be a map with type entry");
  const e: ExportOption = {};
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "stream":
        e.stream = r.str(mk, mv);
        break;
      case "service":
        e.service = r.str(mk, mv);
        break;
      case "accounts":
        if (!Array.isArray(mv)) throw r.fail(key, "Expected accounts field to be an array");
        e.accounts = mv.map((a) => r.str(mk, a));
        break;
      case "response":
      case "response_type": {
        const t = r.str(mk, mv).toLowerCase();
        if (t !== "singleton" && t !== "single" && t !== "stream" && t !== "chunked") throw r.fail(key, `Unknown response type: "${t}"`);
        e.responseType = t === "single" ? "singleton" : t;
        break;
      }
      case "threshold":
      case "response_threshold":
        e.responseThreshold = r.duration(mk, mv);
        break;
      case "latency":
      case "account_token_position":
      case "advertise":
        r.warnings.push(`config key 'exports.${mk}' is not supported by gnat yet and is ignored`);
        break;
      default:
        throw r.fail(key, `Unknown field "${mk}" parsing export`);
    }
  }
  if (e.stream !== undefined && e.responseType !== undefined) throw r.fail(key, "Detected response directive on non-service");
  return e;
}

function mapImport(key: string, v: ConfigValue, r: Readers): ImportOption {
  if (!isMap(v)) throw r.fail(key, "Import Items should be a map with type entry");
  const i: ImportOption = {};
  const ref = (mk: string, x: ConfigValue): { account: string; subject: string } => {
    if (!isMap(x)) throw r.fail(key, `Expected ${mk} import to be a map with account and subject`);
    let account = "";
    let subject = "";
    for (const [k, y] of Object.entries(x)) {
      const l = k.toLowerCase();
      if (l === "account") account = r.str(k, y);
      else if (l === "subject") subject = r.str(k, y);
      else throw r.fail(key, `Unknown field "${k}" parsing import`);
    }
    if (account === "") throw r.fail(key, `Expect an account name and a subject for ${mk} import`);
    return { account, subject };
  };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "stream":
        i.stream = ref("stream", mv);
        break;
      case "service":
        i.service = ref("service", mv);
        break;
      case "prefix":
        i.prefix = r.str(mk, mv);
        break;
      case "to":
        i.to = r.str(mk, mv);
        break;
      case "share":
      case "allow_trace":
        r.warnings.push(`config key 'imports.${mk}' is not supported by gnat yet and is ignored`);
        break;
      default:
        throw r.fail(key, `Unknown field "${mk}" parsing import`);
    }
  }
  return i;
}

/** An account's `jetstream`: enabled / disabled, a bool, or its limits. */
function mapAccountJetStream(key: string, v: ConfigValue, r: Readers): boolean | AccountJetStreamLimits {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const l = v.toLowerCase();
    if (l === "enabled" || l === "enable") return true;
    if (l === "disabled" || l === "disable") return false;
    throw r.fail(key, `Expected 'enabled' or 'disabled' for string value, got '${v}'`);
  }
  if (!isMap(v)) throw r.fail(key, "Expected map, bool or string to define JetStream");
  const lim: AccountJetStreamLimits = {};
  const num = (k: string, x: ConfigValue): number => {
    if (typeof x === "number" && Number.isInteger(x)) return x;
    if (typeof x === "string") {
      const m = /^\s*(-?\d+)\s*([KMGT])?B?\s*$/i.exec(x);
      if (m) return Number.parseInt(m[1]!, 10) * (m[2] ? STORAGE_UNITS[m[2].toUpperCase()]! : 1);
    }
    throw r.fail(k, `${k} must be a number, got ${JSON.stringify(x)}`);
  };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "max_memory":
      case "max_mem":
      case "mem":
      case "memory":
        lim.maxMemory = num(mk, mv);
        break;
      case "max_file":
      case "max_store":
      case "max_disk":
      case "file":
      case "store":
      case "disk":
        lim.maxStore = num(mk, mv);
        break;
      case "max_streams":
      case "streams":
        lim.maxStreams = num(mk, mv);
        break;
      case "max_consumers":
      case "consumers":
        lim.maxConsumers = num(mk, mv);
        break;
      default:
        r.warnings.push(`config key 'jetstream.${mk}' of an account is not supported by gnat yet and is ignored`);
    }
  }
  return lim;
}
