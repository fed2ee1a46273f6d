// Tested by test/server/operator.test.ts and test/server/operator-resolver.test.ts.
// Operator mode put together for the server: the trusted operators, the resolver, the accounts
// (added to the registry as their JWTs are needed), the authenticator, and what happens to
// connected clients when an account expires or its JWT is updated.
import type { Logger } from "pino";
import type { ServerOptions } from "../options.js";
import type { ClientConnection } from "../core/connection.js";
import { Errors } from "../../protocol/errors.js";
import { defaultConnectOptions } from "../../protocol/connect.js";
import { AccountRegistry, type Account } from "./accounts.js";
import { DEFAULT_SYSTEM_ACCOUNT } from "./options.js";
import { operatorTrust } from "./operator-options.js";
import { DirResolver, MemoryResolver, type AccountResolver } from "./resolver.js";
import { OperatorAccounts } from "./operator.js";
import { MAX_ACCOUNT_CONNECTIONS, OperatorAuthenticator } from "./operator-auth.js";
import { limit } from "../auth/jwt.js";
import type { Router } from "../core/router.js";

export interface OperatorModeHost {
  readonly log: Logger;
  readonly clients: Map<number, ClientConnection>;
  readonly options: ServerOptions;
  /** The leafnode connections a hub accepted into an account with a user JWT. */
  accountLeafs(id: string): Iterable<OperatorLeaf>;
  /** Start an account's JetStream (or its "not enabled" answer), when the server has JetStream. */
  startAccountJetStream(acc: Account): void;
  /** Stop an account's JetStream and start it again as its config now says; `deleted`: stop it only. */
  restartAccountJetStream(acc: Account, deleted: boolean): void;
}

/** A leafnode connection as operator mode sees it: its user JWT, and how to cut it off. */
export interface OperatorLeaf {
  readonly userJwt: string;
  sendErrAndClose(text: string, reason: string): void;
}

export interface OperatorMode {
  readonly registry: AccountRegistry;
  readonly accounts: OperatorAccounts;
  readonly authenticator: OperatorAuthenticator;
  readonly resolver: AccountResolver;
  readonly systemAccount: string;
}

/** Build operator mode from options that have `operators` (already validated). */
export function operatorMode(o: ServerOptions, globalRouter: Router, host: OperatorModeHost): OperatorMode {
  const trust = operatorTrust(o.operators);
  const res = o.resolver!;
  const resolver = res.type === "full" ? new DirResolver(res.dir, res.allowDelete === true, o.resolverPreload) : new MemoryResolver(o.resolverPreload);
  const systemAccount = o.systemAccount || trust.systemAccount || DEFAULT_SYSTEM_ACCOUNT;
  const registry = new AccountRegistry(globalRouter, { [systemAccount]: {} }, systemAccount, []);
  let started = false;
  const accounts: OperatorAccounts = new OperatorAccounts(trust, resolver, {
    log: host.log,
    registry,
    accountStarted: (acc) => {
      if (started) host.startAccountJetStream(acc);
    },
    jetStreamChanged: (acc, deleted) => {
      if (started) host.restartAccountJetStream(acc, deleted);
    },
    accountExpired: (id) => {
      for (const c of [...host.clients.values()]) {
        if (c.account === id && c.connected && !c.closed) c.sendErrClose(Errors.AccountAuthenticationExpired);
      }
      // Its leafnode connections too, as nats-server expires every client of the account.
      for (const l of [...host.accountLeafs(id)]) l.sendErrAndClose(Errors.AccountAuthenticationExpired.text, "Authentication Expired");
    },
    accountUpdated: (id) => {
      // As nats-server: each client of the account is checked against the new JWT (a revoked
      // user, or one whose signing key is gone, is closed; a scope's new template applies), and
      // past a lowered connection limit the newest are closed, oldest kept.
      const claims = accounts.known.get(id)?.claims;
      const lim = (typeof claims?.nats.limits === "object" && claims.nats.limits !== null ? claims.nats.limits : {}) as Record<string, unknown>;
      const maxConns = limit(lim, "conn");
      let count = 0;
      const theirs = [...host.clients.values()].filter((c) => c.account === id && c.connected && !c.closed).sort((x, y) => x.cid - y.cid);
      for (const c of theirs) {
        if (maxConns >= 0 && count >= maxConns) {
          host.log.error({ cid: c.cid }, MAX_ACCOUNT_CONNECTIONS);
          c.sendErrClose(Errors.MaxAccountConnections);
          continue;
        }
        count++;
        if (authenticator.revoked(c.opts)) {
          host.log.debug({ cid: c.cid }, "user authentication revoked");
          c.sendErrClose(Errors.UserAuthenticationRevoked);
        } else {
          c.reauthorize(authenticator, false);
        }
      }
      // A leaf whose user the new JWT revokes is closed as a client is.
      for (const l of [...host.accountLeafs(id)]) {
        if (l.userJwt === "" || !authenticator.revoked({ ...defaultConnectOptions(), jwt: l.userJwt })) continue;
        host.log.debug("user authentication revoked (leafnode)");
        l.sendErrAndClose(Errors.UserAuthenticationRevoked.text, "Authentication Revoked");
      }
    },
  });
  const count = (id: string): number => {
    let n = 0;
    for (const c of host.clients.values()) if (c.account === id && c.connected && !c.closed) n++;
    return n;
  };
  const authenticator = new OperatorAuthenticator(accounts, host.log, count);
  // The system account (and every preloaded account) is known from the start, as in nats-server.
  for (const id of resolver.list()) {
    if (accounts.lookup(id) === null) host.log.warn({ account: id }, `Preloaded account [${id}] not valid`);
  }
  started = true;
  return { registry, accounts, authenticator, resolver, systemAccount };
}
