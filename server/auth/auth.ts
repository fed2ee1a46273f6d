// Client authentication as nats-server does it: one token, one user/password, or a list of
// users (by name and password, or by nkey). Stored secrets may be bcrypt hashes (`$2a$…`); plain
// ones are compared in constant time; nkey users sign the INFO nonce (ed25519).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import { fromPublic } from "./nkeys.js";
import type { ConnectOptions } from "../../protocol/connect.js";
import type { Permissions } from "./permissions.js";
import type { AuthThrottleOptions } from "./throttle.js";
import { mapCertToUser, type CertIdentity } from "./cert-identity.js";

/** One entry of `authorization { users: [...] }`. */
export interface UserEntry {
  user: string;
  password: string;
  permissions?: Permissions;
}

/** An nkey user: its public key (`U…`); it proves itself by signing the nonce. */
export interface NkeyUser {
  nkey: string;
  permissions?: Permissions;
}

/** nats-server's `authorization {}` block (and -auth / -user / -pass), camel-cased. */
export interface AuthorizationOptions {
  token?: string;
  user?: string;
  password?: string;
  users?: UserEntry[];
  /** nkey users (config: entries of `users` with an `nkey`). */
  nkeys?: NkeyUser[];
  /** ms a client has to send its CONNECT; nats-server's default is 2 s. */
  timeout?: number;
  /**
   * `default_permissions`: for users and nkey users that have none of their own (as in
   * nats-server, not for a token or the single user/password).
   */
  defaultPermissions?: Permissions;
  /**
   * gnat's backoff for repeated failed CONNECTs from one IP (see throttle.ts); false: off, as
   * nats-server. Not a nats-server config key: programmatic only.
   */
  throttle?: Partial<AuthThrottleOptions> | false;
  /** `auth_callout {}` (nats-server 2.10): a service decides who connects, and as whom. */
  callout?: AuthCalloutOptions;
}

/** nats-server 2.10's `authorization { auth_callout { issuer, auth_users, account, xkey } }`. */
export interface AuthCalloutOptions {
  /** The account public key (`A…`) the service signs the users it authorizes with. */
  issuer: string;
  /** Users (names or nkeys) authenticated as configured and never sent to the service: its own. */
  authUsers: string[];
  /** The account the requests are sent in (`$SYS.REQ.USER.AUTH`); `$G` when not given. */
  account: string;
  /** The service's public curve key (`X…`): requests are encrypted to it. */
  xkey?: string;
}

/** What a connection tells an auth callout about its client (the request's client_info and connect_opts). */
export interface CalloutClient {
  readonly opts: ConnectOptions;
  /** The nonce its INFO carried; "" when none. */
  readonly nonce: string;
  readonly cid: number;
  readonly host: string;
  /** nats-server's connection type: STANDARD, WEBSOCKET … */
  readonly type: string;
  /** The TLS session and the client's certificates (PEM); null on plain connections. */
  readonly tls: { readonly version: string; readonly cipher: string; readonly certs?: { verified: boolean; certs: string[] } } | null;
  /** Who its credentials alone made it (operator mode: the account the callout runs in); null: no one. */
  readonly user: AuthenticatedUser | null;
}

/**
 * Authorization decided elsewhere, later (an auth callout): the connection holds the client's
 * input until the answer comes. Built on the middle floor; the connection sees only this.
 */
export interface ExternalAuthorizer {
  /**
   * Whether this CONNECT goes to the service: everyone's but the auth users'. `user` is who the
   * credentials alone make it (operator mode: a user of an account whose JWT names auth users).
   */
  decides(opts: ConnectOptions, user: AuthenticatedUser | null): boolean;
  /** The user the service authorized, or null (refused, invalid answer, no answer in time). */
  authorize(client: CalloutClient): Promise<AuthenticatedUser | null>;
  /**
   * The permissions of any client accepted into `account`: in the callout account, publishing to
   * the callout subject is denied (nats-server's mergeDenyPermissions), auth users included.
   */
  restrict(account: string, permissions: Permissions | null): Permissions | null;
}

/** Who a connection authenticated as. */
export interface AuthenticatedUser {
  /** The user name, or the nkey of an nkey user; "" for a token. */
  readonly name: string;
  /** What it may publish and subscribe to; null: anything. */
  readonly permissions: Permissions | null;
  /** The account the credentials name (operator mode); absent: found by the user's name. */
  readonly account?: string;
  /** When the credentials stop being valid (ms since the epoch): the client is closed then. */
  readonly expiresAt?: number;
  /** The user's own limits (JWT); -1 or absent: the server's. */
  readonly maxSubscriptions?: number;
  readonly maxPayload?: number;
  /** The account's limit on leafnode connections (JWT `leaf`); -1 or absent: none. */
  readonly maxLeafnodes?: number;
  /** Refused with this error rather than 'Authorization Violation' (an account's connection limit). */
  readonly refused?: string;
}

/** What authentication may know of the peer: its IP and connection type (JWT `src`, `allowed_connection_types`). */
export interface PeerInfo {
  readonly host: string;
  /** nats-server's connection type: STANDARD, WEBSOCKET … */
  readonly type: string;
}

/** nats-server's AUTH_TIMEOUT. */
export const DEFAULT_AUTH_TIMEOUT_MS = 2000;

/**
 * The auth timeout in force, ms: the configured one, else nats-server's default, which with TLS
 * on is the TLS timeout plus a second (the handshake must not eat the client's time to CONNECT).
 */
export function authTimeoutMs(a: AuthorizationOptions | null, tlsTimeoutMs: number | null): number {
  return a?.timeout ?? (tlsTimeoutMs === null ? DEFAULT_AUTH_TIMEOUT_MS : tlsTimeoutMs + 1000);
}

/**
 * bcrypt hashes that matched on this connection: hash → the password that matched. Per
 * connection only, so a password change (a new server) or another client never rides on it.
 * bcrypt is slow by design; a client that sends CONNECT again should not pay it twice.
 */
export type BcryptCache = Map<string, string>;

const BCRYPT = /^\$2[abxy]\$\d{2}\$.*/;

/** Whether options turn authentication on. */
export function authRequired(a: AuthorizationOptions | null): boolean {
  return a !== null && (a.token !== undefined || a.user !== undefined || a.users !== undefined || a.nkeys !== undefined || a.callout !== undefined);
}

/** nats-server's configuration errors for combinations it refuses. Returns null when fine. */
export function authConfigError(a: AuthorizationOptions): string | null {
  const single = a.user !== undefined || a.password !== undefined;
  if (single && a.token !== undefined) return "Cannot have a user/pass and token";
  if (a.users !== undefined || a.nkeys !== undefined) {
    if (single) return "Can not have a single user/pass and a users array";
    if (a.token !== undefined) return "Can not have a token and a users array";
    const seen = new Set<string>();
    for (const u of a.users ?? []) {
      if (seen.has(u.user)) return `Duplicate user "${u.user}" detected`;
      seen.add(u.user);
    }
    for (const k of a.nkeys ?? []) {
      if (!isPublicUserKey(k.nkey)) return "Not a valid public nkey for a user";
      if (seen.has(k.nkey)) return `Duplicate nkey "${k.nkey}" detected`;
      seen.add(k.nkey);
    }
  }
  if (a.timeout !== undefined && (!Number.isFinite(a.timeout) || a.timeout <= 0)) return "authorization timeout must be positive";
  return a.callout === undefined ? null : calloutConfigError(a.callout);
}

/** nats-server's errors for an `auth_callout {}` block. Returns null when fine. */
export function calloutConfigError(c: AuthCalloutOptions): string | null {
  if (c.issuer === "") return "Authorization callouts require an issuer to be specified";
  if (!isPublicKeyOf(c.issuer, "A")) return `Expected callout user to be a valid public account nkey, got ${JSON.stringify(c.issuer)}`;
  if (c.xkey !== undefined && !isPublicKeyOf(c.xkey, "X")) return `Expected callout xkey to be a valid public xkey, got ${JSON.stringify(c.xkey)}`;
  if (c.authUsers.length === 0) return "Authorization callouts require authorized users to be specified";
  return null;
}

/** Checks CONNECT credentials against the configured ones. Built once per server. */
export class Authenticator {
  private readonly users: Map<string, UserEntry> | null;
  private readonly nkeys: Map<string, NkeyUser> | null;
  /** tls verify_and_map: users are named by the client certificate, not the CONNECT. */
  readonly tlsMap: boolean;
  /** An auth callout, when one is configured: it decides for every CONNECT but the auth users'. */
  external: ExternalAuthorizer | null = null;
  private readonly userNames: string[];

  constructor(private readonly config: AuthorizationOptions, opts: { tlsMap?: boolean } = {}) {
    this.tlsMap = opts.tlsMap === true && config.users !== undefined && config.users.length > 0;
    this.userNames = (config.users ?? []).map((u) => u.user);
    this.users = config.users === undefined ? null : new Map(config.users.map((u) => [u.user, u]));
    this.nkeys = config.nkeys === undefined || config.nkeys.length === 0 ? null : new Map(config.nkeys.map((k) => [k.nkey, k]));
  }

  /** Clients may skip CONNECT (no_auth_user, see accounts/auth.ts): no auth timer, no auth_required. */
  get connectOptional(): boolean {
    return false;
  }

  /** nkey users need a nonce in each client's INFO to sign. */
  get nonceRequired(): boolean {
    return this.nkeys !== null;
  }

  /**
   * Something this CONNECT's authentication needs that is still to come (operator mode: its
   * account's JWT, asked of the other servers); the connection holds the client's input until it
   * settles, then authenticates. Null: nothing to wait for.
   */
  pending(_opts: ConnectOptions): Promise<void> | null {
    return null;
  }

  /**
   * The user the CONNECT proves to be, or null. `nonce` is the one this connection's INFO
   * carried (nkey users sign it). The order is nats-server's: an nkey in the CONNECT is looked
   * up among the nkey users only; otherwise the users list, then a token, then a single user.
   * Under verify_and_map the users list is searched by the certificate's identity (`cert`).
   */
  authenticate(opts: ConnectOptions, nonce: string, cache: BcryptCache, cert: CertIdentity | null = null, _peer?: PeerInfo): AuthenticatedUser | null {
    const c = this.config;
    if (this.nkeys !== null && opts.nkey !== "") {
      const k = this.nkeys.get(opts.nkey);
      if (k === undefined || !verifyNonce(k.nkey, nonce, opts.sig)) return null;
      return { name: k.nkey, permissions: k.permissions ?? c.defaultPermissions ?? null };
    }
    if (this.users !== null && this.tlsMap) {
      const name = cert === null ? null : mapCertToUser(cert, this.userNames);
      const u = name === null ? undefined : this.users.get(name);
      return u === undefined ? null : { name: u.user, permissions: u.permissions ?? null };
    }
    if (this.users !== null) {
      const u = this.users.get(opts.user);
      if (u === undefined || !comparePasswords(u.password, opts.pass, cache)) return null;
      return { name: u.user, permissions: u.permissions ?? c.defaultPermissions ?? null };
    }
    if (c.token !== undefined) {
      return comparePasswords(c.token, opts.auth_token, cache) ? { name: "", permissions: null } : null;
    }
    if (c.user !== undefined) {
      if (opts.user !== c.user || !comparePasswords(c.password ?? "", opts.pass, cache)) return null;
      return { name: c.user, permissions: null };
    }
    return null;
  }
}

/** nats-server's nonce: 11 random bytes, base64url without padding (15 characters). */
export function newNonce(): string {
  return randomBytes(11).toString("base64url");
}

/** An ed25519 signature of the nonce, base64url (or, as nats-server also takes, std base64). */
export function verifyNonce(nkey: string, nonce: string, sig: string): boolean {
  if (sig === "" || nonce === "") return false;
  const bytes = /^[A-Za-z0-9_-]*$/.test(sig) ? Buffer.from(sig, "base64url") : Buffer.from(sig, "base64");
  try {
    return fromPublic(nkey).verify(Buffer.from(nonce, "latin1"), bytes);
  } catch {
    // A malformed key or signature proves nothing.
    return false;
  }
}

/** A public user nkey: `U…`, 56 characters, a valid checksum. */
export function isPublicUserKey(nkey: string): boolean {
  return isPublicKeyOf(nkey, "U");
}

/** A public nkey of the given prefix (U user, A account, X curve), 56 characters, a valid checksum. */
function isPublicKeyOf(nkey: string, prefix: "U" | "A" | "X"): boolean {
  if (!nkey.startsWith(prefix) || nkey.length !== 56) return false;
  try {
    fromPublic(nkey);
    return true;
  } catch {
    return false;
  }
}

/** nats-server's comparePasswords: bcrypt when the stored secret is a hash, else constant time. */
export function comparePasswords(stored: string, given: string, cache: BcryptCache): boolean {
  if (stored.startsWith("$") && BCRYPT.test(stored)) {
    if (cache.get(stored) === given) return true;
    let ok = false;
    try {
      ok = bcrypt.compareSync(given, stored);
    } catch {
      // A malformed hash matches nothing (Go's bcrypt returns an error too).
      ok = false;
    }
    if (ok) cache.set(stored, given);
    return ok;
  }
  // Hash both sides first: timingSafeEqual needs equal lengths, and the length must not leak.
  const a = createHash("sha256").update(stored).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
