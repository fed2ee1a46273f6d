// Tested by test/server/embedding.test.ts and test/server/config.test.ts.
// Server options: the one shape that flags, config files and embedders all produce.
// Names follow nats-server's config keys, camel-cased. Durations are milliseconds, sizes bytes.
import type { Logger } from "pino";
import { resolveAlerts, type AlertsInput } from "./alerts-options.js";
import { authConfigError, type AuthorizationOptions } from "./auth/auth.js";
import { goDuration } from "./duration.js";
import { tlsOptionsError, type TlsOptions } from "./tls-options.js";
import { isValidSubject } from "../protocol/subject.js";
import { clusterConfigError, clusterDefaults, type ClusterOptions } from "./cluster/options.js";
import { leafConfigError, leafDefaults, type LeafNodeOptions } from "./cluster/leaf-options.js";
import { accountsConfigError, mappingsConfigError, mergedAuthorization, type AccountsOptions, type MappingsOptions } from "./accounts/options.js";
import { operatorConfigError, type ResolverOptions } from "./accounts/operator-options.js";

export interface ServerOptions {
  /**
   * Interface to listen on. Embedded (startServer) the default is loopback, 127.0.0.1; the gnat
   * command keeps nats-server's default, all interfaces (CLI_HOST).
   */
  host: string;
  /** TCP port; 0 or -1 picks a free port. */
  port: number;
  serverName: string;
  maxPayload: number;
  /** Outbound bytes buffered for one client before it is a slow consumer. */
  maxPending: number;
  maxControlLine: number;
  /** 0 means unlimited. */
  maxConnections: number;
  /** 0 means unlimited. */
  maxSubscriptions: number;
  pingInterval: number;
  pingMax: number;
  writeDeadline: number;
  debug: boolean;
  trace: boolean;
  /** Log to this file instead of stderr. */
  logFile: string;
  pidFile: string;
  portsFileDir: string;
  /** Program name used for the ports file (`<name>_<pid>.ports`). */
  programName: string;
  /** Silence all logging (tests, embedding). */
  noLog: boolean;
  /** Supply a ready logger (embedding); overrides the logging options above. */
  logger?: Logger;
  /** Enable JetStream (nats-server: -js / `jetstream: enabled`). */
  jetstream: boolean;
  /** Where file-storage streams live; "" means a temp-dir default, as nats-server does. */
  storeDir: string;
  /**
   * The JetStream domain (nats-server `jetstream { domain }`; "" none): the API then also answers
   * on `$JS.<domain>.API.>`, and a leafnode link to a server of another domain carries that prefix.
   */
  jetStreamDomain: string;
  /** JetStream limits for memory / file storage in bytes; -1 (or 0) means unlimited. */
  maxMemoryStore: number;
  maxFileStore: number;
  /** File store fsync interval, ms (nats-server sync_interval, 2 minutes). */
  syncInterval: number;
  /** fsync every write before acknowledging it (nats-server `sync_interval: always`). */
  syncAlways: boolean;
  /**
   * Monitoring HTTP port (nats-server -m / http_port); null: no monitoring. 0 or -1 picks a free
   * port. (Flags and config files follow nats-server, where 0 means off: they leave this null.)
   */
  httpPort: number | null;
  /** Interface for the monitoring port; "" means the client `host`, as nats-server does. */
  httpHost: string;
  /**
   * What serves HTTP and WebSocket (a gnat addition): "uws" (uWebSockets.js, an error where its
   * binary cannot load), "node" (node:http and ws) or "auto" (uWS where it loads). The
   * GNAT_HTTP_ENGINE environment variable says the same when this is "auto".
   */
  httpEngine: "auto" | "uws" | "node";
  /** Threshold alerts (a gnat addition, config key `alerts`); durations and latency in ms. */
  alerts: AlertsInput;
  /** A WebSocket listener for clients (nats-server's `websocket {}` block); null: none. */
  websocket: WebSocketOptions | null;
  /**
   * Who may connect (nats-server's `authorization {}`, -auth, -user/-pass); null: anyone. Also
   * applies to WebSocket clients.
   */
  authorization: AuthorizationOptions | null;
  /** Lame duck mode: how long closing every client is spread over, ms (nats-server: 2 min). */
  lameDuckDuration: number;
  /** Lame duck mode: how long to wait before closing the first client, ms (nats-server: 10 s). */
  lameDuckGracePeriod: number;
  /** TLS for the client port (nats-server's `tls {}`, --tls*); null: plain TCP. See README, TLS. */
  tls: TlsOptions | null;
  /**
   * nats-server 2.10's `allow_non_tls`: with `tls`, clients with and without TLS share the port.
   * INFO says `tls_available` rather than `tls_required`, and a client whose first bytes after
   * it are a TLS handshake gets one; any other goes on in plain text.
   */
  allowNonTls: boolean;
  /**
   * nats-server's `accounts {}`: each account its own subject space, with its users, exports,
   * imports and JetStream. null: one account ($G) for everyone, as before.
   */
  accounts: AccountsOptions | null;
  /**
   * nats-server's top-level `mappings {}`: subject mappings of the global account's publishes
   * (an account's own are in its `accounts` entry). null: none.
   */
  mappings: MappingsOptions | null;
  /** A client whose CONNECT has no credentials is this user (nats-server `no_auth_user`). */
  noAuthUser: string;
  /** The account that receives $SYS events (nats-server `system_account`); "": `$SYS`. */
  systemAccount: string;
  /**
   * Operator mode (nats-server `operator`): the trusted operator JWTs; empty: off. Accounts and
   * users then come from JWTs (see README, Operator mode), through `resolver`.
   */
  operators: string[];
  /** Where account JWTs come from in operator mode (nats-server `resolver`); null: none. */
  resolver: ResolverOptions | null;
  /** Account JWTs known from the start (nats-server `resolver_preload`), by account public key. */
  resolverPreload: Record<string, string>;
  /** Routes to the other servers of a cluster; null: this server is alone. */
  cluster: ClusterOptions | null;
  /** Leafnode connections: a listener for leafs (hub) and remotes (leaf); null: none. */
  leafnodes: LeafNodeOptions | null;
}

/** nats-server's `websocket {}` settings, camel-cased. */
export interface WebSocketOptions {
  /** Interface; "" means all interfaces (nats-server's default, not the client `host`). */
  host?: string;
  /** 0 or -1 picks a free port (`server.websocketUrl` tells which). */
  port: number;
  /**
   * Plain ws:// without TLS. nats-server refuses a WebSocket listener with neither TLS nor this,
   * and gnat does the same, so it must be said out loud.
   */
  noTls?: boolean;
  /** wss://: the listener's certificate and key (nats-server's `websocket { tls {} }`). */
  tls?: TlsOptions;
  /** permessage-deflate, when the client offers it. */
  compression?: boolean;
  /** Refuse an upgrade whose Origin is not the host it was sent to. */
  sameOrigin?: boolean;
  /** Origins (`scheme://host[:port]`) allowed to upgrade; empty: any. */
  allowedOrigins?: string[];
}

/** nats-server's error for a WebSocket listener with no TLS configuration and no `no_tls`. */
export const WS_REQUIRES_TLS = "websocket requires TLS configuration";

export const DEFAULT_PORT = 4222;

/** The gnat command's default interface, nats-server's: all of them. */
export const CLI_HOST = "0.0.0.0";

export const DEFAULTS: Readonly<ServerOptions> = {
  // An embedded server is reachable from this machine only unless its caller asks otherwise.
  host: "127.0.0.1",
  port: DEFAULT_PORT,
  serverName: "",
  maxPayload: 1024 * 1024,
  maxPending: 64 * 1024 * 1024,
  maxControlLine: 4096,
  maxConnections: 64 * 1024,
  maxSubscriptions: 0,
  pingInterval: 2 * 60 * 1000,
  pingMax: 2,
  writeDeadline: 10 * 1000,
  debug: false,
  trace: false,
  logFile: "",
  pidFile: "",
  portsFileDir: "",
  programName: "gnat",
  noLog: false,
  jetstream: false,
  storeDir: "",
  jetStreamDomain: "",
  maxMemoryStore: -1,
  maxFileStore: -1,
  syncInterval: 2 * 60 * 1000,
  syncAlways: false,
  httpPort: null,
  httpHost: "",
  alerts: {},
  httpEngine: "auto",
  websocket: null,
  authorization: null,
  lameDuckDuration: 2 * 60 * 1000,
  lameDuckGracePeriod: 10 * 1000,
  tls: null,
  allowNonTls: false,
  accounts: null,
  mappings: null,
  noAuthUser: "",
  systemAccount: "",
  operators: [],
  resolver: null,
  resolverPreload: {},
  cluster: null,
  leafnodes: null,
};

/** Payloads above this work but are discouraged (nats-server warns the same). */
export const MAX_PAYLOAD_WARN = 8 * 1024 * 1024;

export type ServerOptionsInput = Partial<ServerOptions>;

/** nats-server's meaning of a configured monitoring port: 0 is off, -1 any free port. */
export function setHttpPort(o: Partial<ServerOptions>, port: number): void {
  o.httpPort = port === 0 ? null : port === -1 ? 0 : port;
}

export function resolveOptions(input: ServerOptionsInput = {}): ServerOptions {
  const o: ServerOptions = { ...DEFAULTS };
  for (const [k, v] of Object.entries(input)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (o.port === -1) o.port = 0;
  if (o.httpPort === -1) o.httpPort = 0;
  if (o.websocket !== null && o.websocket.port === -1) o.websocket = { ...o.websocket, port: 0 };
  if (o.cluster !== null) {
    o.cluster = { ...clusterDefaults(), ...o.cluster };
    if (o.cluster.port === -1) o.cluster.port = 0;
  }
  if (o.leafnodes !== null) {
    // Port -1 stays: 0 means no leafnode listener (remotes only), as in nats-server.
    o.leafnodes = { ...leafDefaults(), ...o.leafnodes };
  }
  validateOptions(o);
  return o;
}

export function validateOptions(o: ServerOptions): void {
  const intKeys = ["port", "maxPayload", "maxPending", "maxControlLine", "maxConnections",
    "maxSubscriptions", "pingInterval", "pingMax", "writeDeadline", "syncInterval", "lameDuckDuration", "lameDuckGracePeriod"] as const;
  for (const k of intKeys) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`invalid value for ${k}: ${String(v)}`);
    }
  }
  for (const k of ["maxMemoryStore", "maxFileStore"] as const) {
    if (typeof o[k] !== "number" || !Number.isInteger(o[k])) throw new Error(`invalid value for ${k}: ${String(o[k])}`);
  }
  if (o.port > 65535) throw new Error(`invalid port: ${o.port}`);
  if (o.httpPort !== null && (typeof o.httpPort !== "number" || !Number.isInteger(o.httpPort) || o.httpPort < 0 || o.httpPort > 65535)) {
    throw new Error(`invalid value for httpPort: ${String(o.httpPort)}`);
  }
  resolveAlerts(o.alerts);
  if (o.cluster !== null) {
    const err = clusterConfigError(o.cluster);
    if (err !== null) throw new Error(err);
  }
  if (o.leafnodes !== null) {
    const err = leafConfigError(o.leafnodes, o.accounts === null ? null : Object.keys(o.accounts), o.systemAccount, o.operators.length > 0);
    if (err !== null) throw new Error(err);
  }
  const ws = o.websocket;
  if (ws !== null) {
    if (typeof ws.port !== "number" || !Number.isInteger(ws.port) || ws.port < -1 || ws.port > 65535) {
      throw new Error(`invalid value for websocket.port: ${String(ws.port)}`);
    }
    if (ws.noTls !== true && ws.tls === undefined) throw new Error(WS_REQUIRES_TLS);
    for (const origin of ws.allowedOrigins ?? []) {
      if (!URL.canParse(origin)) throw new Error(`unable to parse allowed origin: ${origin}`);
    }
  }
  const auth = mergedAuthorization(o.authorization, o.accounts);
  if (auth !== null) {
    const err = authConfigError(auth);
    if (err !== null) throw new Error(err);
  }
  if (o.lameDuckDuration > 0 && o.lameDuckGracePeriod >= o.lameDuckDuration) {
    throw new Error(`lame duck grace period (${goDuration(o.lameDuckGracePeriod)}) should be strictly lower than lame duck duration (${goDuration(o.lameDuckDuration)})`);
  }
  if (o.tls !== null) {
    const err = tlsOptionsError(o.tls);
    if (err !== null) throw new Error(err);
  }
  const mapErr = mappingsConfigError(o.mappings);
  if (mapErr !== null) throw new Error(mapErr);
  if (o.operators.length > 0) {
    const err = operatorConfigError(o, o.systemAccount, o.accounts, o.authorization);
    if (err !== null) throw new Error(err);
  } else {
    const accErr = accountsConfigError(o.accounts, o.noAuthUser, o.authorization, o.systemAccount);
    if (accErr !== null) throw new Error(accErr);
  }
  const domErr = jetStreamDomainError(o.jetStreamDomain);
  if (domErr !== null) throw new Error(domErr);
  if (o.maxPayload > 2 ** 31 - 1) throw new Error("max_payload value is too big");
  if (o.maxPending > 0 && o.maxPayload > o.maxPending) {
    throw new Error(`max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`);
  }
}

/** nats-server validateJetStreamOptions: the domain makes a valid `$JS.<domain>.API.>` and is a name. */
export function jetStreamDomainError(d: string): string | null {
  if (typeof d !== "string") return `invalid value for jetStreamDomain: ${String(d)}`;
  if (d === "") return null;
  if (!isValidSubject(`$JS.${d}.API.>`)) return `invalid domain name: derived "$JS.${d}.API.>" is not a valid subject`;
  if (/[.*>]/.test(d)) return "invalid domain name: may not contain ., * or >";
  return null;
}
