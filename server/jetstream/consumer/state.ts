// Tested by test/jetstream/consumer.test.ts.
// Where a consumer is: the next stream and consumer sequences, the ack floor, what waits on an
// ack, what is due again, and the last-per-subject messages still to go. Its start position
// (nats-server selectStartingSeqNo), the next message to deliver (getNextMsg) and the
// persisted form of all this.

import type { JsonObject } from "../decode.js";
import { rfc3339ToNs, type StoredMsg, type StreamStore } from "../store.js";
import { filtersOf, type ConsumerConfig } from "./config.js";
import type { PersistedConsumer } from "./persistence.js";
import { RedeliveryQueue } from "./redelivery-queue.js";
import { Hdr } from "./types.js";

export interface Pending {
  dseq: number;
  /** When the ack is due (ms since epoch); redelivered after. */
  deadline: number;
  /** When it was (last) delivered, ms since epoch: for the delivery-to-ack latency. */
  at: number;
}

export class ConsumerState {
  /** Next stream sequence to look at, next consumer sequence to give. */
  sseq = 1;
  dseq = 1;
  /** Ack floor: consumer and stream sequence. */
  adflr = 0;
  asflr = 0;
  readonly pending = new Map<number, Pending>();
  /** Stream seq → times redelivered (nats-server rdc). */
  readonly rdc = new Map<number, number>();
  /** Redelivery queue, stream seqs in order. */
  readonly rdq = new RedeliveryQueue();
  /** last_per_subject: the last seqs still to deliver before resuming at sseq. */
  lss: number[] | null = null;
  /**
   * num_pending kept rather than asked of the store per delivery (with a wildcard filter on a
   * stream of many subjects that walks every subject): the messages matching the filters in
   * [sseq, npTo], counted once, then kept up as sseq moves and messages leave (removed()); what
   * the stream stored past npTo is counted when next asked. -1: count again (a new start, a
   * restore, a config change, or the store's generation moved).
   */
  private np = -1;
  private npTo = 0;
  private npGen = 0;
  /** Delivery count of the message nextMsg returned last. */
  nextDc = 1;
  /**
   * Wall-clock ms of the last delivery and ack: read on every message, so a plain Date.now()
   * rather than the ns clock; info reports them as RFC3339 like nats-server's last_active.
   */
  lastDelivered = 0;
  lastAcked = 0;
  /** Messages acked (or terminated) and redeliveries made since created or loaded: the dashboard's rates. */
  ackedTotal = 0;
  redeliveredTotal = 0;

  /** Place the consumer at its starting point (nats-server selectStartingSeqNo). */
  selectStart(store: StreamStore, config: ConsumerConfig): void {
    const st = store.fastState();
    const filters = filtersOf(config);
    switch (config.deliver_policy) {
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
        this.sseq = config.opt_start_seq;
        break;
      case "by_start_time": {
        this.sseq = store.seqFromTime(rfc3339ToNs(config.opt_start_time ?? "") ?? 0n);
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
    this.np = -1;
    this.dseq = 1;
    this.adflr = 0;
    this.asflr = (this.lss !== null ? this.lss[0]! : this.sseq) - 1;
  }

  /** Stream messages matching the filters from sseq on, plus last-per-subject ones still due. */
  numPending(store: StreamStore, config: ConsumerConfig): number {
    const last = store.lastSeq;
    if (this.np < 0 || this.npGen !== store.generation || last < this.npTo) {
      this.np = countFrom(store, config, this.sseq);
      this.npTo = last;
      this.npGen = store.generation;
    } else if (last > this.npTo) {
      // What was stored since: a short range of the newest sequences, walked not the subjects.
      this.np += countFrom(store, config, Math.max(this.npTo + 1, this.sseq));
      this.npTo = last;
    }
    return this.lss !== null ? this.np + this.lss.length : this.np;
  }

  /** Count again when next asked (the filters changed). */
  recountPending(): void {
    this.np = -1;
  }

  /** Message seq left the stream; `matches` says whether its subject is one of ours. */
  removed(seq: number, subject: string, matches: (subject: string) => boolean): void {
    if (this.np >= 0 && seq >= this.sseq && seq <= this.npTo && matches(subject)) this.np--;
  }

  /** Nothing left pending: the ack floor moves up to what was delivered. */
  floorToDelivered(): void {
    this.adflr = this.dseq - 1;
    this.asflr = this.sseq - 1;
  }

  /** The Nats-Last-Consumer / Nats-Last-Stream headers of a heartbeat. */
  lastHeaders(): string {
    return `${Hdr.LastConsumer}: ${this.dseq - 1}\r\n${Hdr.LastStream}: ${this.sseq - 1}\r\n`;
  }

  /**
   * The next message to deliver (nats-server getNextMsg); its delivery count is left in nextDc
   * (no result object per delivery). `gaveUp` is told of a message delivered as often as
   * max_deliver allows.
   */
  nextMsg(store: StreamStore, config: ConsumerConfig, gaveUp: (seq: number, delivered: number) => void): StoredMsg | null {
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift();
      const dc = (this.rdc.get(seq) ?? 0) + 2;
      const p = this.pending.get(seq);
      if (p === undefined) continue;
      if (config.max_deliver > 0 && dc > config.max_deliver) {
        // Delivered as often as allowed (a NAK asked for one more): no longer waited on.
        this.pending.delete(seq);
        gaveUp(seq, dc - 1);
        continue;
      }
      const sm = store.loadMsg(seq);
      if (sm === null) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        continue;
      }
      this.rdc.set(seq, dc - 1);
      this.redeliveredTotal++;
      this.nextDc = dc;
      return sm;
    }
    if (config.ack_policy !== "none" && config.max_ack_pending > 0 && this.pending.size >= config.max_ack_pending) return null;
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
    const filters = filtersOf(config);
    let sm: StoredMsg | null = null;
    if (filters.length <= 1) sm = store.loadNextMsg(filters[0] ?? "", this.sseq);
    else {
      // Each filter looks only before the best found so far: a rare filter's search stops there.
      for (const f of filters) {
        const m = store.loadNextMsg(f, this.sseq, sm === null ? undefined : sm.seq - 1);
        if (m !== null && (sm === null || m.seq < sm.seq)) sm = m;
      }
    }
    if (sm === null) return null;
    // Nothing between sseq and sm matched: only sm leaves the count (if counted yet).
    if (this.np >= 0 && sm.seq <= this.npTo) this.np--;
    this.sseq = sm.seq + 1;
    this.nextDc = 1;
    return sm;
  }

  /** Undo nextMsg for a message that could not be sent. */
  unget(seq: number, dc: number, config: ConsumerConfig): void {
    if (dc > 1) {
      this.rdq.unshift(seq);
      const n = (this.rdc.get(seq) ?? 1) - 1;
      if (n > 0) this.rdc.set(seq, n);
      else this.rdc.delete(seq);
    } else if (this.lss !== null || (config.deliver_policy === "last_per_subject" && seq < this.sseq - 1)) {
      (this.lss ??= []).unshift(seq);
    } else {
      if (this.np >= 0 && seq <= this.npTo) this.np++;
      this.sseq = seq;
    }
  }

  /** The persisted form (nats-server ConsumerState, plus the config). */
  toPersisted(config: JsonObject, created: bigint): PersistedConsumer {
    return {
      config,
      created: created.toString(),
      delivered: { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 },
      ack_floor: { consumer_seq: this.adflr, stream_seq: this.asflr },
      pending: [...this.pending].map(([s, p]) => [s, p.dseq, p.deadline]),
      redelivered: [...this.rdc],
      lss: this.lss,
    };
  }

  restore(st: PersistedConsumer): void {
    this.dseq = st.delivered.consumer_seq + 1;
    this.sseq = st.delivered.stream_seq + 1;
    this.adflr = st.ack_floor.consumer_seq;
    this.asflr = st.ack_floor.stream_seq;
    this.lss = st.lss !== null && st.lss.length > 0 ? st.lss : null;
    this.np = -1;
    for (const [s, d, deadline] of st.pending) this.pending.set(s, { dseq: d, deadline, at: Date.now() });
    for (const [s, n] of st.redelivered) this.rdc.set(s, n);
  }
}

/** Messages with seq ≥ from matching the consumer's filters (the store's count, per filter). */
function countFrom(store: StreamStore, config: ConsumerConfig, from: number): number {
  const filters = filtersOf(config);
  if (filters.length === 0) return store.numPending("", from);
  let n = 0;
  for (const f of filters) n += store.numPending(f, from);
  return n;
}
