// Tested by test/cluster/routes.test.ts (routes) and test/cluster/leafnodes.test.ts (leafnode connections).
// What a connection to another server is, whatever protocol it speaks (a route, a leafnode
// connection): a router Client with a Link, over the outbound side a client's connection has too
// (core/socket-connection.ts: pooled buffers flushed once per turn, flow control both ways),
// PING/PONG with a stale check, and one way to close. route.ts and leaf.ts add their protocol's
// lines on top.
import type { Logger } from "pino";
import { LinkParser, type LinkParserHandler, type LinkParserOptions } from "../../protocol/route-parser.js";
import { digits, writeUint } from "../../protocol/bytes.js";
import { ANY_QUEUE_GROUP, Subscription, type Link, type Router } from "../core/router.js";
import type { ClientSocket } from "../core/connection-types.js";
import { SocketConnection, type OutboundHost } from "../core/socket-connection.js";

/** What every link needs of the room that holds it (the cluster, the leafnodes). */
export interface LinkConnectionHost extends OutboundHost {
  readonly log: Logger;
  readonly maxPayload: number;
  readonly maxControlLine: number;
  readonly pingInterval: number;
  readonly pingMax: number;
}

/** What the server gives a room of links (the cluster, the leafnodes): its identity and limits. */
export interface LinkRoomHost extends LinkConnectionHost {
  readonly serverId: string;
  readonly serverName: string;
  readonly version: string;
  readonly maxPending: number;
  readonly jetstream: boolean;
  /** Every account's router (the links follow their interest). */
  routers(): Iterable<Router>;
  routerFor(account: string): Router | null;
  nextCid(): number;
}

const PING = Buffer.from("PING\r\n");
const PONG = Buffer.from("PONG\r\n");
/** nats-server pings a new route or leafnode connection after about a second, then every ping_interval. */
export const FIRST_PING_MS = 1000;
/** Subjects whose RMSG/LMSG line start a link keeps (a bounded cache, cleared when full). */
const PREFIX_CACHE = 4096;

export abstract class LinkConnection extends SocketConnection implements Link, LinkParserHandler {
  abstract readonly kind: "route" | "leaf";
  readonly link: Link = this;
  echo = true;
  noResponders = false;
  /** The handshake is done: subscriptions and messages count from now on. */
  registered = false;
  /** The other side sends and takes HMSG. */
  headers = false;
  readonly start = Date.now();
  /** Counters, for /routez, /leafz and /metrics. */
  inMsgs = 0;
  inBytes = 0;
  rtt = 0;
  lastActivity = Date.now();

  protected readonly parser: LinkParser;
  /** "RMSG <account> <subject> " or "LMSG <subject> " by subject. */
  private readonly prefixes = new Map<string, Buffer>();
  private pingTimer: NodeJS.Timeout | null = null;
  private pingsOut = 0;
  private pingSent = 0;

  /**
   * @param solicited this server dialled it (`url` is where to); else it was accepted.
   * @param logKey the field that names it in log lines ("rid" for routes, "lid" for leafs).
   */
  constructor(cid: number, socket: ClientSocket, private readonly linkHost: LinkConnectionHost,
    readonly solicited: boolean, readonly url: string, maxPending: number,
    parser: Pick<LinkParserOptions, "accounts">, protected readonly logKey: "rid" | "lid") {
    super(cid, socket, linkHost, maxPending);
    this.parser = new LinkParser(this, { accounts: parser.accounts, maxControlLine: Math.max(linkHost.maxControlLine, 64 * 1024), maxPayload: linkHost.maxPayload });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
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

  // ---- the protocol's lines (LinkParserHandler), in route.ts and leaf.ts ---------------------

  abstract onInfo(json: string): void;
  abstract onConnect(json: string): void;
  abstract onErr(text: string): void;
  abstract onSub(account: string, subject: string, queue: string, weight: number, origin: string): void;
  abstract onUnsub(account: string, subject: string, queue: string): void;
  abstract onMsg(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, origin: string): void;
  /** The other side's subscriptions leave the router (the link closed). */
  protected abstract dropInterest(): void;

  // ---- inbound ----------------------------------------------------------------------------

  /** Bytes read off the socket before this connection took it over (a hub's INFO, read first). */
  receive(chunk: Buffer): void {
    this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk);
    } catch (err) {
      // A bug must cost one link, never the process.
      this.linkHost.log.error({ [this.logKey]: this.cid, err }, `internal error while processing ${this.kind === "route" ? "route" : "leafnode"} data`);
      this.close("Internal Error", true);
    }
  }

  onPing(): void {
    this.queue(PONG);
  }

  onPong(): void {
    this.pingsOut = 0;
    if (this.pingSent > 0) this.rtt = Math.max(1, Date.now() - this.pingSent);
  }

  onOk(): void {}

  onParseError(detail: string): void {
    this.protocolError(detail);
  }

  protected protocolError(detail: string): void {
    this.linkHost.log.error({ [this.logKey]: this.cid, detail }, `${this.kind === "route" ? "route" : "leafnode"} protocol error`);
    this.close("Protocol Violation", true);
  }

  /** An INFO's or CONNECT's JSON object; null, after a protocol error, when it is none. */
  protected jsonObject<T>(json: string, verb: "INFO" | "CONNECT"): T | null {
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch {
      this.protocolError(`bad ${verb}: ${json.slice(0, 64)}`);
      return null;
    }
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as T;
    this.protocolError(`${verb} is not a JSON object`);
    return null;
  }

  /**
   * RS+/LS+: the other side's interest in `subject` (with `queue`, its member count). Null when
   * it is known already (`had`, reweighed); else a new subscription, keyed `key`, for the caller
   * to keep and subscribe.
   */
  protected newInterest(router: Router, had: Subscription | undefined, subject: string, queue: string, weight: number,
    key: string): Subscription | null {
    const w = Math.max(1, weight);
    if (had !== undefined) {
      if (queue !== "" && had.weight !== w) router.reweigh(had, w);
      return null;
    }
    const sub = new Subscription(this, subject, queue, key);
    if (queue !== "") sub.weight = w;
    return sub;
  }

  /** What comes in is mapped by the account's subject mappings (leafnode connections, not routes). */
  protected readonly mapsSubjects: boolean = false;

  /**
   * A message that came across the link: counted, then published into `router` (null: not
   * registered, or no such account here). A JetStream delivery's stream subject rides after '@'
   * on its ack reply; it is split off and shown as the message's subject.
   */
  protected publishIn(router: Router | null, subject: string, reply: string, queues: readonly string[],
    hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.inMsgs++;
    this.inBytes += end - start - 2;
    if (!this.registered || router === null) return;
    let shown = subject;
    if (reply.startsWith("$JS.ACK.")) {
      const at = reply.lastIndexOf("@");
      if (at > 0 && at < reply.length - 1) {
        shown = reply.slice(at + 1);
        reply = reply.slice(0, at);
      }
    }
    let mappedHere = false;
    if (this.mapsSubjects && router.mappings !== null) {
      // The account's subject mappings apply to what a leafnode sends, as to a client's publish
      // (what a route brings was mapped where it was published).
      const mapped = router.mapped(subject);
      if (mapped !== subject) {
        if (shown === subject) shown = mapped;
        subject = mapped;
        if (subject === "") return;
        mappedHere = true;
      }
    }
    // Mapped here, a message could not name our queue groups: any may take it (nats-server).
    const qf = queues.length !== 0 ? queues : mappedHere ? ANY_QUEUE_GROUP : null;
    router.publishFromLink(this, subject, reply, qf, hdrLen, buf, start, end, shown);
  }

  // ---- outbound ---------------------------------------------------------------------------

  /**
   * Link.forward: one message across as RMSG (a route's; LMSG on a leafnode connection, which
   * names no account), HMSG with headers.
   */
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
    if (hdrLen < 0 && reply.length === 0 && queues.length === 0) {
      // The common line, "RMSG <account> <subject> <size>": its start is kept per subject.
      this.writeMsg(this.prefixOf(account, subject), size, buf, start, end);
      return true;
    }
    const verb = hdrLen >= 0 ? "HMSG" : this.kind === "route" ? "RMSG" : "LMSG";
    const head = this.kind === "route" ? `${verb} ${account} ${subject} ` : `${verb} ${subject} `;
    this.writeMsg(head + LinkConnection.headTail(reply, queues, hdrLen), size, buf, start, end);
    return true;
  }

  /** "RMSG <account> <subject> " (or "LMSG <subject> ") as bytes, built once per subject. */
  private prefixOf(account: string, subject: string): Buffer {
    const route = this.kind === "route";
    const key = !route || account === "$G" ? subject : `${account} ${subject}`;
    let p = this.prefixes.get(key);
    if (p === undefined) {
      if (this.prefixes.size >= PREFIX_CACHE) this.prefixes.clear();
      p = Buffer.from(route ? `RMSG ${account} ${subject} ` : `LMSG ${subject} `, "latin1");
      this.prefixes.set(key, p);
    }
    return p;
  }

  /** The rest of an RMSG/LMSG/HMSG line after its subject: reply, queues, header length. */
  private static headTail(reply: string, queues: readonly string[], hdrLen: number): string {
    let tail = "";
    if (queues.length !== 0) {
      tail += reply.length !== 0 ? `+ ${reply} ` : "| ";
      for (let i = 0; i < queues.length; i++) tail += `${queues[i]} `;
    } else if (reply.length !== 0) {
      tail += `${reply} `;
    }
    if (hdrLen >= 0) tail += `${hdrLen} `;
    return tail;
  }

  /**
   * Queue one message line and its payload: `head` (the line up to the size, its trailing space
   * included), the size, CRLF, then `buf[start, end)` (payload plus CRLF).
   */
  protected writeMsg(head: string | Buffer, size: number, buf: Buffer, start: number, end: number): void {
    const headLen = head.length;
    const need = headLen + digits(size) + 2 + (end - start);
    if (this.outLen + need > this.outBuf.length) this.makeRoom(need);
    const out = this.outBuf;
    let off = this.outLen;
    if (typeof head === "string") {
      off += out.write(head, off, "latin1");
    } else {
      for (let i = 0; i < headLen; i++) out[off + i] = head[i]!;
      off += headLen;
    }
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
  }

  // ---- the router's side (Client) -----------------------------------------------------------

  deliver(_sub: Subscription): boolean {
    // Never called: the router hands a link's messages to forward().
    return false;
  }

  // ---- pings and closing ------------------------------------------------------------------

  protected armPing(ms: number): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.onPingTimer(), ms);
    this.pingTimer.unref();
  }

  /** No PONG to `ping_max` PINGs in a row: the other side is gone. */
  protected stale(): void {
    this.close("Stale Connection", true);
  }

  private onPingTimer(): void {
    this.pingTimer = null;
    if (this.closed) return;
    if (this.pingsOut + 1 > this.linkHost.pingMax) return this.stale();
    this.pingsOut++;
    this.pingSent = Date.now();
    this.queue(PING);
    this.armPing(this.linkHost.pingInterval);
  }

  protected closing(): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
    this.dropInterest();
  }
}
