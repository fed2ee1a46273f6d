// Tested by test/monitor/dashboard-history.test.ts.
// The dashboard's history: one sample a second of the figures its charts draw (message rates,
// queue lengths, latencies), kept in a fixed ring so a page opened now draws the last minutes at
// once instead of dashes. Runs only while monitoring is on (MonitorServer starts and stops it);
// the timer is unref'd, and each tick reads counters the server keeps anyway, plus one
// store-latency observer (a log-bucket count per stored message) summarised and reset each tick.
import type { JetStream } from "../jetstream/jetstream.js";
import { accountJetStreams, accountRouters } from "./accounts.js";
import type { MonitoredServer } from "./source.js";

/** Five minutes at one sample a second. */
export const HISTORY_SAMPLES = 300;
export const HISTORY_INTERVAL_MS = 1000;

/** The columns, in /dashboard.json's `history` (each an array, oldest first; null: no reading). */
export const HISTORY_FIELDS = [
  /** Sample time, ms since the epoch. */
  "t",
  // Rates, per second over the interval before the sample.
  "in_msgs", "out_msgs", "in_bytes", "out_bytes", "js_acks", "js_redeliveries",
  // Queue lengths at the sample: messages stored in all streams, consumers' num_pending and
  // num_ack_pending summed.
  "stream_msgs", "num_pending", "num_ack_pending",
  // Latencies, ms: store latency of the JetStream messages stored in the interval (null when
  // none was), the mean client round trip as last measured by PING/PONG (null with no
  // clients), and how late the sampler's own timer fired (event-loop lag).
  "store_p50_ms", "store_p99_ms", "client_rtt_ms", "loop_lag_ms",
] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

/** Store latency buckets: 8 per power of two of µs (about 9 % wide), up to 2^27 µs (134 s). */
const BUCKETS_PER_OCTAVE = 8;
const BUCKETS = 27 * BUCKETS_PER_OCTAVE + 1;

interface Totals {
  at: number;
  in_msgs: number; out_msgs: number; in_bytes: number; out_bytes: number; js_acks: number; js_redeliveries: number;
}

export class DashboardHistory {
  private readonly cols = new Map<HistoryField, Float64Array>(HISTORY_FIELDS.map((f) => [f, new Float64Array(HISTORY_SAMPLES)]));
  private next = 0;
  private count = 0;
  private prev: Totals | null = null;
  private timer: NodeJS.Timeout | null = null;
  private due = 0;
  private readonly latency = new Uint32Array(BUCKETS);
  private latencyN = 0;
  private detach: (() => void)[] = [];

  constructor(private readonly s: MonitoredServer, private readonly intervalMs = HISTORY_INTERVAL_MS) {}

  start(): void {
    if (this.timer !== null) return;
    for (const js of accountJetStreams(this.s)) this.detach.push(js.observeStoreLatency((seconds) => this.observe(seconds)));
    this.prev = this.totals(Date.now());
    this.due = this.prev.at + this.intervalMs;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const d of this.detach) d();
    this.detach = [];
  }

  /** Whether the 1 s timer runs. */
  get running(): boolean {
    return this.timer !== null;
  }

  get length(): number {
    return this.count;
  }

  private observe(seconds: number): void {
    const us = seconds * 1e6;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(us) * BUCKETS_PER_OCTAVE));
    this.latency[i]!++;
    this.latencyN++;
  }

  /** The upper bound (ms) of the bucket holding the q-quantile of this interval's latencies. */
  private quantile(q: number): number {
    if (this.latencyN === 0) return NaN;
    const want = Math.max(1, Math.ceil(this.latencyN * q));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.latency[i]!;
      if (seen >= want) return 2 ** (i / BUCKETS_PER_OCTAVE) / 1000;
    }
    return NaN;
  }

  private totals(at: number): Totals {
    const t: Totals = { at, in_msgs: 0, out_msgs: 0, in_bytes: 0, out_bytes: 0, js_acks: 0, js_redeliveries: 0 };
    for (const { router: r } of accountRouters(this.s)) {
      t.in_msgs += r.inMsgs; t.out_msgs += r.outMsgs; t.in_bytes += r.inBytes; t.out_bytes += r.outBytes;
    }
    for (const js of accountJetStreams(this.s)) {
      for (const st of js.streams.values()) {
        for (const c of st.consumers.values()) {
          t.js_acks += c.ackedTotal;
          t.js_redeliveries += c.redeliveredTotal;
        }
      }
    }
    return t;
  }

  private queues(list: JetStream[]): { stream_msgs: number; num_pending: number; num_ack_pending: number } {
    const q = { stream_msgs: 0, num_pending: 0, num_ack_pending: 0 };
    for (const js of list) {
      for (const st of js.streams.values()) {
        q.stream_msgs += st.store.fastState().msgs;
        for (const c of st.consumers.values()) {
          q.num_pending += c.numPending();
          q.num_ack_pending += c.numAckPending;
        }
      }
    }
    return q;
  }

  /** Take one sample now (the timer's tick; tests may call it). */
  sample(now = Date.now()): void {
    const cur = this.totals(now);
    const prev = this.prev ?? cur;
    this.prev = cur;
    const dt = (cur.at - prev.at) / 1000;
    // Clamped at 0: a deleted consumer takes its counts with it.
    const rate = (k: keyof Omit<Totals, "at">): number => (dt > 0 ? Math.max(0, (cur[k] - prev[k]) / dt) : 0);
    let rtt = 0;
    let measured = 0;
    for (const c of this.s.clients.values()) {
      const ms = c.roundTripMs;
      if (ms > 0) { rtt += ms; measured++; }
    }
    const lag = this.due === 0 ? 0 : Math.max(0, now - this.due);
    this.due = now + this.intervalMs;
    const row: Record<HistoryField, number> = {
      t: now,
      in_msgs: rate("in_msgs"), out_msgs: rate("out_msgs"), in_bytes: rate("in_bytes"), out_bytes: rate("out_bytes"),
      js_acks: rate("js_acks"), js_redeliveries: rate("js_redeliveries"),
      ...this.queues(accountJetStreams(this.s)),
      store_p50_ms: this.quantile(0.5), store_p99_ms: this.quantile(0.99),
      client_rtt_ms: measured === 0 ? NaN : rtt / measured,
      loop_lag_ms: lag,
    };
    this.latency.fill(0);
    this.latencyN = 0;
    for (const f of HISTORY_FIELDS) this.cols.get(f)![this.next] = row[f];
    this.next = (this.next + 1) % HISTORY_SAMPLES;
    if (this.count < HISTORY_SAMPLES) this.count++;
  }

  /** Columns of the samples taken after `since` (ms since the epoch; 0: all), oldest first. */
  toJSON(since = 0): Record<HistoryField, (number | null)[]> & { interval_ms: number } {
    const t = this.cols.get("t")!;
    const start = (this.next - this.count + HISTORY_SAMPLES) % HISTORY_SAMPLES;
    const idx: number[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (start + k) % HISTORY_SAMPLES;
      if (t[i]! > since) idx.push(i);
    }
    const out = { interval_ms: this.intervalMs } as Record<HistoryField, (number | null)[]> & { interval_ms: number };
    for (const f of HISTORY_FIELDS) {
      const col = this.cols.get(f)!;
      // Three decimals are plenty for a chart, and keep the JSON short.
      out[f] = idx.map((i) => (Number.isFinite(col[i]!) ? Math.round(col[i]! * 1000) / 1000 : null));
    }
    return out;
  }
}
