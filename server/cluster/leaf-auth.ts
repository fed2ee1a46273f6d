// Tested by test/cluster/leafnodes.test.ts (authorization), test/cluster/leaf-domain.test.ts (the
// JetStream deny rules). What a hub lets an accepted leaf bind, and what of JetStream a leafnode
// connection may not carry: decisions of the leafnodes room (leafnodes.ts) that need no socket.
import type { Logger } from "pino";
import { comparePasswords } from "../auth/auth.js";
import type { Router } from "../core/router.js";
import type { LeafConn, LeafConnect } from "./leaf.js";
import type { LeafNodeOptions } from "./leaf-options.js";
import type { Permissions } from "../auth/permissions.js";

/** nats-server's error past an account's connection (here: leafnode) limit. */
const MAX_ACCOUNT_CONNECTIONS = "maximum account active connections exceeded";

/** The credentials of a leaf's CONNECT, checked as a client's. */
export interface LeafCredentials {
  user: string;
  pass: string;
  jwt: string;
  nkey: string;
  sig: string;
  /** The nonce our INFO carried (an nkey or a user JWT signs it). */
  nonce: string;
  /** The leaf's address (a JWT's `src`), and its connection type (LEAFNODE, LEAFNODE_WS). */
  host: string;
  type: string;
}

/** Who a leaf's credentials make it: the account it binds, its user's permissions, when they expire. */
export interface LeafIdentity {
  account: string;
  permissions: Permissions | null;
  /** ms since the epoch (a user JWT's expiry): the connection is closed then. */
  expiresAt?: number;
  /** The account's limit on leafnode connections (its JWT's `leaf`); absent: none. */
  maxLeafnodes?: number;
  /** The user's (and its account's) subscription limit (JWT `subs`); absent: none. */
  maxSubscriptions?: number;
}

/** What these decisions read of the server (LeafNodesHost has it all). */
export interface LeafAuthHost {
  readonly systemAccount: string;
  /** The JetStream domain ("" none). */
  readonly jetStreamDomain: string;
  readonly jetstream: boolean;
  /**
   * A leaf's CONNECT checked as a client's, when the leafnodes block has no authorization of its
   * own (users and nkeys of the server's authorization, or user JWTs in operator mode).
   */
  authenticate(c: LeafCredentials): LeafIdentity | null;
  routerFor(account: string): Router | null;
}

/** What a leafnode connection of an account other than the system's never carries (nats-server's denyAllClientJs). */
const DENY_CLIENT_JS = ["$JS.API.>", "$KV.>", "$OBJ.>"];
/** The same for the system account when JetStream is not extended across (denyAllJs). */
const DENY_ALL_JS = ["$JSC.>", "$NRG.>", "$JS.API.>", "$KV.>", "$OBJ.>"];

/**
 * The account an accepted leaf's CONNECT binds, with its user's permissions and expiry, or null
 * (refused: the connection is closed).
 */
export function authorizeLeaf(host: LeafAuthHost, options: LeafNodeOptions, log: Logger, l: LeafConn, c: LeafConnect,
  type: string, leafCount: (account: string) => number): { account: string; router: Router; permissions: Permissions | null; expiresAt?: number; maxSubscriptions?: number } | null {
  const str = (v: unknown): string => (typeof v === "string" ? v : "");
  const user = str(c.user);
  const pass = str(c.pass);
  const a = options.authorization;
  let account: string | null = null;
  let permissions: Permissions | null = null;
  let expiresAt: number | undefined;
  let maxLeafnodes: number | undefined;
  let maxSubscriptions: number | undefined;
  // Passwords may be bcrypt hashes, as the client users' (nats-server's comparePasswords).
  if (a?.user !== undefined) {
    if (user === a.user && comparePasswords(a.password ?? "", pass, new Map())) account = a.account ?? "";
  } else if (a?.users !== undefined && a.users.length > 0) {
    const u = a.users.find((x) => x.user === user);
    if (u !== undefined && comparePasswords(u.password, pass, new Map())) account = u.account ?? "";
  } else {
    const r = host.authenticate({ user, pass, jwt: str(c.jwt), nkey: str(c.nkey), sig: str(c.sig), nonce: l.nonce, host: l.remoteAddress, type });
    if (r !== null) {
      account = r.account;
      permissions = r.permissions;
      expiresAt = r.expiresAt;
      maxLeafnodes = r.maxLeafnodes;
      maxSubscriptions = r.maxSubscriptions;
    }
  }
  if (account === null) {
    log.error({ lid: l.cid, user }, "authentication error");
    l.sendErrAndClose("Authorization Violation", "Authentication Failure");
    return null;
  }
  if (account === "") account = "$G";
  const router = host.routerFor(account);
  if (router === null) {
    log.error({ lid: l.cid, account }, `Unable to lookup account ${account} for leafnode connection`);
    l.sendErrAndClose("Authorization Violation", "Missing Account");
    return null;
  }
  // nats-server counts the account's leafnode connections either way (its own remotes too).
  if (maxLeafnodes !== undefined && leafCount(account) >= maxLeafnodes) {
    log.error({ lid: l.cid, account }, MAX_ACCOUNT_CONNECTIONS);
    l.sendErrAndClose(MAX_ACCOUNT_CONNECTIONS, "Max Account Connections Exceeded");
    return null;
  }
  return { account, router, permissions, ...(expiresAt !== undefined ? { expiresAt } : {}), ...(maxSubscriptions !== undefined ? { maxSubscriptions } : {}) };
}

/**
 * What of JetStream may not cross (nats-server's addLeafNodeConnection): `$JS.API.>` never does in
 * a client account (so a request is answered once, by the side it names); the system account
 * carries JetStream's own traffic only when both sides are one domain (the same name, JetStream
 * on). Across two domains, requests for ours (`$JS.<domain>.API.>`, which each JetStream
 * account maps onto its API) are not sent out: they are answered here. `domains`: a client
 * account's link joins two domains (nats-server logs it).
 */
export function leafJsDeny(host: LeafAuthHost, account: string, remoteDomain: string): { both: string[]; out: string[]; domains: boolean } {
  const ours = host.jetStreamDomain;
  const sys = account === (host.systemAccount || "$SYS");
  const differ = ours !== remoteDomain || (!host.jetstream && ours === "");
  if (!differ) return { both: sys ? [] : DENY_CLIENT_JS, out: [], domains: false };
  const out = ours !== "" && host.jetstream && !sys ? [`$JS.${ours}.API.>`] : [];
  return { both: sys ? DENY_ALL_JS : DENY_CLIENT_JS, out, domains: !sys };
}
