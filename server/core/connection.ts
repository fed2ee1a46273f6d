// Tested by test/clients/clients.test.ts, test/server/robustness.test.ts and test/differential/transcripts.test.ts.
// One client connection: socket bytes → parser → router, and router deliveries → one outbound
// buffer that is written once per read (the server flushes every dirty connection in a
// microtask after the read that dirtied it).
import type { Logger } from "pino";
import { copyWords, digits, viewOf, writeUint, type ViewCache } from "../../protocol/bytes.js";
import type { InternTable } from "../../protocol/intern.js";
import { POOLED_SIZE, ProducerStall, stallMark, stallTtl, type BufferPool } from "./outbound.js";
import { applyConnect, defaultConnectOptions, sendsNoCredentials, type ConnectOptions } from "../../protocol/connect.js";
import { msgHeaderLength, OK, PING, PONG, writeMsgHeader } from "../../protocol/encode.js";
import { errorLine, Errors, publishViolation, subscribeViolation, subscriptionRemoved, type ProtocolErrorDef } from "../../protocol/errors.js";
import { PermissionChecker } from "../auth/permissions.js";
import { Parser, ParseError, type ParseErrorKind, type ParserHandler } from "../../protocol/parser.js";
import { isValidSubject } from "../../protocol/subject.js";
import type { ServerOptions } from "../options.js";
import type { AuthThrottle } from "../auth/throttle.js";
import { authTimeoutMs, newNonce, type AuthenticatedUser, type Authenticator, type BcryptCache, type ExternalAuthorizer, type PeerInfo } from "../auth/auth.js";
import { Subscription, type Client, type Router } from "./router.js";
import type { CertIdentity } from "../auth/cert-identity.js";
import { tlsTimeoutMs } from "../tls-options.js";
import type { ClientSocket, ConnectionAccount, ConnectionInit, ConnectionTls } from "./connection-types.js";

export type { ClientSocket, ConnectionAccount, ConnectionInit, ConnectionTls } from "./connection-types.js";

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly router: Router;
  readonly options: ServerOptions;
  readonly log: Logger;
  readonly intern: InternTable;
  readonly buffers: BufferPool;
  /** null when anyone may connect. */
  readonly authenticator: Authenticator | null;
  /** Backoff for repeated failed CONNECTs per IP; null: none. */
  readonly authThrottle?: AuthThrottle | null;
  /** DataViews of read chunks, shared: a fan-out copies from the same chunk many times. */
  readonly views: ViewCache;
  infoLine(c: ClientConnection): Buffer;
  markDirty(c: ClientConnection): void;
  removeClient(c: ClientConnection, reason: string): void;
  /** The client's first CONNECT was accepted (for connect events). */
  clientConnected(c: ClientConnection): void;
  /** A producer was stalled (flow control), for the server's counters. */
  noteStall(c: ClientConnection): void;
  /** The account an authenticated user belongs to (servers with accounts configured). */
  accountFor?(user: AuthenticatedUser): ConnectionAccount;
}

const FIRST_CLIENT_PING_MS = 2000;
/** Bytes kept from a client that is waiting out an auth backoff before its INFO. */
const HELD_IN_MAX = 64 * 1024;
/** nats-server's internal queue group, refused to clients. */
const SYS_GROUP = "_sys_";
const RTT_MEASUREMENT_INTERVAL_MS = 60 * 60 * 1000;
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

export class ClientConnection implements Client, ParserHandler {
  readonly parser: Parser;
  readonly opts: ConnectOptions = defaultConnectOptions();
  readonly subs = new Map<string, Subscription>();
  readonly start = Date.now();
  readonly remoteAddress: string;
  readonly remotePort: number;

  echo = true;
  noResponders = false;
  /** CONNECT asked for headers. */
  headers = false;
  closed = false;
  closeReason = "";
  /** The account this client is in; "$G" unless accounts are configured. */
  account = "$G";

  // Statistics, for monitoring.
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  // Outbound: bytes not yet handed to the socket, plus what the socket still holds.
  private outBuf: Buffer = EMPTY;
  private outView: DataView = EMPTY_VIEW;
  private outLen = 0;
  private socketPending = 0;
  /** Pooled buffers the socket still holds; all free again once it drains. */
  private inFlight: Buffer[] | null = null;
  /** Already in the server's dirty list. */
  dirty = false;

  // Flow control (see Client in router.ts).
  /** Pending outbound bytes are past the stall mark. */
  congested = false;
  /** Producers stalled on this connection, released when it drains or closes. */
  private held: Client[] | null = null;
  /** Receivers this connection waits on while its socket is paused. */
  private readonly stall = new ProducerStall<Client>(() => this.startStall(), (timedOut) => this.endStall(timedOut));
  private stallStart = 0;
  /** Times this connection was stalled as a producer, and for how long in all (ms). */
  stalls = 0;
  stalledMs = 0;

  // Ping state.
  private pingTimer: NodeJS.Timeout | null = null;
  private pingsOut = 0;
  private lastActivity = Date.now();
  private lastRemotePing = 0;
  private rtt = 0;
  private rttStart = 0;
  private connectReceived = false;
  /** Subscriptions left in an earlier CONNECT's account, and that account's router. */
  private leftBehind: Map<Subscription, Router> | null = null;
  /** A SUB, UNSUB or PONG arrived (PUBs and PINGs are counted anyway); see opsBeforeConnect. */
  private sawOp = false;
  /** Who the client authenticated as (null while authentication is off or pending). */
  user: AuthenticatedUser | null = null;
  /** The user's own subscription limit (JWT); -1: the server's. */
  private maxSubs = -1;
  /** Closes the client when its credentials expire (user JWT exp, connect times). */
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Until a CONNECT is accepted: close the client if it does not send one in time. */
  private authTimer: NodeJS.Timeout | null = null;
  private bcryptCache: BcryptCache | null = null;
  /** The user's publish/subscribe permissions; null: no limits. */
  private perms: PermissionChecker | null = null;
  /** While a backed-off connection waits for its INFO: what it sent meanwhile. */
  private heldIn: Buffer[] | null = null;
  /** What this client's INFO asked it to sign (nkey users); "" when none was sent. */
  readonly nonce: string;
  /** The TLS session; null on plain connections. */
  readonly tls: ConnectionTls | null;
  private readonly cert: CertIdentity | null;
  private readonly peerCerts: (() => { verified: boolean; certs: string[] }) | null;
  private readonly infoSent: boolean;
  private writeTimer: NodeJS.Timeout | null = null;

  /** The router of this client's account (set again when its CONNECT puts it in another). */
  private router: Router;
  private readonly maxPending: number;
  private readonly stallMark: number;
  private trace: boolean;
  private readonly log: Logger;

  constructor(readonly cid: number, readonly socket: ClientSocket, private readonly host: ConnectionHost, init: ConnectionInit = {}) {
    const o = host.options;
    this.router = host.router;
    this.maxPending = o.maxPending;
    this.stallMark = stallMark(o.maxPending);
    this.log = host.log;
    this.trace = o.trace && this.log.isLevelEnabled("trace");
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.nonce = init.nonce ?? (host.authenticator?.nonceRequired === true ? newNonce() : "");
    this.tls = init.tls ?? null;
    this.cert = init.cert ?? null;
    this.peerCerts = init.peerCerts ?? null;
    this.infoSent = init.infoSent === true;
    this.parser = new Parser(this, { maxControlLine: o.maxControlLine, maxPayload: o.maxPayload, intern: host.intern, buffers: host.buffers });
    // Before CONNECT a client is pedantic, as in nats-server.
    this.parser.checkPublishSubjects = this.opts.pedantic;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("error", (err) => this.onSocketError(err));
    socket.on("close", () => this.close("Client Closed", false));
    socket.on("end", () => this.close("Client Closed", true));
  }

  // ---- read by monitoring, on request only ------------------------------------------------

  /** Whether the client's CONNECT was accepted. */
  get connected(): boolean {
    return this.connectReceived;
  }

  /** Last time the client sent anything (ms since the epoch). */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  /** Round-trip time of the last PING/PONG (or the CONNECT), ms; 0 before any. */
  get roundTripMs(): number {
    return this.rtt;
  }

  /** Bytes queued for this client: not yet handed to the socket, plus what the socket holds. */
  get pendingBytes(): number {
    return this.outLen + this.socket.writableLength;
  }

  /** Send INFO and start the ping timer (later, for an IP that keeps failing to authenticate). */
  begin(): void {
    const wait = this.host.authThrottle?.admitDelay(this.remoteAddress) ?? 0;
    if (wait > 0) {
      // Not read, not greeted, until the backoff has passed; the client's bytes wait in the kernel
      // (or, where a transport cannot pause reads, here, bounded).
      this.socket.pause();
      this.heldIn = [];
      this.authTimer = setTimeout(() => {
        this.authTimer = null;
        if (this.closed) return;
        const held = this.heldIn ?? [];
        this.heldIn = null;
        this.socket.resume();
        this.greet();
        for (const chunk of held) this.onData(chunk);
      }, wait);
      return;
    }
    this.greet();
  }

  /** Bytes that arrived before a backed-off connection was greeted (transports that can't pause). */
  private holdIn(chunk: Buffer): void {
    const held = this.heldIn!;
    let total = chunk.length;
    for (const c of held) total += c.length;
    // A client has nothing to say before INFO; a little pipelining is kept, a flood is not.
    if (total > HELD_IN_MAX) return this.close("Read Error", false);
    held.push(Buffer.from(chunk));
  }

  private greet(): void {
    if (!this.infoSent) {
      this.queue(this.host.infoLine(this));
      this.flush();
    }
    this.armPing(this.host.options.pingInterval);
    if (this.host.authenticator !== null && !this.host.authenticator.connectOptional) this.requireConnect();
  }

  private requireConnect(): void {
    this.parser.connectRequired = true;
    const o = this.host.options;
    const ms = authTimeoutMs(o.authorization, o.tls === null ? null : tlsTimeoutMs(o.tls));
    this.authTimer = setTimeout(() => {
      this.authTimer = null;
      this.log.debug({ cid: this.cid }, "authentication timeout");
      this.sendErrClose(Errors.AuthenticationTimeout);
    }, ms);
  }

  // ---- inbound ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.heldIn !== null) return this.holdIn(chunk);
    this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (err) {
      // A bug must cost one connection, never the process.
      this.log.error({ cid: this.cid, err }, "internal error while processing client data");
      this.close("Internal Error", true);
    }
  }

  onConnect(arg: Buffer): void {
    const json = arg.toString("utf8");
    if (this.trace) this.traceIn(`CONNECT ${json}`);
    try {
      applyConnect(this.opts, json);
    } catch (err) {
      this.log.error({ cid: this.cid, err: String(err) }, "bad CONNECT");
      this.close("Protocol Violation", true);
      return;
    }
    const o = this.opts;
    this.echo = o.echo;
    this.headers = o.headers;
    this.parser.headers = o.headers;
    this.parser.checkPublishSubjects = o.pedantic;
    this.noResponders = o.no_responders;
    if (o.protocol < 0 || o.protocol > 1) return this.sendErrClose(Errors.BadClientProtocol);
    if (o.no_responders && !o.headers) return this.sendErrClose(Errors.NoRespondersRequiresHeaders);
    // Every CONNECT is checked, not only the first, as nats-server does.
    const auth = this.host.authenticator;
    if (auth !== null) {
      // nats-server applies no_auth_user only to a CONNECT that is the client's first op.
      if (auth.connectOptional && this.opsBeforeConnect() && sendsNoCredentials(o)) {
        this.log.error({ cid: this.cid }, "authorization violation: no credentials after other ops");
        return this.sendErrClose(Errors.AuthorizationViolation);
      }
      this.bcryptCache ??= new Map();
      const user = auth.authenticate(o, this.nonce, this.bcryptCache, this.cert, this.peer());
      // An auth callout decides for everyone but its auth users, whatever the rest says of them.
      const external = auth.external;
      if (external !== null && external.decides(o, user)) return this.awaitCallout(external, user);
      if (user?.refused !== undefined) {
        this.log.error({ cid: this.cid, user: user.name }, user.refused);
        return this.sendErrClose({ text: user.refused, close: true });
      }
      if (user === null) {
        const delay = this.host.authThrottle?.failed(this.remoteAddress) ?? 0;
        this.log.error({ cid: this.cid, user: o.user, ...(delay > 0 ? { ip: this.remoteAddress, backoffMs: delay } : {}) }, "authorization violation");
        if (delay === 0) return this.sendErrClose(Errors.AuthorizationViolation);
        // Backing off: nothing more is read or answered, and the -ERR comes after the delay.
        this.parser.close();
        this.socket.pause();
        this.clearAuthTimer();
        this.authTimer = setTimeout(() => {
          this.authTimer = null;
          // Read again (and ignore) so the peer's FIN is seen and the socket closes promptly.
          this.socket.resume();
          this.sendErrClose(Errors.AuthorizationViolation);
        }, delay);
        return;
      }
      if (!this.admit(user)) return;
    }
    this.connectAccepted();
  }

  /** The authenticated user takes the connection: its account, permissions and limits. False when closed for them. */
  private admit(user: AuthenticatedUser): boolean {
    const acc = this.host.accountFor?.(user);
    const external = this.host.authenticator?.external ?? null;
    if (external !== null) user = { ...user, permissions: external.restrict(acc?.name ?? this.account, user.permissions) };
    this.setUser(user);
    if (acc !== undefined) this.joinAccount(acc);
    this.parser.connectRequired = false;
    this.clearAuthTimer();
    // A user allowed no subscriptions at all is told at once and closed, as by nats-server.
    if (this.maxSubs === 0) {
      this.log.error({ cid: this.cid }, "maximum subscriptions exceeded");
      this.sendErr(Errors.MaxSubscriptions);
      this.close("Maximum Subscriptions Exceeded", true);
      return false;
    }
    return true;
  }

  private connectAccepted(): void {
    if (this.opts.verbose) this.queue(OK);
    if (!this.connectReceived) {
      this.connectReceived = true;
      this.rtt = Math.max(1, Date.now() - this.start);
      this.armPing(Math.min(this.host.options.pingInterval, FIRST_CLIENT_PING_MS) * (1 + Math.random() * 0.2));
      this.host.clientConnected(this);
    }
  }

  /**
   * The auth callout decides (auth/auth.ts ExternalAuthorizer). As nats-server blocks the client's
   * reader there, nothing sent after this CONNECT is read or acted on until the answer has come;
   * then it is, in order. The service's own deadline (the auth timeout) replaces the auth timer.
   */
  private awaitCallout(external: ExternalAuthorizer, user: AuthenticatedUser | null): void {
    this.clearAuthTimer();
    this.parser.suspend();
    this.socket.pause();
    const tls = this.tls === null ? null : { ...this.tls, ...(this.peerCerts !== null ? { certs: this.peerCerts() } : {}) };
    const client = { opts: { ...this.opts }, nonce: this.nonce, cid: this.cid, host: this.remoteAddress, type: this.peer().type, tls, user };
    external.authorize(client).then((user) => this.calloutDone(user), (err: unknown) => {
      this.log.error({ cid: this.cid, err }, "internal error in auth callout");
      this.calloutDone(null);
    });
  }

  private calloutDone(user: AuthenticatedUser | null): void {
    if (this.closed) return;
    if (user === null) {
      this.log.error({ cid: this.cid, user: this.opts.user }, "authorization violation");
      // Read again (what comes is dropped with the parser) so the peer's FIN is seen and the
      // socket closes now, not at the write deadline.
      this.socket.resume();
      return this.sendErrClose(Errors.AuthorizationViolation);
    }
    if (!this.admit(user)) return;
    this.connectAccepted();
    if (!this.stall.active) this.socket.resume();
    try {
      this.parser.resume();
    } catch (err) {
      this.log.error({ cid: this.cid, err }, "internal error while processing client data");
      this.close("Internal Error", true);
    }
  }

  /** Who the client is, to authentication: its IP and connection type. */
  private peer(): PeerInfo {
    return { host: this.remoteAddress, type: this.socket.connectionType ?? "STANDARD" };
  }

  /**
   * The authenticated user's permissions, its own limits (a user JWT's subs and payload, never
   * above the server's) and the expiry of its credentials (closed then, as nats-server does).
   */
  private setUser(user: AuthenticatedUser): void {
    this.user = user;
    this.perms = user.permissions === null ? null : new PermissionChecker(user.permissions);
    this.maxSubs = user.maxSubscriptions ?? -1;
    const pay = user.maxPayload ?? -1;
    const server = this.host.options.maxPayload;
    this.parser.maxPayload = pay >= 0 && (server <= 0 || pay < server) ? pay : server;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (user.expiresAt !== undefined) {
      this.expiryTimer = setTimeout(() => {
        this.expiryTimer = null;
        this.log.debug({ cid: this.cid, user: user.name }, "user authentication expired");
        this.sendErrClose(Errors.UserAuthenticationExpired);
      }, Math.max(0, Math.min(user.expiresAt - Date.now(), 2 ** 31 - 1)));
    }
  }

  /** Whether the client sent anything but CONNECT so far (PUBs and PINGs leave counts behind). */
  private opsBeforeConnect(): boolean {
    return this.sawOp || this.inMsgs > 0 || this.lastRemotePing > 0;
  }

  /**
   * Move into `acc`'s subject space. As nats-server: subscriptions made before the first CONNECT
   * (no_auth_user lets a client subscribe first) move along; those of an earlier CONNECT's
   * account stay in that account.
   */
  private joinAccount(acc: ConnectionAccount): void {
    this.account = acc.name;
    if (acc.router === this.router) return;
    const old = this.router;
    this.router = acc.router;
    if (this.connectReceived) {
      const left = (this.leftBehind ??= new Map());
      for (const sub of this.subs.values()) if (!left.has(sub)) left.set(sub, old);
      return;
    }
    for (const [sid, sub] of this.subs) {
      old.unsubscribe(sub);
      const moved = new Subscription(this, sub.subject, sub.queue, sid);
      moved.max = sub.max;
      moved.delivered = sub.delivered;
      this.subs.set(sid, moved);
      acc.router.subscribe(moved);
    }
  }

  onInvalidPublishSubject(): void {
    this.sendErr(Errors.InvalidPublishSubject);
  }

  onInfo(arg: Buffer): void {
    try {
      JSON.parse(arg.toString("utf8"));
    } catch {
      this.close("Protocol Violation", true);
    }
  }

  onPub(subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): void {
    if (this.trace) this.tracePub(subject, reply, hdrLen, buf.subarray(start, end));
    this.inMsgs++;
    this.inBytes += end - start - 2;
    // The account's subject mappings come first: permissions and routing see the mapped subject
    // (nats-server maps in its parser, before processInboundClientMsg checks permissions).
    if (this.router.mappings !== null) subject = this.router.mapped(subject);
    // Dropped with an -ERR (and no +OK); the connection stays, as in nats-server.
    if (this.perms !== null && !this.perms.canPublish(subject)) return this.sendViolation(publishViolation(subject));
    if (this.opts.verbose) this.queue(OK);
    this.router.publish(this, subject, reply, hdrLen, buf, start, end);
  }

  onSub(subject: string, queue: string, sid: string): void {
    if (this.trace) this.traceIn(queue ? `SUB ${subject} ${queue} ${sid}` : `SUB ${subject} ${sid}`);
    this.sawOp = true;
    // nats-server's order: permissions first (also against a sid already in use), then limits.
    // It refuses the queue group `_sys_` to every client, with or without permissions.
    if ((this.perms !== null && !this.perms.canSubscribe(subject, queue)) || queue === SYS_GROUP) {
      return this.sendViolation(subscribeViolation(subject, queue));
    }
    const server = this.host.options.maxSubscriptions;
    const max = this.maxSubs >= 0 && (server <= 0 || this.maxSubs < server) ? this.maxSubs : server;
    if ((max > 0 || this.maxSubs === 0) && this.subs.size >= max) {
      this.log.error({ cid: this.cid }, "maximum subscriptions exceeded");
      return this.sendErr(Errors.MaxSubscriptions);
    }
    if (this.subs.has(sid)) {
      if (this.opts.verbose) this.queue(OK);
      return;
    }
    if (!isValidSubject(subject) || (queue !== "" && !isValidQueue(queue))) {
      return this.sendErr(Errors.InvalidSubject);
    }
    const sub = new Subscription(this, subject, queue, sid);
    this.subs.set(sid, sub);
    this.router.subscribe(sub);
    if (this.opts.verbose) this.queue(OK);
  }

  onUnsub(sid: string, max: number): void {
    if (this.trace) this.traceIn(max >= 0 ? `UNSUB ${sid} ${max}` : `UNSUB ${sid}`);
    this.sawOp = true;
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      if (max > 0 && max > sub.delivered) {
        sub.max = max;
      } else {
        sub.max = 0;
        this.subs.delete(sid);
        this.routerOf(sub).unsubscribe(sub);
      }
    }
    if (this.opts.verbose) this.queue(OK);
  }

  /** The router a subscription lives in. */
  private routerOf(sub: Subscription): Router {
    if (this.leftBehind === null) return this.router;
    const r = this.leftBehind.get(sub);
    if (r !== undefined) this.leftBehind.delete(sub);
    return r ?? this.router;
  }

  /** The router ended a subscription that reached its max. */
  forget(sub: Subscription): void {
    this.leftBehind?.delete(sub);
    if (this.subs.get(sub.sid) === sub) this.subs.delete(sub.sid);
  }

  onPing(): void {
    if (this.trace) this.traceIn("PING");
    const first = this.lastRemotePing === 0;
    this.lastRemotePing = Date.now();
    this.queue(PONG);
    // As nats-server 2.9: the first PONG is followed by an INFO with the client's own max_payload
    // when its user's limit (a JWT's) is not the server's.
    if (first && this.connectReceived && this.parser.maxPayload !== this.host.options.maxPayload && this.opts.protocol >= 1) {
      this.queue(Buffer.from(this.host.infoLine(this).toString("latin1").replace(/"max_payload":\d+/, `"max_payload":${this.parser.maxPayload}`), "latin1"));
    }
  }

  onPong(): void {
    if (this.trace) this.traceIn("PONG");
    this.sawOp = true;
    this.pingsOut = 0;
    if (this.rttStart > 0) this.rtt = Math.max(1, Date.now() - this.rttStart);
  }

  onErr(arg: Buffer): void {
    this.log.error({ cid: this.cid, err: arg.toString("utf8") }, "client sent -ERR");
    this.close("Parse Error", true);
  }

  onParseError(kind: ParseErrorKind, detail: string): void {
    switch (kind) {
      case ParseError.UnknownOp:
        this.log.error({ cid: this.cid, detail }, "client parser error");
        return this.sendErrClose(Errors.UnknownProtocol);
      case ParseError.MaxControlLine:
        return this.sendErrClose(Errors.MaxControlLine);
      case ParseError.MaxPayload:
        this.log.error({ cid: this.cid, detail }, "maximum payload exceeded");
        return this.sendErrClose(Errors.MaxPayload);
      case ParseError.ConnectRequired:
        this.log.error({ cid: this.cid }, "authorization violation: op before CONNECT");
        return this.sendErrClose(Errors.AuthorizationViolation);
      default:
        this.log.error({ cid: this.cid, detail }, "client protocol error");
        this.close("Protocol Violation", true);
    }
  }

  // ---- outbound ---------------------------------------------------------------------------

  deliver(sub: Subscription, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean {
    if (this.closed) return false;
    // A wildcard subscription may cover a subject the subscribe deny list names: not delivered.
    if (this.perms !== null) {
      if (this.perms.filtersDeliveries && !this.perms.canDeliver(subject)) return false;
      // allow_responses: this delivery's reply subject becomes publishable for a while.
      if (this.perms.tracksReplies && reply.length > 0) this.perms.noteReply(reply);
    }
    let size = end - start - 2;
    if (hdrLen >= 0 && !this.headers) {
      // A client that did not ask for headers gets the payload alone.
      start += hdrLen;
      size -= hdrLen;
      hdrLen = -1;
    }
    const sid = sub.sid;
    // Most deliveries are plain MSGs to literal subscriptions: their "MSG subject sid " prefix
    // never changes, so it is built once per subscription and copied after that.
    const usePrefix = hdrLen < 0 && reply.length === 0 && subject === sub.subject;
    const need = (usePrefix ? sub.msgPrefix().length + digits(size) + 2 : msgHeaderLength(subject, sid, reply, hdrLen, size)) + size + 2;
    if (this.outLen + need + this.socketPending > this.maxPending) {
      this.slowConsumer();
      return true;
    }
    if (this.outLen + need > this.outBuf.length) this.makeRoom(need);
    const out = this.outBuf;
    const dv = this.outView;
    let off: number;
    if (usePrefix) {
      const prefix = sub.msgPrefix();
      off = copyWords(out, dv, this.outLen, prefix, sub.msgPrefixView(), 0, prefix.length);
      off = writeUint(out, off, size);
      out[off++] = 13;
      out[off++] = 10;
    } else {
      off = writeMsgHeader(out, this.outLen, subject, sid, reply, hdrLen, size);
    }
    this.outLen = copyWords(out, dv, off, buf, this.host.views.of(buf), start, end);
    this.outMsgs++;
    this.outBytes += size;
    if (this.trace) this.traceOut(hdrLen >= 0 ? `HMSG ${subject} ${sid} ${reply ? reply + " " : ""}${hdrLen} ${size}` : `MSG ${subject} ${sid} ${reply ? reply + " " : ""}${size}`);
    if (!this.dirty) {
      this.dirty = true;
      this.host.markDirty(this);
    }
    return true;
  }

  /** Queue protocol bytes (INFO, +OK, PONG, -ERR …). */
  queue(bytes: Buffer): void {
    if (this.closed) return;
    const n = bytes.length;
    if (this.outLen + n > this.outBuf.length) this.makeRoom(n);
    this.outBuf.set(bytes, this.outLen);
    this.outLen += n;
    if (!this.dirty) {
      this.dirty = true;
      this.host.markDirty(this);
    }
  }

  /**
   * Make room for `need` more bytes. A full buffer is written out rather than grown (as
   * nats-server does), so busy connections write in buffer-sized pieces and copy nothing twice.
   */
  private makeRoom(need: number): void {
    if (this.outLen > 0) this.flush();
    this.outBuf = this.host.buffers.take(need);
    this.outView = viewOf(this.outBuf);
  }

  /** Hand everything queued to the socket in one write. */
  flush(): void {
    this.dirty = false;
    const len = this.outLen;
    if (len === 0 || this.socket.destroyed) return;
    const buf = this.outBuf;
    this.outLen = 0;
    this.socket.write(len === buf.length ? buf : buf.subarray(0, len));
    this.outBuf = EMPTY;
    this.outView = EMPTY_VIEW;
    const pending = this.socket.writableLength;
    if (pending !== 0) {
      // The socket still holds the buffer: it goes back to the pool when the socket drains.
      this.socketPending = pending;
      if (buf.length >= POOLED_SIZE) (this.inFlight ??= []).push(buf);
      // Congested only while a "drain" is to come, which is what releases the producers.
      if (pending > this.stallMark && this.socket.writableNeedDrain) this.congested = true;
      this.armWriteDeadline();
    } else {
      // Written through to the kernel already: the buffer is free for the next connection.
      this.socketPending = 0;
      this.host.buffers.give(buf);
    }
  }

  private onDrain(): void {
    this.socketPending = this.socket.writableLength;
    if (this.socketPending === 0) {
      // Every write has completed: the buffers are ours again. Recycling them keeps a busy
      // connection from allocating (and the GC from collecting) a buffer per flush.
      const held = this.inFlight;
      if (held !== null) {
        this.inFlight = null;
        for (let i = 0; i < held.length; i++) this.host.buffers.give(held[i]!);
      }
      if (this.writeTimer !== null) {
        clearTimeout(this.writeTimer);
        this.writeTimer = null;
      }
      // The kernel's socket buffer still holds what it took, so the reader stays busy while the
      // producers come back.
      this.congested = false;
      this.releaseProducers();
    }
  }

  // ---- flow control -----------------------------------------------------------------------

  holdProducer(producer: Client): void {
    (this.held ??= []).push(producer);
  }

  private releaseProducers(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (let i = 0; i < held.length; i++) held[i]!.release(this);
  }

  stallTtl(): number {
    return stallTtl(this.socketPending + this.outLen, this.stallMark, this.maxPending);
  }

  /**
   * A receiver this connection just fed is congested: stop reading this socket (after the
   * chunk in hand) until every such receiver drains or is closed, or the stall times out (as
   * nats-server's does: 100 ms to 1 s, longer the fuller the receiver). The kernel then pushes
   * back on the producer, as nats-server's stalled read loop does.
   */
  stallOn(receiver: Client): void {
    if (!this.closed && this.stall.add(receiver)) receiver.holdProducer(this);
  }

  release(receiver: Client): void {
    this.stall.release(receiver);
  }

  private startStall(): void {
    this.socket.pause();
    this.stallStart = Date.now();
    this.stalls++;
    this.host.noteStall(this);
  }

  /** Read again: the receivers drained, or one is still behind and the wait ran out (delivering to it again stalls anew). */
  private endStall(timedOut: boolean): void {
    if (timedOut) this.log.debug({ cid: this.cid }, "timed out of fast producer stall");
    this.stalledMs += Date.now() - this.stallStart;
    // Not while an auth callout holds the client's input.
    if (!this.closed && !this.parser.suspended) this.socket.resume();
  }

  /**
   * The write deadline is for writes that make no progress: a consumer that is behind but
   * reading keeps its connection (the byte budget, max_pending, bounds how far behind).
   */
  private armWriteDeadline(): void {
    const d = this.host.options.writeDeadline;
    if (d <= 0 || this.writeTimer !== null) return;
    const sent = this.bytesToKernel();
    const armedAt = Date.now();
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      if (this.closed || this.socket.writableLength === 0) return;
      if (this.bytesToKernel() > sent) return this.armWriteDeadline();
      // A timer this late means our own event loop stalled (nothing could be written): judge
      // the client over a window in which we were running.
      if (Date.now() - armedAt > d * 1.5) return this.armWriteDeadline();
      this.log.info({ cid: this.cid }, "slow consumer detected: write deadline exceeded");
      this.close("Slow Consumer (Write Deadline)", false);
    }, d);
    this.writeTimer.unref();
  }

  /** Bytes the socket has handed to the kernel (bytesWritten counts queued bytes too). */
  private bytesToKernel(): number {
    return this.socket.bytesWritten - this.socket.writableLength;
  }

  private slowConsumer(): void {
    this.log.info({ cid: this.cid, maxPending: this.maxPending }, "slow consumer detected: max pending exceeded");
    this.close("Slow Consumer (Pending Bytes)", false);
  }

  sendErr(def: ProtocolErrorDef): void {
    if (this.trace) this.traceOut(`-ERR '${def.text}'`);
    this.queue(errorLine(def.text));
  }

  private sendViolation(text: string): void {
    this.log.error({ cid: this.cid, user: this.user?.name }, text);
    this.queue(errorLine(text));
  }

  sendErrClose(def: ProtocolErrorDef): void {
    this.sendErr(def);
    this.close(def.text, true);
  }

  // ---- config reload (server/reload.ts) -----------------------------------------------------

  /** Limits and tracing from reloaded options (the rest is read from host.options when used). */
  applyReloadedOptions(o: ServerOptions): void {
    this.parser.maxPayload = o.maxPayload;
    this.parser.maxControlLine = o.maxControlLine;
    this.trace = o.trace && this.log.isLevelEnabled("trace");
  }

  /**
   * Check this client's CONNECT again, against reloaded authorization, as nats-server does:
   * credentials no longer valid get `-ERR 'Authorization Violation'` and the close; a client whose
   * user or nkey is no longer configured at all (`gone`) is closed without one; the others keep
   * the connection with their new permissions, less the subscriptions these no longer allow.
   * Returns false when the client was closed.
   */
  reauthorize(auth: Authenticator | null, gone: boolean): boolean {
    if (this.closed) return false;
    if (auth === null) {
      this.user = null;
      this.perms = null;
      this.parser.connectRequired = false;
      this.clearAuthTimer();
      return true;
    }
    if (!this.connectReceived) {
      // Its CONNECT is still to come, and is checked against the new configuration.
      if (this.authTimer === null) this.requireConnect();
      return true;
    }
    if (gone) {
      this.log.debug({ cid: this.cid, user: this.user?.name }, "user removed by config reload");
      this.close("Client Closed", true);
      return false;
    }
    this.bcryptCache ??= new Map();
    const user = auth.authenticate(this.opts, this.nonce, this.bcryptCache, this.cert, this.peer());
    // Whom the auth callout let in stays in: the service is not asked again.
    if (auth.external !== null && this.user !== null && auth.external.decides(this.opts, user)) return true;
    if (user === null) {
      this.log.error({ cid: this.cid, user: this.opts.user }, "authorization violation");
      this.sendErrClose(Errors.AuthorizationViolation);
      return false;
    }
    this.setUser(user);
    const perms = this.perms;
    if (perms === null) return true;
    for (const [sid, sub] of this.subs) {
      if (perms.canSubscribe(sub.subject, sub.queue)) continue;
      this.subs.delete(sid);
      this.router.unsubscribe(sub);
      this.queue(errorLine(subscriptionRemoved(sub.subject, sid)));
      this.log.info({ cid: this.cid }, `Removed sub ${JSON.stringify(sub.subject)} (sid ${JSON.stringify(sid)}) for User ${JSON.stringify(user.name)} - not authorized`);
    }
    return true;
  }

  // ---- pings ------------------------------------------------------------------------------

  private armPing(ms: number): void {
    if (this.closed || ms <= 0) return;
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.onPingTimer(), ms);
    this.pingTimer.unref();
  }

  private onPingTimer(): void {
    this.pingTimer = null;
    if (this.closed) return;
    const o = this.host.options;
    const now = Date.now();
    const needRtt = this.rtt === 0 || now - this.rttStart > RTT_MEASUREMENT_INTERVAL_MS;
    // Recent traffic or a recent PING from the client shows it is alive: no need to ask.
    // A stalled producer is not read, so its PONGs wait in the kernel: don't count them missing.
    const busy = this.stall.active || (!needRtt && (now - this.lastActivity < o.pingInterval || now - this.lastRemotePing < o.pingInterval));
    if (!busy) {
      if (this.pingsOut + 1 > o.pingMax) {
        this.log.debug({ cid: this.cid }, "stale client connection: closing");
        return this.sendErrClose(Errors.StaleConnection);
      }
      this.pingsOut++;
      this.rttStart = now;
      if (this.trace) this.traceOut("PING");
      this.queue(PING);
    }
    this.armPing(o.pingInterval);
  }

  // ---- closing ----------------------------------------------------------------------------

  /**
   * Close the connection once. With `flush`, what is queued (an -ERR, say) is written first and
   * the socket is ended gracefully; without, it is destroyed.
   */
  close(reason: string, flush: boolean): void {
    if (this.closed) return;
    this.parser.close();
    if (flush && this.outLen > 0 && !this.socket.destroyed) this.flush();
    this.closed = true;
    this.closeReason = reason;
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.clearAuthTimer();
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.pingTimer = null;
    this.writeTimer = null;
    for (const sub of this.subs.values()) this.routerOf(sub).unsubscribe(sub);
    // Producers this connection held go on at once; those it waited on forget it when they drain.
    this.congested = false;
    this.releaseProducers();
    this.stall.clear();
    this.inFlight = null;
    this.outBuf = EMPTY;
    this.outView = EMPTY_VIEW;
    this.outLen = 0;
    // Subscriptions are forgotten after the host is told, so monitoring can list a closed client's.
    this.host.removeClient(this, reason);
    this.subs.clear();
    if (flush && !this.socket.destroyed) {
      this.socket.end();
      // A peer that never reads must not hold the socket open forever.
      const t = setTimeout(() => this.socket.destroy(), Math.max(1000, this.host.options.writeDeadline));
      t.unref();
      this.socket.once("close", () => clearTimeout(t));
    } else {
      this.socket.destroy();
    }
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  private onSocketError(err: Error): void {
    this.log.debug({ cid: this.cid, err: err.message }, "socket error");
    this.close("Read Error", false);
  }

  // ---- tracing (only when -V) -------------------------------------------------------------

  private traceIn(line: string): void {
    this.log.trace({ cid: this.cid }, `<<- [${line}]`);
  }

  private traceOut(line: string): void {
    this.log.trace({ cid: this.cid }, `->> [${line}]`);
  }

  private tracePub(subject: string, reply: string, hdrLen: number, msg: Buffer): void {
    const size = msg.length - 2;
    const r = reply ? `${reply} ` : "";
    this.traceIn(hdrLen >= 0 ? `HPUB ${subject} ${r}${hdrLen} ${size}` : `PUB ${subject} ${r}${size}`);
    this.log.trace({ cid: this.cid }, `<<- MSG_PAYLOAD: [${JSON.stringify(msg.toString("latin1", 0, Math.min(size, 256)))}]`);
  }
}

/** A queue name is one token of printable bytes. */
function isValidQueue(queue: string): boolean {
  for (let i = 0; i < queue.length; i++) {
    const c = queue.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10) return false;
  }
  return true;
}
