// Tested by test/server/accounts.test.ts.
// Accounts as nats-server configures them (`accounts { A: { users, exports, imports, jetstream } }`,
// `no_auth_user`, `system_account`), camel-cased, and the configuration errors nats-server gives
// for combinations it refuses. Pure: no routers, no sockets.
import { isValidLiteralSubject, isValidSubject, subjectsCollide } from "../../protocol/subject.js";
import type { AuthorizationOptions, NkeyUser, UserEntry } from "../auth/auth.js";
import { patternCovers } from "../auth/permissions.js";
import { SubjectMappings, type MapDestination } from "../../protocol/subject-mapping.js";
import { toWire } from "../../protocol/subject.js";

/** nats-server's global account: every client outside a configured account. */
export const GLOBAL_ACCOUNT = "$G";
/** nats-server's default system account (created when none is configured). */
export const DEFAULT_SYSTEM_ACCOUNT = "$SYS";

/** How many responses a service import's requester may get (nats-server response_type). */
export type ResponseType = "singleton" | "stream" | "chunked";

/** One entry of an account's `exports`: a stream or a service, maybe for named accounts only. */
export interface ExportOption {
  stream?: string;
  service?: string;
  /** Accounts allowed to import it; absent: any account. */
  accounts?: string[];
  /** Services only; singleton by default. */
  responseType?: ResponseType;
  /** Services only: how long (ms) a request's reply route lives; nats-server's default is 2 min. */
  responseThreshold?: number;
}

/** One entry of an account's `imports`. */
export interface ImportOption {
  stream?: { account: string; subject: string };
  service?: { account: string; subject: string };
  /** Stream imports: prepended (with a dot) to the exporter's subjects. */
  prefix?: string;
  /**
   * Service imports: the subject the importer publishes requests on (default: the exported one).
   * Stream imports: the subject the messages arrive on (instead of the exporter's).
   */
  to?: string;
}

/** An account's JetStream limits; absent or -1: unlimited (bytes for memory and file). */
export interface AccountJetStreamLimits {
  maxMemory?: number;
  maxStore?: number;
  maxStreams?: number;
  maxConsumers?: number;
  /** Operator mode: the JWT's `max_ack_pending`, the most a consumer may have (and its default when less than 1000). */
  maxAckPending?: number;
  /** Operator mode: the JWT's `mem_max_stream_bytes` / `disk_max_stream_bytes` (the most max_bytes a stream may have) and `max_bytes_required`. */
  memoryMaxStreamBytes?: number;
  storageMaxStreamBytes?: number;
  maxBytesRequired?: boolean;
  /** Operator mode: the limits are this tier's of the account JWT ("R1"), reported as a tier. */
  tier?: string;
}

export interface AccountOptions {
  users?: UserEntry[];
  nkeys?: NkeyUser[];
  exports?: ExportOption[];
  imports?: ImportOption[];
  /** true (or limits): this account has JetStream of its own, when the server has JetStream. */
  jetstream?: boolean | AccountJetStreamLimits;
  /** Subject mappings of the account's publishes (nats-server `mappings`). */
  mappings?: MappingsOptions;
}

/**
 * nats-server's `mappings`: source subject → one destination (a subject, weight 100) or weighted
 * destinations.
 */
export type MappingsOptions = Record<string, string | MapDestination[]>;

const destinations = (d: string | MapDestination[]): MapDestination[] => (typeof d === "string" ? [{ subject: d, weight: 100 }] : d);

/** Why nats-server would refuse this mapping (its error text), or null. */
export function mappingError(src: string, dests: string | MapDestination[]): string | null {
  try {
    new SubjectMappings().add(toWire(src), destinations(dests).map((d) => ({ ...d, subject: toWire(d.subject) })));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Each account's subject mappings from the options in force: the top-level `mappings` are the
 * global account's. `extra`: mappings an account has beside its configured ones, which win
 * over them (a JetStream domain's).
 */
export function applyAccountMappings<A extends { readonly name: string; readonly router: { mappings: SubjectMappings | null } }>(
  o: { accounts: AccountsOptions | null; mappings?: MappingsOptions | null | undefined },
  global: A,
  accounts: Iterable<A>,
  cluster: () => string,
  extra: (a: A) => MappingsOptions | null = () => null,
): void {
  const own = (a: A, m: MappingsOptions | null | undefined): MappingsOptions => ({ ...(extra(a) ?? {}), ...(m ?? {}) });
  global.router.mappings = buildMappings(own(global, { ...(o.accounts?.[GLOBAL_ACCOUNT]?.mappings ?? {}), ...(o.mappings ?? {}) }), cluster);
  for (const a of accounts) if (a.router !== global.router) a.router.mappings = buildMappings(own(a, o.accounts?.[a.name]?.mappings), cluster);
}

/** The mappings as the router applies them (subjects in wire form); null when there are none. */
export function buildMappings(m: MappingsOptions | null | undefined, cluster?: () => string): SubjectMappings | null {
  if (m === null || m === undefined || Object.keys(m).length === 0) return null;
  const out = new SubjectMappings(cluster);
  for (const [src, d] of Object.entries(m)) {
    out.add(toWire(src), destinations(d).map((x) => ({ ...x, subject: toWire(x.subject) })));
  }
  return out;
}

/** The first mapping nats-server would refuse, as its config error says it, or null. */
export function mappingsConfigError(m: MappingsOptions | null | undefined): string | null {
  for (const [src, d] of Object.entries(m ?? {})) {
    if (!isValidSubject(src)) return `Subject ${JSON.stringify(src)} is not a valid subject`;
    const err = mappingError(src, d);
    if (err !== null) {
      return typeof d === "string" ? `Error adding mapping for ${JSON.stringify(src)} to ${JSON.stringify(d)} : ${err}`
        : `Error adding mapping for ${JSON.stringify(src)} : ${err}`;
    }
  }
  return null;
}

/** Accounts by name. */
export type AccountsOptions = Record<string, AccountOptions>;

/** Where each user (by name, or nkey for nkey users) lives. */
export function userAccounts(top: AuthorizationOptions | null, accounts: AccountsOptions | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const u of top?.users ?? []) out.set(u.user, GLOBAL_ACCOUNT);
  for (const k of top?.nkeys ?? []) out.set(k.nkey, GLOBAL_ACCOUNT);
  for (const [name, a] of Object.entries(accounts ?? {})) {
    for (const u of a.users ?? []) out.set(u.user, name);
    for (const k of a.nkeys ?? []) out.set(k.nkey, name);
  }
  return out;
}

/**
 * The `authorization` block and every account's users as one users list (nats-server checks
 * them as one: a user name may appear once in all). Null when nobody is configured.
 */
export function mergedAuthorization(top: AuthorizationOptions | null, accounts: AccountsOptions | null): AuthorizationOptions | null {
  if (accounts === null) return top;
  const users: UserEntry[] = [...(top?.users ?? [])];
  const nkeys: NkeyUser[] = [...(top?.nkeys ?? [])];
  for (const a of Object.values(accounts)) {
    users.push(...(a.users ?? []));
    nkeys.push(...(a.nkeys ?? []));
  }
  if (users.length === 0 && nkeys.length === 0 && top?.users === undefined && top?.nkeys === undefined) return top;
  const out: AuthorizationOptions = { ...(top ?? {}), users };
  if (nkeys.length > 0) out.nkeys = nkeys;
  else delete out.nkeys;
  return out;
}

/**
 * nats-server's errors for an accounts configuration it refuses, or null. The texts are its own:
 * `"Q" account not defined for stream import`, `Error adding service import "x": service import
 * not authorized`, `no_auth_user: "u" not present as user in authorization block or account
 * configuration`.
 */
export function accountsConfigError(accounts: AccountsOptions | null, noAuthUser: string, top: AuthorizationOptions | null,
  systemAccount = ""): string | null {
  if (systemAccount !== "" && systemAccount !== DEFAULT_SYSTEM_ACCOUNT && !(systemAccount in (accounts ?? {}))) {
    return "error resolving system account: account missing";
  }
  for (const [name, a] of Object.entries(accounts ?? {})) {
    if (name === "" || /\s/.test(name)) return `invalid account name "${name}"`;
    const mapErr = mappingsConfigError(a.mappings);
    if (mapErr !== null) return mapErr;
    for (const e of a.exports ?? []) {
      const subject = e.stream ?? e.service;
      if (subject === undefined || (e.stream !== undefined && e.service !== undefined)) return "Export needs a stream or a service subject";
      if (!isValidSubject(subject)) return `Error adding ${e.stream !== undefined ? "stream" : "service"} export "${subject}": subject is not valid`;
      for (const acc of e.accounts ?? []) {
        if (accounts === null || !(acc in accounts)) return `"${acc}" account not defined for ${e.stream !== undefined ? "stream" : "service"} export`;
      }
    }
    for (const i of a.imports ?? []) {
      const kind = i.stream !== undefined ? "stream" : "service";
      const ref = i.stream ?? i.service;
      if (ref === undefined || (i.stream !== undefined && i.service !== undefined)) return "Import needs a stream or a service";
      if (!isValidSubject(ref.subject)) return `Error adding ${kind} import "${ref.subject}": subject is not valid`;
      const exporter = accounts?.[ref.account];
      if (exporter === undefined) return `"${ref.account}" account not defined for ${kind} import`;
      if (i.to !== undefined && !isValidSubject(i.to)) return `Error adding ${kind} import "${ref.subject}": subject "${i.to}" is not valid`;
      if (i.prefix !== undefined && (kind === "service" || !isValidLiteralSubject(i.prefix))) {
        return `Error adding ${kind} import "${ref.subject}": prefix "${i.prefix}" is not valid`;
      }
      if (findExport(exporter, kind, ref.subject, name) === null) {
        return `Error adding ${kind} import "${ref.subject}": ${kind} import not authorized`;
      }
      if (accounts !== null && formsCycle(accounts, name, kind, ref.account, kind === "stream" ? localSubject(i) : ref.subject, new Set())) {
        return `Error adding ${kind} import "${ref.subject}": import forms a cycle`;
      }
    }
  }
  if (noAuthUser !== "") {
    const known = userAccounts(top, accounts);
    if (!known.has(noAuthUser)) return `no_auth_user: "${noAuthUser}" not present as user in authorization block or account configuration`;
  }
  return null;
}

/** Where an import's messages appear (stream) or its requests are taken (service) in the importer. */
export function localSubject(i: ImportOption): string {
  const ref = (i.stream ?? i.service)!;
  if (i.service !== undefined) return i.to ?? ref.subject;
  const local = i.to ?? ref.subject;
  return i.prefix !== undefined && i.prefix !== "" ? `${i.prefix}.${local}` : local;
}

/**
 * nats-server's import cycle check: `importer` imports from `exporter`; for a stream, whether
 * the exporter (or an account it imports from, and so on) imports `subject` back from the
 * importer; for a service, whether a request landing on `subject` in the exporter is itself
 * taken by one of the exporter's service imports leading back to the importer.
 */
function formsCycle(accounts: AccountsOptions, importer: string, kind: "stream" | "service", exporter: string,
  subject: string, visited: Set<string>): boolean {
  if (visited.has(exporter)) return false;
  visited.add(exporter);
  for (const i of accounts[exporter]?.imports ?? []) {
    const ref = kind === "stream" ? i.stream : i.service;
    if (ref === undefined) continue;
    const local = localSubject(i);
    if (!subjectsCollide(subject, local)) continue;
    if (ref.account === importer) return true;
    if (formsCycle(accounts, importer, kind, ref.account, kind === "stream" ? subject : ref.subject, visited)) return true;
  }
  return false;
}

/** The export of `exporter` that lets `importer` import `subject`, or null (not authorized). */
export function findExport(exporter: AccountOptions, kind: "stream" | "service", subject: string, importer: string): ExportOption | null {
  for (const e of exporter.exports ?? []) {
    const s = kind === "stream" ? e.stream : e.service;
    if (s === undefined) continue;
    if (e.accounts !== undefined && !e.accounts.includes(importer)) continue;
    if (s === subject || patternCovers(s, subject)) return e;
  }
  return null;
}

/**
 * A subject mapping from pattern `from` to pattern `to`: the wildcard tokens a subject matched in
 * `from` fill the wildcards of `to`, in order (`help.*` → `h.*`, `a.>` → `b.>`). A literal `to`
 * is used as it is.
 */
export function subjectMapper(from: string, to: string): (subject: string) => string {
  if (from === to) return (s) => s;
  const ft = from.split(".");
  const tt = to.split(".");
  if (!tt.some((t) => t === "*" || t === ">")) return () => to;
  return (subject) => {
    const st = subject.split(".");
    const stars: string[] = [];
    let tail = "";
    for (let i = 0; i < ft.length; i++) {
      if (ft[i] === "*") stars.push(st[i]!);
      else if (ft[i] === ">") tail = st.slice(i).join(".");
    }
    let k = 0;
    const out: string[] = [];
    for (const t of tt) {
      if (t === "*") out.push(stars[k++] ?? "*");
      else if (t === ">") out.push(tail);
      else out.push(t);
    }
    return out.join(".");
  };
}
