// One consumer of a stream: where it is (delivered / ack floor), what it waits on (pending acks,
// the redelivery queue), who it delivers to (queued pull requests, or a push deliver subject),
// and its timers (ack wait, request expiry, heartbeats, ephemeral inactivity). Semantics follow
// nats-server's consumer.go; it reaches the router only through the account's internal client.

import { mkdirSync, rmSync } from "node:fs";
import { subjectMatches, toWire } from "../../protocol/subject.js";
import { goDurationNs, parseDurationNs } from "../duration.js";
import type { InternalClient, InternalMsg, InternalSubscription } from "../core/internal-client.js";
import type { Advisories } from "./advisories.js";
import { StateFile } from "./state-file.js";
import type { JsonObject } from "./config.js";
import { consumerConfigJSON, DELETE_WAIT_DEFAULT_NS, filtersOf, isDurable, type ConsumerConfig } from "./consumer-config.js";
import { rfc3339ToNs, tsToRFC3339, type NsClock, type StoredMsg } from "./store.js";
import type { Stream } from "./stream.js";

/** Status lines and headers exactly as nats-server writes them. */
const Hdr = {
  PendingMsgs: "Nats-Pending-Messages",
  PendingBytes: "Nats-Pending-Bytes",
  LastConsumer: "Nats-Last-Consumer",
  LastStream: "Nats-Last-Stream",
  MsgSize: "Nats-Msg-Size",
} as const;

/** nats-server JsFlowControlMaxPending. */
const FC_MAX_PENDING = 32 * 1024 * 1024;

/**
 * A pull batch is written out as it is built: after its first EARLY_FLUSH messages and then
 * every FLUSH_EVERY, rather than all at the end of the read that asked for it.
 */
const EARLY_FLUSH = 16;
const FLUSH_EVERY = 64;

/** What a consumer needs from its account. */
export interface ConsumerHost {
  readonly ic: InternalClient;
  readonly clock: NsClock;
  readonly advisories: Advisories;
  warn(msg: string): void;
  /** The consumer removed itself (ephemeral inactivity). */
  consumerGone(c: Consumer): void;
  /** Observer of delivery-to-ack times (the /metrics histogram), or null: then nothing is timed. */
  readonly ackLatency: ((stream: string, consumer: string, seconds: number) => void) | null;
  /** sync_interval: always — state written for a confirmed ack is fsynced too. */
  readonly syncAlways: boolean;
  /** Write what connections have queued now, not at the end of this read (see deliverLoop). */
  flushOutbound(): void;
}

interface Pending {
  dseq: number;
  /** When the ack is due (ms since epoch); redelivered after. */
  deadline: number;
  /** When it was (last) delivered, ms since epoch: for the delivery-to-ack latency. */
  at: number;
}

interface PullRequest {
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

/** Persisted state of a durable (nats-server ConsumerState, plus the config). */
interface PersistedConsumer {
  config: JsonObject;
  created: string;
  delivered: { consumer_seq: number; stream_seq: number };
  ack_floor: { consumer_seq: number; stream_seq: number };
  /** [stream seq, consumer seq, deadline ms]. */
  pending: Array<[number, number, number]>;
  /** [stream seq, redelivery count]. */
  redelivered: Array<[number, number]>;
  lss: number[] | null;
}

/** Longest a durable's state waits to be written after a change (see persist). */
const PERSIST_EVERY_MS = 50;
/** Where state lived before state-file.ts (one JSON file renamed into place): still read. */
const LEGACY_STATE = "state.json";

export class Consumer {
  /** Next stream sequence to look at, next consumer sequence to give. */
  private sseq = 1;
  private dseq = 1;
  private adflr = 0;
  private asflr = 0;
  private readonly pending = new Map<number, Pending>();
  /** Stream seq → times redelivered (nats-server rdc). */
  private readonly rdc = new Map<number, number>();
  /** Redelivery queue, stream seqs in order. */
  private readonly rdq = new RedeliveryQueue();
  /** last_per_subject: the last seqs still to deliver before resuming at sseq. */
  private lss: number[] | null = null;
  private waiting: PullRequest[] = [];
  private subs: InternalSubscription[] = [];
  private ackTimer: NodeJS.Timeout | null = null;
  private ackTimerAt = 0;
  private kickScheduled = false;
  /** replay_policy original: the stored time of the last message sent, when it was sent, and the wait. */
  private replayTs = 0n;
  private replayAt = 0;
  private replayTimer: NodeJS.Timeout | null = null;
  private awaitingDrain = false;
  private closed = false;

  /** Closed or deleted: it takes no more acks or requests. */
  get isClosed(): boolean {
    return this.closed;
  }
  /**
   * Wall-clock ms of the last delivery and ack: read on every message, so a plain Date.now()
   * rather than the ns clock; info reports them as RFC3339 like nats-server's last_active.
   */
  private lastDelivered = 0;
  private lastAcked = 0;
  /** Ephemeral inactivity and push interest. */
  private lastActive = Date.now();
  private activityTimer: NodeJS.Timeout | null = null;
  private hbTimer: NodeJS.Timeout | null = null;
  private lastPushSent = Date.now();
  /**
   * Push flow control, as nats-server: bytes sent and not yet covered by a flow-control reply;
   * the window, which starts at 1/16 of FC_MAX_PENDING and doubles with each reply (slow
   * start); the outstanding request's reply subject and the bytes it covers.
   */
  private fcPending = 0;
  private fcWindow = FC_MAX_PENDING / 16;
  private fcCovers = 0;
  private fcOutstanding = "";
  private fcSeq = 0;
  private persistScheduled = false;
  /** rate_limit_bps as a token bucket of bytes (push only), or null; its wake-up timer. */
  private rate: TokenBucket | null = null;
  private rateTimer: NodeJS.Timeout | null = null;
  /** sample_freq in percent (0: no ack metrics). */
  private sampleFreq = 0;

  constructor(
    private readonly host: ConsumerHost,
    readonly stream: Stream,
    readonly name: string,
    public config: ConsumerConfig,
    readonly created: bigint,
    /** Directory for persisted state (durables on file streams), or null. */
    private readonly dir: string | null,
  ) {
    this.applyConfig();
  }

  /** The parts of the config that are kept in a ready form. */
  private applyConfig(): void {
    const c = this.config;
    const bps = c.rate_limit_bps;
    if (bps > 0 && !this.isPull) {
      // As nats-server: the burst is the stream's max_msg_size, else the largest payload.
      const mms = this.stream.config.max_msg_size;
      this.rate = new TokenBucket(bps / 8, mms > 0 ? mms : 1024 * 1024);
    } else {
      this.rate = null;
    }
    this.sampleFreq = c.sample_freq === "" ? 0 : Number(c.sample_freq.replace(/%$/, "")) || 0;
  }

  get isPull(): boolean {
    return this.config.deliver_subject === "";
  }

  get ackNone(): boolean {
    return this.config.ack_policy === "none";
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Place the consumer at its starting point (nats-server selectStartingSeqNo) and go. */
  start(restored: PersistedConsumer | null = null): void {
    if (restored !== null) this.restore(restored);
    else this.selectStart();
    const ic = this.host.ic;
    if (this.isPull) {
      this.subs.push(ic.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${this.stream.name}.${this.name}`, (m) => this.onNextRequest(m.reply, m.data)));
    } else {
      this.subs.push(ic.subscribe(`$JS.FC.${this.stream.name}.${this.name}.*`, (m) => this.onFlowControlReply(m)));
      // Clients often subscribe to the deliver subject after creating the consumer: start then.
      const stop = ic.watchInterest(this.config.deliver_subject, () => { this.lastActive = Date.now(); this.kick(); });
      this.subs.push({ sid: "", unsubscribe: stop });
      if (this.config.idle_heartbeat > 0) {
        const every = Math.max(1, Math.floor(this.config.idle_heartbeat / 1e6));
        this.scheduleHeartbeat(every, every);
      }
    }
    // Ephemerals always time out (5 s by default); durables only with an inactive_threshold.
    if (!isDurable(this.config) || this.config.inactive_threshold > 0) {
      const thresholdMs = Math.max(1, Math.floor((this.config.inactive_threshold || DELETE_WAIT_DEFAULT_NS) / 1e6));
      this.activityTimer = setInterval(() => this.checkActivity(thresholdMs), Math.min(thresholdMs, 1000));
      this.activityTimer.unref();
    }
    this.persist();
    this.kick();
  }

  private selectStart(): void {
    const store = this.stream.store;
    const st = store.fastState();
    const filters = filtersOf(this.config);
    switch (this.config.deliver_policy) {
      case "all":
        this.sseq = st.first_seq > 0 ? st.first_seq : 1;
        break;
      case "last":
        if (filters.length === 0) this.sseq = st.msgs > 0 ? st.last_seq : st.last_seq + 1;
        else {
          let last = 0;
          for (const f of filters) last = Math.max(last, store.loadLastMsg(f)?.seq ?? 0);
          this.sseq = last > 0 ? last : st.last_seq + 1;
        }
        break;
      case "new":
        this.sseq = st.last_seq + 1;
        break;
      case "by_start_sequence":
        this.sseq = this.config.opt_start_seq;
        break;
      case "by_start_time": {
        this.sseq = store.seqFromTime(rfc3339ToNs(this.config.opt_start_time ?? "") ?? 0n);
        break;
      }
      case "last_per_subject": {
        const seqs: number[] = [];
        for (const f of filters) for (const ss of store.subjectsState(f).values()) seqs.push(ss.last_seq);
        seqs.sort((a, b) => a - b);
        this.sseq = st.last_seq + 1;
        if (seqs.length > 0) this.lss = seqs;
        break;
      }
    }
    if (this.sseq < 1) this.sseq = 1;
    this.dseq = 1;
    this.adflr = 0;
    this.asflr = (this.lss !== null ? this.lss[0]! : this.sseq) - 1;
  }

  /** Stop timers and subscriptions; persisted state is written first. */
  close(): void {
    if (this.closed) return;
    this.writeState();
    this.shutdown();
  }

  /** Gone for good: requests waiting are told, persisted state removed. */
  delete(): void {
    if (this.closed) return;
    for (const wr of this.waiting) this.status(wr.reply, "409 Consumer Deleted");
    this.shutdown();
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }

  private shutdown(): void {
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    for (const wr of this.waiting) this.clearRequest(wr);
    this.waiting = [];
    for (const t of [this.ackTimer, this.activityTimer, this.hbTimer, this.replayTimer, this.rateTimer]) if (t !== null) clearTimeout(t);
    this.ackTimer = this.activityTimer = this.hbTimer = this.replayTimer = this.rateTimer = null;
  }

  private checkActivity(thresholdMs: number): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.isPull) {
      if (this.waiting.length > 0) this.lastActive = now;
    } else if (this.host.ic.hasInterest(this.config.deliver_subject)) {
      this.lastActive = now;
      if (this.hasWork()) this.kick();
    }
    if (now - this.lastActive >= thresholdMs) this.host.consumerGone(this);
  }

  // ---- info -------------------------------------------------------------------------------------

  /** Stream messages matching the filters from sseq on, plus last-per-subject ones still due. */
  /** Delivered, awaiting an ack (info's num_ack_pending). */
  get numAckPending(): number {
    return this.pending.size;
  }

  /** Delivered more than once and not yet acked (info's num_redelivered). */
  get numRedelivered(): number {
    return this.rdc.size;
  }

  numPending(): number {
    const store = this.stream.store;
    const filters = filtersOf(this.config);
    let n = 0;
    if (filters.length === 0) n = store.numPending("", this.sseq);
    else for (const f of filters) n += store.numPending(f, this.sseq);
    if (this.lss !== null) n += this.lss.length;
    return n;
  }

  infoJSON(serverName: string): JsonObject {
    // num_waiting counts live requests only, as nats-server's info (processWaiting first).
    if (this.isPull) this.dropDeadRequests();
    const delivered: JsonObject = { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 };
    if (this.lastDelivered !== 0) delivered.last_active = tsToRFC3339(BigInt(this.lastDelivered) * 1_000_000n);
    const ackFloor: JsonObject = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lastAcked !== 0) ackFloor.last_active = tsToRFC3339(BigInt(this.lastAcked) * 1_000_000n);
    return {
      stream_name: this.stream.name,
      name: this.name,
      created: tsToRFC3339(this.created),
      config: consumerConfigJSON(this.config),
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.rdc.size,
      num_waiting: this.waiting.length,
      num_pending: this.numPending(),
      cluster: { leader: serverName },
      ...(this.isPull ? {} : this.host.ic.hasInterest(this.config.deliver_subject) ? { push_bound: true } : {}),
      ts: tsToRFC3339(this.host.clock.now()),
    };
  }

  // ---- interest (for interest / work-queue retention) --------------------------------------------

  /** Whether this consumer will ever take a message on `subject` (wire form). */
  wants(subject: string): boolean {
    const filters = filtersOf(this.config);
    return filters.length === 0 || filters.some((f) => subjectMatches(f, subject));
  }

  /** Whether this consumer still has to see (or have acked) message seq on subject. */
  needsAck(seq: number, subject: string): boolean {
    if (!this.wants(subject)) return false;
    if (this.pending.has(seq)) return true;
    if (this.lss !== null && this.lss.includes(seq)) return true;
    return seq >= this.sseq;
  }

  /** Changing the config in place (nats-server updateConfig, the fields that may change). */
  update(cfg: ConsumerConfig): void {
    this.config = cfg;
    this.applyConfig();
    this.persist();
    this.kick();
  }

  // ---- pull requests ---------------------------------------------------------------------------

  private status(reply: string, line: string, extra = ""): void {
    this.host.ic.publish(reply, Buffer.alloc(0), { headers: Buffer.from(`NATS/1.0 ${line}\r\n${extra}\r\n`) });
  }

  private pendingHeaders(wr: PullRequest): string {
    return `${Hdr.PendingMsgs}: ${wr.n}\r\n${Hdr.PendingBytes}: ${wr.b}\r\n`;
  }

  onNextRequest(reply: string, data: Buffer): void {
    if (reply === "" || this.closed) return;
    this.lastActive = Date.now();
    if (!this.isPull) return this.status(reply, "409 Consumer is push based");
    const req = parseNextRequest(data);
    if (typeof req === "string") return this.status(reply, `400 Bad Request - ${req}`);
    const cfg = this.config;
    if (cfg.max_batch > 0 && req.batch > cfg.max_batch) return this.status(reply, `409 Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    if (req.expiresNs > 0 && cfg.max_expires > 0 && req.expiresNs > cfg.max_expires) {
      return this.status(reply, `409 Exceeded MaxRequestExpires of ${goDurationNs(cfg.max_expires)}`);
    }
    if (req.maxBytes > 0 && cfg.max_bytes > 0 && req.maxBytes > cfg.max_bytes) {
      return this.status(reply, `409 Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    }
    this.dropDeadRequests();
    if (req.noWait) {
      const avail = this.numPending() + this.rdq.length;
      if (avail === 0 && req.expiresNs === 0) return this.status(reply, "404 No Messages");
    }
    if (this.waiting.length >= cfg.max_waiting) return this.status(reply, "409 Exceeded MaxWaiting");
    const wr: PullRequest = {
      reply, n: Math.max(1, req.batch), b: req.maxBytes, maxBytes: req.maxBytes > 0, d: 0, noWait: req.noWait,
      expiry: null, hb: null, lastSent: Date.now(),
    };
    if (req.expiresNs > 0) {
      wr.expiry = setTimeout(() => this.expire(wr), Math.max(1, Math.floor(req.expiresNs / 1e6)));
      wr.expiry.unref();
    }
    if (req.hbNs > 0) this.scheduleRequestHeartbeat(wr, Math.max(1, Math.floor(req.hbNs / 1e6)));
    this.waiting.push(wr);
    this.deliverLoop();
  }

  /** A pull request's heartbeat, `every` ms after the last thing sent to it (as the push one). */
  private scheduleRequestHeartbeat(wr: PullRequest, every: number, inMs = every): void {
    wr.hb = setTimeout(() => {
      const idle = Date.now() - wr.lastSent;
      if (idle < every) return this.scheduleRequestHeartbeat(wr, every, every - idle);
      wr.lastSent = Date.now();
      this.status(wr.reply, "100 Idle Heartbeat", `${Hdr.LastConsumer}: ${this.dseq - 1}\r\n${Hdr.LastStream}: ${this.sseq - 1}\r\n`);
      this.scheduleRequestHeartbeat(wr, every);
    }, inMs);
    wr.hb.unref();
  }

  private expire(wr: PullRequest): void {
    wr.expiry = null;
    if (!this.removeRequest(wr)) return;
    this.status(wr.reply, "408 Request Timeout", this.pendingHeaders(wr));
  }

  private clearRequest(wr: PullRequest): void {
    if (wr.expiry !== null) clearTimeout(wr.expiry);
    if (wr.hb !== null) clearTimeout(wr.hb);
    wr.expiry = wr.hb = null;
  }

  private removeRequest(wr: PullRequest): boolean {
    const i = this.waiting.indexOf(wr);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.clearRequest(wr);
    return true;
  }

  /** Requests whose requester went away (no interest on the reply) are dropped silently. */
  private dropDeadRequests(): void {
    for (const wr of [...this.waiting]) if (!this.host.ic.hasInterest(wr.reply)) this.removeRequest(wr);
  }

  // ---- delivery ---------------------------------------------------------------------------------

  /** Something may be deliverable: run the delivery loop soon (once per tick). */
  /**
   * replay_policy original: a message goes out as long after the previous one as it was stored
   * after it (nats-server waits the timestamps' difference between deliveries). True when `sm` is
   * not due yet; a timer kicks the loop when it is.
   */
  private replayHold(sm: StoredMsg): boolean {
    const now = Date.now();
    if (this.replayTs !== 0n) {
      const due = this.replayAt + Number(sm.ts - this.replayTs) / 1e6;
      if (due > now + 1) {
        if (this.replayTimer === null) {
          this.replayTimer = setTimeout(() => {
            this.replayTimer = null;
            this.kick();
          }, Math.ceil(due - now));
          this.replayTimer.unref();
        }
        return true;
      }
    }
    this.replayTs = sm.ts;
    this.replayAt = now;
    return false;
  }

  kick(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.deliverLoop();
    });
  }

  private hasWork(): boolean {
    return this.rdq.length > 0 || this.lss !== null || this.numPending() > 0;
  }

  private deliverLoop(): void {
    const ic = this.host.ic;
    // The clock is read once per 64 deliveries, not per message: deadlines and activity times
    // are in ms, and one pass of this loop takes well under a millisecond per 64 messages.
    let now = Date.now();
    let sinceClock = 0;
    let sent = 0;
    while (!this.closed) {
      if (ic.stalled) {
        // A receiver is behind: wait for it rather than flood it.
        if (!this.awaitingDrain) {
          this.awaitingDrain = true;
          void ic.drained().then(() => { this.awaitingDrain = false; this.kick(); });
        }
        return;
      }
      let wr: PullRequest | null = null;
      if (this.isPull) {
        while (this.waiting.length > 0 && !ic.hasInterest(this.waiting[0]!.reply)) this.removeRequest(this.waiting[0]!);
        if (this.waiting.length === 0) return;
        wr = this.waiting[0]!;
      } else {
        if (!ic.hasInterest(this.config.deliver_subject)) return;
        if (this.config.flow_control && this.fcPending > this.fcWindow) return;
      }
      const sm = this.nextMsg();
      if (sm === null) {
        this.endOfStream();
        return;
      }
      const dc = this.nextDc;
      if (dc === 1 && this.config.replay_policy === "original" && this.replayHold(sm)) {
        this.unget(sm.seq, dc);
        return;
      }
      if (this.rate !== null) {
        const waitMs = this.rate.take(msgSize(sm), now);
        if (waitMs > 0) {
          // Over rate_limit_bps: this message goes when the bucket has room for it.
          this.unget(sm.seq, dc);
          if (this.rateTimer === null) {
            this.rateTimer = setTimeout(() => { this.rateTimer = null; this.kick(); }, waitMs);
          }
          return;
        }
      }
      if (wr !== null && wr.maxBytes) {
        const size = msgSize(sm);
        if (size > wr.b) {
          // Cannot send it to this requester: put it back and end the request.
          this.unget(sm.seq, dc);
          this.removeRequest(wr);
          this.status(wr.reply, "409 Message Size Exceeds MaxBytes", this.pendingHeaders(wr));
          continue;
        }
        wr.b -= size;
      }
      if (++sinceClock === 64) {
        sinceClock = 0;
        now = Date.now();
      }
      this.deliver(sm, dc, wr !== null ? wr.reply : this.config.deliver_subject, now);
      // A pull batch goes out as it is built, so the requester works on its first messages while
      // the rest are read (nats-server's writer goroutine sends as it goes; the end-of-read flush
      // alone held a batch of 500 back ~0.5 ms). Push runs keep the big writes.
      if (wr !== null) {
        if (++sent === EARLY_FLUSH || sent % FLUSH_EVERY === 0) this.host.flushOutbound();
        wr.d++;
        wr.n--;
        wr.lastSent = now;
        if (wr.n <= 0 || (wr.maxBytes && wr.b <= 0)) this.removeRequest(wr);
      }
    }
  }

  /** No more messages now: no-wait requests that got something end with a 408 (nats-server eos). */
  private endOfStream(): void {
    for (const wr of [...this.waiting]) {
      if (!wr.noWait) continue;
      if (wr.d > 0) {
        this.removeRequest(wr);
        this.status(wr.reply, "408 Request Timeout", this.pendingHeaders(wr));
      } else if (wr.expiry === null && this.numPending() + this.rdq.length === 0) {
        this.removeRequest(wr);
        this.status(wr.reply, "404 No Messages");
      }
    }
  }

  /** Delivery count of the message nextMsg returned last. */
  private nextDc = 1;

  /**
   * The next message to deliver (nats-server getNextMsg); its delivery count is left in nextDc
   * (no result object per delivery).
   */
  private nextMsg(): StoredMsg | null {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift();
      const dc = (this.rdc.get(seq) ?? 0) + 2;
      const p = this.pending.get(seq);
      if (p === undefined) continue;
      if (this.config.max_deliver > 0 && dc > this.config.max_deliver) {
        // Delivered as often as allowed (a NAK asked for one more): no longer waited on.
        this.pending.delete(seq);
        this.host.advisories.maxDeliveries(this.stream.name, this.name, seq, dc - 1);
        this.persist();
        continue;
      }
      const sm = store.loadMsg(seq);
      if (sm === null) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        continue;
      }
      this.rdc.set(seq, dc - 1);
      this.nextDc = dc;
      return sm;
    }
    if (!this.ackNone && this.config.max_ack_pending > 0 && this.pending.size >= this.config.max_ack_pending) return null;
    if (this.lss !== null) {
      while (this.lss.length > 0) {
        const seq = this.lss.shift()!;
        const sm = store.loadMsg(seq);
        if (sm !== null) {
          if (this.lss.length === 0) this.lss = null;
          this.nextDc = 1;
          return sm;
        }
      }
      this.lss = null;
    }
    const filters = filtersOf(this.config);
    let sm: StoredMsg | null = null;
    if (filters.length <= 1) sm = store.loadNextMsg(filters[0] ?? "", this.sseq);
    else {
      for (const f of filters) {
        const m = store.loadNextMsg(f, this.sseq);
        if (m !== null && (sm === null || m.seq < sm.seq)) sm = m;
      }
    }
    if (sm === null) return null;
    this.sseq = sm.seq + 1;
    this.nextDc = 1;
    return sm;
  }

  /** Undo nextMsg for a message that could not be sent. */
  private unget(seq: number, dc: number): void {
    if (dc > 1) {
      this.rdq.unshift(seq);
      const n = (this.rdc.get(seq) ?? 1) - 1;
      if (n > 0) this.rdc.set(seq, n);
      else this.rdc.delete(seq);
    } else if (this.lss !== null || (this.config.deliver_policy === "last_per_subject" && seq < this.sseq - 1)) {
      (this.lss ??= []).unshift(seq);
    } else {
      this.sseq = seq;
    }
  }

  private ackPrefixWire = "";
  private lastTo = "";
  private lastToWire = "";

  private ackPrefix(): string {
    return (this.ackPrefixWire ||= toWire(`$JS.ACK.${this.stream.name}.${this.name}.`));
  }

  private toWire(to: string): string {
    this.lastTo = to;
    return (this.lastToWire = toWire(to));
  }

  private deliver(sm: StoredMsg, dc: number, to: string, nowMs: number): void {
    let dseq: number;
    const p = this.pending.get(sm.seq);
    const deadline = nowMs + this.ackWaitMs(dc);
    if (dc > 1 && p !== undefined) {
      // A redelivery gets a new consumer sequence, as in nats-server.
      dseq = this.dseq++;
      p.dseq = dseq;
      p.deadline = deadline;
      p.at = nowMs;
    } else {
      dseq = this.dseq++;
      if (!this.ackNone) this.pending.set(sm.seq, { dseq, deadline, at: nowMs });
    }
    this.lastDelivered = nowMs;
    const pendingCount = this.numPending();
    // The ack subject's fixed part is built (in wire form) once; the rest is ASCII digits.
    const ackReply = `${this.ackPrefix()}${dc}.${sm.seq}.${dseq}.${sm.ts}.${pendingCount}`;
    let hdr = sm.hdr;
    let data = sm.data;
    if (this.config.headers_only) {
      const base = hdr === null ? "NATS/1.0\r\n\r\n" : hdr.toString("latin1");
      hdr = Buffer.from(`${base.slice(0, base.length - 2)}${Hdr.MsgSize}: ${sm.data.length}\r\n\r\n`, "latin1");
      data = Buffer.alloc(0);
    }
    // Stored subjects are wire strings already; only `to` (a deliver or reply subject) converts.
    this.host.ic.publishWire(to === this.lastTo ? this.lastToWire : this.toWire(to), ackReply, sm.subject, hdr, data);
    if (!this.isPull) {
      this.lastPushSent = nowMs;
      if (this.config.flow_control) {
        const size = msgSize(sm);
        this.fcPending += size;
        if (this.fcOutstanding === "") {
          if (this.fcPending > this.fcWindow / 2) this.sendFlowControl();
        } else if (this.fcPending - this.fcCovers >= this.fcWindow) {
          this.fcCovers += size;
        }
      }
    }
    if (this.ackNone) {
      this.adflr = dseq;
      this.asflr = sm.seq;
      this.stream.acked(sm.seq, sm.subject);
    } else {
      this.armAckTimer(deadline);
    }
    this.persist();
  }

  private ackWaitMs(dc: number): number {
    const bo = this.config.backoff;
    const ns = bo.length > 0 ? bo[Math.min(dc - 1, bo.length - 1)]! : this.config.ack_wait;
    return Math.max(1, Math.floor(ns / 1e6));
  }

  // ---- push: heartbeats and flow control --------------------------------------------------------

  /**
   * A heartbeat goes out `every` ms after the last push, as nats-server's reset timer does; a
   * fixed interval let up to twice that pass, which nats.go (checking every 2 heartbeats)
   * could take for an inactive consumer. The timer is re-aimed when it fires, not per message.
   */
  private scheduleHeartbeat(every: number, inMs: number): void {
    this.hbTimer = setTimeout(() => {
      if (this.closed) return;
      const idle = Date.now() - this.lastPushSent;
      if (idle < every) return this.scheduleHeartbeat(every, every - idle);
      this.pushHeartbeat(every);
      this.scheduleHeartbeat(every, every);
    }, inMs);
    this.hbTimer.unref();
  }

  private pushHeartbeat(everyMs: number): void {
    if (this.closed || Date.now() - this.lastPushSent < everyMs) return;
    if (!this.host.ic.hasInterest(this.config.deliver_subject)) return;
    this.lastPushSent = Date.now();
    let extra = `${Hdr.LastConsumer}: ${this.dseq - 1}\r\n${Hdr.LastStream}: ${this.sseq - 1}\r\n`;
    if (this.fcOutstanding !== "") extra += `Nats-Consumer-Stalled: ${this.fcOutstanding}\r\n`;
    this.status(this.config.deliver_subject, "100 Idle Heartbeat", extra);
  }

  private sendFlowControl(): void {
    this.fcOutstanding = `$JS.FC.${this.stream.name}.${this.name}.${(++this.fcSeq).toString(36)}`;
    this.fcCovers = this.fcPending;
    this.host.ic.publish(this.config.deliver_subject, Buffer.alloc(0), {
      reply: this.fcOutstanding, headers: Buffer.from("NATS/1.0 100 FlowControl Request\r\n\r\n"),
    });
  }

  private onFlowControlReply(m: InternalMsg): void {
    if (m.subject !== this.fcOutstanding) return;
    this.fcOutstanding = "";
    this.fcWindow = Math.min(this.fcWindow * 2, FC_MAX_PENDING);
    this.fcPending = Math.max(0, this.fcPending - this.fcCovers);
    this.fcCovers = 0;
    this.kick();
  }

  // ---- acks ------------------------------------------------------------------------------------

  /** A message on this consumer's ack subject (tokens already parsed). */
  onAck(sseq: number, dseq: number, dc: number, body: Buffer, reply: string): void {
    if (this.closed) return;
    const now = Date.now();
    this.lastActive = now;
    const text = isPlusAck(body) ? "+ACK" : body.toString("latin1");
    let confirm = true;
    if (text === "" || text === "+ACK" || text === "+OK") {
      this.ackMsg(sseq, dseq, now);
    } else if (text.startsWith("+NXT")) {
      this.ackMsg(sseq, dseq, now);
      this.onNextRequest(reply, Buffer.from(text.slice(4).trim()));
      confirm = false;
    } else if (text.startsWith("-NAK")) {
      this.nak(sseq, dseq, dc, text.slice(4).trim());
    } else if (text === "+WPI") {
      const p = this.pending.get(sseq);
      if (p !== undefined) {
        p.deadline = Date.now() + this.ackWaitMs(dc);
        this.armAckTimer();
      }
    } else if (text.startsWith("+TERM")) {
      this.ackMsg(sseq, dseq, now);
      this.host.advisories.terminated(this.stream.name, this.name, dseq, sseq, dc, text.slice(5).trim());
    } else {
      confirm = false;
    }
    if (confirm && reply !== "") this.confirm(reply);
    this.persist();
    this.kick();
  }

  /** nats-server processAckMsg. */
  private ackMsg(sseq: number, dseq: number, now: number): void {
    if (sseq >= this.sseq && !(this.lss?.includes(sseq) ?? false)) return;
    this.lastAcked = now;
    const acked: number[] = [];
    switch (this.config.ack_policy) {
      case "explicit": {
        const p = this.pending.get(sseq);
        if (p !== undefined) {
          this.pending.delete(sseq);
          acked.push(sseq);
          const observe = this.host.ackLatency;
          if (observe !== null) observe(this.stream.name, this.name, (this.lastAcked - p.at) / 1000);
          if (this.sampleFreq > 0) this.sampleAck(sseq, p.dseq, now - p.at);
          const d = p.dseq;
          if (this.pending.size === 0) {
            this.adflr = this.dseq - 1;
            this.asflr = this.sseq - 1;
          } else if (d === this.adflr + 1) {
            this.adflr = d;
            this.asflr = sseq;
            for (let ss = sseq + 1; ss < this.sseq; ss++) {
              const q = this.pending.get(ss);
              if (q !== undefined) {
                this.adflr = q.dseq - 1;
                this.asflr = ss - 1;
                break;
              }
            }
          }
        }
        this.rdc.delete(sseq);
        this.rdq.remove(sseq);
        break;
      }
      case "all": {
        if (dseq <= this.adflr || sseq <= this.asflr) return;
        for (const seq of [...this.pending.keys()]) {
          if (seq <= sseq) {
            this.pending.delete(seq);
            this.rdc.delete(seq);
            this.rdq.remove(seq);
            acked.push(seq);
          }
        }
        this.adflr = dseq;
        this.asflr = sseq;
        break;
      }
      case "none":
        return;
    }
    // Only interest and workqueue streams act on acks; a limits stream need not read the message.
    if (!this.stream.removesOnAck) return;
    for (const seq of acked) {
      const sm = this.stream.store.loadMsg(seq);
      if (sm !== null) this.stream.acked(seq, sm.subject);
    }
  }

  /** sample_freq: an ack metric for this share of acks (nats-server sampleAck). */
  private sampleAck(sseq: number, dseq: number, delayMs: number): void {
    if (this.sampleFreq < 100 && Math.random() * 100 >= this.sampleFreq) return;
    this.host.advisories.ackMetric(this.stream.name, this.name, dseq, sseq, delayMs * 1_000_000, (this.rdc.get(sseq) ?? 0) + 1);
  }

  /** nats-server processNak: redeliver now, or after the delay given. */
  private nak(sseq: number, dseq: number, dc: number, arg: string): void {
    if (dseq <= this.adflr || dseq >= this.dseq) return;
    const p = this.pending.get(sseq);
    if (p === undefined) return;
    this.host.advisories.naked(this.stream.name, this.name, dseq, sseq, dc);
    if (arg !== "") {
      let delayNs: number | null = null;
      if (arg.startsWith("{")) {
        try {
          const v = JSON.parse(arg) as { delay?: unknown };
          delayNs = typeof v.delay === "number" ? v.delay : 0;
        } catch {
          delayNs = null;
        }
      } else {
        delayNs = parseDurationNs(arg);
      }
      if (delayNs === null) {
        this.host.warn(`JetStream consumer '$G > ${this.stream.name} > ${this.name}' bad NAK delay value: ${JSON.stringify(arg)}`);
      } else if (delayNs > 0) {
        this.rdq.remove(sseq);
        p.deadline = Date.now() + Math.floor(delayNs / 1e6);
        this.armAckTimer();
        return;
      }
    }
    if (!this.rdq.has(sseq)) this.rdq.push(sseq);
  }

  /** One timer for the earliest ack deadline; expired messages go to the redelivery queue. */
  /**
   * Arm the redelivery timer for the earliest deadline. `next`, when given, is the only deadline
   * that changed: if a timer already fires no later, there is nothing to scan (the common case,
   * one call per delivery, must not walk every pending message).
   */
  private armAckTimer(next?: number): void {
    if (this.closed || this.pending.size === 0) return;
    if (next !== undefined && this.ackTimer !== null && this.ackTimerAt <= next) return;
    let earliest = Infinity;
    for (const [seq, p] of this.pending) if (p.deadline < earliest && !this.rdq.has(seq)) earliest = p.deadline;
    if (earliest === Infinity) return;
    if (this.ackTimer !== null && this.ackTimerAt <= earliest) return;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimerAt = earliest;
    this.ackTimer = setTimeout(() => this.onAckTimer(), Math.max(1, earliest - Date.now()));
    this.ackTimer.unref();
  }

  private onAckTimer(): void {
    this.ackTimer = null;
    if (this.closed) return;
    const now = Date.now();
    const expired: number[] = [];
    let gaveUp = false;
    const max = this.config.max_deliver;
    for (const [seq, p] of this.pending) {
      if (p.deadline > now || this.rdq.has(seq)) continue;
      const delivered = (this.rdc.get(seq) ?? 0) + 1;
      if (max > 0 && delivered >= max) {
        // As nats-server's checkPending: given up on at its last ack deadline, not at the next
        // pull, so the MAX_DELIVERIES advisory (a dead-letter queue's cue) comes without one.
        this.pending.delete(seq);
        this.host.advisories.maxDeliveries(this.stream.name, this.name, seq, delivered);
        gaveUp = true;
        continue;
      }
      expired.push(seq);
    }
    if (gaveUp) {
      // Nothing left pending: the ack floor moves up to what was delivered, as after an ack.
      if (this.pending.size === 0) {
        this.adflr = this.dseq - 1;
        this.asflr = this.sseq - 1;
      }
      this.persist();
    }
    expired.sort((a, b) => a - b);
    for (const seq of expired) this.rdq.push(seq);
    this.armAckTimer();
    if (expired.length > 0 || gaveUp) this.kick();
  }

  /** The stream stored a message: a waiting request or a push target may take it. */
  signalNew(): void {
    if (this.isPull ? this.waiting.length > 0 : true) this.kick();
  }

  // ---- persistence ------------------------------------------------------------------------------

  /** Write the state soon (coalesced: once per turn of the event loop). */
  private persist(): void {
    if (this.dir === null || this.persistScheduled || this.closed) return;
    this.persistScheduled = true;
    // At most one state write per PERSIST_EVERY_MS: a busy consumer acks thousands of messages a
    // second, and each write is a whole file and a rename. What a crash loses is at most that
    // window of acks, which come back as redeliveries (at-least-once), never as losses.
    const t = setTimeout(() => {
      this.persistScheduled = false;
      if (!this.closed) this.writeState();
    }, PERSIST_EVERY_MS);
    t.unref();
  }

  /**
   * A double ack (an ack with a reply) is confirmed only once the state that holds it is on
   * disk, so a confirmed ack survives kill -9 (and, with sync_interval: always, a power loss).
   * The acks of one turn of the event loop share one state write.
   */
  private confirm(reply: string): void {
    if (this.dir === null) {
      this.host.ic.publish(reply, Buffer.alloc(0));
      return;
    }
    this.confirms.push(reply);
    if (this.confirmScheduled) return;
    this.confirmScheduled = true;
    setImmediate(() => {
      this.confirmScheduled = false;
      const replies = this.confirms;
      this.confirms = [];
      if (this.closed) return;
      if (!this.writeState(this.host.syncAlways)) return;
      for (const r of replies) this.host.ic.publish(r, Buffer.alloc(0));
    });
  }

  private confirms: string[] = [];
  private stateFile: StateFile | null = null;
  private confirmScheduled = false;

  /** Write the state file; false when it could not be written. */
  private writeState(sync = false): boolean {
    if (this.dir === null) return false;
    const st: PersistedConsumer = {
      config: consumerConfigJSON(this.config),
      created: this.created.toString(),
      delivered: { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 },
      ack_floor: { consumer_seq: this.adflr, stream_seq: this.asflr },
      pending: [...this.pending].map(([s, p]) => [s, p.dseq, p.deadline]),
      redelivered: [...this.rdc],
      lss: this.lss,
    };
    try {
      if (this.stateFile === null) {
        mkdirSync(this.dir, { recursive: true });
        this.stateFile = new StateFile(this.dir, LEGACY_STATE);
      }
      // Two slots written in turn: a crash leaves the old state or the new, never half of one.
      this.stateFile.write(JSON.stringify(st), sync);
      return true;
    } catch (e) {
      this.host.warn(`JetStream consumer '$G > ${this.stream.name} > ${this.name}' could not save its state: ${(e as Error).message}`);
      return false;
    }
  }

  private restore(st: PersistedConsumer): void {
    this.dseq = st.delivered.consumer_seq + 1;
    this.sseq = st.delivered.stream_seq + 1;
    this.adflr = st.ack_floor.consumer_seq;
    this.asflr = st.ack_floor.stream_seq;
    this.lss = st.lss !== null && st.lss.length > 0 ? st.lss : null;
    for (const [s, d, deadline] of st.pending) this.pending.set(s, { dseq: d, deadline, at: Date.now() });
    for (const [s, n] of st.redelivered) this.rdc.set(s, n);
    this.armAckTimer();
  }

  /** Read a durable's persisted state from its directory. */
  static readState(dir: string): PersistedConsumer {
    const text = StateFile.read(dir, LEGACY_STATE);
    if (text === null) throw new Error("no state file");
    return JSON.parse(text) as PersistedConsumer;
  }
}

/**
 * The redelivery queue: stream seqs in the order they became due, each at most once. Membership
 * is a set lookup (a NAK and the ack timer ask it per message); taking from the front moves an
 * index, not the array.
 */
export class RedeliveryQueue {
  private seqs: number[] = [];
  private head = 0;
  private readonly members = new Set<number>();

  get length(): number {
    return this.seqs.length - this.head;
  }

  has(seq: number): boolean {
    return this.members.has(seq);
  }

  push(seq: number): void {
    this.members.add(seq);
    this.seqs.push(seq);
  }

  /** Put back at the front (a delivery that could not be sent). */
  unshift(seq: number): void {
    this.members.add(seq);
    if (this.head > 0) this.seqs[--this.head] = seq;
    else this.seqs.unshift(seq);
  }

  /** The first seq; only when length > 0. */
  shift(): number {
    const seq = this.seqs[this.head++]!;
    this.members.delete(seq);
    if (this.head === this.seqs.length) {
      this.seqs = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    return seq;
  }

  remove(seq: number): void {
    if (!this.members.delete(seq)) return;
    const i = this.seqs.indexOf(seq, this.head);
    if (i >= 0) this.seqs.splice(i, 1);
  }
}

/**
 * A token bucket of bytes (golang.org/x/time/rate's shape, as nats-server's rate_limit_bps uses):
 * it refills at `perSec` and holds at most `burst`, starting full.
 */
export class TokenBucket {
  private tokens: number;
  private at = 0;

  constructor(private readonly perSec: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Take `n` bytes at wall-clock `now` (ms): 0 when taken, else ms until they would be there. */
  take(n: number, now: number): number {
    if (this.at !== 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSec) / 1000);
    this.at = now;
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.perSec));
  }
}

/** The common ack body, recognised without making a string of it. */
function isPlusAck(b: Buffer): boolean {
  return b.length === 4 && b[0] === 43 && b[1] === 65 && b[2] === 67 && b[3] === 75;
}

function msgSize(sm: StoredMsg): number {
  return sm.subject.length + (sm.hdr === null ? 0 : sm.hdr.length) + sm.data.length;
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
