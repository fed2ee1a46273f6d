// Tested by test/cluster/leafnodes.test.ts.
// One leafnode connection, in nats-server's leafnode protocol: to a hub this server solicited
// (this server is the spoke) or from a leaf that connected to our leafnode port (this server is
// the hub). Bound to one account of this server. To the router it is a Client with a `link`: its
// subscriptions are the other side's interest (LS+/LS-, queue groups with their member counts),
// and what they match goes across once as LMSG (HMSG with headers). What comes across (LMSG,
// HMSG) is routed here like a client's publish. The handshake, the interest we send and
// reconnecting are the leafnodes manager's (leafnodes.ts).
import type { Router, Subscription } from "../core/router.js";
import type { ClientSocket } from "../core/connection-types.js";
import { FIRST_PING_MS, LinkConnection, type LinkConnectionHost } from "./link-connection.js";
import { LeafPerms } from "./leaf-perms.js";
import type { SubjectPermission } from "../auth/permissions.js";

/** What a leafnode connection needs of the leafnodes manager. */
export interface LeafConnHost extends LinkConnectionHost {
  onLeafInfo(l: LeafConn, info: LeafInfo): void;
  onLeafConnect(l: LeafConn, connect: LeafConnect): void;
  /** LS+ of `subject`: false when it is not to be taken (a loop, a permission: the host acts). */
  acceptSub(l: LeafConn, subject: string): boolean;
  /** The other side sent -ERR. */
  onLeafError(l: LeafConn, text: string): void;
  onLeafClosed(l: LeafConn, reason: string): void;
}

/** The INFO a hub sends on a leafnode connection (the fields gnat reads). */
export interface LeafInfo {
  server_id: string;
  server_name?: string;
  version?: string;
  headers?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  max_payload?: number;
  cluster?: string;
  client_id?: number;
  nonce?: string;
  info_on_connect?: boolean;
  connect_info?: boolean;
  leafnode_urls?: string[];
  remote_account?: string;
  domain?: string;
  /** A hub's permissions for us (its user's subscribe side): what it lets us tell it of. */
  import?: unknown;
  /** What it lets us send it (its user's publish side). */
  export?: unknown;
}

/** The CONNECT a leaf sends to its hub. */
export interface LeafConnect {
  version?: string;
  user?: string;
  pass?: string;
  jwt?: string;
  nkey?: string;
  sig?: string;
  tls_required?: boolean;
  server_id?: string;
  name?: string;
  is_hub?: boolean;
  cluster?: string;
  headers?: boolean;
  jetstream?: boolean;
  deny_pub?: string[];
  gateway?: string;
  /** Only clients send it: a client that dialled the leafnode port. */
  lang?: string;
  domain?: string;
}

export class LeafConn extends LinkConnection {
  readonly kind = "leaf";
  /** Leafnode connections are never echo: what came across does not go back. */
  override echo = false;
  protected override readonly mapsSubjects = true;
  /** This server is the spoke on this connection (see Link.spoke). Set by the handshake. */
  spoke: boolean;
  /** The other server's cluster (its CONNECT's or INFO's), "" when none. */
  remoteCluster = "";
  /** The other server's name (or id). */
  remoteServer = "";
  remoteId = "";
  /** The account this connection is bound to, once it is. */
  account = "";
  router: Router | null = null;
  /** The other side's INFO (solicited) or CONNECT (accepted). */
  info: LeafInfo | null = null;
  /**
   * What may go across: messages and the interest we tell (deny_exports/deny_imports, the hub's
   * deny_pub, JetStream's, the user's permissions). Set when bound.
   */
  perms = new LeafPerms(undefined, undefined);
  /** The other side's JetStream domain ("" none), as the handshake told it. */
  remoteDomain = "";
  /** What a hub's INFO said of our user's permissions (import: what we may tell it of; export: send it). */
  hubPerms: { import: SubjectPermission | undefined; export: SubjectPermission | undefined } | null = null;
  /** The nonce our INFO carried (an accepted connection's user signs it). */
  nonce = "";
  /** How many subscriptions (the other side's interests) it may hold: its user's JWT limit; -1 none. */
  maxSubs = -1;
  /** The user JWT an accepted leaf logged in with ("" none). */
  userJwt = "";
  /** Accepted over WebSocket (its connection type is LEAFNODE_WS). */
  ws = false;
  private expiry: NodeJS.Timeout | null = null;
  /**
   * Our interest as last told to the other side: "subject[ queue]" → count (nats-server's smap).
   * null until the connection is bound.
   */
  smap: Map<string, number> | null = null;
  /** The other side's interest: "subject[ queue]" → its subscription here. */
  readonly subs = new Map<string, Subscription>();
  /** The connection runs over TLS. */
  secure = false;

  /**
   * @param solicited this server dialled it (a remote; `url` is where to); else it was accepted.
   */
  constructor(cid: number, socket: ClientSocket, private readonly host: LeafConnHost,
    solicited: boolean, url: string, maxPending: number) {
    super(cid, socket, host, solicited, url, maxPending, { accounts: false }, "lid");
    this.spoke = solicited;
  }

  /** Bind to an account and start the pings: subscriptions and messages count from now on. */
  bind(account: string, router: Router): void {
    this.account = account;
    this.router = router;
    this.registered = true;
    this.smap = new Map();
    this.armPing(FIRST_PING_MS);
  }

  /**
   * Its user's credentials expire at `at` (ms since the epoch): then it is told and closed, as
   * nats-server closes an expired leaf.
   */
  expireAt(at: number): void {
    if (this.expiry !== null) clearTimeout(this.expiry);
    this.expiry = setTimeout(() => {
      this.expiry = null;
      this.host.log.debug({ lid: this.cid }, "User JWT expired");
      this.sendErrAndClose("User Authentication Expired", "Authentication Expired");
    }, Math.max(0, at - Date.now()));
    this.expiry.unref();
  }

  /** Whether interest in `subject` may be told to the other side. */
  canSubscribe(subject: string): boolean {
    return this.perms.canSubscribe(subject);
  }

  /** Whether a message on `subject` may go across. */
  canPublish(subject: string): boolean {
    return this.perms.canPublish(subject);
  }

  // ---- inbound ----------------------------------------------------------------------------

  onInfo(json: string): void {
    const info = this.jsonObject<LeafInfo>(json, "INFO");
    if (info === null) return;
    if (typeof info.server_id !== "string") return this.protocolError("INFO without server_id");
    this.host.onLeafInfo(this, info);
  }

  onConnect(json: string): void {
    const c = this.jsonObject<LeafConnect>(json, "CONNECT");
    if (c !== null) this.host.onLeafConnect(this, c);
  }

  onErr(text: string): void {
    this.host.onLeafError(this, text);
  }

  onSub(_account: string, subject: string, queue: string, weight: number): void {
    const router = this.router;
    if (!this.registered || router === null || this.closed) return;
    if (!this.host.acceptSub(this, subject)) return;
    const key = queue === "" ? subject : `${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had === undefined && this.maxSubs >= 0 && this.subs.size >= this.maxSubs) {
      // nats-server's maxSubsExceeded: told and logged, the interest not taken, the link kept.
      this.host.log.error({ lid: this.cid }, "maximum subscriptions exceeded");
      this.queue("-ERR 'maximum subscriptions exceeded'\r\n");
      return;
    }
    const sub = this.newInterest(router, had, subject, queue, weight, key);
    if (sub === null) return;
    this.subs.set(key, sub);
    router.subscribe(sub);
  }

  onUnsub(_account: string, subject: string, queue: string): void {
    const key = queue === "" ? subject : `${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had === undefined || this.router === null) return;
    this.subs.delete(key);
    this.router.unsubscribe(had);
  }

  onMsg(_account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number): void {
    this.publishIn(this.router, subject, reply, queues, hdrLen, buf, start, end);
  }

  // ---- outbound ---------------------------------------------------------------------------

  override forward(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string): boolean {
    if (!this.perms.openPublish && !this.perms.canPublish(subject)) return false;
    return super.forward(account, subject, reply, queues, hdrLen, buf, start, end, shown);
  }

  protected override stale(): void {
    this.host.log.debug({ lid: this.cid }, "Stale Client Connection - Closing");
    this.queue("-ERR 'Stale Connection'\r\n");
    super.stale();
  }

  /** A name for log lines: the other server's name, else its address. */
  remoteName(): string {
    return this.remoteServer !== "" ? this.remoteServer : `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Send -ERR 'text' and close. */
  sendErrAndClose(text: string, reason: string): void {
    this.queue(`-ERR '${text}'\r\n`);
    this.close(reason, true);
  }

  protected dropInterest(): void {
    const router = this.router;
    if (router !== null) for (const sub of this.subs.values()) router.unsubscribe(sub);
    this.subs.clear();
  }

  protected closedFor(reason: string): void {
    if (this.expiry !== null) clearTimeout(this.expiry);
    this.expiry = null;
    this.host.onLeafClosed(this, reason);
  }
}
