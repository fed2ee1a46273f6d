// Tested by test/jetstream/consumer.test.ts.
// Pull consumers: the requests waiting on $JS.API.CONSUMER.MSG.NEXT (nats-server's waiting
// queue), their expiry and heartbeats, and the status each ends with.

import type { InternalClient } from "../../core/internal-client.js";
import { goDurationNs } from "../../duration.js";
import type { ConsumerConfig } from "./config.js";
import type { ConsumerState } from "./state.js";
import { Hdr, sendStatus } from "./types.js";

/**
 * A pull batch is written out as it is built: after its first EARLY_FLUSH messages and then
 * every FLUSH_EVERY, rather than all at the end of the read that asked for it.
 */
export const EARLY_FLUSH = 16;
export const FLUSH_EVERY = 64;

export interface PullRequest {
  reply: string;
  /** Messages still wanted. */
  n: number;
  /** Bytes still allowed; 0 = no limit (unless maxBytes was set). */
  b: number;
  maxBytes: boolean;
  /** Messages delivered to it so far. */
  d: number;
  noWait: boolean;
  expiry: NodeJS.Timeout | null;
  hb: NodeJS.Timeout | null;
  /** Last time something (message or heartbeat) was sent to it. */
  lastSent: number;
}

/** The requests waiting, oldest first. */
export class PullQueue {
  private waiting: PullRequest[] = [];

  constructor(private readonly ic: InternalClient, private readonly st: ConsumerState) {}

  get length(): number {
    return this.waiting.length;
  }

  private status(reply: string, line: string, extra = ""): void {
    sendStatus(this.ic, reply, line, extra);
  }

  private pendingHeaders(wr: PullRequest): string {
    return `${Hdr.PendingMsgs}: ${wr.n}\r\n${Hdr.PendingBytes}: ${wr.b}\r\n`;
  }

  /**
   * A request on MSG.NEXT (nats-server processNextMsgRequest): refused with a status, or queued.
   * `available` counts what could be delivered now. True when queued.
   */
  request(reply: string, data: Buffer, cfg: ConsumerConfig, available: () => number): boolean {
    const req = parseNextRequest(data);
    if (typeof req === "string") return this.refuse(reply, `400 Bad Request - ${req}`);
    if (cfg.max_batch > 0 && req.batch > cfg.max_batch) return this.refuse(reply, `409 Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    if (req.expiresNs > 0 && cfg.max_expires > 0 && req.expiresNs > cfg.max_expires) {
      return this.refuse(reply, `409 Exceeded MaxRequestExpires of ${goDurationNs(cfg.max_expires)}`);
    }
    if (req.maxBytes > 0 && cfg.max_bytes > 0 && req.maxBytes > cfg.max_bytes) {
      return this.refuse(reply, `409 Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    }
    this.dropDead();
    if (req.noWait) {
      if (available() === 0 && req.expiresNs === 0) return this.refuse(reply, "404 No Messages");
    }
    if (this.waiting.length >= cfg.max_waiting) return this.refuse(reply, "409 Exceeded MaxWaiting");
    const wr: PullRequest = {
      reply, n: Math.max(1, req.batch), b: req.maxBytes, maxBytes: req.maxBytes > 0, d: 0, noWait: req.noWait,
      expiry: null, hb: null, lastSent: Date.now(),
    };
    if (req.expiresNs > 0) {
      wr.expiry = setTimeout(() => this.expire(wr), Math.max(1, Math.floor(req.expiresNs / 1e6)));
      wr.expiry.unref();
    }
    if (req.hbNs > 0) this.scheduleHeartbeat(wr, Math.max(1, Math.floor(req.hbNs / 1e6)));
    this.waiting.push(wr);
    return true;
  }

  private refuse(reply: string, line: string): false {
    this.status(reply, line);
    return false;
  }

  /** A pull request's heartbeat, `every` ms after the last thing sent to it (as the push one). */
  private scheduleHeartbeat(wr: PullRequest, every: number, inMs = every): void {
    wr.hb = setTimeout(() => {
      const idle = Date.now() - wr.lastSent;
      if (idle < every) return this.scheduleHeartbeat(wr, every, every - idle);
      wr.lastSent = Date.now();
      this.status(wr.reply, "100 Idle Heartbeat", this.st.lastHeaders());
      this.scheduleHeartbeat(wr, every);
    }, inMs);
    wr.hb.unref();
  }

  private expire(wr: PullRequest): void {
    wr.expiry = null;
    if (!this.remove(wr)) return;
    this.status(wr.reply, "408 Request Timeout", this.pendingHeaders(wr));
  }

  private clear(wr: PullRequest): void {
    if (wr.expiry !== null) clearTimeout(wr.expiry);
    if (wr.hb !== null) clearTimeout(wr.hb);
    wr.expiry = wr.hb = null;
  }

  private remove(wr: PullRequest): boolean {
    const i = this.waiting.indexOf(wr);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.clear(wr);
    return true;
  }

  /** Requests whose requester went away (no interest on the reply) are dropped silently. */
  dropDead(): void {
    for (const wr of [...this.waiting]) if (!this.ic.hasInterest(wr.reply)) this.remove(wr);
  }

  /** The oldest request whose requester is still there (those before it are dropped), or null. */
  head(): PullRequest | null {
    while (this.waiting.length > 0 && !this.ic.hasInterest(this.waiting[0]!.reply)) this.remove(this.waiting[0]!);
    return this.waiting[0] ?? null;
  }

  /** The next message is larger than what wr still allows: the request ends. */
  tooLarge(wr: PullRequest): void {
    this.remove(wr);
    this.status(wr.reply, "409 Message Size Exceeds MaxBytes", this.pendingHeaders(wr));
  }

  /** A message went to wr at `now`: a request that has all it asked for is done. */
  delivered(wr: PullRequest, now: number): void {
    wr.d++;
    wr.n--;
    wr.lastSent = now;
    if (wr.n <= 0 || (wr.maxBytes && wr.b <= 0)) this.remove(wr);
  }

  /** No more messages now: no-wait requests that got something end with a 408 (nats-server eos). */
  endOfStream(available: () => number): void {
    for (const wr of [...this.waiting]) {
      if (!wr.noWait) continue;
      if (wr.d > 0) {
        this.remove(wr);
        this.status(wr.reply, "408 Request Timeout", this.pendingHeaders(wr));
      } else if (wr.expiry === null && available() === 0) {
        this.remove(wr);
        this.status(wr.reply, "404 No Messages");
      }
    }
  }

  /** The consumer was deleted: each request waiting is told. */
  deleted(): void {
    for (const wr of this.waiting) this.status(wr.reply, "409 Consumer Deleted");
  }

  /** The consumer stops: timers cleared, nothing sent. */
  clearAll(): void {
    for (const wr of this.waiting) this.clear(wr);
    this.waiting = [];
  }
}

interface NextRequest {
  batch: number;
  expiresNs: number;
  noWait: boolean;
  maxBytes: number;
  hbNs: number;
}

/** nats-server nextReqFromMsg: empty → 1, a number, or the JSON request. Returns an error text. */
export function parseNextRequest(data: Buffer): NextRequest | string {
  const text = data.toString("utf8").trim();
  const out: NextRequest = { batch: 1, expiresNs: 0, noWait: false, maxBytes: 0, hbNs: 0 };
  if (text === "") return out;
  if (text.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return (e as Error).message;
    }
    if (typeof v !== "object" || v === null) return out;
    const o = v as Record<string, unknown>;
    const num = (k: string): number | null => {
      const x = o[k];
      if (x === undefined || x === null) return 0;
      return typeof x === "number" && Number.isInteger(x) ? x : null;
    };
    const batch = num("batch"), expires = num("expires"), maxBytes = num("max_bytes"), hb = num("idle_heartbeat");
    if (batch === null || expires === null || maxBytes === null || hb === null) return "json: cannot unmarshal into Go struct field";
    if (o.no_wait !== undefined && o.no_wait !== null && typeof o.no_wait !== "boolean") return "json: cannot unmarshal into Go struct field";
    out.batch = batch;
    out.expiresNs = expires;
    out.maxBytes = maxBytes;
    out.noWait = o.no_wait === true;
    out.hbNs = hb;
    if (hb > 0 && hb * 2 > expires) return "heartbeat value too large";
    return out;
  }
  if (/^[+-]?\d+$/.test(text)) out.batch = Number(text);
  return out;
}
