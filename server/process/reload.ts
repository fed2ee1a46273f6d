// Config reload, as nats-server does it: the new options are resolved and validated in full,
// compared key by key with the running ones against a table of what may change while running,
// and refused whole (the running configuration stays) if any other key changed; else applied.
import type { Logger } from "pino";
import { Errors } from "../../protocol/errors.js";
import { authRequired, type Authenticator, type AuthorizationOptions } from "../auth/auth.js";
import type { ClientConnection } from "../core/connection.js";
import { goDuration } from "../duration.js";
import { resolveOptions, type ServerOptions, type ServerOptionsInput } from "../options.js";
import type { TlsOptions } from "../tls-options.js";
import type { LeafNodeOptions, LeafRemoteOptions } from "../cluster/leaf-options.js";
import { mergedAuthorization, userAccounts, type AccountsOptions } from "../accounts/options.js";

/** A reload that was refused; the running configuration is unchanged. */
export class ReloadError extends Error {}

/**
 * ReloadHost.prepareAccountsReload for a server whose accounts, their exports, imports and
 * JetStream stay as they started: only which account a user is in may change (`setUsers`
 * applies it).
 */
export function prepareAccountsReload(next: ServerOptions, prev: ServerOptions, setUsers: (users: Map<string, string>) => void): () => void {
  const refuse = (why: string): never => {
    throw new ReloadError(`config reload not supported for accounts: ${why}`);
  };
  if (next.accounts === null || prev.accounts === null) return refuse("adding or removing accounts {} needs a restart");
  const was = prev.accounts;
  const now = next.accounts;
  const names = (a: AccountsOptions): string => Object.keys(a).sort().join(",");
  if (names(was) !== names(now)) refuse("accounts can only be added or removed with a restart");
  for (const [name, a] of Object.entries(now)) {
    const b = was[name]!;
    for (const k of ["exports", "imports", "jetstream"] as const) {
      if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) refuse(`the ${k} of account ${name} can only change with a restart`);
    }
  }
  const before = userAccounts(prev.authorization, was);
  const after = userAccounts(next.authorization, now);
  for (const [user, acc] of after) {
    const old = before.get(user);
    if (old !== undefined && old !== acc) refuse(`user ${user} can only move from account ${old} to ${acc} with a restart`);
  }
  return () => setUsers(after);
}

/**
 * ReloadHost.prepareClusterReload for a server whose cluster (null: none) can change its routes,
 * authorization, name and advertising, not whether it runs, nor its host and port.
 */
export function prepareClusterReload(
  c: { readonly port: number; prepareReload(next: NonNullable<ServerOptions["cluster"]>): () => string[] } | null,
  next: ServerOptions,
  prev: ServerOptions,
): () => string[] {
  if (c === null || next.cluster === null || prev.cluster === null) {
    const port = (o: ServerOptions): number => (o.cluster === null ? 0 : o === prev ? c?.port ?? o.cluster.port : o.cluster.port);
    throw new ReloadError(`config reload not supported for cluster port: old=${port(prev)}, new=${port(next)}`);
  }
  try {
    return c.prepareReload(next.cluster);
  } catch (e) {
    throw new ReloadError((e as Error).message);
  }
}

/**
 * A reload as Server.reload runs it: `input` (or, without it, what `loader` reads: the CLI's -c
 * file) resolved over the running options, compared and applied. Throws a ReloadError, changing
 * nothing, when `loader` is null or a key that cannot change did.
 */
export function reloadFrom(host: ReloadHost, input: ServerOptionsInput | undefined, loader: (() => ServerOptionsInput) | null): void {
  let src = input;
  if (src === undefined) {
    if (loader === null) throw new ReloadError(NO_CONFIG_FILE);
    src = loader();
  }
  const cur = { ...host.options, port: host.port || host.options.port };
  const next = resolveReloaded(src, cur);
  applyReload(host, next, diffOptions(cur, next, { tls: true, accounts: true }));
}

/** nats-server's Reload() without a config file. */
export const NO_CONFIG_FILE = "can only reload config when a file is provided using -c or --config";

/** What applying a reload needs of the server. */
export interface ReloadHost {
  options: ServerOptions;
  readonly log: Logger;
  readonly clients: Map<number, ClientConnection>;
  /** The bound client port (what a configured `port: 0` became). */
  readonly port: number;
  /** null when anyone may connect. */
  readonly authenticator: Authenticator | null;
  /** Install the new authorization (null: anyone): `authenticator` checks against it from now on. */
  setAuthorization(a: AuthorizationOptions | null): void;
  /** Log level and destination from the new options. */
  applyLogging(o: ServerOptions): void;
  /** Threshold alerts from the new options. */
  restartAlerts(): void;
  /** pid and ports files, at their new places. */
  rewriteSideFiles(prev: ServerOptions): void;
  /** INFO for new clients (auth_required, max_payload). */
  refreshInfo(): void;
  /**
   * New TLS settings for connections from now on; throws, keeping the old ones, when they do not
   * load.
   */
  reloadTls(next: TlsOptions): void;
  /**
   * An accounts change: throws a ReloadError when it is more than gnat can apply while running
   * (only the users of existing accounts may change); else returns what applies it. Unset: every
   * accounts change is refused.
   */
  prepareAccountsReload?: ((next: ServerOptions, prev: ServerOptions) => () => void) | undefined;
  /**
   * A cluster change: throws a ReloadError when it is more than a running cluster can take
   * (turning clustering on or off, its host or port); else returns what applies it (routes
   * added and removed, authorization, name, advertising).
   */
  prepareClusterReload?: ((next: ServerOptions, prev: ServerOptions) => () => string[]) | undefined;
  /**
   * A `leafnodes {}` change that is TLS only (checked here first): returns what applies it to
   * connections from then on; throws when a certificate does not load.
   */
  prepareLeafTlsReload?: ((next: LeafNodeOptions) => () => void) | undefined;
  /** Each account's subject mappings from the options now in force. */
  applyMappings?: (() => void) | undefined;
}

type Key = keyof ServerOptions;
type Group = "logging" | "auth" | "limits" | "connections" | "files" | "alerts" | "tls" | "accounts" | "cluster" | "mappings" | "leafnodes";

interface Refused {
  reload: false;
  /** nats-server's Options field name, as its error text names it. */
  field: string;
  /** How nats-server prints the value (%v); plain String() when absent. */
  show?: (v: unknown) => string;
  /** A text of its own instead of "config reload not supported for <field>: old=…, new=…". */
  text?: string;
}

interface Reloadable {
  reload: true;
  group: Group;
  /** The "Reloaded: …" lines nats-server logs for it. */
  notes: (next: ServerOptions, prev: ServerOptions) => string[];
}

type Rule = Refused | Reloadable;

const dur = (v: unknown): string => goDuration(Number(v));
const json = (v: unknown): string => (v === null || v === undefined ? "<nil>" : JSON.stringify(v));
const plain = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

/** Keys an embedder supplies that no config file can say: carried over, never compared. */
const CARRIED: readonly Key[] = ["logger", "noLog", "programName", "httpEngine"];

/**
 * Every option and whether it may change while running (nats-server's reload.go). A key missing
 * here is refused, so an option added later is safe until someone decides how it reloads.
 */
export const RELOAD_RULES: Readonly<Record<string, Rule>> = {
  host: { reload: false, field: "Host" },
  port: { reload: false, field: "Port" },
  serverName: { reload: false, field: "ServerName" },
  maxPending: { reload: false, field: "MaxPending" },
  maxSubscriptions: { reload: false, field: "MaxSubs" },
  httpPort: { reload: false, field: "HTTPPort", show: (v) => String(v ?? 0) },
  httpHost: { reload: false, field: "HTTPHost" },
  jetstream: { reload: false, field: "JetStream" },
  storeDir: { reload: false, field: "StoreDir", text: "config reload not supported for jetstream storage dir" },
  maxMemoryStore: { reload: false, field: "JetStreamMaxMemory", text: "config reload not supported for jetstream max memory and max store" },
  maxFileStore: { reload: false, field: "JetStreamMaxStore", text: "config reload not supported for jetstream max memory and max store" },
  syncInterval: { reload: false, field: "SyncInterval", show: dur },
  syncAlways: { reload: false, field: "SyncAlways" },
  websocket: { reload: false, field: "Websocket", show: json },
  lameDuckDuration: { reload: false, field: "LameDuckDuration", show: dur },
  lameDuckGracePeriod: { reload: false, field: "LameDuckGracePeriod", show: dur },
  // Operator mode: the trust and where accounts come from stay as started (nats-server refuses a
  // new operator too; account JWTs change at run time through claims updates instead).
  operators: { reload: false, field: "TrustedOperators", show: (v) => `[${(v as string[]).length} operator JWT(s)]` },
  resolver: { reload: false, field: "AccountResolver", show: json },
  resolverPreload: { reload: false, field: "resolverPreloads", show: (v) => `[${Object.keys(v as object).join(" ")}]` },

  debug: { reload: true, group: "logging", notes: (n) => [`Reloaded: debug = ${n.debug}`] },
  trace: { reload: true, group: "logging", notes: (n) => [`Reloaded: trace = ${n.trace}`] },
  logFile: { reload: true, group: "logging", notes: (n) => [`Reloaded: log_file = ${n.logFile}`] },
  authorization: { reload: true, group: "auth", notes: authNotes },
  maxPayload: { reload: true, group: "limits", notes: (n) => [`Reloaded: max_payload = ${n.maxPayload}`] },
  maxControlLine: { reload: true, group: "limits", notes: (n) => [`Reloaded: max_control_line = ${n.maxControlLine}`] },
  maxConnections: { reload: true, group: "connections", notes: (n) => [`Reloaded: max_connections = ${n.maxConnections}`] },
  // Read from the options each time they are used: the next timer takes the new value.
  pingInterval: { reload: true, group: "limits", notes: (n) => [`Reloaded: ping_interval = ${goDuration(n.pingInterval)}`] },
  pingMax: { reload: true, group: "limits", notes: (n) => [`Reloaded: ping_max = ${n.pingMax}`] },
  writeDeadline: { reload: true, group: "limits", notes: (n) => [`Reloaded: write_deadline = ${goDuration(n.writeDeadline)}`] },
  pidFile: { reload: true, group: "files", notes: (n) => (n.pidFile ? [`Reloaded: pid_file = ${n.pidFile}`] : []) },
  portsFileDir: { reload: true, group: "files", notes: (n) => [`Reloaded: ports_file_dir = ${n.portsFileDir}`] },
  // gnat's own (nats-server has no alerts).
  alerts: { reload: true, group: "alerts", notes: () => ["Reloaded: alerts"] },
  // Hooks: options the TLS and accounts work adds. Refused unless the server has the hook.
  tls: { reload: true, group: "tls", notes: () => ["Reloaded: tls"] },
  accounts: { reload: true, group: "accounts", notes: () => ["Reloaded: accounts"] },
  // nats-server keeps top-level mappings as the global account's: its reload says "accounts".
  mappings: { reload: true, group: "mappings", notes: (n, p) => (same(n.accounts, p.accounts) ? ["Reloaded: accounts"] : []) },
  // Its lines come from applying it (which parts changed).
  cluster: { reload: true, group: "cluster", notes: () => [] },
  // Its TLS only (leafReloadRefusal); nats-server logs no line of its own for it.
  leafnodes: { reload: true, group: "leafnodes", notes: () => [] },
};

/** The leafnodes block as nats-server compares it on a reload: without its TLS (hub and remotes), a remote's account "" as the $G it binds. */
function leafComparable(o: LeafNodeOptions | null): unknown {
  if (o === null) return null;
  const { tls: _hubTls, remotes, ...rest } = o;
  return {
    ...rest,
    remotes: remotes.map((r: LeafRemoteOptions) => {
      const { tls: _tls, ...r2 } = r;
      return { ...r2, account: r.account === "" ? "$G" : r.account };
    }),
  };
}

/**
 * nats-server 2.9 reloads a leafnodes block's TLS only (the hub's `tls {}` and each remote's), so
 * certificates rotate in place; anything else is its "config reload not supported for LeafNode".
 * null: reloadable.
 */
export function leafReloadRefusal(prev: LeafNodeOptions | null, next: LeafNodeOptions | null): string | null {
  const a = leafComparable(prev);
  const b = leafComparable(next);
  return same(a, b) ? null : `config reload not supported for LeafNode: old=${JSON.stringify(a)}, new=${JSON.stringify(b)}`;
}

/** nats-server's lines for an authorization change, one per part that changed. */
function authNotes(n: ServerOptions, p: ServerOptions): string[] {
  const a = n.authorization ?? {};
  const b = p.authorization ?? {};
  const out: string[] = [];
  if (a.user !== b.user) out.push("Reloaded: authorization username");
  if (a.password !== b.password) out.push("Reloaded: authorization password");
  if (a.token !== b.token) out.push("Reloaded: authorization token");
  if (a.timeout !== b.timeout) out.push(`Reloaded: authorization timeout = ${(a.timeout ?? 2000) / 1000}`);
  if (!same(a.users, b.users)) out.push("Reloaded: authorization users");
  if (!same(a.nkeys, b.nkeys)) out.push("Reloaded: authorization nkey users");
  return out;
}

/** Deep equality of option values (plain data: numbers, strings, arrays, objects). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Resolve `input` as start-up would (same defaults, same validation), keep what only an
 * embedder can say, and keep the ports a `0` (any free port) asked for: those are the bound ones.
 */
export function resolveReloaded(input: ServerOptionsInput, cur: ServerOptions): ServerOptions {
  const withCarried: ServerOptionsInput = { ...input };
  const target = withCarried as Record<string, unknown>;
  for (const k of CARRIED) if (target[k] === undefined && cur[k] !== undefined) target[k] = cur[k];
  const next = resolveOptions(withCarried);
  if (next.port === 0) next.port = cur.port;
  if (next.httpPort === 0 && cur.httpPort !== null) next.httpPort = cur.httpPort;
  if (next.websocket !== null && next.websocket.port === 0 && cur.websocket !== null) {
    next.websocket = { ...next.websocket, port: cur.websocket.port };
  }
  if (next.cluster !== null && next.cluster.port === 0 && cur.cluster !== null) {
    next.cluster = { ...next.cluster, port: cur.cluster.port };
  }
  return next;
}

/** The keys that changed, or a ReloadError naming the first one that may not. */
export function diffOptions(cur: ServerOptions, next: ServerOptions, hooks: { tls: boolean; accounts: boolean }): Key[] {
  const changed: Key[] = [];
  const keys = new Set<string>([...Object.keys(cur), ...Object.keys(next)]);
  for (const key of keys) {
    const k = key as Key;
    if (CARRIED.includes(k)) continue;
    const was: unknown = cur[k];
    const now: unknown = next[k];
    if (same(was, now)) continue;
    const rule = RELOAD_RULES[key];
    const hookMissing = rule?.reload === true && ((rule.group === "tls" && !hooks.tls) || (rule.group === "accounts" && !hooks.accounts));
    if (rule === undefined || rule.reload === false || hookMissing) {
      const r = rule?.reload === false ? rule : undefined;
      if (r?.text !== undefined) throw new ReloadError(r.text);
      const show = r?.show ?? plain;
      throw new ReloadError(`config reload not supported for ${r?.field ?? key}: old=${show(was)}, new=${show(now)}`);
    }
    changed.push(k);
  }
  return changed;
}

/**
 * Apply `next` (already diffed: every changed key reloadable) to a running server: options first,
 * then logging, authorization (clients re-checked), per-client limits, connection count, files,
 * alerts, and the INFO new clients get. Logs as nats-server does.
 */
export function applyReload(host: ReloadHost, next: ServerOptions, changed: Key[]): void {
  const prev = host.options;
  const groups = new Set<Group>();
  for (const k of changed) {
    const rule = RELOAD_RULES[k];
    if (rule?.reload === true) groups.add(rule.group);
  }
  // First, while nothing has changed: what cannot be applied refuses the whole reload.
  const applyAccounts = groups.has("accounts") ? host.prepareAccountsReload?.(next, prev) : undefined;
  let applyCluster: (() => string[]) | undefined;
  if (groups.has("cluster")) {
    if (host.prepareClusterReload === undefined) throw new ReloadError("config reload not supported for cluster: turning clustering on needs a restart");
    applyCluster = host.prepareClusterReload(next, prev);
  }
  let applyLeafTls: (() => void) | undefined;
  if (groups.has("leafnodes")) {
    const why = leafReloadRefusal(prev.leafnodes, next.leafnodes);
    if (why !== null) throw new ReloadError(why);
  }
  // Every reload reads the leafnode certificates again, changed paths or not, as nats-server's
  // does: a certificate rotated in place (new file, same name) takes effect.
  try {
    if (next.leafnodes !== null) applyLeafTls = host.prepareLeafTlsReload?.(next.leafnodes);
  } catch (e) {
    throw new ReloadError((e as Error).message);
  }
  if (groups.has("tls")) {
    if (next.tls === null || prev.tls === null) throw new ReloadError("config reload not supported for TLS: turning TLS on or off needs a restart");
    try {
      host.reloadTls(next.tls);
    } catch (e) {
      throw new ReloadError((e as Error).message);
    }
  }
  host.options = next;
  applyLeafTls?.();
  if (groups.has("logging")) host.applyLogging(next);
  const notes: string[] = [];
  for (const k of changed) {
    const rule = RELOAD_RULES[k];
    if (rule?.reload === true) notes.push(...rule.notes(next, prev));
  }
  if (applyCluster !== undefined) notes.push(...applyCluster());
  for (const n of notes) host.log.info(n);
  applyAccounts?.();
  if (groups.has("mappings") || groups.has("accounts")) host.applyMappings?.();
  // Users of accounts authenticate with the rest: a change to them is an authorization change.
  if (groups.has("auth") || applyAccounts !== undefined) reloadAuthorization(host, next.authorization, mergedAuthorization(next.authorization, next.accounts));
  if (groups.has("limits") || groups.has("logging")) {
    for (const c of host.clients.values()) c.applyReloadedOptions(next);
  }
  if (groups.has("connections")) enforceMaxConnections(host, next.maxConnections);
  if (groups.has("files")) host.rewriteSideFiles(prev);
  if (groups.has("alerts")) host.restartAlerts();
  host.refreshInfo();
  host.log.info("Reloaded server configuration");
}

/** Re-check every client against the new authorization (nats-server's reloadAuthorization). */
function reloadAuthorization(host: ReloadHost, auth: AuthorizationOptions | null, everyone: AuthorizationOptions | null): void {
  host.setAuthorization(auth);
  const authenticator = authRequired(everyone) ? host.authenticator : null;
  for (const c of [...host.clients.values()]) c.reauthorize(authenticator, authenticator !== null && userGone(everyone, c));
}

/**
 * nats-server closes, without an -ERR, a client whose user (or nkey) the new users list no longer
 * has. (It does so for a user of a single user/password too; gnat keeps that one when its
 * credentials still hold, since it is still allowed.)
 */
function userGone(a: AuthorizationOptions | null, c: ClientConnection): boolean {
  if (a === null) return false;
  const o = c.opts;
  if (o.nkey !== "") return a.nkeys !== undefined && !a.nkeys.some((k) => k.nkey === o.nkey);
  if (o.user !== "" && a.users !== undefined) return !a.users.some((u) => u.user === o.user);
  return false;
}

/**
 * Close clients until there are no more than `max` (0: no limit), with nats-server's -ERR. It
 * picks them at random; gnat closes the newest.
 */
function enforceMaxConnections(host: ReloadHost, max: number): void {
  if (max <= 0 || host.clients.size <= max) return;
  const excess = [...host.clients.values()].slice(max);
  for (const c of excess) c.sendErrClose(Errors.MaxConnections);
  host.log.info(`Closed ${excess.length} connections to fall within max_connections`);
}
