// Tested by test/server/router.test.ts.
// Internal clients: server code (JetStream, events, alerts, the accounts' JetStream API) that
// subscribes and publishes through a Router with callbacks instead of a socket.
import { decodeHeaders, encodeHeaders, type MsgHeaders } from "../../protocol/headers.js";
import { fromWire, isValidLiteralSubject, isValidSubject, toWire } from "../../protocol/subject.js";
import { ProducerStall } from "./outbound.js";
import { Subscription, type Client, type Router } from "./router.js";

const CRLF = Buffer.from("\r\n");

/** A client that lives inside the server: callbacks instead of a socket. */
export function internalClient(router: Router, opts: { echo?: boolean; noResponders?: boolean } = {}): InternalClient {
  return new InternalClient(router, router.takeInternalCid(), opts.echo ?? true, opts.noResponders ?? true);
}

/** A message as an internal subscriber sees it. Subjects are plain JS strings here. */
export interface InternalMsg {
  subject: string;
  reply: string;
  /** Raw header block, or null. */
  headerBytes: Buffer | null;
  data: Buffer;
  sid: string;
  /** The cid of the client that published it (negative for internal clients). */
  fromCid: number;
  /** Parsed headers (status code, values), or null when the message has none. */
  headers(): MsgHeaders | null;
}

export type InternalHandler = (msg: InternalMsg) => void;

/**
 * A handler that sees the delivery as the router has it: subject and reply in wire form, and
 * `buf[start, end)` the payload plus CRLF (headers first when hdrLen >= 0). Nothing is copied,
 * so it must copy whatever it keeps before returning. For hot internal subscribers (acks, a
 * stream taking its published messages).
 */
export type RawInternalHandler = (subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number) => void;

export interface PublishOptions {
  reply?: string;
  /** The subject receivers see, when it is not the one routed on (JetStream deliveries). */
  shownSubject?: string;
  headers?: Buffer | Iterable<[string, string | string[]]>;
}

export interface InternalSubscription {
  readonly sid: string;
  unsubscribe(): void;
}

/**
 * Subscribe and publish from server code with the same matching, queue and reply semantics a
 * socket client gets. Handlers run synchronously inside the publisher's call, so a handler that
 * publishes sees its own message routed before it returns.
 */
export class InternalClient implements Client {
  private readonly handlers = new Map<Subscription, InternalHandler>();
  private readonly rawHandlers = new Map<Subscription, RawInternalHandler>();
  private nextSid = 1;
  closed = false;
  /** Handlers run synchronously: nothing ever queues up for an internal client. */
  readonly congested = false;
  /** Congested receivers this client's publications reached, until they drain (or the wait runs out). */
  private readonly stall = new ProducerStall<Client>(() => {}, () => this.wake());
  private drainWaiters: (() => void)[] = [];
  private scratch: Buffer = Buffer.allocUnsafeSlow(4096);
  private scratchBusy = false;
  private interestSubject = "";
  private interestGen = -1;
  private interestAnswer = false;

  constructor(private readonly router: Router, readonly cid: number, public echo: boolean,
    public noResponders: boolean) {}

  subscribe(subject: string, handler: InternalHandler, opts: { queue?: string; max?: number } = {}): InternalSubscription {
    return this.add(this.handlers, handler, subject, opts);
  }

  /** subscribe() for a RawInternalHandler: no InternalMsg, no copies. */
  subscribeRaw(subject: string, handler: RawInternalHandler): InternalSubscription {
    return this.add(this.rawHandlers, handler, subject, {});
  }

  private add<H>(handlers: Map<Subscription, H>, handler: H, subject: string, opts: { queue?: string; max?: number }): InternalSubscription {
    const wire = toWire(subject);
    if (!isValidSubject(wire)) throw new Error(`invalid subject: ${subject}`);
    const sub = new Subscription(this, wire, opts.queue ? toWire(opts.queue) : "", String(this.nextSid++));
    if (opts.max !== undefined && opts.max > 0) sub.max = opts.max;
    handlers.set(sub, handler);
    this.router.subscribe(sub);
    return {
      sid: sub.sid,
      unsubscribe: () => {
        handlers.delete(sub);
        this.router.unsubscribe(sub);
      },
    };
  }

  publish(subject: string, data: Buffer | string = Buffer.alloc(0), opts: PublishOptions = {}): boolean {
    const wire = toWire(subject);
    if (!isValidLiteralSubject(wire)) throw new Error(`invalid publish subject: ${subject}`);
    const payload = typeof data === "string" ? Buffer.from(data) : data;
    let hdr: Buffer | null = null;
    if (opts.headers !== undefined) {
      hdr = Buffer.isBuffer(opts.headers) ? opts.headers : encodeHeaders(opts.headers);
    }
    const msg = hdr === null ? Buffer.concat([payload, CRLF]) : Buffer.concat([hdr, payload, CRLF]);
    const shown = opts.shownSubject !== undefined ? toWire(opts.shownSubject) : wire;
    return this.router.publish(this, wire, opts.reply ? toWire(opts.reply) : "", hdr === null ? -1 : hdr.length, msg, 0, msg.length, shown);
  }

  /**
   * `subject` after the account's subject mappings ("": a weighted mapping dropped it), for a
   * publish that should be mapped as a client's is (nats-server maps its internal clients' too).
   */
  mapped(subject: string): string {
    return fromWire(this.router.mapped(toWire(subject)));
  }

  /** See Router.matchUncachedUnder. */
  matchUncachedUnder(prefix: string): void {
    this.router.matchUncachedUnder(toWire(prefix));
  }

  /** Call `cb` (once per new subscription) when someone subscribes so as to receive `subject`. */
  watchInterest(subject: string, cb: () => void): () => void {
    return this.router.watchInterest(toWire(subject), cb);
  }

  /**
   * Whether a publish to `subject` would reach any subscription. JetStream asks this before every
   * message it delivers, for the same subject over and over: the answer is kept until the
   * subscriptions change.
   */
  hasInterest(subject: string): boolean {
    const gen = this.router.sublist.genId;
    if (subject === this.interestSubject && gen === this.interestGen) return this.interestAnswer;
    const r = this.router.interested(toWire(subject));
    // An answer that depends on another account's subscriptions is not kept.
    this.interestSubject = r.stable ? subject : "";
    this.interestGen = gen;
    return (this.interestAnswer = r.yes);
  }

  /**
   * Publish a message whose subjects are already in wire form (see protocol/subject.ts) and were
   * built by server code, so no conversion or validation: JetStream delivering stored messages.
   * `shown` is the subject receivers see (the stored message's own), `subject` the one routed on.
   * One allocation: header block, payload and CRLF copied into one buffer.
   */
  publishWire(subject: string, reply: string, shown: string, hdr: Buffer | null, data: Buffer): boolean {
    const hl = hdr === null ? 0 : hdr.length;
    const n = hl + data.length;
    // One scratch buffer, reused: every receiver copies what it keeps before publish returns
    // (as from a socket's read buffer), and the same buffer keeps the router's DataView cached.
    // A handler that publishes again from inside this call gets a buffer of its own.
    const nested = this.scratchBusy;
    if (!nested && this.scratch.length < n + 2) this.scratch = Buffer.allocUnsafeSlow(Math.max(n + 2, 2 * this.scratch.length));
    const msg = nested ? Buffer.allocUnsafe(n + 2) : this.scratch;
    if (hdr !== null) hdr.copy(msg, 0);
    data.copy(msg, hl);
    msg[n] = 13;
    msg[n + 1] = 10;
    this.scratchBusy = true;
    try {
      return this.router.publish(this, subject, reply, hdr === null ? -1 : hl, msg, 0, n + 2, shown);
    } finally {
      this.scratchBusy = nested;
    }
  }

  /**
   * Answer a request with a plain body: one allocation, and the reply subject (an inbox, used
   * once) matched without polluting the match caches. The JetStream publish path sends every ack
   * through here.
   */
  reply(subject: string, body: string): boolean {
    return this.replyWire(toWire(subject), body);
  }

  /** reply() to a subject already in wire form (a publisher's reply subject as it came in). */
  replyWire(wire: string, body: string): boolean {
    if (!isValidLiteralSubject(wire)) throw new Error(`invalid publish subject: ${fromWire(wire)}`);
    const n = Buffer.byteLength(body);
    const msg = Buffer.allocUnsafe(n + 2);
    msg.write(body, 0, "utf8");
    msg[n] = 13;
    msg[n + 1] = 10;
    return this.router.publish(this, wire, "", -1, msg, 0, msg.length, wire, true);
  }

  /** Request-reply: resolves with the first reply, or rejects on no responders or timeout. */
  request(subject: string, data: Buffer | string = Buffer.alloc(0), opts: { timeout?: number; headers?: PublishOptions["headers"] } = {}): Promise<InternalMsg> {
    const inbox = `_INBOX.internal.${this.cid < 0 ? -this.cid : this.cid}.${this.nextSid++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error("request timed out"));
      }, opts.timeout ?? 5000);
      const sub = this.subscribe(inbox, (m) => {
        clearTimeout(timer);
        const h = m.headers();
        if (h !== null && h.code === 503 && m.data.length === 0) reject(new Error("no responders"));
        else resolve(m);
      }, { max: 1 });
      const pub: PublishOptions = { reply: inbox };
      if (opts.headers !== undefined) pub.headers = opts.headers;
      this.publish(subject, data, pub);
    });
  }

  close(): void {
    this.closed = true;
    for (const subs of [this.handlers, this.rawHandlers]) {
      for (const sub of subs.keys()) this.router.unsubscribe(sub);
      subs.clear();
    }
    this.stall.clear();
    this.wake();
  }

  /**
   * Back-pressure for server code: true while a receiver of this client's publications is past
   * its stall mark. A publisher that can wait (JetStream delivering a backlog, say) should await
   * `drained()` before publishing more; nothing blocks the event loop.
   */
  get stalled(): boolean {
    return this.stall.active;
  }

  /** Resolves once no receiver holds this client (at once when none does). */
  drained(): Promise<void> {
    if (!this.stall.active) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  holdProducer(): void {
    // Never congested, so never asked to hold anyone.
  }

  stallTtl(): number {
    return 0;
  }

  stallOn(receiver: Client): void {
    if (!this.closed && this.stall.add(receiver)) receiver.holdProducer(this);
  }

  release(receiver: Client): void {
    this.stall.release(receiver);
  }

  private wake(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  deliver(sub: Subscription, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean {
    if (this.closed) return false;
    const handler = this.handlers.get(sub);
    if (handler === undefined) {
      const raw = this.rawHandlers.get(sub);
      if (raw === undefined) return false;
      try {
        raw(subject, reply, hdrLen, buf, start, end);
      } catch {
        // As below: a faulty handler must not break the publisher.
      }
      return true;
    }
    if (sub.max > 0 && sub.delivered >= sub.max) this.handlers.delete(sub);
    // Copy: buf may be a socket's read buffer.
    const headerBytes = hdrLen >= 0 ? Buffer.from(buf.subarray(start, start + hdrLen)) : null;
    const data = Buffer.from(buf.subarray(hdrLen >= 0 ? start + hdrLen : start, end - 2));
    const m: InternalMsg = {
      subject: fromWire(subject),
      reply: fromWire(reply),
      headerBytes,
      data,
      sid: sub.sid,
      fromCid: this.router.publisher?.cid ?? 0,
      headers: () => (headerBytes === null ? null : decodeHeaders(headerBytes)),
    };
    try {
      handler(m);
    } catch {
      // A faulty internal handler must not break the publisher's connection.
    }
    return true;
  }
}
