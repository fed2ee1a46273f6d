// Tested by test/clients/clients.test.ts, test/server/robustness.test.ts and test/differential/transcripts.test.ts.
// A client's message path, between its parser and the router: PUB/HPUB in (mapped, checked
// against the user's permissions, published), SUB and UNSUB (permissions, limits, the
// subscription table), the parser's errors, and MSG/HMSG out (deliver, with the slow consumer
// rules: max_pending, the write deadline). connection.ts adds the client's life around it:
// greeting, CONNECT and authentication, pings, reload and closing.
import type { Logger } from "pino";
import { copyWords, digits, writeUint, type ViewCache } from "../../protocol/bytes.js";
import { defaultConnectOptions, type ConnectOptions } from "../../protocol/connect.js";
import { msgHeaderLength, OK, writeMsgHeader } from "../../protocol/encode.js";
import { errorLine, Errors, publishViolation, subscribeViolation, type ProtocolErrorDef } from "../../protocol/errors.js";
import { ParseError, type ParseErrorKind } from "../../protocol/parser.js";
import { isValidSubject } from "../../protocol/subject.js";
import type { AuthenticatedUser } from "../auth/auth.js";
import type { PermissionChecker } from "../auth/permissions.js";
import type { ServerOptions } from "../options.js";
import { Subscription, type Router } from "./router.js";
import { SocketConnection, type OutboundHost } from "./socket-connection.js";
import type { ClientSocket } from "./connection-types.js";

/** What a client's message path needs of the server. */
export interface ClientMessagesHost extends OutboundHost {
  readonly router: Router;
  readonly options: ServerOptions;
  readonly log: Logger;
  /** DataViews of read chunks, shared: a fan-out copies from the same chunk many times. */
  readonly views: ViewCache;
}

/** nats-server's internal queue group, refused to clients. */
const SYS_GROUP = "_sys_";

export abstract class ClientMessages extends SocketConnection {
  readonly opts: ConnectOptions = defaultConnectOptions();
  readonly subs = new Map<string, Subscription>();

  echo = true;
  noResponders = false;
  /** CONNECT asked for headers. */
  headers = false;
  /** The account this client is in; "$G" unless accounts are configured. */
  account = "$G";
  /** Who the client authenticated as (null while authentication is off or pending). */
  user: AuthenticatedUser | null = null;

  // Statistics, for monitoring.
  inMsgs = 0;
  inBytes = 0;

  /** The router of this client's account (set again when its CONNECT puts it in another). */
  protected router: Router;
  /** Subscriptions left in an earlier CONNECT's account, and that account's router. */
  protected leftBehind: Map<Subscription, Router> | null = null;
  /** The user's publish/subscribe permissions; null: no limits. */
  protected perms: PermissionChecker | null = null;
  /** The user's own subscription limit (JWT); -1: the server's. */
  protected maxSubs = -1;
  /** A SUB, UNSUB or PONG arrived (PUBs and PINGs are counted anyway); see opsBeforeConnect. */
  protected sawOp = false;
  protected trace: boolean;
  protected readonly log: Logger;

  constructor(cid: number, socket: ClientSocket, private readonly msgHost: ClientMessagesHost) {
    super(cid, socket, msgHost, msgHost.options.maxPending);
    this.router = msgHost.router;
    this.log = msgHost.log;
    this.trace = msgHost.options.trace && this.log.isLevelEnabled("trace");
  }

  // ---- inbound ----------------------------------------------------------------------------

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

  onInvalidPublishSubject(): void {
    this.sendErr(Errors.InvalidPublishSubject);
  }

  onSub(subject: string, queue: string, sid: string): void {
    if (this.trace) this.traceIn(queue ? `SUB ${subject} ${queue} ${sid}` : `SUB ${subject} ${sid}`);
    this.sawOp = true;
    // nats-server's order: permissions first (also against a sid already in use), then limits.
    // It refuses the queue group `_sys_` to every client, with or without permissions.
    if ((this.perms !== null && !this.perms.canSubscribe(subject, queue)) || queue === SYS_GROUP) {
      return this.sendViolation(subscribeViolation(subject, queue));
    }
    const server = this.msgHost.options.maxSubscriptions;
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

  onInfo(arg: Buffer): void {
    try {
      JSON.parse(arg.toString("utf8"));
    } catch {
      this.close("Protocol Violation", true);
    }
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

  /** The router a subscription lives in. */
  protected routerOf(sub: Subscription): Router {
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
    this.outLen = copyWords(out, dv, off, buf, this.msgHost.views.of(buf), start, end);
    this.outMsgs++;
    this.outBytes += size;
    if (this.trace) this.traceOut(hdrLen >= 0 ? `HMSG ${subject} ${sid} ${reply ? reply + " " : ""}${hdrLen} ${size}` : `MSG ${subject} ${sid} ${reply ? reply + " " : ""}${size}`);
    this.markDirty();
    return true;
  }

  private slowConsumer(): void {
    this.log.info({ cid: this.cid, maxPending: this.maxPending }, "slow consumer detected: max pending exceeded");
    this.close("Slow Consumer (Pending Bytes)", false);
  }

  protected override writeDeadline(): number {
    return this.msgHost.options.writeDeadline;
  }

  protected override writeDeadlineExceeded(): void {
    this.log.info({ cid: this.cid }, "slow consumer detected: write deadline exceeded");
    super.writeDeadlineExceeded();
  }

  protected override stallEnded(timedOut: boolean): void {
    if (timedOut) this.log.debug({ cid: this.cid }, "timed out of fast producer stall");
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

  // ---- tracing (only when -V) -------------------------------------------------------------

  protected traceIn(line: string): void {
    this.log.trace({ cid: this.cid }, `<<- [${line}]`);
  }

  protected traceOut(line: string): void {
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
