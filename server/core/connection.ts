// Tested by test/clients/clients.test.ts, test/server/robustness.test.ts and test/differential/transcripts.test.ts.
// One client connection's life: the greeting (INFO, or a wait for an IP that keeps failing to
// authenticate), CONNECT and authentication, the account it joins, pings, config reload and
// closing. Its message path (PUB, SUB, UNSUB in; MSG out) is client-messages.ts, and its
// outbound buffer and flow control socket-connection.ts, which a link to another server shares.
import type { InternTable } from "../../protocol/intern.js";
import { applyConnect, sendsNoCredentials } from "../../protocol/connect.js";
import { OK, PING, PONG } from "../../protocol/encode.js";
import { errorLine, Errors, subscriptionRemoved } from "../../protocol/errors.js";
import { PermissionChecker } from "../auth/permissions.js";
import { Parser, type ParserHandler } from "../../protocol/parser.js";
import type { ServerOptions } from "../options.js";
import type { AuthThrottle } from "../auth/throttle.js";
import { authTimeoutMs, newNonce, type AuthenticatedUser, type Authenticator, type BcryptCache, type ExternalAuthorizer, type PeerInfo } from "../auth/auth.js";
import { Subscription } from "./router.js";
import type { CertIdentity } from "../auth/cert-identity.js";
import { tlsTimeoutMs } from "../tls-options.js";
import { ClientMessages, type ClientMessagesHost } from "./client-messages.js";
import type { ClientSocket, ConnectionAccount, ConnectionInit, ConnectionTls } from "./connection-types.js";

export type { ClientSocket, ConnectionAccount, ConnectionInit, ConnectionTls } from "./connection-types.js";

/** What a connection needs from the server that owns it. */
export interface ConnectionHost extends ClientMessagesHost {
  readonly intern: InternTable;
  /** null when anyone may connect. */
  readonly authenticator: Authenticator | null;
  /** Backoff for repeated failed CONNECTs per IP; null: none. */
  readonly authThrottle?: AuthThrottle | null;
  infoLine(c: ClientConnection): Buffer;
  /**
   * Bumped each time the cluster's client URLs change (new INFO for the clients): a client whose
   * INFO is older than the last change gets a new one after its first PONG.
   */
  readonly infoGeneration: number;
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
const RTT_MEASUREMENT_INTERVAL_MS = 60 * 60 * 1000;

export class ClientConnection extends ClientMessages implements ParserHandler {
  readonly parser: Parser;
  readonly start = Date.now();
  readonly remoteAddress: string;
  readonly remotePort: number;

  // Ping state.
  private pingTimer: NodeJS.Timeout | null = null;
  private pingsOut = 0;
  private lastActivity = Date.now();
  private lastRemotePing = 0;
  private rtt = 0;
  private rttStart = 0;
  private connectReceived = false;
  /**
   * The PONG to the first PING after CONNECT went out (nats-server's firstPongSent): from then on
   * the client gets INFO updates as the cluster changes; before, it gets one then if it missed any.
   */
  private firstPong = false;
  /** The server's infoGeneration when this client's INFO was made. */
  private readonly infoGen: number;
  /** Closes the client when its credentials expire (user JWT exp, connect times). */
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Until a CONNECT is accepted: close the client if it does not send one in time. */
  private authTimer: NodeJS.Timeout | null = null;
  private bcryptCache: BcryptCache | null = null;
  /** While a backed-off connection waits for its INFO: what it sent meanwhile. */
  private heldIn: Buffer[] | null = null;
  /** What this client's INFO asked it to sign (nkey users); "" when none was sent. */
  readonly nonce: string;
  /** The TLS session; null on plain connections. */
  readonly tls: ConnectionTls | null;
  private readonly cert: CertIdentity | null;
  private readonly peerCerts: (() => { verified: boolean; certs: string[] }) | null;
  private readonly infoSent: boolean;

  constructor(cid: number, socket: ClientSocket, private readonly host: ConnectionHost, init: ConnectionInit = {}) {
    super(cid, socket, host);
    this.infoGen = host.infoGeneration;
    const o = host.options;
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
      const wait = auth.pending(o);
      if (wait !== null) return this.awaitPending(wait, auth);
    }
    if (this.authenticate(auth)) this.connectAccepted();
  }

  /**
   * Authentication needs something still to come (auth/auth.ts Authenticator.pending): as for the
   * auth callout, nothing the client sent after this CONNECT is read until it has come (the auth
   * timer runs on meanwhile, as nats-server's does while it fetches an account); then it is.
   */
  private awaitPending(wait: Promise<void>, auth: Authenticator): void {
    this.parser.suspend();
    this.socket.pause();
    void wait.then(() => {
      if (this.closed) return;
      if (!this.authenticate(auth)) {
        // Refused: read again (and drop) so the peer's FIN is seen. (The callout or a back-off resumes on its own.)
        if (this.closed) this.socket.resume();
        return;
      }
      this.acceptedAfterWait();
    });
  }

  /** A CONNECT held while something was awaited is in: reading and parsing go on. */
  private acceptedAfterWait(): void {
    this.connectAccepted();
    if (!this.stall.active) this.socket.resume();
    try {
      this.parser.resume();
    } catch (err) {
      this.log.error({ cid: this.cid, err }, "internal error while processing client data");
      this.close("Internal Error", true);
    }
  }

  /** The CONNECT's credentials checked: true when the client is in now (false: refused, or the auth callout asked). */
  private authenticate(auth: Authenticator | null): boolean {
    const o = this.opts;
    if (auth !== null) {
      this.bcryptCache ??= new Map();
      const user = auth.authenticate(o, this.nonce, this.bcryptCache, this.cert, this.peer());
      // An auth callout decides for everyone but its auth users, whatever the rest says of them.
      const external = auth.external;
      if (external !== null && external.decides(o, user)) {
        this.awaitCallout(external, user);
        return false;
      }
      if (user?.refused !== undefined) {
        this.log.error({ cid: this.cid, user: user.name }, user.refused);
        this.sendErrClose({ text: user.refused, close: true });
        return false;
      }
      if (user === null) {
        const delay = this.host.authThrottle?.failed(this.remoteAddress) ?? 0;
        this.log.error({ cid: this.cid, user: o.user, ...(delay > 0 ? { ip: this.remoteAddress, backoffMs: delay } : {}) }, "authorization violation");
        if (delay === 0) {
          this.sendErrClose(Errors.AuthorizationViolation);
          return false;
        }
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
        return false;
      }
      if (!this.admit(user)) return false;
    }
    return true;
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
    this.acceptedAfterWait();
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
    this.parser.maxPayload = this.payloadLimit(this.host.options.maxPayload);
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

  /** Whether the client takes INFO updates now (see firstPong). */
  get takesInfoUpdates(): boolean {
    return this.firstPong && this.opts.protocol >= 1;
  }

  onPing(): void {
    if (this.trace) this.traceIn("PING");
    this.lastRemotePing = Date.now();
    this.queue(PONG);
    if (!this.connectReceived || this.firstPong) return;
    this.firstPong = true;
    // As nats-server 2.9, the first PONG after CONNECT is followed by a new INFO when the
    // cluster's client URLs changed since the client's INFO was made (an update sent meanwhile
    // went only to clients past this point), or when its user's max_payload (a JWT's) is not the
    // server's, which the INFO then carries.
    if (this.opts.protocol < 1) return;
    const ownPayload = this.parser.maxPayload !== this.host.options.maxPayload;
    if (this.host.infoGeneration === this.infoGen && !ownPayload) return;
    const info = this.host.infoLine(this);
    this.queue(ownPayload ? Buffer.from(info.toString("latin1").replace(/"max_payload":\d+/, `"max_payload":${this.parser.maxPayload}`), "latin1") : info);
  }

  onPong(): void {
    if (this.trace) this.traceIn("PONG");
    this.sawOp = true;
    this.pingsOut = 0;
    if (this.rttStart > 0) this.rtt = Math.max(1, Date.now() - this.rttStart);
  }

  // ---- config reload (server/reload.ts) -----------------------------------------------------

  /** The most a PUB may carry: the server's max_payload, or the user's own (a JWT's) when smaller. */
  private payloadLimit(server: number): number {
    const pay = this.user?.maxPayload ?? -1;
    return pay >= 0 && (server <= 0 || pay < server) ? pay : server;
  }

  /**
   * Limits and tracing from reloaded options (the rest is read from host.options when used). A
   * JWT user's payload limit stays (nats-server 2.9 sets every client's to the new max_payload).
   */
  applyReloadedOptions(o: ServerOptions): void {
    this.parser.maxPayload = this.payloadLimit(o.maxPayload);
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

  // ---- the outbound side's hooks (socket-connection.ts) -------------------------------------

  protected override stallBegan(): void {
    this.host.noteStall(this);
  }

  /** Not while an auth callout holds the client's input. */
  protected override readingHeld(): boolean {
    return this.parser.suspended;
  }

  // ---- closing ----------------------------------------------------------------------------

  protected closing(): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
    this.clearAuthTimer();
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    for (const sub of this.subs.values()) this.routerOf(sub).unsubscribe(sub);
  }

  protected closedFor(reason: string): void {
    // Subscriptions are forgotten after the host is told, so monitoring can list a closed client's.
    this.host.removeClient(this, reason);
    this.subs.clear();
  }

  protected override closeGraceMs(): number {
    return Math.max(1000, this.host.options.writeDeadline);
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  private onSocketError(err: Error): void {
    this.log.debug({ cid: this.cid, err: err.message }, "socket error");
    this.close("Read Error", false);
  }
}

