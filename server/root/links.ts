// Tested by test/cluster/*.test.ts.
// What routes and leafnodes see of the server (ClusterHost and LeafNodesHost, one object for
// both): read through getters, so a reload's new options are what they see next. Part of the
// composition root.
import type { Logger } from "pino";
import { defaultConnectOptions } from "../../protocol/connect.js";
import type { AuthenticatedUser, Authenticator } from "../auth/auth.js";
import type { ClusterHost } from "../cluster/cluster.js";
import type { LeafNodesHost } from "../cluster/leafnodes.js";
import type { BufferPool } from "../core/outbound.js";
import type { Router } from "../core/router.js";
import type { ServerOptions } from "../options.js";

/** What the link host is made from. */
export interface LinkSource {
  readonly serverId: string;
  readonly serverName: string;
  readonly version: string;
  readonly log: Logger;
  readonly buffers: BufferPool;
  readonly options: ServerOptions;
  readonly authenticator: Authenticator | null;
  /** The cluster's name once it runs (null before, or without a cluster). */
  clusterName(): string | null;
  /** Every account's router. */
  routers(): Router[];
  /** An account by name: its router, and its JetStream or null. */
  account(name: string): { readonly router: Router; readonly jetstream: unknown } | undefined;
  /**
   * Operator mode: an account not in use yet that the resolver holds, registered now (nats-server
   * looks up the account a route's RS+ or RMSG names); null when none.
   */
  resolveAccount?(name: string): Router | null;
  readonly systemAccountName: string;
  accountNameFor(user: AuthenticatedUser): string;
  ownClientUrls(): string[];
  ownWebSocketUrls(): string[];
  connectUrlsChanged(): void;
  ownLeafUrls(): string[];
  peerLeafUrls(): string[];
  leafUrlsChanged(): void;
  nextCid(): number;
  markDirty(r: { dirty: boolean; flush(): void }): void;
}

export function linkHost(s: LinkSource): ClusterHost & LeafNodesHost {
  return {
    serverId: s.serverId,
    get serverName() { return s.serverName; },
    version: s.version,
    log: s.log,
    buffers: s.buffers,
    get maxPayload() { return s.options.maxPayload; },
    get maxControlLine() { return s.options.maxControlLine; },
    get maxPending() { return s.options.maxPending; },
    get pingInterval() { return s.options.pingInterval; },
    get pingMax() { return s.options.pingMax; },
    get jetstream() { return s.options.jetstream; },
    get jetStreamDomain() { return s.options.jetStreamDomain; },
    get systemAccount() { return s.systemAccountName; },
    // nats-server: a server with remotes and no cluster goes by its server name (when it has one).
    clusterName: () => s.clusterName()
      ?? ((s.options.leafnodes?.remotes.length ?? 0) > 0 ? s.options.serverName : ""),
    routers: () => s.routers(),
    routerFor: (name) => s.account(name)?.router ?? s.resolveAccount?.(name) ?? null,
    ownClientUrls: () => s.ownClientUrls(),
    ownWebSocketUrls: () => s.ownWebSocketUrls(),
    connectUrlsChanged: () => s.connectUrlsChanged(),
    ownLeafUrls: () => s.ownLeafUrls(),
    peerLeafUrls: () => s.peerLeafUrls(),
    leafUrlsChanged: () => s.leafUrlsChanged(),
    authenticate: (c) => {
      const auth = s.authenticator;
      if (auth === null) return { account: "$G", permissions: null };
      const o = defaultConnectOptions();
      o.user = c.user;
      o.pass = c.pass;
      o.jwt = c.jwt;
      o.nkey = c.nkey;
      o.sig = c.sig;
      const u = auth.authenticate(o, c.nonce, new Map(), null, { host: c.host, type: c.type });
      if (u === null) return null;
      return {
        account: s.accountNameFor(u), permissions: u.permissions,
        ...(u.expiresAt !== undefined ? { expiresAt: u.expiresAt } : {}),
        ...(u.maxLeafnodes !== undefined && u.maxLeafnodes >= 0 ? { maxLeafnodes: u.maxLeafnodes } : {}),
        ...(u.maxSubscriptions !== undefined && u.maxSubscriptions >= 0 ? { maxSubscriptions: u.maxSubscriptions } : {}),
      };
    },
    accountJetStream: (name) => (s.account(name)?.jetstream ?? null) !== null,
    nextCid: () => s.nextCid(),
    markDirty: (r) => s.markDirty(r),
  };
}
