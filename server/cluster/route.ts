// Tested by test/cluster/routes.test.ts (and test/cluster/route-auth.test.ts).
// One route: a connection to another server of the cluster, speaking nats-server's route
// protocol. To the router it is a Client with a `link`: its subscriptions are the other server's
// interest (RS+/RS-), and what they match goes across once as RMSG/HMSG. What comes from the
// other server (RMSG/HMSG) is routed here like a client's publish. Registering, gossip and
// reconnecting are the cluster's (cluster.ts).
import type { Router, Subscription } from "../core/router.js";
import type { ClientSocket } from "../core/connection-types.js";
import { FIRST_PING_MS, LinkConnection, type LinkConnectionHost } from "./link-connection.js";

/** What a route needs of the cluster it belongs to. */
export interface RouteHost extends LinkConnectionHost {
  /** The router of an account, or null when this server does not know it. */
  routerFor(account: string): Router | null;
  /** The route's INFO or CONNECT arrived (JSON parsed). */
  onRouteInfo(r: Route, info: RouteInfo): void;
  onRouteConnect(r: Route, connect: RouteConnect): void;
  /** The route closed, for `reason`. */
  onRouteClosed(r: Route, reason: string): void;
}

/** The INFO a server sends on a route (the fields gnat reads). */
export interface RouteInfo {
  server_id: string;
  server_name?: string;
  version?: string;
  proto?: number;
  host?: string;
  port?: number;
  headers?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  max_payload?: number;
  cluster?: string;
  cluster_dynamic?: boolean;
  connect_urls?: string[];
  ws_connect_urls?: string[];
  /** The server's leafnode URL (one at most), for the cluster's leafs. */
  leafnode_urls?: string[];
  ip?: string;
  lnoc?: boolean;
  ldm?: boolean;
  nonce?: string;
  jetstream?: boolean;
}

/** The CONNECT a soliciting server sends. */
export interface RouteConnect {
  user?: string;
  pass?: string;
  name?: string;
  cluster?: string;
  headers?: boolean;
  tls_required?: boolean;
}

/** The most RS+ a route holds for accounts this server does not know (past it, they are dropped). */
const MAX_HELD = 10_000;

export class Route extends LinkConnection {
  readonly kind = "route";
  /** What the other side's INFO said (null before it came). */
  info: RouteInfo | null = null;
  /** The leafnode URL of the route's first INFO (nats-server keeps that one until the route goes). */
  firstLeafUrl: string | undefined;
  /** The other side's interest: "account subject[ queue]" → its subscription here. */
  readonly subs = new Map<string, { sub: Subscription; router: Router }>();
  private unknownAccounts: Set<string> | null = null;
  /**
   * The other side's interest in accounts this server does not know (yet): operator mode takes
   * accounts into use as their clients come, and this interest is theirs then (adoptHeld).
   * "account" → "subject[ queue]" → the RS+; at most MAX_HELD in all.
   */
  private heldInterest: Map<string, Map<string, { subject: string; queue: string; weight: number }>> | null = null;
  private heldCount = 0;

  /**
   * @param solicited this server dialled it (`url` is where to); else it was accepted.
   */
  constructor(cid: number, socket: ClientSocket, private readonly host: RouteHost,
    solicited: boolean, url: string, maxPending: number) {
    super(cid, socket, host, solicited, url, maxPending, { accounts: true }, "rid");
    this.armPing(FIRST_PING_MS);
  }

  /** The other server's id, once its INFO came. */
  get remoteId(): string {
    return this.info?.server_id ?? "";
  }

  // ---- inbound ----------------------------------------------------------------------------

  onInfo(json: string): void {
    const info = this.jsonObject<RouteInfo>(json, "INFO");
    if (info === null) return;
    if (typeof info.server_id !== "string" || info.server_id === "") return this.protocolError("INFO without server_id");
    this.host.onRouteInfo(this, info);
  }

  onConnect(json: string): void {
    const c = this.jsonObject<RouteConnect>(json, "CONNECT");
    if (c !== null) this.host.onRouteConnect(this, c);
  }

  onErr(text: string): void {
    this.host.log.error({ rid: this.cid, remote: this.remoteName() }, `Route Error '${text}'`);
    this.close("Parse Error", true);
  }

  onSub(account: string, subject: string, queue: string, weight: number): void {
    if (!this.registered) return;
    const router = this.host.routerFor(account);
    if (router === null) {
      // Once per account: a nats-server tells of its system account's forty-odd services.
      if (!(this.unknownAccounts ??= new Set()).has(account)) {
        this.unknownAccounts.add(account);
        this.host.log.debug({ rid: this.cid, account, subject }, "Unknown account for remote subject");
      }
      const forAccount = (this.heldInterest ??= new Map()).get(account) ?? new Map<string, { subject: string; queue: string; weight: number }>();
      const k = queue === "" ? subject : `${subject} ${queue}`;
      if (!forAccount.has(k)) {
        if (this.heldCount >= MAX_HELD) return;
        this.heldCount++;
      }
      forAccount.set(k, { subject, queue, weight });
      this.heldInterest.set(account, forAccount);
      return;
    }
    const key = queue === "" ? `${account} ${subject}` : `${account} ${subject} ${queue}`;
    const sub = this.newInterest(router, this.subs.get(key)?.sub, subject, queue, weight, key);
    if (sub === null) return;
    this.subs.set(key, { sub, router });
    router.subscribe(sub);
  }

  /** An account this server knows now: the interest the other side told of it before is applied. */
  adoptHeld(account: string): void {
    const forAccount = this.heldInterest?.get(account);
    if (forAccount === undefined) return;
    this.heldInterest!.delete(account);
    this.heldCount -= forAccount.size;
    this.unknownAccounts?.delete(account);
    for (const h of forAccount.values()) this.onSub(account, h.subject, h.queue, h.weight);
  }

  onUnsub(account: string, subject: string, queue: string): void {
    const key = queue === "" ? `${account} ${subject}` : `${account} ${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had === undefined) {
      const forAccount = this.heldInterest?.get(account);
      if (forAccount?.delete(queue === "" ? subject : `${subject} ${queue}`) === true) this.heldCount--;
      return;
    }
    this.subs.delete(key);
    had.router.unsubscribe(had.sub);
  }

  onMsg(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number): void {
    this.publishIn(this.registered ? this.host.routerFor(account) : null, subject, reply, queues, hdrLen, buf,
      start, end);
  }

  protected override stale(): void {
    this.host.log.debug({ rid: this.cid }, "stale route connection");
    super.stale();
  }

  /** A name for log lines: the other server's name, else its address. */
  remoteName(): string {
    return this.info?.server_name ?? `${this.remoteAddress}:${this.remotePort}`;
  }

  protected dropInterest(): void {
    for (const { sub, router } of this.subs.values()) router.unsubscribe(sub);
    this.subs.clear();
  }

  protected closedFor(reason: string): void {
    this.host.onRouteClosed(this, reason);
  }
}
