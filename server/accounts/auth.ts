// `no_auth_user`: a client whose CONNECT carries no credentials at all is that user (and so in
// that user's account), as nats-server does. Credentials that are given are checked as usual.
import { sendsNoCredentials, type ConnectOptions } from "../../protocol/connect.js";
import { Authenticator, type AuthenticatedUser, type AuthorizationOptions, type BcryptCache } from "../auth/auth.js";

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
