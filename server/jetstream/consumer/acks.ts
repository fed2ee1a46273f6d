// Tested by test/jetstream/consumer.test.ts.
// Acks of a consumer (nats-server processAckMsg, processNak, processTerm, the ack-wait timer):
// what each ack body does to the pending messages and the ack floor, and the one timer that
// sends expired messages to the redelivery queue.

import { parseDurationNs } from "../../duration.js";
import type { ConsumerConfig } from "./config.js";
import type { ConsumerState } from "./state.js";
import type { ConsumerServices, ConsumerStream } from "./types.js";

/** What the acks need of the consumer they belong to. */
export interface AckOwner {
  readonly stream: ConsumerStream;
  readonly name: string;
  readonly config: ConsumerConfig;
  readonly isClosed: boolean;
  /** Something may be deliverable: run the delivery loop soon. */
  kick(): void;
  /** +NXT: the ack is also a pull request. */
  onNextRequest(reply: string, data: Buffer): void;
}

/** How the acks reach the consumer's persisted state. */
export interface AckPersistence {
  /** Write the state soon. */
  schedule(): void;
  /** Answer a double ack once its state is on disk. */
  confirm(reply: string): void;
}

/** The ack wait of delivery `dc` (backoff, else ack_wait), in ms. */
export function ackWaitMs(config: ConsumerConfig, dc: number): number {
  const bo = config.backoff;
  const ns = bo.length > 0 ? bo[Math.min(dc - 1, bo.length - 1)]! : config.ack_wait;
  return Math.max(1, Math.floor(ns / 1e6));
}

/** The common ack body, recognised without making a string of it. */
function isPlusAck(b: Buffer): boolean {
  return b.length === 4 && b[0] === 43 && b[1] === 65 && b[2] === 67 && b[3] === 75;
}

export class Acks {
  private ackTimer: NodeJS.Timeout | null = null;
  private ackTimerAt = 0;
  /** sample_freq in percent (0: no ack metrics). */
  private sampleFreq = 0;

  constructor(
    private readonly c: AckOwner,
    private readonly st: ConsumerState,
    private readonly host: ConsumerServices,
    private readonly persistence: AckPersistence,
  ) {}

  /** The parts of the config kept in a ready form. */
  applyConfig(config: ConsumerConfig): void {
    this.sampleFreq = config.sample_freq === "" ? 0 : Number(config.sample_freq.replace(/%$/, "")) || 0;
  }

  /** A message on the consumer's ack subject (tokens already parsed), at `now`. */
  onAck(sseq: number, dseq: number, dc: number, body: Buffer, reply: string, now: number): void {
    const text = isPlusAck(body) ? "+ACK" : body.toString("latin1");
    let confirm = true;
    if (text === "" || text === "+ACK" || text === "+OK") {
      this.ackMsg(sseq, dseq, now);
    } else if (text.startsWith("+NXT")) {
      this.ackMsg(sseq, dseq, now);
      this.c.onNextRequest(reply, Buffer.from(text.slice(4).trim()));
      confirm = false;
    } else if (text.startsWith("-NAK")) {
      this.nak(sseq, dseq, dc, text.slice(4).trim());
    } else if (text === "+WPI") {
      const p = this.st.pending.get(sseq);
      if (p !== undefined) {
        p.deadline = Date.now() + ackWaitMs(this.c.config, dc);
        this.arm();
      }
    } else if (text.startsWith("+TERM")) {
      this.ackMsg(sseq, dseq, now);
      this.host.advisories.terminated(this.c.stream.name, this.c.name, dseq, sseq, dc, text.slice(5).trim());
    } else {
      confirm = false;
    }
    if (confirm && reply !== "") this.persistence.confirm(reply);
    this.persistence.schedule();
    this.c.kick();
  }

  /** nats-server processAckMsg. */
  private ackMsg(sseq: number, dseq: number, now: number): void {
    const st = this.st;
    if (sseq >= st.sseq && !(st.lss?.includes(sseq) ?? false)) return;
    st.lastAcked = now;
    const acked: number[] = [];
    switch (this.c.config.ack_policy) {
      case "explicit": {
        const p = st.pending.get(sseq);
        if (p !== undefined) {
          st.pending.delete(sseq);
          acked.push(sseq);
          const observe = this.host.ackLatency;
          if (observe !== null) observe(this.c.stream.name, this.c.name, (st.lastAcked - p.at) / 1000);
          if (this.sampleFreq > 0) this.sampleAck(sseq, p.dseq, now - p.at);
          const d = p.dseq;
          if (st.pending.size === 0) {
            st.floorToDelivered();
          } else if (d === st.adflr + 1) {
            st.adflr = d;
            st.asflr = sseq;
            for (let ss = sseq + 1; ss < st.sseq; ss++) {
              const q = st.pending.get(ss);
              if (q !== undefined) {
                st.adflr = q.dseq - 1;
                st.asflr = ss - 1;
                break;
              }
            }
          }
        }
        st.rdc.delete(sseq);
        st.rdq.remove(sseq);
        break;
      }
      case "all": {
        if (dseq <= st.adflr || sseq <= st.asflr) return;
        for (const seq of [...st.pending.keys()]) {
          if (seq <= sseq) {
            st.pending.delete(seq);
            st.rdc.delete(seq);
            st.rdq.remove(seq);
            acked.push(seq);
          }
        }
        st.adflr = dseq;
        st.asflr = sseq;
        break;
      }
      case "none":
        return;
    }
    st.ackedTotal += acked.length;
    // Only interest and workqueue streams act on acks, and they need only the message's subject,
    // which the store's index has: no message is read (from disk, for a file store) per ack.
    const stream = this.c.stream;
    if (!stream.removesOnAck) return;
    for (const seq of acked) {
      const subject = stream.store.subjectOf(seq);
      if (subject !== null) stream.acked(seq, subject);
    }
  }

  /** sample_freq: an ack metric for this share of acks (nats-server sampleAck). */
  private sampleAck(sseq: number, dseq: number, delayMs: number): void {
    if (this.sampleFreq < 100 && Math.random() * 100 >= this.sampleFreq) return;
    this.host.advisories.ackMetric(this.c.stream.name, this.c.name, dseq, sseq, delayMs * 1_000_000, (this.st.rdc.get(sseq) ?? 0) + 1);
  }

  /** nats-server processNak: redeliver now, or after the delay given. */
  private nak(sseq: number, dseq: number, dc: number, arg: string): void {
    const st = this.st;
    if (dseq <= st.adflr || dseq >= st.dseq) return;
    const p = st.pending.get(sseq);
    if (p === undefined) return;
    this.host.advisories.naked(this.c.stream.name, this.c.name, dseq, sseq, dc);
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
        this.host.warn(`JetStream consumer '$G > ${this.c.stream.name} > ${this.c.name}' bad NAK delay value: ${JSON.stringify(arg)}`);
      } else if (delayNs > 0) {
        st.rdq.remove(sseq);
        p.deadline = Date.now() + Math.floor(delayNs / 1e6);
        this.arm();
        return;
      }
    }
    if (!st.rdq.has(sseq)) st.rdq.push(sseq);
  }

  /**
   * Arm the redelivery timer for the earliest deadline. `next`, when given, is the only deadline
   * that changed: if a timer already fires no later, there is nothing to scan (the common case,
   * one call per delivery, must not walk every pending message).
   */
  arm(next?: number): void {
    const st = this.st;
    if (this.c.isClosed || st.pending.size === 0) return;
    if (next !== undefined && this.ackTimer !== null && this.ackTimerAt <= next) return;
    let earliest = Infinity;
    for (const [seq, p] of st.pending) if (p.deadline < earliest && !st.rdq.has(seq)) earliest = p.deadline;
    if (earliest === Infinity) return;
    if (this.ackTimer !== null && this.ackTimerAt <= earliest) return;
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimerAt = earliest;
    this.ackTimer = setTimeout(() => this.onAckTimer(), Math.max(1, earliest - Date.now()));
    this.ackTimer.unref();
  }

  /** One timer for the earliest ack deadline; expired messages go to the redelivery queue. */
  private onAckTimer(): void {
    this.ackTimer = null;
    if (this.c.isClosed) return;
    const st = this.st;
    const now = Date.now();
    const expired: number[] = [];
    let gaveUp = false;
    const max = this.c.config.max_deliver;
    for (const [seq, p] of st.pending) {
      if (p.deadline > now || st.rdq.has(seq)) continue;
      const delivered = (st.rdc.get(seq) ?? 0) + 1;
      if (max > 0 && delivered >= max) {
        // As nats-server's checkPending: given up on at its last ack deadline, not at the next
        // pull, so the MAX_DELIVERIES advisory (a dead-letter queue's cue) comes without one.
        st.pending.delete(seq);
        this.host.advisories.maxDeliveries(this.c.stream.name, this.c.name, seq, delivered);
        gaveUp = true;
        continue;
      }
      expired.push(seq);
    }
    if (gaveUp) {
      // Nothing left pending: the ack floor moves up to what was delivered, as after an ack.
      if (st.pending.size === 0) st.floorToDelivered();
      this.persistence.schedule();
    }
    expired.sort((a, b) => a - b);
    for (const seq of expired) st.rdq.push(seq);
    this.arm();
    if (expired.length > 0 || gaveUp) this.c.kick();
  }

  stop(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }
}
