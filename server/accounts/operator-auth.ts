// Tested by test/server/operator.test.ts.
// Operator mode's authentication, in nats-server's order (its processClientOrLeafAuthentication):
// the CONNECT carries a user JWT; its account must be known and trusted, the JWT signed by the
// account or one of its signing keys (a scoped key's template then gives the permissions), and
// the client proves it holds the user's key by signing the INFO nonce (unless the JWT is a
// bearer token). Revocations, source networks, connect times, connection types, the account's
// connection limit and the expiry of both JWTs are checked here; a refusal is logged at debug
// with nats-server's reason and answered 'Authorization Violation' by the connection.
import type { Logger } from "pino";
import type { ConnectOptions } from "../../protocol/connect.js";
import { Authenticator, verifyNonce, type AuthenticatedUser, type BcryptCache, type PeerInfo } from "../auth/auth.js";
import type { CertIdentity } from "../auth/cert-identity.js";
import {
  connectionTypeAllowed, connectTimes, decodeTyped, isPublicKey, isRevoked, jwtPermissions, jwtVersion, limit, peekClaims, sourceAllowed, timeIssue,
  type Claims, type Nats,
} from "../auth/jwt.js";
import type { OperatorAccounts, JwtAccount, SigningScope } from "./operator.js";

/** nats-server's error when an account is at its connection limit. */
export const MAX_ACCOUNT_CONNECTIONS = "maximum account active connections exceeded";

export class OperatorAuthenticator extends Authenticator {
  constructor(private readonly accounts: OperatorAccounts, private readonly log: Logger,
    /** Clients connected in an account now. */
    private readonly connections: (account: string) => number) {
    super({});
  }

  override get nonceRequired(): boolean {
    return true;
  }

  /** A user of an account this server does not hold (or of one importing from such): the JWTs are asked of the other servers first (nats-server's fetch). */
  override pending(opts: ConnectOptions): Promise<void> | null {
    if (opts.jwt === "" || this.accounts.fetcher === null) return null;
    // Unchecked here: authenticate() checks the signature once the accounts are in.
    const uc = peekClaims(opts.jwt);
    if (uc === null) return null;
    const ia = uc.nats?.issuer_account;
    const id = typeof ia === "string" && ia !== "" ? ia : uc.iss;
    return typeof id === "string" ? this.accounts.prepare(id) : null;
  }

  override authenticate(opts: ConnectOptions, nonce: string, _cache: BcryptCache, _cert: CertIdentity | null = null,
    peer: PeerInfo = { host: "", type: "STANDARD" }): AuthenticatedUser | null {
    const deny = (why: string, level: "debug" | "error" = "debug"): null => {
      this.log[level]({ reason: why }, why);
      return null;
    };
    if (opts.jwt === "") return deny("Authentication requires a user JWT");
    let uc: Claims;
    try {
      uc = decodeTyped(opts.jwt, "user");
    } catch (e) {
      return deny(`User JWT not valid: ${(e as Error).message}`);
    }
    if (!isPublicKey(uc.sub, "U")) return deny("User JWT not valid: not a user public key");
    const issue = timeIssue(uc);
    if (issue !== null) return deny(`User JWT no longer valid: ${issue}`);
    const issuerAccount = typeof uc.nats.issuer_account === "string" && uc.nats.issuer_account !== "" ? uc.nats.issuer_account : uc.iss;
    const acc = this.accounts.lookup(issuerAccount);
    if (acc === null) return deny(`Account JWT lookup error: ${issuerAccount} not found`);
    if (!acc.signingKeys.has(uc.iss)) return deny("User JWT issuer is not known");
    let n: Nats = uc.nats;
    const scope = acc.signingKeys.get(uc.iss) ?? null;
    if (scope !== null) {
      if (!emptyPermissions(n)) return deny("User JWT is not valid: scoped users require no permissions or limits set");
      const t = applyTemplate(scope, uc, acc);
      if (t === null) return deny("User JWT generated invalid permissions");
      n = { ...t, bearer_token: n.bearer_token ?? t.bearer_token, allowed_connection_types: t.allowed_connection_types ?? n.allowed_connection_types };
    }
    if (this.accounts.expired(acc)) return deny("Account JWT has expired");
    const accLimits = (typeof acc.claims.nats.limits === "object" && acc.claims.nats.limits !== null ? acc.claims.nats.limits : {}) as Nats;
    const bearer = n.bearer_token === true;
    if (bearer && (accLimits.disallow_bearer === true || acc.claims.nats.disallow_bearer === true)) return deny("Account does not allow bearer tokens");
    if (!connectionTypeAllowed(n.allowed_connection_types, peer.type)) return deny("Connection type not allowed");
    if (!bearer) {
      if (opts.sig === "") return deny("Signature missing");
      if (!verifyNonce(uc.sub, nonce, opts.sig)) return deny("Signature not verified");
    }
    if (isRevoked(acc.claims.nats.revocations, uc.sub, uc.iat)) return deny("User authentication revoked");
    if (!sourceAllowed(n.src, peer.host)) return deny(`Bad src Ip ${peer.host}`, "error");
    const times = connectTimes(n);
    if (!times.allowed) return deny("Outside connect times", "error");

    let expiresAt: number | undefined;
    if (typeof uc.exp === "number" && uc.exp > 0) {
      // nats-server counts whole seconds from the second the client connected in.
      const now = Math.floor(Date.now() / 1000);
      expiresAt = Date.now() + Math.max(0, uc.exp - now) * 1000;
    }
    if (times.validForMs > 0) expiresAt = Math.min(expiresAt ?? Infinity, Date.now() + times.validForMs);
    const permissions = jwtPermissions(n) ?? jwtPermissions((acc.claims.nats.default_permissions ?? {}) as Nats);
    // A scoped key's template is the user's limits (its JWT carries none of its own). nats-server
    // migrates a version 1 user JWT with no limits; an account's limits it reads as they are.
    const uv = scope !== null ? 2 : jwtVersion(uc);
    const av = 2;
    const user: AuthenticatedUser = {
      name: uc.sub,
      permissions,
      account: acc.id,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      maxSubscriptions: minLimit(limit(n, "subs", uv), limit(accLimits, "subs", av)),
      maxPayload: minLimit(limit(n, "payload", uv), limit(accLimits, "payload", av)),
      maxLeafnodes: limit(accLimits, "leaf", av),
    };
    const maxConns = limit(accLimits, "conn", av);
    if (maxConns >= 0 && this.connections(acc.id) >= maxConns) return { ...user, refused: MAX_ACCOUNT_CONNECTIONS };
    return user;
  }

  /** Whether a connected client's user JWT is revoked by its account's JWT now. */
  revoked(opts: ConnectOptions): boolean {
    try {
      const uc = decodeTyped(opts.jwt, "user");
      const id = typeof uc.nats.issuer_account === "string" && uc.nats.issuer_account !== "" ? uc.nats.issuer_account : uc.iss;
      const acc: JwtAccount | undefined = this.accounts.known.get(id);
      return acc !== undefined && isRevoked(acc.claims.nats.revocations, uc.sub, uc.iat);
    } catch {
      return false;
    }
  }
}

/** The smaller of two limits where -1 is none. */
function minLimit(a: number, b: number): number {
  if (a < 0) return b;
  if (b < 0) return a;
  return Math.min(a, b);
}

/** nats-server's HasEmptyPermissions: a user of a scoped key sets nothing of its own. */
export function emptyPermissions(n: Nats): boolean {
  const empty = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && Object.values(v as object).every((x) => empty(x)));
  if (!empty(n.pub) || !empty(n.sub) || !empty(n.resp) || !empty(n.src) || !empty(n.times)) return false;
  for (const k of ["subs", "data", "payload"]) if (n[k] !== undefined && n[k] !== -1) return false;
  return true;
}

const MUSTACHE = /\{\{[^}]*\}\}/g;

/**
 * nats-server's processUserPermissionsTemplate: `{{name()}}`, `{{subject()}}`,
 * `{{account-name()}}`, `{{account-subject()}}`, `{{tag(x)}}` and `{{account-tag(x)}}` in the
 * scope's pub/sub lists are filled in (a tag with several values gives one entry per value).
 * Null when a template names something the JWTs do not have.
 */
export function applyTemplate(scope: SigningScope, uc: Claims, acc: JwtAccount): Nats | null {
  const tagValues = (tags: unknown, name: string): string[] =>
    (Array.isArray(tags) ? tags : []).filter((t): t is string => typeof t === "string" && t.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      .map((t) => t.slice(name.length + 1));
  const valuesOf = (op: string): string[] | null => {
    const o = op.trim();
    const l = o.toLowerCase();
    if (l === "name()") return [uc.name];
    if (l === "subject()") return [uc.sub];
    if (l === "account-name()") return [acc.claims.name];
    if (l === "account-subject()") return [acc.id];
    let m = /^tag\((.*)\)$/i.exec(o);
    if (m !== null) return tagValues(uc.nats.tags, m[1]!);
    m = /^account-tag\((.*)\)$/i.exec(o);
    if (m !== null) return tagValues(acc.claims.nats.tags, m[1]!);
    return null;
  };
  const expand = (list: unknown): string[] | null => {
    const out: string[] = [];
    for (const entry of Array.isArray(list) ? list : []) {
      if (typeof entry !== "string") continue;
      let variants = [entry];
      for (const tk of entry.match(MUSTACHE) ?? []) {
        const vals = valuesOf(tk.slice(2, -2));
        if (vals === null || vals.length === 0) return null;
        variants = variants.flatMap((v) => vals.map((x) => v.replace(tk, x)));
      }
      out.push(...variants);
    }
    return out;
  };
  const t = { ...scope.template };
  for (const k of ["pub", "sub"] as const) {
    const p = t[k];
    if (typeof p !== "object" || p === null) continue;
    const src = p as Record<string, unknown>;
    const allow = expand(src.allow);
    const deny = expand(src.deny);
    if (allow === null || deny === null) return null;
    t[k] = { allow, deny };
  }
  return t;
}
