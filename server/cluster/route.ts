// One route: a connection to another server of the cluster, speaking nats-server's route
// protocol. To the router it is a Client with a `link`: its subscriptions are the other server's
// interest (RS+/RS-), and what they match goes across once as RMSG/HMSG. What comes from the
// other server (RMSG/HMSG) is routed here like a client's publish. Registering, gossip and
// reconnecting are the cluster's (cluster.ts).
import type { Logger } from "pino";
import { LinkParser, type LinkParserHandler } from "../../protocol/route-parser.js";
import { digits, writeUint } from "../../protocol/bytes.js";
import { BufferPool, ProducerStall, stallMark, stallTtl } from "../core/outbound.js";
import { Subscription, type Client, type Link, type Router } from "../core/router.js";
import type { ClientSocket } from "../core/connection-types.js";

/** What a route needs of the cluster it belongs to. */
export interface RouteHost {
  readonly log: Logger;
  readonly buffers: BufferPool;
  readonly maxPayload: number;
  readonly maxControlLine: number;
  readonly pingInterval: number;
  readonly pingMax: number;
  /** The router of an account, or null when this server does not know it. */
  routerFor(account: string): Router | null;
  /** The route's INFO or CONNECT arrived (JSON parsed). */
  onRouteInfo(r: Route, info: RouteInfo): void;
  onRouteConnect(r: Route, connect: RouteConnect): void;
  /** The route closed, for `reason`. */
  onRouteClosed(r: Route, reason: string): void;
  /** Queue `r` for a flush once the current work is done. */
  markDirty(r: { dirty: boolean; flush(): void }): void;
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

const PING = Buffer.from("PING\r\n");
const PONG = Buffer.from("PONG\r\n");
const EMPTY = Buffer.alloc(0);
/** Subjects whose RMSG line start a route keeps. */
const PREFIX_CACHE = 4096;
/** nats-server pings a new route after about a second, then every ping_interval. */
const FIRST_PING_MS = 1000;

export class Route implements Client, Link, LinkParserHandler {
  readonly kind = "route";
  readonly link: Link = this;
  echo = true;
  noResponders = false;
  closed = false;
  closeReason = "";
  /** Set once the other side's INFO was accepted (registered with the cluster). */
  registered = false;
  /** What the other side's INFO said (null before it came). */
  info: RouteInfo | null = null;
  /** The other side sends HMSG (its INFO or CONNECT said headers). */
  headers = false;
  readonly start = Date.now();
  /** Counters, for /routez and /varz. */
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  /** The other side's interest: "account subject[ queue]" → its subscription here. */
  readonly subs = new Map<string, { sub: Subscription; router: Router }>();
  dirty = false;
  congested = false;
  rtt = 0;
  lastActivity = Date.now();

  private readonly parser: LinkParser;
  private outBuf: Buffer = EMPTY;
  private outLen = 0;
  private readonly stallMarkBytes: number;
  private held: Client[] | null = null;
  private readonly stall = new ProducerStall<Client>(() => this.socket.pause(), () => {
    if (!this.closed) this.socket.resume();
  });
  private pingTimer: NodeJS.Timeout | null = null;
  private unknownAccounts: Set<string> | null = null;
  private readonly prefixes = new Map<string, Buffer>();
  private pingsOut = 0;
  private pingSent = 0;

  /**
   * @param solicited this server dialled it (`url` is where to); else it was accepted.
   */
  constructor(readonly cid: number, readonly socket: ClientSocket, private readonly host: RouteHost,
    readonly solicited: boolean, readonly url: string, private readonly maxPending: number) {
    this.stallMarkBytes = stallMark(maxPending);
    this.parser = new LinkParser(this, { accounts: true, maxControlLine: Math.max(host.maxControlLine, 64 * 1024), maxPayload: host.maxPayload });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => this.close("Read Error", false));
    socket.on("close", () => this.close("Client Closed", false));
    socket.on("end", () => this.close("Client Closed", true));
    this.armPing(FIRST_PING_MS);
  }

  get remoteAddress(): string {
    const a = this.socket.remoteAddress ?? "";
    return a.startsWith("::ffff:") ? a.slice(7) : a;
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  /** The other server's id, once its INFO came. */
  get remoteId(): string {
    return this.info?.server_id ?? "";
  }

  get pendingBytes(): number {
    return this.outLen + this.socket.writableLength;
  }

  // ---- inbound ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (err) {
      this.host.log.error({ rid: this.cid, err }, "internal error while processing route data");
      this.close("Internal Error", true);
    }
  }

  onInfo(json: string): void {
    let info: RouteInfo;
    try {
      info = JSON.parse(json) as RouteInfo;
    } catch {
      return this.protocolError(`bad INFO: ${json.slice(0, 64)}`);
    }
    if (typeof info.server_id !== "string" || info.server_id === "") return this.protocolError("INFO without server_id");
    this.host.onRouteInfo(this, info);
  }

  onConnect(json: string): void {
    let c: RouteConnect;
    try {
      c = JSON.parse(json) as RouteConnect;
    } catch {
      return this.protocolError(`bad CONNECT: ${json.slice(0, 64)}`);
    }
    this.host.onRouteConnect(this, c);
  }

  onPing(): void {
    this.queue(PONG);
  }

  onPong(): void {
    this.pingsOut = 0;
    if (this.pingSent > 0) this.rtt = Math.max(1, Date.now() - this.pingSent);
  }

  onOk(): void {}

  onErr(text: string): void {
    this.host.log.error({ rid: this.cid, remote: this.remoteName() }, `Route Error '${text}'`);
    this.close("Parse Error", true);
  }

  onParseError(detail: string): void {
    this.protocolError(detail);
  }

  private protocolError(detail: string): void {
    this.host.log.error({ rid: this.cid, detail }, "route protocol error");
    this.close("Protocol Violation", true);
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
      return;
    }
    const key = queue === "" ? `${account} ${subject}` : `${account} ${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had !== undefined) {
      if (queue !== "" && had.sub.weight !== weight) router.reweigh(had.sub, weight);
      return;
    }
    const sub = new Subscription(this, subject, queue, key);
    if (queue !== "") sub.weight = Math.max(1, weight);
    this.subs.set(key, { sub, router });
    router.subscribe(sub);
  }

  onUnsub(account: string, subject: string, queue: string): void {
    const key = queue === "" ? `${account} ${subject}` : `${account} ${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had === undefined) return;
    this.subs.delete(key);
    had.router.unsubscribe(had.sub);
  }

  onMsg(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number): void {
    this.inMsgs++;
    this.inBytes += end - start - 2;
    if (!this.registered) return;
    const router = this.host.routerFor(account);
    if (router === null) return;
    let shown = subject;
    // A JetStream delivery: the stream's subject rides after '@' on the ack reply.
    if (reply.startsWith("$JS.ACK.")) {
      const at = reply.lastIndexOf("@");
      if (at > 0 && at < reply.length - 1) {
        shown = reply.slice(at + 1);
        reply = reply.slice(0, at);
      }
    }
    router.publishFromLink(this, subject, reply, queues.length === 0 ? null : queues, hdrLen, buf, start, end, shown);
  }

  // ---- outbound ---------------------------------------------------------------------------

  /** Link.forward: one message across as RMSG (HMSG with headers). */
  forward(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string): boolean {
    if (this.closed || !this.registered) return false;
    let size = end - start - 2;
    if (hdrLen >= 0 && !this.headers) {
      start += hdrLen;
      size -= hdrLen;
      hdrLen = -1;
    }
    // nats-server carries a JetStream delivery's shown subject after '@' on the reply.
    if (shown !== subject && reply.length !== 0) reply = `${reply}@${shown}`;
    let off: number;
    if (hdrLen < 0 && reply.length === 0 && queues.length === 0) {
      // The common line, "RMSG <account> <subject> <size>": its start is kept per subject.
      const prefix = this.prefixOf(account, subject);
      const need = prefix.length + digits(size) + 2 + size + 2;
      if (this.outLen + need > this.outBuf.length) this.makeRoom(need);
      const out = this.outBuf;
      off = this.outLen;
      for (let i = 0; i < prefix.length; i++) out[off + i] = prefix[i]!;
      off += prefix.length;
    } else {
      let head = `${hdrLen >= 0 ? "HMSG" : "RMSG"} ${account} ${subject} `;
      if (queues.length !== 0) {
        head += reply.length !== 0 ? `+ ${reply} ` : "| ";
        for (let i = 0; i < queues.length; i++) head += `${queues[i]} `;
      } else if (reply.length !== 0) {
        head += `${reply} `;
      }
      if (hdrLen >= 0) head += `${hdrLen} `;
      const need = head.length + digits(size) + 2 + size + 2;
      if (this.outLen + need > this.outBuf.length) this.makeRoom(need);
      off = this.outLen + this.outBuf.write(head, this.outLen, "latin1");
    }
    const out = this.outBuf;
    off = writeUint(out, off, size);
    out[off++] = 13;
    out[off++] = 10;
    // Small payloads are copied here: a Buffer.copy call costs more than the bytes.
    if (end - start <= 64) {
      for (let i = start; i < end; i++) out[off++] = buf[i]!;
    } else {
      off += buf.copy(out, off, start, end);
    }
    this.outLen = off;
    this.outMsgs++;
    this.outBytes += size;
    this.markDirty();
    return true;
  }

  /** "RMSG <account> <subject> " as bytes, built once per subject (a bounded cache). */
  private prefixOf(account: string, subject: string): Buffer {
    const key = account === "$G" ? subject : `${account} ${subject}`;
    let p = this.prefixes.get(key);
    if (p === undefined) {
      if (this.prefixes.size >= PREFIX_CACHE) this.prefixes.clear();
      p = Buffer.from(`RMSG ${account} ${subject} `, "latin1");
      this.prefixes.set(key, p);
    }
    return p;
  }

  /** Queue protocol bytes (INFO, CONNECT, RS+, PING …). */
  queue(bytes: Buffer | string): void {
    if (this.closed) return;
    const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    if (this.outLen + b.length > this.outBuf.length) this.makeRoom(b.length);
    this.outBuf.set(b, this.outLen);
    this.outLen += b.length;
    this.markDirty();
  }

  private markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.host.markDirty(this);
    }
  }

  private makeRoom(need: number): void {
    if (this.outLen > 0) this.flush();
    this.outBuf = this.host.buffers.take(need);
  }

  flush(): void {
    this.dirty = false;
    const len = this.outLen;
    if (len === 0 || this.socket.destroyed) return;
    const buf = this.outBuf;
    this.outLen = 0;
    this.outBuf = EMPTY;
    // The socket keeps the buffer until written: a fresh one is taken for what comes next.
    this.socket.write(len === buf.length ? buf : buf.subarray(0, len));
    const pending = this.socket.writableLength;
    if (pending === 0) this.host.buffers.give(buf);
    else if (pending > this.stallMarkBytes && this.socket.writableNeedDrain) this.congested = true;
  }

  private onDrain(): void {
    if (this.socket.writableLength !== 0) return;
    this.congested = false;
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (let i = 0; i < held.length; i++) held[i]!.release(this);
  }

  // ---- flow control (see Client in router.ts) ---------------------------------------------

  holdProducer(producer: Client): void {
    (this.held ??= []).push(producer);
  }

  stallTtl(): number {
    return stallTtl(this.pendingBytes, this.stallMarkBytes, this.maxPending);
  }

  stallOn(receiver: Client): void {
    if (!this.closed && this.stall.add(receiver)) receiver.holdProducer(this);
  }

  release(receiver: Client): void {
    this.stall.release(receiver);
  }

  deliver(): boolean {
    // Never called: the router hands a link's messages to forward().
    return false;
  }

  // ---- pings and closing ------------------------------------------------------------------

  private armPing(ms: number): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.onPingTimer(), ms);
    this.pingTimer.unref();
  }

  private onPingTimer(): void {
    this.pingTimer = null;
    if (this.closed) return;
    if (this.pingsOut + 1 > this.host.pingMax) {
      this.host.log.debug({ rid: this.cid }, "stale route connection");
      this.close("Stale Connection", true);
      return;
    }
    this.pingsOut++;
    this.pingSent = Date.now();
    this.queue(PING);
    this.armPing(this.host.pingInterval);
  }

  /** A name for log lines: the other server's name, else its address. */
  remoteName(): string {
    return this.info?.server_name ?? `${this.remoteAddress}:${this.remotePort}`;
  }

  close(reason: string, flush: boolean): void {
    if (this.closed) return;
    this.parser.close();
    if (flush && this.outLen > 0 && !this.socket.destroyed) this.flush();
    this.closed = true;
    this.closeReason = reason;
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
    for (const { sub, router } of this.subs.values()) router.unsubscribe(sub);
    this.subs.clear();
    this.congested = false;
    this.onDrainRelease();
    this.stall.clear();
    this.outBuf = EMPTY;
    this.outLen = 0;
    if (flush && !this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
      this.socket.once("close", () => clearTimeout(t));
    } else {
      this.socket.destroy();
    }
    this.host.onRouteClosed(this, reason);
  }

  private onDrainRelease(): void {
    const held = this.held;
    this.held = null;
    if (held !== null) for (let i = 0; i < held.length; i++) held[i]!.release(this);
  }
}
