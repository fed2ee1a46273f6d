// One leafnode connection, in nats-server's leafnode protocol: to a hub this server solicited
// (this server is the spoke) or from a leaf that connected to our leafnode port (this server is
// the hub). Bound to one account of this server. To the router it is a Client with a `link`: its
// subscriptions are the other side's interest (LS+/LS-, queue groups with their member counts),
// and what they match goes across once as LMSG (HMSG with headers). What comes across (LMSG,
// HMSG) is routed here like a client's publish. The handshake, the interest we send and
// reconnecting are the leafnodes manager's (leafnodes.ts).
import type { Logger } from "pino";
import { LinkParser, type LinkParserHandler } from "../../protocol/route-parser.js";
import { digits, writeUint } from "../../protocol/bytes.js";
import { subjectMatches } from "../../protocol/subject.js";
import { BufferPool, ProducerStall, stallMark, stallTtl } from "../core/outbound.js";
import { Subscription, type Client, type Link, type Router } from "../core/router.js";
import type { ClientSocket } from "../core/connection-types.js";

/** What a leafnode connection needs of the leafnodes manager. */
export interface LeafConnHost {
  readonly log: Logger;
  readonly buffers: BufferPool;
  readonly maxPayload: number;
  readonly maxControlLine: number;
  readonly pingInterval: number;
  readonly pingMax: number;
  onLeafInfo(l: LeafConn, info: LeafInfo): void;
  onLeafConnect(l: LeafConn, connect: LeafConnect): void;
  /** LS+ of `subject`: false when it is not to be taken (a loop, a permission: the host acts). */
  acceptSub(l: LeafConn, subject: string): boolean;
  /** The other side sent -ERR. */
  onLeafError(l: LeafConn, text: string): void;
  onLeafClosed(l: LeafConn, reason: string): void;
  markDirty(r: { dirty: boolean; flush(): void }): void;
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
  import?: unknown;
  export?: unknown;
}

/** The CONNECT a leaf sends to its hub. */
export interface LeafConnect {
  version?: string;
  user?: string;
  pass?: string;
  jwt?: string;
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

const PING = Buffer.from("PING\r\n");
const PONG = Buffer.from("PONG\r\n");
const EMPTY = Buffer.alloc(0);
/** The first ping goes about a second after the connection is up, then every ping_interval. */
const FIRST_PING_MS = 1000;

export class LeafConn implements Client, Link, LinkParserHandler {
  readonly kind = "leaf";
  readonly link: Link = this;
  /** Leafnode connections are never echo: what came across does not go back. */
  echo = false;
  noResponders = false;
  closed = false;
  closeReason = "";
  /** Bound to its account and told of our interest: messages and LS+ flow. */
  registered = false;
  /** This server is the spoke on this connection (see Link.spoke). Set by the handshake. */
  spoke: boolean;
  /** The other server's cluster (its CONNECT's or INFO's), "" when none. */
  remoteCluster = "";
  /** The other server's name (or id). */
  remoteServer = "";
  remoteId = "";
  /** The other side sends and takes HMSG. */
  headers = false;
  /** The account this connection is bound to, once it is. */
  account = "";
  router: Router | null = null;
  /** The other side's INFO (solicited) or CONNECT (accepted). */
  info: LeafInfo | null = null;
  /** Subjects not sent across (messages: deny_exports, the hub's deny_pub, JetStream's). */
  pubDeny: string[] = [];
  /** Subjects whose interest is not sent across (deny_imports, JetStream's). */
  subDeny: string[] = [];
  /**
   * Our interest as last told to the other side: "subject[ queue]" → count (nats-server's smap).
   * null until the connection is bound.
   */
  smap: Map<string, number> | null = null;
  readonly start = Date.now();
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  /** The other side's interest: "subject[ queue]" → its subscription here. */
  readonly subs = new Map<string, Subscription>();
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
  private pingsOut = 0;
  private pingSent = 0;

  /**
   * @param solicited this server dialled it (a remote; `url` is where to); else it was accepted.
   */
  constructor(readonly cid: number, readonly socket: ClientSocket, private readonly host: LeafConnHost,
    readonly solicited: boolean, readonly url: string, private readonly maxPending: number) {
    this.spoke = solicited;
    this.stallMarkBytes = stallMark(maxPending);
    this.parser = new LinkParser(this, { accounts: false, maxControlLine: Math.max(host.maxControlLine, 64 * 1024), maxPayload: host.maxPayload });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => this.close("Read Error", false));
    socket.on("close", () => this.close("Client Closed", false));
    socket.on("end", () => this.close("Client Closed", true));
  }

  get remoteAddress(): string {
    const a = this.socket.remoteAddress ?? "";
    return a.startsWith("::ffff:") ? a.slice(7) : a;
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  get pendingBytes(): number {
    return this.outLen + this.socket.writableLength;
  }

  /** Bind to an account and start the pings: subscriptions and messages count from now on. */
  bind(account: string, router: Router): void {
    this.account = account;
    this.router = router;
    this.registered = true;
    this.smap = new Map();
    this.armPing(FIRST_PING_MS);
  }

  /** Whether interest in `subject` may be told to the other side. */
  canSubscribe(subject: string): boolean {
    return !denied(this.subDeny, subject);
  }

  /** Whether a message on `subject` may go across. */
  canPublish(subject: string): boolean {
    return !denied(this.pubDeny, subject);
  }

  // ---- inbound ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (err) {
      this.host.log.error({ lid: this.cid, err }, "internal error while processing leafnode data");
      this.close("Internal Error", true);
    }
  }

  onInfo(json: string): void {
    let info: LeafInfo;
    try {
      info = JSON.parse(json) as LeafInfo;
    } catch {
      return this.protocolError(`bad INFO: ${json.slice(0, 64)}`);
    }
    if (typeof info !== "object" || info === null || typeof info.server_id !== "string") return this.protocolError("INFO without server_id");
    this.host.onLeafInfo(this, info);
  }

  onConnect(json: string): void {
    let c: LeafConnect;
    try {
      c = JSON.parse(json) as LeafConnect;
    } catch {
      return this.protocolError(`bad CONNECT: ${json.slice(0, 64)}`);
    }
    if (typeof c !== "object" || c === null || Array.isArray(c)) return this.protocolError("CONNECT is not a JSON object");
    this.host.onLeafConnect(this, c);
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
    this.host.onLeafError(this, text);
  }

  onParseError(detail: string): void {
    this.protocolError(detail);
  }

  private protocolError(detail: string): void {
    this.host.log.error({ lid: this.cid, detail }, "leafnode protocol error");
    this.close("Protocol Violation", true);
  }

  onSub(_account: string, subject: string, queue: string, weight: number): void {
    const router = this.router;
    if (!this.registered || router === null || this.closed) return;
    if (!this.host.acceptSub(this, subject)) return;
    const key = queue === "" ? subject : `${subject} ${queue}`;
    const had = this.subs.get(key);
    if (had !== undefined) {
      if (queue !== "" && had.weight !== Math.max(1, weight)) router.reweigh(had, Math.max(1, weight));
      return;
    }
    const sub = new Subscription(this, subject, queue, key);
    if (queue !== "") sub.weight = Math.max(1, weight);
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
    this.inMsgs++;
    this.inBytes += end - start - 2;
    const router = this.router;
    if (!this.registered || router === null) return;
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

  /** Link.forward: one message across as LMSG (HMSG with headers). */
  forward(_account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, shown: string): boolean {
    if (this.closed || !this.registered) return false;
    if (this.pubDeny.length !== 0 && !this.canPublish(subject)) return false;
    let size = end - start - 2;
    if (hdrLen >= 0 && !this.headers) {
      start += hdrLen;
      size -= hdrLen;
      hdrLen = -1;
    }
    if (shown !== subject && reply.length !== 0) reply = `${reply}@${shown}`;
    let head = `${hdrLen >= 0 ? "HMSG" : "LMSG"} ${subject} `;
    if (queues.length !== 0) {
      head += reply.length !== 0 ? `+ ${reply} ` : "| ";
      for (let i = 0; i < queues.length; i++) head += `${queues[i]} `;
    } else if (reply.length !== 0) {
      head += `${reply} `;
    }
    if (hdrLen >= 0) head += `${hdrLen} `;
    const need = head.length + digits(size) + 2 + size + 2;
    if (this.outLen + need > this.outBuf.length) this.makeRoom(need);
    const out = this.outBuf;
    let off = this.outLen + out.write(head, this.outLen, "latin1");
    off = writeUint(out, off, size);
    out[off++] = 13;
    out[off++] = 10;
    off += buf.copy(out, off, start, end);
    this.outLen = off;
    this.outMsgs++;
    this.outBytes += size;
    this.markDirty();
    return true;
  }

  /** Queue protocol bytes (INFO, CONNECT, LS+, PING …). */
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
      this.host.log.debug({ lid: this.cid }, "Stale Client Connection - Closing");
      this.queue("-ERR 'Stale Connection'\r\n");
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
    return this.remoteServer !== "" ? this.remoteServer : `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Send -ERR 'text' and close. */
  sendErrAndClose(text: string, reason: string): void {
    this.queue(`-ERR '${text}'\r\n`);
    this.close(reason, true);
  }

  close(reason: string, flush: boolean): void {
    if (this.closed) return;
    this.parser.close();
    if (flush && this.outLen > 0 && !this.socket.destroyed) this.flush();
    this.closed = true;
    this.closeReason = reason;
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
    const router = this.router;
    if (router !== null) for (const sub of this.subs.values()) router.unsubscribe(sub);
    this.subs.clear();
    this.congested = false;
    const held = this.held;
    this.held = null;
    if (held !== null) for (let i = 0; i < held.length; i++) held[i]!.release(this);
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
    this.host.onLeafClosed(this, reason);
  }
}

/** Whether `subject` (a subscription's, wildcards taken as they are) falls under one of `deny`. */
function denied(deny: readonly string[], subject: string): boolean {
  for (let i = 0; i < deny.length; i++) if (subjectMatches(deny[i]!, subject)) return true;
  return false;
}
