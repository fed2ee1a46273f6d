// Tested by test/server/operator.test.ts and test/server/operator-resolver.test.ts.
// Operator mode's accounts, as nats-server keeps them: an account exists once its JWT (from the
// resolver) is signed by a trusted operator key; its exports, imports (with activation tokens),
// JetStream limits, signing keys (plain and scoped), revocations and expiry come from the JWT.
// The accounts are ordinary accounts of the AccountRegistry, added when first needed.
import type { Logger } from "pino";
import { decodeTyped, isPublicKey, isRevoked, jwtVersion, limit, timeIssue, type Claims, type Nats } from "../auth/jwt.js";
import { patternCovers } from "../auth/permissions.js";
import type { Account, AccountRegistry } from "./accounts.js";
import type { AccountResolver } from "./resolver.js";
import type { OperatorTrust } from "./operator-options.js";
import type { AccountJetStreamLimits, AccountOptions, ExportOption, ImportOption, ResponseType } from "./options.js";

/** What the accounts need of the server. */
export interface OperatorHost {
  readonly log: Logger;
  readonly registry: AccountRegistry;
  /** A new account: start its JetStream (or the answer that it has none). */
  accountStarted(acc: Account): void;
  /** An account's JWT expired: its clients are closed ("Account Authentication Expired"). */
  accountExpired(account: string): void;
  /** An account's JWT changed: its clients are checked again (revocations, signing keys). */
  accountUpdated(account: string): void;
  /**
   * An account's JetStream is to follow its JWT again (its JetStream limits changed, or the
   * account came back after a delete); `deleted`: the account was deleted, its JetStream stops.
   */
  jetStreamChanged(acc: Account, deleted: boolean): void;
}

/** A scoped signing key's template (nats-server's UserScope). */
export interface SigningScope {
  key: string;
  role: string;
  template: Nats;
}

/** An account known from its JWT. */
export interface JwtAccount {
  readonly id: string;
  claims: Claims;
  jwt: string;
  readonly account: Account;
  /** The account's own key and its signing keys; a scope for scoped ones (else null). */
  signingKeys: Map<string, SigningScope | null>;
  expiryTimer: NodeJS.Timeout | null;
}

/** nats-server's bound on import chains resolved at once. */
const MAX_DEPTH = 8;
/** Timers cannot wait longer than this (about 24.8 days); longer expiries are checked again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class OperatorAccounts {
  readonly known = new Map<string, JwtAccount>();

  /** Accounts deleted from the resolver (allow_delete): as expired until a new JWT comes. */
  private readonly deleted = new Set<string>();

  /**
   * Asks the other servers for an account JWT this server does not hold (the full resolver, over
   * the system account: claims-api.ts); null when there is no one to ask.
   */
  fetcher: ((account: string) => Promise<string | null>) | null = null;
  /** Lookups under way, one per account whatever the number of clients waiting on it. */
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(readonly trust: OperatorTrust, readonly resolver: AccountResolver, private readonly host: OperatorHost) {}

  /**
   * Check an account JWT: a valid signature, an account claim, issued by a trusted operator key,
   * not expired. Returns its claims, or nats-server's reason.
   */
  checkAccountJwt(jwt: string): Claims | string {
    let c: Claims;
    try {
      c = decodeTyped(jwt, "account");
    } catch (e) {
      return (e as Error).message;
    }
    if (!isPublicKey(c.sub, "A")) return "not a valid public account key";
    if (!this.trust.keys.has(c.iss)) return "account not trusted";
    const invalid = limitsViolated(c);
    if (invalid !== null) return invalid;
    const issue = timeIssue(c);
    if (issue !== null) return issue;
    return c;
  }

  /** The account `id`, resolved (and started) on first use; null when unknown or not valid. */
  lookup(id: string, depth = 0): JwtAccount | null {
    const have = this.known.get(id);
    if (have !== undefined) return have;
    if (depth > MAX_DEPTH || !isPublicKey(id, "A")) return null;
    const jwt = this.resolver.fetch(id);
    if (jwt === null) {
      this.host.log.debug({ account: id }, "account JWT lookup error: not found");
      return null;
    }
    const c = this.checkAccountJwt(jwt);
    if (typeof c === "string" || c.sub !== id) {
      this.host.log.error({ account: id, error: typeof c === "string" ? c : "subject does not match" }, "account JWT not valid");
      return null;
    }
    return this.register(id, c, jwt, depth);
  }

  /**
   * Before an account is first used, when the other servers can be asked: its JWT if the resolver
   * does not hold it, then those of the accounts it imports from that it does not hold either
   * (nats-server looks each exporter up as it resolves the imports), so that lookup() finds them
   * all. What they answer is stored, checked as a claims update is. Null: nothing to wait for.
   */
  prepare(id: string, seen: Set<string> = new Set()): Promise<void> | null {
    if (this.fetcher === null || this.known.has(id) || seen.has(id) || seen.size > MAX_DEPTH || !isPublicKey(id, "A")) return null;
    seen.add(id);
    if (this.resolver.fetch(id) !== null) return this.prepareImports(id, seen);
    return this.fetch(id).then(() => this.prepareImports(id, seen) ?? undefined);
  }

  /** The exporters an account held by the resolver imports from, fetched when not held. */
  private prepareImports(id: string, seen: Set<string>): Promise<void> | null {
    const jwt = this.resolver.fetch(id);
    if (jwt === null) return null;
    let imports: unknown;
    try {
      imports = decodeTyped(jwt, "account").nats.imports;
    } catch {
      return null;
    }
    const waits: Promise<void>[] = [];
    for (const raw of Array.isArray(imports) ? imports : []) {
      const from = (raw as Record<string, unknown>).account;
      if (typeof from !== "string") continue;
      const w = this.prepare(from, seen);
      if (w !== null) waits.push(w);
    }
    return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
  }

  /** nats-server's fetch: the account's JWT asked of the other servers (one lookup per account at a time). */
  private fetch(id: string): Promise<void> {
    const under = this.fetching.get(id);
    if (under !== undefined) return under;
    const fetcher = this.fetcher;
    if (fetcher === null) return Promise.resolve();
    const p = fetcher(id).then((jwt) => {
      if (jwt === null || jwt === "") {
        this.host.log.debug({ account: id }, "account JWT lookup error: account jwt not found");
        return;
      }
      const err = this.update(jwt, id);
      if (err !== null) this.host.log.error({ account: id, error: err }, "account JWT fetched from another server not valid");
      else this.host.log.debug({ account: id }, "account JWT fetched from another server");
    }, (e: unknown) => {
      this.host.log.error({ account: id, err: e }, "account JWT lookup failed");
    }).finally(() => this.fetching.delete(id));
    this.fetching.set(id, p);
    return p;
  }

  /** An account's exports and imports wired again from its JWT. */
  private rewire(a: JwtAccount): void {
    this.host.registry.rewire(a.account, accountOptions(a.claims).exports, this.allowedImports(a.id, a.claims, 0));
    this.host.log.debug({ account: a.id }, "account exports and imports rewired from its JWT");
  }

  /** Every known account whose JWT imports from `exporter`, wired again. */
  private rewireImportersOf(exporter: string): void {
    for (const other of [...this.known.values()]) {
      if (other.id === exporter) continue;
      const imports = Array.isArray(other.claims.nats.imports) ? other.claims.nats.imports : [];
      if (imports.some((i) => (i as Record<string, unknown>).account === exporter)) this.rewire(other);
    }
  }

  private register(id: string, c: Claims, jwt: string, depth: number): JwtAccount {
    const reg = this.host.registry;
    const config = accountOptions(c);
    // Imports: only those the exporter's JWT allows (public, or with a valid activation).
    config.imports = this.allowedImports(id, c, depth);
    const existing = reg.get(id);
    const account = existing ?? reg.add(id, config);
    const entry: JwtAccount = { id, claims: c, jwt, account, signingKeys: signingKeys(c), expiryTimer: null };
    this.known.set(id, entry);
    this.armExpiry(entry);
    if (existing === undefined) this.host.accountStarted(account);
    // Accounts already in use that import from this one skipped those imports: wired now (nats-server's incomplete imports).
    this.rewireImportersOf(id);
    this.host.log.debug({ account: id, name: c.name }, "account registered from its JWT");
    return entry;
  }

  private allowedImports(importer: string, c: Claims, depth: number): ImportOption[] {
    const out: ImportOption[] = [];
    for (const raw of Array.isArray(c.nats.imports) ? c.nats.imports : []) {
      const i = raw as Record<string, unknown>;
      const account = typeof i.account === "string" ? i.account : "";
      const subject = typeof i.subject === "string" ? i.subject : "";
      const kind = i.type === "service" ? "service" : "stream";
      if (account === "" || subject === "" || account === importer) continue;
      const exporter = this.lookup(account, depth + 1);
      if (exporter === null) {
        this.host.log.debug({ account: importer, from: account }, "import skipped: exporting account not found");
        continue;
      }
      const exp = findJwtExport(exporter.claims, kind, subject);
      if (exp === null) {
        this.host.log.debug({ account: importer, subject }, `${kind} import not authorized`);
        continue;
      }
      if (exp.token_req === true && !this.activationValid(exporter, exp, importer, subject, i.token)) {
        this.host.log.debug({ account: importer, subject }, `${kind} import not authorized: activation token not valid`);
        continue;
      }
      const local = typeof i.local_subject === "string" && i.local_subject !== "" ? i.local_subject : typeof i.to === "string" && i.to !== "" ? i.to : "";
      const imp: ImportOption = { [kind]: { account, subject } };
      if (kind === "service" && local !== "") imp.to = local;
      if (kind === "stream") {
        if (typeof i.local_subject === "string" && i.local_subject !== "") imp.to = i.local_subject;
        else if (typeof i.to === "string" && i.to !== "") imp.prefix = i.to;
      }
      out.push(imp);
    }
    return out;
  }

  /** nats-server's checkActivation: signed by the exporter (or its signing key), for this importer and subject, not expired or revoked. */
  private activationValid(exporter: JwtAccount, exp: Record<string, unknown>, importer: string, subject: string, token: unknown): boolean {
    if (typeof token !== "string" || token === "") return false;
    let act: Claims;
    try {
      act = decodeTyped(token, "activation");
    } catch {
      return false;
    }
    if (timeIssue(act) !== null || act.sub !== importer) return false;
    const issuer = typeof act.nats.issuer_account === "string" && act.nats.issuer_account !== "" ? act.nats.issuer_account : act.iss;
    if (issuer !== exporter.id || !exporter.signingKeys.has(act.iss)) return false;
    const actSubject = typeof act.nats.subject === "string" ? act.nats.subject : "";
    if (actSubject !== subject && !patternCovers(actSubject, subject)) return false;
    return !isRevoked(exp.revocations, act.sub, act.iat);
  }

  /**
   * A claims update (nats-server's $SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE): checked, stored by the
   * resolver, applied to a known account (signing keys, revocations, limits, expiry; exports and
   * imports as of the next start). Returns an error text, or null when taken.
   */
  update(jwt: string, expectedId = ""): string | null {
    const c = this.checkAccountJwt(jwt);
    if (typeof c === "string") return c;
    if (expectedId !== "" && c.sub !== expectedId) return "subject does not match";
    const have = this.known.get(c.sub);
    if (have !== undefined && c.iat < have.claims.iat) return "jwt is older than the one held";
    if (!this.resolver.store(c.sub, jwt)) return "resolver is read only";
    const wasDeleted = this.deleted.delete(c.sub);
    if (have === undefined) return null;
    const exportsChanged = JSON.stringify(have.claims.nats.exports ?? null) !== JSON.stringify(c.nats.exports ?? null);
    const importsChanged = JSON.stringify(have.claims.nats.imports ?? null) !== JSON.stringify(c.nats.imports ?? null);
    have.claims = c;
    have.jwt = jwt;
    have.signingKeys = signingKeys(c);
    this.armExpiry(have);
    // Exports and imports as the new JWT has them (nats-server's updateAccountClaims), and the
    // imports of accounts importing from this one checked again against its new exports.
    if (exportsChanged || importsChanged) this.rewire(have);
    if (exportsChanged) this.rewireImportersOf(c.sub);
    this.host.accountUpdated(c.sub);
    // JetStream follows the new JWT (nats-server's updateAccountClaims): enabled, disabled or new limits.
    const js = accountOptions(c).jetstream;
    const config = have.account.config;
    if (wasDeleted || JSON.stringify(js) !== JSON.stringify(config.jetstream)) {
      if (js === undefined) delete config.jetstream;
      else config.jetstream = js;
      this.host.jetStreamChanged(have.account, false);
    }
    return null;
  }

  private armExpiry(a: JwtAccount): void {
    if (a.expiryTimer !== null) clearTimeout(a.expiryTimer);
    a.expiryTimer = null;
    const exp = a.claims.exp;
    if (typeof exp !== "number" || exp <= 0) return;
    const ms = exp * 1000 - Date.now();
    a.expiryTimer = setTimeout(() => {
      a.expiryTimer = null;
      if (Date.now() < exp * 1000) return this.armExpiry(a);
      this.host.log.info({ account: a.id }, "account JWT expired");
      this.host.accountExpired(a.id);
    }, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
    a.expiryTimer.unref();
  }

  /**
   * A claims delete (nats-server's $SYS.REQ.CLAIMS.DELETE, its removeCb): the JWT leaves the
   * resolver, and the account, if in use, is as expired: its clients are closed and no one
   * connects to it until a claims update brings it back. Returns an error text, or null.
   */
  remove(id: string): string | null {
    if (!this.resolver.remove(id)) return "store is not set up to for delete";
    this.deleted.add(id);
    const a = this.known.get(id);
    if (a !== undefined) {
      this.host.log.debug({ account: id }, `Disable account ${id} due to remove`);
      this.host.accountExpired(id);
      // Its JetStream too (nats-server's removeCb: disableJetStream); what it stored stays on disk.
      this.host.jetStreamChanged(a.account, true);
    }
    return null;
  }

  /** Whether the account's JWT has expired (or the account was deleted). */
  expired(a: JwtAccount): boolean {
    if (this.deleted.has(a.id)) return true;
    // From the expiry's first millisecond, when its clients were closed.
    const exp = a.claims.exp;
    return typeof exp === "number" && exp > 0 && exp * 1000 <= Date.now();
  }

  close(): void {
    for (const a of this.known.values()) if (a.expiryTimer !== null) clearTimeout(a.expiryTimer);
  }
}

const MORE_IMPORTS = "the account contains more imports than allowed by the operator";
const MORE_EXPORTS = "the account contains more exports than allowed by the operator";

/**
 * The account JWT's own limits on its imports and exports, as nats-server's claim validation
 * checks them (a limit left out is 0 in a version 2 JWT; the imports error is given twice, as
 * nats-server's validation adds it twice). Null when within them.
 */
export function limitsViolated(c: Claims): string | null {
  const lim = (typeof c.nats.limits === "object" && c.nats.limits !== null ? c.nats.limits : {}) as Nats;
  const v = jwtVersion(c);
  const count = (x: unknown): number => (Array.isArray(x) ? x.length : 0);
  const errs: string[] = [];
  const imports = limit(lim, "imports", v);
  if (imports >= 0 && count(c.nats.imports) > imports) errs.push(MORE_IMPORTS, MORE_IMPORTS);
  const exports = limit(lim, "exports", v);
  if (exports >= 0 && count(c.nats.exports) > exports) errs.push(MORE_EXPORTS);
  return errs.length === 0 ? null : `validation errors: [${errs.join(" ")}]`;
}

/** The account's own key and its signing keys (nats-server's Account.signingKeys). */
function signingKeys(c: Claims): Map<string, SigningScope | null> {
  const out = new Map<string, SigningScope | null>([[c.sub, null]]);
  for (const k of Array.isArray(c.nats.signing_keys) ? c.nats.signing_keys : []) {
    if (typeof k === "string") out.set(k, null);
    else if (typeof k === "object" && k !== null) {
      const s = k as Record<string, unknown>;
      if (s.kind === "user_scope" && typeof s.key === "string") {
        out.set(s.key, { key: s.key, role: typeof s.role === "string" ? s.role : "", template: (s.template ?? {}) as Nats });
      }
    }
  }
  return out;
}

/** The export of an account JWT that covers `subject`, or null. */
function findJwtExport(c: Claims, kind: "stream" | "service", subject: string): Record<string, unknown> | null {
  for (const raw of Array.isArray(c.nats.exports) ? c.nats.exports : []) {
    const e = raw as Record<string, unknown>;
    if ((e.type === "service" ? "service" : "stream") !== kind || typeof e.subject !== "string") continue;
    if (e.subject === subject || patternCovers(e.subject, subject)) return e;
  }
  return null;
}

/** An account JWT's exports and JetStream as the registry's account options (imports are checked apart). */
export function accountOptions(c: Claims): AccountOptions {
  const n = c.nats;
  const exports: ExportOption[] = [];
  for (const raw of Array.isArray(n.exports) ? n.exports : []) {
    const e = raw as Record<string, unknown>;
    if (typeof e.subject !== "string") continue;
    if (e.type === "service") {
      const x: ExportOption = { service: e.subject };
      const rt = typeof e.response_type === "string" ? e.response_type.toLowerCase() : "";
      if (rt === "stream" || rt === "chunked" || rt === "singleton") x.responseType = rt as ResponseType;
      if (typeof e.response_threshold === "number" && e.response_threshold > 0) x.responseThreshold = e.response_threshold / 1e6;
      exports.push(x);
    } else {
      exports.push({ stream: e.subject });
    }
  }
  const out: AccountOptions = { exports };
  const js = jetStreamLimits(n);
  if (js !== null) out.jetstream = js;
  return out;
}

/**
 * JetStream of an account JWT: enabled when it grants memory or disk storage (in its limits or
 * its R1 tier), as nats-server decides; -1 is unlimited.
 */
export function jetStreamLimits(n: Nats): AccountJetStreamLimits | null {
  const lim = (typeof n.limits === "object" && n.limits !== null ? n.limits : {}) as Nats;
  const tiers = (typeof lim.tiered_limits === "object" && lim.tiered_limits !== null ? lim.tiered_limits : {}) as Record<string, Nats>;
  const tier = "R1" in tiers ? "R1" : Object.keys(tiers)[0];
  const t = tier === undefined ? undefined : tiers[tier];
  const tiered = t !== undefined && typeof t === "object" && t !== null;
  const src: Nats = tiered ? t : lim;
  const mem = typeof src.mem_storage === "number" ? src.mem_storage : 0;
  const disk = typeof src.disk_storage === "number" ? src.disk_storage : 0;
  if (mem === 0 && disk === 0) return null;
  const out: AccountJetStreamLimits = { maxMemory: mem, maxStore: disk, maxStreams: limit(src, "streams"), maxConsumers: limit(src, "consumer") };
  const ackPending = limit(src, "max_ack_pending");
  if (ackPending > 0) out.maxAckPending = ackPending;
  const memStream = limit(src, "mem_max_stream_bytes");
  if (memStream > 0) out.memoryMaxStreamBytes = memStream;
  const diskStream = limit(src, "disk_max_stream_bytes");
  if (diskStream > 0) out.storageMaxStreamBytes = diskStream;
  if (src.max_bytes_required === true) out.maxBytesRequired = true;
  if (tiered && tier !== undefined) out.tier = tier;
  return out;
}
