// `no_auth_user`: a client whose CONNECT carries no credentials at all is that user (and so in
// that user's account), as nats-server does. Credentials that are given are checked as usual.
import { sendsNoCredentials, type ConnectOptions } from "../../protocol/connect.js";
import { Authenticator, authRequired, type AuthenticatedUser, type AuthorizationOptions, type BcryptCache } from "../auth/auth.js";
import { mergedAuthorization, type AccountsOptions } from "./options.js";

export class NoAuthUserAuthenticator extends Authenticator {
  private readonly fallback: AuthenticatedUser;

  constructor(config: AuthorizationOptions, noAuthUser: string, opts: { tlsMap?: boolean } = {}) {
    super(config, opts);
    const u = config.users?.find((x) => x.user === noAuthUser);
    const k = u === undefined ? config.nkeys?.find((x) => x.nkey === noAuthUser) : undefined;
    const perms = u?.permissions ?? k?.permissions;
    this.fallback = { name: noAuthUser, permissions: perms ?? null };
  }

  /** A client may go without CONNECT (nats-server leaves auth_required out of INFO too). */
  override get connectOptional(): boolean {
    return true;
  }

  override authenticate(opts: ConnectOptions, nonce: string, cache: BcryptCache): AuthenticatedUser | null {
    if (sendsNoCredentials(opts)) return this.fallback;
    return super.authenticate(opts, nonce, cache);
  }
}

/**
 * The authenticator for a config's authorization: users of every account authenticate through
 * one, as in nats-server; null when anyone may connect.
 */
export function authenticatorFor(auth: AuthorizationOptions | null, accounts: AccountsOptions | null, noAuthUser: string, tlsMap: boolean): Authenticator | null {
  const merged = mergedAuthorization(auth, accounts);
  if (merged === null || !authRequired(merged)) return null;
  const opts = { tlsMap };
  return noAuthUser !== "" ? new NoAuthUserAuthenticator(merged, noAuthUser, opts) : new Authenticator(merged, opts);
}
