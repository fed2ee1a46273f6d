// Client authentication as nats-server does it: one token, one user/password, or a list of
// users. Stored secrets may be bcrypt hashes (`$2a$…`); plain ones are compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import type { ConnectOptions } from "../../protocol/connect.js";

/** One entry of `authorization { users: [...] }`. */
export interface UserEntry {
  user: string;
  password: string;
}

/** nats-server's `authorization {}` block (and -auth / -user / -pass), camel-cased. */
export interface AuthorizationOptions {
  token?: string;
  user?: string;
  password?: string;
  users?: UserEntry[];
  /** ms a client has to send its CONNECT; nats-server's default is 2 s. */
  timeout?: number;
}

/** Who a connection authenticated as. */
export interface AuthenticatedUser {
  /** The user name; "" for a token. */
  readonly name: string;
}

/** nats-server's AUTH_TIMEOUT. */
export const DEFAULT_AUTH_TIMEOUT_MS = 2000;

/**
 * bcrypt hashes that matched on this connection: hash → the password that matched. Per
 * connection only, so a password change (a new server) or another client never rides on it.
 * bcrypt is slow by design; a client that sends CONNECT again should not pay it twice.
 */
export type BcryptCache = Map<string, string>;

const BCRYPT = /^\$2[abxy]\$\d{2}\$.*/;

/** Whether options turn authentication on. */
export function authRequired(a: AuthorizationOptions | null): boolean {
  return a !== null && (a.token !== undefined || a.user !== undefined || a.users !== undefined);
}

/** nats-server's configuration errors for combinations it refuses. Returns null when fine. */
export function authConfigError(a: AuthorizationOptions): string | null {
  const single = a.user !== undefined || a.password !== undefined;
  if (single && a.token !== undefined) return "Cannot have a user/pass and token";
  if (a.users !== undefined) {
    if (single) return "Can not have a single user/pass and a users array";
    if (a.token !== undefined) return "Can not have a token and a users array";
    const seen = new Set<string>();
    for (const u of a.users) {
      if (seen.has(u.user)) return `Duplicate user "${u.user}" detected`;
      seen.add(u.user);
    }
  }
  if (a.timeout !== undefined && (!Number.isFinite(a.timeout) || a.timeout <= 0)) return "authorization timeout must be positive";
  return null;
}

/** Checks CONNECT credentials against the configured ones. Built once per server. */
export class Authenticator {
  private readonly users: Map<string, UserEntry> | null;

  constructor(private readonly config: AuthorizationOptions) {
    this.users = config.users === undefined ? null : new Map(config.users.map((u) => [u.user, u]));
  }

  /** The user the CONNECT proves to be, or null. `nonce` is for nkeys (not yet supported). */
  authenticate(opts: ConnectOptions, _nonce: string, cache: BcryptCache): AuthenticatedUser | null {
    const c = this.config;
    if (this.users !== null) {
      const u = this.users.get(opts.user);
      if (u === undefined || !comparePasswords(u.password, opts.pass, cache)) return null;
      return { name: u.user };
    }
    if (c.token !== undefined) {
      return comparePasswords(c.token, opts.auth_token, cache) ? { name: "" } : null;
    }
    if (c.user !== undefined) {
      if (opts.user !== c.user || !comparePasswords(c.password ?? "", opts.pass, cache)) return null;
      return { name: c.user };
    }
    return null;
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
