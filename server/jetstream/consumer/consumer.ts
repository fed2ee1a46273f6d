// One consumer of a stream: where it is (delivered / ack floor), what it waits on (pending acks,
// the redelivery queue), who it delivers to (queued pull requests, or a push deliver subject),
// and its timers (ack wait, request expiry, heartbeats, ephemeral inactivity). Semantics follow
// nats-server's consumer.go; it reaches the router only through the account's internal client.
//
// The class holds the lifecycle and the delivery loop; the rest is in parts it owns: state.ts
// (position, start, next message), acks.ts (acks and the redelivery timer), pull.ts (waiting
// requests), push.ts (heartbeats, flow control), persistence.ts (a durable's state on disk),
// replay.ts (replay_policy original), rate-limit.ts (rate_limit_bps).

import { subjectMatcher, toWire } from "../../../protocol/subject.js";
import type { InternalSubscription } from "../../core/internal-client.js";
import type { JsonObject } from "../decode.js";
import { tsToRFC3339, type StoredMsg } from "../store.js";
import { Acks, ackWaitMs } from "./acks.js";
import { consumerConfigJSON, DELETE_WAIT_DEFAULT_NS, filtersOf, isDurable, type ConsumerConfig } from "./config.js";
import { ConsumerPersistence, type PersistedConsumer } from "./persistence.js";
import { EARLY_FLUSH, FLUSH_EVERY, PullQueue, type PullRequest } from "./pull.js";
import { PushControl } from "./push.js";
import { TokenBucket } from "./rate-limit.js";
import { ReplayPacer } from "./replay.js";
import { ConsumerState } from "./state.js";
import { Hdr, msgSize, sendStatus, type ConsumerServices, type ConsumerStream } from "./types.js";

/** What a consumer needs from its account. */
export interface ConsumerHost extends ConsumerServices {
  /** The consumer removed itself (ephemeral inactivity). */
  consumerGone(c: Consumer): void;
}

export class Consumer {
  /** Where it is and what it waits on. */
  private readonly st = new ConsumerState();
  private readonly acks: Acks;
  private readonly pull: PullQueue;
  private readonly push: PushControl;
  private readonly persistence: ConsumerPersistence;
  private subs: InternalSubscription[] = [];
  private kickScheduled = false;
  /** replay_policy original. */
  private readonly replay = new ReplayPacer(() => this.kick());
  private awaitingDrain = false;
  /**
   * A `direct` consumer (another server's mirror or source of this stream) gets only what the
   * store has made durable, as a local mirror copies only that: after a kill -9 the stream never
   * lacks a message a copy elsewhere holds. Durable up to this sequence, as last asked.
   */
  private durableTo = 0;
  private awaitingDurable = false;
  private closed = false;

  /** Closed or deleted: it takes no more acks or requests. */
  get isClosed(): boolean {
    return this.closed;
  }
  /** Ephemeral inactivity and push interest. */
  private lastActive = Date.now();
  private activityTimer: NodeJS.Timeout | null = null;
  /** rate_limit_bps as a token bucket of bytes (push only), or null; its wake-up timer. */
  private rate: TokenBucket | null = null;
  private rateTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: ConsumerHost,
    readonly stream: ConsumerStream,
    readonly name: string,
    public config: ConsumerConfig,
    readonly created: bigint,
    /** Directory for persisted state (durables on file streams), or null. */
    dir: string | null,
  ) {
    const isClosed = (): boolean => this.closed;
    this.persistence = new ConsumerPersistence(dir, host, `${stream.name} > ${name}`, isClosed,
      () => this.st.toPersisted(consumerConfigJSON(this.config), this.created));
    this.acks = new Acks(this, this.st, host, this.persistence);
    this.pull = new PullQueue(host.ic, this.st);
    this.push = new PushControl(host.ic, this.st, `$JS.FC.${stream.name}.${name}`, () => this.config.deliver_subject, isClosed);
    this.applyConfig();
  }

  /** Whether a subject (wire form) is one this consumer takes: its filters, compiled. */
  private matches: (subject: string) => boolean = () => true;

  /** The parts of the config that are kept in a ready form. */
  private applyConfig(): void {
    const c = this.config;
    const filters = filtersOf(c).map(subjectMatcher);
    this.matches = filters.length === 0 ? () => true
      : filters.length === 1 ? filters[0]!
      : (s) => filters.some((m) => m(s));
    this.st.recountPending();
    const bps = c.rate_limit_bps;
    if (bps > 0 && !this.isPull) {
      // As nats-server: the burst is the stream's max_msg_size, else the largest payload.
      const mms = this.stream.config.max_msg_size;
      this.rate = new TokenBucket(bps / 8, mms > 0 ? mms : 1024 * 1024);
    } else {
      this.rate = null;
    }
    this.acks.applyConfig(c);
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
    if (restored !== null) {
      this.st.restore(restored);
      this.acks.arm();
    } else {
      this.st.selectStart(this.stream.store, this.config);
    }
    const ic = this.host.ic;
    if (this.isPull) {
      this.subs.push(ic.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${this.stream.name}.${this.name}`, (m) => this.onNextRequest(m.reply, m.data)));
    } else {
      this.subs.push(ic.subscribe(`$JS.FC.${this.stream.name}.${this.name}.*`, (m) => { if (this.push.onFlowControlReply(m)) this.kick(); }));
      // Clients often subscribe to the deliver subject after creating the consumer: start then.
      const stop = ic.watchInterest(this.config.deliver_subject, () => { this.lastActive = Date.now(); this.kick(); });
      this.subs.push({ sid: "", unsubscribe: stop });
      if (this.config.idle_heartbeat > 0) {
        const every = Math.max(1, Math.floor(this.config.idle_heartbeat / 1e6));
        this.push.scheduleHeartbeat(every, every);
      }
    }
    // Ephemerals always time out (5 s by default); durables only with an inactive_threshold.
    if (!isDurable(this.config) || this.config.inactive_threshold > 0) {
      const thresholdMs = Math.max(1, Math.floor((this.config.inactive_threshold || DELETE_WAIT_DEFAULT_NS) / 1e6));
      this.activityTimer = setInterval(() => this.checkActivity(thresholdMs), Math.min(thresholdMs, 1000));
      this.activityTimer.unref();
    }
    // A new durable is on disk before the API answers (nats-server writes its meta.inf then): a
    // kill right after the create must not lose it. A restored one only has its state refreshed.
    if (restored === null) this.persistence.write();
    else this.persistence.schedule();
    this.kick();
  }

  /** Stop timers and subscriptions; persisted state is written first. */
  close(): void {
    if (this.closed) return;
    this.persistence.write();
    this.shutdown();
  }

  /** Gone for good: requests waiting are told, persisted state removed. */
  delete(): void {
    if (this.closed) return;
    this.pull.deleted();
    this.shutdown();
    this.persistence.remove();
  }

  private shutdown(): void {
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.pull.clearAll();
    this.acks.stop();
    this.push.stop();
    this.replay.stop();
    for (const t of [this.activityTimer, this.rateTimer]) if (t !== null) clearTimeout(t);
    this.activityTimer = this.rateTimer = null;
  }

  private checkActivity(thresholdMs: number): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.isPull) {
      if (this.pull.length > 0) this.lastActive = now;
    } else if (this.host.ic.hasInterest(this.config.deliver_subject)) {
      this.lastActive = now;
      if (this.hasWork()) this.kick();
    }
    if (now - this.lastActive >= thresholdMs) this.host.consumerGone(this);
  }

  /** Changing the config in place (nats-server updateConfig, the fields that may change). */
  update(cfg: ConsumerConfig): void {
    this.config = cfg;
    this.applyConfig();
    this.persistence.write();
    this.kick();
  }

  /** The state as it would be persisted now (a stream snapshot carries it). */
  persistedState(): PersistedConsumer {
    return this.st.toPersisted(consumerConfigJSON(this.config), this.created);
  }

  /** Read a durable's persisted state from its directory. */
  static readState(dir: string): PersistedConsumer {
    return ConsumerPersistence.read(dir);
  }

  // ---- info -------------------------------------------------------------------------------------

  /** Delivered, awaiting an ack (info's num_ack_pending). */
  get numAckPending(): number {
    return this.st.pending.size;
  }

  /** Messages acked (or terminated) since the consumer was created or loaded: for the dashboard's rates. */
  get ackedTotal(): number {
    return this.st.ackedTotal;
  }

  /** Redeliveries made since the consumer was created or loaded: for the dashboard's rates. */
  get redeliveredTotal(): number {
    return this.st.redeliveredTotal;
  }

  /** Delivered more than once and not yet acked (info's num_redelivered). */
  get numRedelivered(): number {
    return this.st.rdc.size;
  }

  /** Stream messages matching the filters from sseq on, plus last-per-subject ones still due. */
  numPending(): number {
    return this.st.numPending(this.stream.store, this.config);
  }

  infoJSON(serverName: string): JsonObject {
    const st = this.st;
    // num_waiting counts live requests only, as nats-server's info (processWaiting first).
    if (this.isPull) this.pull.dropDead();
    const delivered: JsonObject = { consumer_seq: st.dseq - 1, stream_seq: st.sseq - 1 };
    if (st.lastDelivered !== 0) delivered.last_active = tsToRFC3339(BigInt(st.lastDelivered) * 1_000_000n);
    const ackFloor: JsonObject = { consumer_seq: st.adflr, stream_seq: st.asflr };
    if (st.lastAcked !== 0) ackFloor.last_active = tsToRFC3339(BigInt(st.lastAcked) * 1_000_000n);
    return {
      stream_name: this.stream.name,
      name: this.name,
      created: tsToRFC3339(this.created),
      config: consumerConfigJSON(this.config),
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: st.pending.size,
      num_redelivered: st.rdc.size,
      num_waiting: this.pull.length,
      num_pending: this.numPending(),
      cluster: { leader: serverName },
      ...(this.isPull ? {} : this.host.ic.hasInterest(this.config.deliver_subject) ? { push_bound: true } : {}),
      ts: tsToRFC3339(this.host.clock.now()),
    };
  }

  // ---- interest (for interest / work-queue retention) --------------------------------------------

  /** Whether this consumer will ever take a message on `subject` (wire form). */
  wants(subject: string): boolean {
    return this.matches(subject);
  }

  /** Message seq left the stream (removed, purged, expired, over a limit): num_pending follows. */
  removed(seq: number, subject: string): void {
    this.st.removed(seq, subject, this.matches);
  }

  /** Whether this consumer still has to see (or have acked) message seq on subject. */
  needsAck(seq: number, subject: string): boolean {
    if (!this.wants(subject)) return false;
    if (this.st.pending.has(seq)) return true;
    if (this.st.lss !== null && this.st.lss.includes(seq)) return true;
    return seq >= this.st.sseq;
  }

  // ---- requests and acks ---------------------------------------------------------------------------

  onNextRequest(reply: string, data: Buffer): void {
    if (reply === "" || this.closed) return;
    this.lastActive = Date.now();
    if (!this.isPull) return sendStatus(this.host.ic, reply, "409 Consumer is push based");
    if (this.pull.request(reply, data, this.config, () => this.available())) this.deliverLoop();
  }

  /** A message on this consumer's ack subject (tokens already parsed). */
  onAck(sseq: number, dseq: number, dc: number, body: Buffer, reply: string): void {
    if (this.closed) return;
    const now = Date.now();
    this.lastActive = now;
    this.acks.onAck(sseq, dseq, dc, body, reply, now);
  }

  /** The stream stored a message: a waiting request or a push target may take it. */
  signalNew(): void {
    if (this.isPull ? this.pull.length > 0 : true) this.kick();
  }

  // ---- delivery ---------------------------------------------------------------------------------

  /** What could go out now: new messages and those due again. */
  private available(): number {
    return this.numPending() + this.st.rdq.length;
  }

  /** Something may be deliverable: run the delivery loop soon (once per tick). */
  kick(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.deliverLoop();
    });
  }

  private hasWork(): boolean {
    return this.st.rdq.length > 0 || this.st.lss !== null || this.numPending() > 0;
  }

  /** A message delivered as often as max_deliver allows is no longer waited on. */
  private readonly gaveUp = (seq: number, delivered: number): void => {
    this.host.advisories.maxDeliveries(this.stream.name, this.name, seq, delivered);
    this.persistence.schedule();
  };

  private deliverLoop(): void {
    const ic = this.host.ic;
    const st = this.st;
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
        wr = this.pull.head();
        if (wr === null) return;
      } else {
        if (!ic.hasInterest(this.config.deliver_subject)) return;
        if (this.config.flow_control && this.push.blocked) return;
      }
      const sm = st.nextMsg(this.stream.store, this.config, this.gaveUp);
      if (sm === null) {
        this.pull.endOfStream(() => this.available());
        return;
      }
      const dc = st.nextDc;
      if (this.config.direct && sm.seq > this.durableTo) {
        st.unget(sm.seq, dc, this.config);
        this.awaitDurable();
        return;
      }
      if (dc === 1 && this.config.replay_policy === "original" && this.replay.hold(sm)) {
        st.unget(sm.seq, dc, this.config);
        return;
      }
      if (this.rate !== null) {
        const waitMs = this.rate.take(msgSize(sm), now);
        if (waitMs > 0) {
          // Over rate_limit_bps: this message goes when the bucket has room for it.
          st.unget(sm.seq, dc, this.config);
          if (this.rateTimer === null) {
            this.rateTimer = setTimeout(() => { this.rateTimer = null; this.kick(); }, waitMs);
          }
          return;
        }
      }
      let ackReply: string | null = null;
      if (wr !== null && wr.maxBytes) {
        // As nats-server: a pull's max_bytes counts the ack subject too (subject, reply,
        // headers, payload), so the pending bytes its end-of-pull status reports agree.
        ackReply = this.ackReply(sm, dc);
        const size = msgSize(sm) + ackReply.length;
        if (size > wr.b) {
          // Cannot send it to this requester: put it back and end the request.
          st.unget(sm.seq, dc, this.config);
          this.pull.tooLarge(wr);
          continue;
        }
        wr.b -= size;
      }
      if (++sinceClock === 64) {
        sinceClock = 0;
        now = Date.now();
      }
      this.deliver(sm, dc, wr !== null ? wr.reply : this.config.deliver_subject, now, ackReply);
      // A pull batch goes out as it is built, so the requester works on its first messages while
      // the rest are read (nats-server's writer goroutine sends as it goes; the end-of-read flush
      // alone held a batch of 500 back ~0.5 ms). Push runs keep the big writes.
      if (wr !== null) {
        if (++sent === EARLY_FLUSH || sent % FLUSH_EVERY === 0) this.host.flushOutbound();
        this.pull.delivered(wr, now);
      }
    }
  }

  /** Deliver again once what the stream holds now is durable (see durableTo). */
  private awaitDurable(): void {
    if (this.awaitingDurable) return;
    this.awaitingDurable = true;
    const upto = this.stream.store.fastState().last_seq;
    const done = (): void => {
      this.awaitingDurable = false;
      if (upto > this.durableTo) this.durableTo = upto;
      this.kick();
    };
    // A failed write takes its messages out of the stream: they are not delivered (nextMsg skips them).
    this.stream.store.whenDurable(upto).then(done, done);
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

  /** The ack subject of the next delivery of `sm` (delivery count `dc`, the next consumer sequence). */
  private ackReply(sm: StoredMsg, dc: number): string {
    // The fixed part is built (in wire form) once; the rest is ASCII digits.
    return `${this.ackPrefix()}${dc}.${sm.seq}.${this.st.dseq}.${sm.ts}.${this.numPending()}`;
  }

  private deliver(sm: StoredMsg, dc: number, to: string, nowMs: number, ackReply: string | null = null): void {
    const st = this.st;
    let dseq: number;
    const p = st.pending.get(sm.seq);
    const deadline = nowMs + ackWaitMs(this.config, dc);
    if (dc > 1 && p !== undefined) {
      // A redelivery gets a new consumer sequence, as in nats-server.
      dseq = st.dseq++;
      p.dseq = dseq;
      p.deadline = deadline;
      p.at = nowMs;
    } else {
      dseq = st.dseq++;
      if (!this.ackNone) st.pending.set(sm.seq, { dseq, deadline, at: nowMs });
    }
    st.lastDelivered = nowMs;
    ackReply ??= `${this.ackPrefix()}${dc}.${sm.seq}.${dseq}.${sm.ts}.${this.numPending()}`;
    let hdr = sm.hdr;
    let data = sm.data;
    if (this.config.headers_only) {
      const base = hdr === null ? "NATS/1.0\r\n\r\n" : hdr.toString("latin1");
      hdr = Buffer.from(`${base.slice(0, base.length - 2)}${Hdr.MsgSize}: ${sm.data.length}\r\n\r\n`, "latin1");
      data = Buffer.alloc(0);
    }
    // Stored subjects are wire strings already; only `to` (a deliver or reply subject) converts.
    this.host.ic.publishWire(to === this.lastTo ? this.lastToWire : this.toWire(to), ackReply, sm.subject, hdr, data);
    if (!this.isPull) this.push.sent(sm, nowMs, this.config.flow_control);
    if (this.ackNone) {
      st.adflr = dseq;
      st.asflr = sm.seq;
      this.stream.acked(sm.seq, sm.subject);
    } else {
      this.acks.arm(deadline);
    }
    this.persistence.schedule();
  }
}
