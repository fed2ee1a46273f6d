// Tested by test/server/cli.test.ts.
// nats-server's command-line flags, read the way Go's flag package reads them (-x, --x, -x=v,
// -x v), so scripts written for nats-server work unchanged; then defaults < config < flags.
import { clusterDefaults, type ClusterOptions } from "../cluster/options.js";
import { basename } from "node:path";
import { loadConfigFile } from "../config/index.js";
import { CLI_HOST, resolveOptions, setHttpPort, type ServerOptions } from "../options.js";

type Kind = "string" | "int" | "bool";

interface FlagDef {
  names: string[];
  kind: Kind;
  help: string;
  arg?: string;
  apply?: (o: Partial<ServerOptions>, v: string | number | boolean, cli: CliState) => void;
  /** Known to nats-server, not built in gnat: "warn" and go on, or "refuse" (security). */
  unsupported?: "warn" | "refuse";
}

/** The --tls* flags: as in nats-server, any of them replaces the config file's certificates. */
interface TlsFlags {
  /** A --tls* flag was given (--tls=false aside). */
  set: boolean;
  /** --tls=false: no TLS, whatever the config file says. */
  disabled: boolean;
  cert?: string;
  key?: string;
  ca?: string;
  verify?: boolean;
}

interface CliState {
  configFile: string;
  /** The cluster flags, merged over the file's cluster block. */
  cluster: ClusterFlags;
  /** --signal: send this command to a running gnat and exit. */
  signal: string;
  tls: TlsFlags;
  testConfig: boolean;
  help: boolean;
  helpTls: boolean;
  version: boolean;
}

const FLAGS: FlagDef[] = [
  { names: ["a", "addr", "net"], kind: "string", arg: "<host>", help: "Bind to host address (default: 0.0.0.0)", apply: (o, v) => { o.host = String(v); } },
  { names: ["p", "port"], kind: "int", arg: "<port>", help: "Use port for clients (default: 4222; -1 for any free port)", apply: (o, v) => { o.port = Number(v); } },
  { names: ["n", "name", "server_name"], kind: "string", arg: "<name>", help: "Server name (default: the server id)", apply: (o, v) => { o.serverName = String(v); } },
  { names: ["P", "pid"], kind: "string", arg: "<file>", help: "File to store PID", apply: (o, v) => { o.pidFile = String(v); } },
  { names: ["c", "config"], kind: "string", arg: "<file>", help: "Configuration file", apply: (_o, v, s) => { s.configFile = String(v); } },
  { names: ["t"], kind: "bool", help: "Test configuration and exit", apply: (_o, v, s) => { s.testConfig = Boolean(v); } },
  { names: ["sl", "signal"], kind: "string", arg: "<signal>[=<pid>]", help: "Send signal to gnat process (ldm, stop, quit, term, reopen, reload); <pid> may be a pid file", apply: (_o, v, s) => { s.signal = String(v); } },
  { names: ["ports_file_dir"], kind: "string", arg: "<dir>", help: "Write a ports file in this directory (<program>_<pid>.ports)", apply: (o, v) => { o.portsFileDir = String(v); } },
  { names: ["l", "log"], kind: "string", arg: "<file>", help: "File to redirect log output", apply: (o, v) => { o.logFile = String(v); } },
  { names: ["D", "debug"], kind: "bool", help: "Enable debugging output", apply: (o, v) => { o.debug = Boolean(v); } },
  { names: ["V", "trace", "VV"], kind: "bool", help: "Trace the raw protocol (every line, per connection)", apply: (o, v) => { o.trace = Boolean(v); } },
  { names: ["DV", "DVV"], kind: "bool", help: "Debug and trace", apply: (o, v) => { o.debug = Boolean(v); o.trace = Boolean(v); } },
  { names: ["h", "help"], kind: "bool", help: "Show this message", apply: (_o, v, s) => { s.help = Boolean(v); } },
  { names: ["v", "version"], kind: "bool", help: "Show version", apply: (_o, v, s) => { s.version = Boolean(v); } },
  { names: ["js", "jetstream"], kind: "bool", help: "Enable JetStream functionality", apply: (o, v) => { o.jetstream = Boolean(v); } },
  { names: ["sd", "store_dir"], kind: "string", arg: "<dir>", help: "Set the storage directory", apply: (o, v) => { o.storeDir = String(v); } },
  { names: ["m", "http_port"], kind: "int", arg: "<port>", help: "Use port for http monitoring (-1 for any free port; 0, the default, for none)", apply: (o, v) => { setHttpPort(o, Number(v)); } },
  { names: ["user"], kind: "string", arg: "<user>", help: "User required for connections", apply: (o, v) => { o.authorization = { ...o.authorization, user: String(v) }; } },
  { names: ["pass"], kind: "string", arg: "<password>", help: "Password required for connections", apply: (o, v) => { o.authorization = { ...o.authorization, password: String(v) }; } },
  { names: ["auth"], kind: "string", arg: "<token>", help: "Authorization token required for connections", apply: (o, v) => { o.authorization = { ...o.authorization, token: String(v) }; } },
  { names: ["tls"], kind: "bool", help: "Enable TLS, do not verify clients (default: false)", apply: (_o, v, s) => tlsFlag(s, v === true ? {} : null) },
  { names: ["tlscert"], kind: "string", arg: "<file>", help: "Server certificate file", apply: (_o, v, s) => tlsFlag(s, { cert: String(v) }) },
  { names: ["tlskey"], kind: "string", arg: "<file>", help: "Private key for server certificate", apply: (_o, v, s) => tlsFlag(s, { key: String(v) }) },
  { names: ["tlsverify"], kind: "bool", help: "Enable TLS, verify client certificates", apply: (_o, v, s) => tlsFlag(s, { verify: Boolean(v) }) },
  { names: ["tlscacert"], kind: "string", arg: "<file>", help: "Client certificate CA for verification", apply: (_o, v, s) => tlsFlag(s, { ca: String(v) }) },
  // nats-server flags for features gnat does not have yet.
  { names: ["ms", "https_port"], kind: "int", help: "", unsupported: "refuse" },
  { names: ["client_advertise"], kind: "string", help: "", unsupported: "warn" },
  { names: ["T", "logtime"], kind: "bool", help: "", unsupported: "warn" },
  { names: ["s", "syslog"], kind: "bool", help: "", unsupported: "warn" },
  { names: ["r", "remote_syslog"], kind: "string", help: "", unsupported: "warn" },
  { names: ["log_size_limit"], kind: "int", help: "", unsupported: "warn" },
  { names: ["max_traced_msg_len"], kind: "int", help: "", unsupported: "warn" },
  { names: ["profile"], kind: "int", help: "", unsupported: "warn" },
  // Cluster: merged into the file's cluster block in buildOptions (clusterFlags).
  { names: ["routes"], kind: "string", arg: "<rurl-1, rurl-2>", help: "Routes to solicit and connect", apply: (_o, v, s) => { s.cluster.routes = String(v); } },
  { names: ["cluster", "cluster_listen"], kind: "string", arg: "<cluster-url>", help: "Cluster URL for solicited routes", apply: (_o, v, s) => { s.cluster.listen = String(v); } },
  { names: ["cluster_name"], kind: "string", arg: "<string>", help: "Cluster Name, if not set one will be dynamically generated", apply: (_o, v, s) => { s.cluster.name = String(v); } },
  { names: ["no_advertise"], kind: "bool", help: "Do not advertise known cluster information to clients", apply: (_o, v, s) => { s.cluster.noAdvertise = Boolean(v); } },
  { names: ["cluster_advertise"], kind: "string", arg: "<string>", help: "Cluster URL to advertise to other servers", apply: (_o, v, s) => { s.cluster.advertise = String(v); } },
  { names: ["connect_retries"], kind: "int", arg: "<number>", help: "For implicit routes, number of connect retries", apply: (_o, v, s) => { s.cluster.connectRetries = Number(v); } },
  { names: ["help_tls"], kind: "bool", help: "TLS help", apply: (_o, v, s) => { s.helpTls = Boolean(v); } },
];

/**
 * nats-server's rule: -tls=false turns TLS off (it wins over the other -tls* flags, whatever their
 * order); any other -tls* flag turns TLS on with the flags' certificates.
 */
function tlsFlag(s: CliState, f: Partial<Omit<TlsFlags, "set" | "disabled">> | null): void {
  if (f === null) s.tls.disabled = true;
  else s.tls = { ...s.tls, ...f, set: true };
}

const BY_NAME = new Map<string, FlagDef>();
for (const f of FLAGS) for (const n of f.names) BY_NAME.set(n, f);

export class UsageError extends Error {}

export interface ParsedArgs {
  flags: Partial<ServerOptions>;
  state: CliState;
  warnings: string[];
}

/** Parse argv (without node and script) as Go's flag package would. Throws UsageError. */
export function parseArgs(argv: string[]): ParsedArgs {
  const flags: Partial<ServerOptions> = {};
  const state: CliState = { configFile: "", cluster: {}, signal: "", tls: { set: false, disabled: false }, testConfig: false, help: false, helpTls: false, version: false };
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument: ${argv[i + 1]}`);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") throw new UsageError(`unexpected argument: ${arg}`);
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = BY_NAME.get(name);
    if (!def) throw new UsageError(`unknown flag: ${arg}`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let value: string | number | boolean;
    if (def.kind === "bool") {
      if (raw === undefined) value = true;
      else if (/^(1|t|true)$/i.test(raw)) value = true;
      else if (/^(0|f|false)$/i.test(raw)) value = false;
      else throw new UsageError(`invalid boolean value "${raw}" for flag -${name}`);
    } else {
      if (raw === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
        raw = argv[++i]!;
      }
      if (def.kind === "int") {
        if (!/^[-+]?\d+$/.test(raw)) throw new UsageError(`invalid value "${raw}" for flag -${name}: parse error`);
        value = Number.parseInt(raw, 10);
      } else {
        value = raw;
      }
    }
    if (def.unsupported === "refuse") {
      throw new UsageError(`flag -${name} is not supported by gnat yet: refusing to start rather than run less protected than asked`);
    }
    if (def.unsupported === "warn") {
      warnings.push(`flag -${name} is not supported by gnat yet and is ignored`);
      continue;
    }
    def.apply?.(flags, value, state);
  }
  return { flags, state, warnings };
}

export function usage(program: string): string {
  const lines = [`Usage: ${program} [options]`, "", "Options:"];
  for (const f of FLAGS) {
    if (f.unsupported) continue;
    const names = f.names.map((n) => (n.length <= 3 ? `-${n}` : `--${n}`)).join(", ");
    lines.push(`    ${`${names}${f.arg ? ` ${f.arg}` : ""}`.padEnd(40)} ${f.help}`);
  }
  lines.push("", "Flags override settings from the configuration file. See README.md for the config syntax.");
  return lines.join("\n");
}

/** --help_tls: the tls block gnat reads (nats-server prints its own block and cipher lists). */
export function tlsUsage(): string {
  return `
TLS configuration is specified in the tls section of a configuration file:

    tls {
        cert_file:       "./certs/server-cert.pem"
        key_file:        "./certs/server-key.pem"
        ca_file:         "./certs/ca.pem"
        verify:          true      # clients must present a certificate signed by ca_file
        verify_and_map:  true      # ... and it names the user (authorization users)
        timeout:         2         # seconds (or "500ms") for the handshake
        handshake_first: true      # the handshake before INFO; "auto" falls back after 50ms
        pinned_certs:    ["<hex sha256 of a client certificate's SubjectPublicKeyInfo>"]
    }

or with --tls, --tlscert, --tlskey, --tlscacert and --tlsverify. gnat uses Node's (OpenSSL's)
default cipher suites and curves, TLS 1.2 and up; cipher_suites, curve_preferences and the
OCSP and certificate store settings are not supported and refused.
`;
}

/** How to name ourselves in messages: the invoked name, but "gnat" for the bare cli.js. */
export function displayName(program: string): string {
  return program === "cli" ? "gnat" : program;
}

/**
 * The program name as invoked, for the ports file (`<name>_<pid>.ports`) as nats-server names it:
 * `gnat` for the npm bin or the bare cli.js, `nats-server` through a symlink of that name.
 */
export function programName(argv1: string | undefined): string {
  const name = basename(argv1 ?? "gnat").replace(/\.(c|m)?js$/, "");
  return name === "" || name === "cli" ? "gnat" : name;
}

/** Build the final options: defaults < config file < flags. Throws ConfigError / UsageError. */
export function buildOptions(parsed: ParsedArgs, program: string): { options: ServerOptions; warnings: string[] } {
  const warnings = [...parsed.warnings];
  let fromFile: Partial<ServerOptions> = {};
  if (parsed.state.configFile) {
    const loaded = loadConfigFile(parsed.state.configFile);
    fromFile = loaded.options;
    warnings.push(...loaded.warnings);
  }
  const merged: Partial<ServerOptions> = { ...fromFile, ...parsed.flags, programName: program };
  // nats-server's default interface, all of them (an embedded server's is loopback).
  merged.host ??= CLI_HOST;
  // -user/-pass/-auth override single keys of the file's authorization block, not the block.
  if (fromFile.authorization && parsed.flags.authorization) {
    merged.authorization = { ...fromFile.authorization, ...parsed.flags.authorization };
  }
  const cluster = clusterFlags(fromFile.cluster ?? null, parsed.state.cluster);
  if (cluster !== undefined) merged.cluster = cluster;
  const t = parsed.state.tls;
  if (t.disabled) merged.tls = null;
  else if (t.set) {
    // The flags make the certificate settings; the file's timeout and handshake mode stay.
    if (t.cert === undefined) throw new Error("TLS Server certificate must be present and valid");
    if (t.key === undefined) throw new Error("TLS Server private key must be present and valid");
    const file = fromFile.tls ?? {};
    merged.tls = {
      ...(file.timeout !== undefined ? { timeout: file.timeout } : {}),
      ...(file.handshakeFirst !== undefined ? { handshakeFirst: file.handshakeFirst } : {}),
      ...(file.verifyAndMap === true ? { verifyAndMap: true } : {}),
      certFile: t.cert,
      keyFile: t.key,
      ...(t.ca !== undefined ? { caFile: t.ca } : {}),
      verify: t.verify === true || file.verifyAndMap === true,
    };
  }
  const options = resolveOptions(merged);
  return { options, warnings };
}


interface ClusterFlags {
  listen?: string;
  routes?: string;
  name?: string;
  noAdvertise?: boolean;
  advertise?: string;
  connectRetries?: number;
}

/**
 * The cluster flags over the file's cluster block, as nats-server merges them: --cluster sets
 * the listen address (and, with user:pass@, the route credentials; "" turns clustering off),
 * --routes replaces the file's routes. undefined: the flags change nothing.
 */
function clusterFlags(file: ClusterOptions | null, f: ClusterFlags): ClusterOptions | null | undefined {
  if (Object.keys(f).length === 0) return undefined;
  let c: ClusterOptions | null = file === null ? null : { ...file };
  if (f.listen !== undefined) {
    if (f.listen === "") {
      c = null;
    } else {
      const random = f.listen.endsWith(":-1");
      let u: URL;
      try {
        u = new URL(random ? `${f.listen.slice(0, -3)}:0` : f.listen);
      } catch {
        throw new Error(`parse ${JSON.stringify(f.listen)}: invalid URI for request`);
      }
      c = { ...(c ?? clusterDefaults()) };
      c.host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
      c.port = random ? -1 : Number.parseInt(u.port || "0", 10);
      if (u.username !== "") {
        if (u.password === "") throw new Error("expected cluster password to be set");
        c.authorization = { ...c.authorization, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
      }
    }
  }
  if (f.routes !== undefined) {
    if (c === null) throw new Error("solicited routes require cluster capabilities, e.g. --cluster");
    c.routes = f.routes.split(",").map((r) => r.trim()).filter((r) => r !== "");
  }
  if (c === null) return f.listen === "" ? null : undefined;
  if (f.name !== undefined) c.name = f.name;
  if (f.noAdvertise !== undefined) c.noAdvertise = f.noAdvertise;
  if (f.advertise !== undefined) c.advertise = f.advertise;
  if (f.connectRetries !== undefined) c.connectRetries = f.connectRetries;
  return c;
}
