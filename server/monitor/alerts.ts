// Threshold alerts (a gnat addition; nats-server has none). A timer reads the same read-only
// figures /varz, /jsz and /metrics report, once per interval; the message path does nothing for
// them except, while publish_latency_p99 is configured, append each store latency to a ring.
// A change of state is published on $GNAT.ALERT.<name>, logged as a warning, shown by
// gnat_alert_active{alert} in /metrics and kept for the dashboard.
import type { Logger } from "pino";
import type { JetStream } from "../jetstream/jetstream.js";
import type { InternalClient } from "../core/internal-client.js";
import { ALERT_NAMES, alertSubject, type AlertName, type AlertRule, type AlertsOptions } from "../alerts-options.js";

/** The JSON published on $GNAT.ALERT.<name>. */
export interface AlertEvent {
  name: AlertName;
  state: "firing" | "resolved";
  /** The figure that crossed (firing) or fell back below (resolved) the threshold. */
  value: number;
  threshold: number;
  /** RFC 3339: firing, when the condition began to hold; resolved, when it stopped. */
  since: string;
  /** Which stream/consumer or storage the value belongs to, when it belongs to one. */
  detail: string;
  server_id: string;
}

/** A link to another server that should be up and is not (the link_down alert). */
export interface DownLink {
  kind: "route" | "leaf";
  /** Where it dials (host:port). */
  url: string;
}

/** What the alerts read from a running server. */
export interface AlertedServer {
  readonly serverId: string;
  readonly slowConsumers: number;
  readonly jetstream: JetStream | null;
  /** Configured links (routes, leafnode remotes) that are down now. */
  readonly downLinks?: (() => DownLink[]) | undefined;
}

interface Reading {
  value: number;
  detail: string;
}

interface State {
  rule: AlertRule;
  /** When the condition began to hold (ms), or null while it does not. */
  holdingSince: number | null;
  firing: boolean;
  last: Reading;
}

const RECENT = 50;
/** Store latencies kept for the p99 (a ring: the oldest are overwritten under heavy load). */
const LATENCY_RING = 8192;

export class Alerts {
  /** Alert events, newest last (for the dashboard). */
  readonly recent: AlertEvent[] = [];
  private readonly states = new Map<AlertName, State>();
  private timer: NodeJS.Timeout | null = null;
  /** [time ms, slow consumer total] samples spanning slow_consumers' window. */
  private slowSamples: [number, number][] = [];
  private readonly latAt = new Float64Array(LATENCY_RING);
  private readonly latMs = new Float64Array(LATENCY_RING);
  private latNext = 0;
  private latCount = 0;
  private detachLatency: (() => void) | null = null;

  constructor(private readonly s: AlertedServer, readonly options: AlertsOptions, private readonly ic: InternalClient,
    private readonly log: Logger) {
    for (const name of ALERT_NAMES) {
      const rule = options.rules[name];
      if (rule !== undefined) this.states.set(name, { rule, holdingSince: null, firing: false, last: { value: 0, detail: "" } });
    }
  }

  /** The configured alerts, in a fixed order. */
  get names(): AlertName[] {
    return [...this.states.keys()];
  }

  isActive(name: AlertName): boolean {
    return this.states.get(name)?.firing ?? false;
  }

  /** The last value read for an alert (the dashboard shows it). */
  lastReading(name: AlertName): Reading | undefined {
    return this.states.get(name)?.last;
  }

  start(): void {
    if (this.states.size === 0 || this.timer !== null) return;
    const js = this.s.jetstream;
    if (this.states.has("publish_latency_p99") && js !== null) {
      this.detachLatency = js.observeStoreLatency((seconds) => {
        const i = this.latNext;
        this.latAt[i] = Date.now();
        this.latMs[i] = seconds * 1000;
        this.latNext = (i + 1) % LATENCY_RING;
        if (this.latCount < LATENCY_RING) this.latCount++;
      });
    }
    this.slowSamples = [[Date.now(), this.s.slowConsumers]];
    // unref'd: alerts watch a server, they never keep a process alive on their own.
    this.timer = setInterval(() => this.evaluate(), this.options.interval);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.detachLatency?.();
    this.detachLatency = null;
  }

  /** One evaluation of every rule (the timer's tick; tests may call it directly). */
  evaluate(now = Date.now()): void {
    for (const [name, st] of this.states) {
      let r: Reading;
      try {
        r = this.read(name, st.rule, now);
      } catch (err) {
        // A stats read that throws (a stream closing under us) must not stop the other alerts.
        this.log.error({ err, alert: name }, "alert evaluation failed");
        continue;
      }
      st.last = r;
      if (r.value >= st.rule.threshold) {
        st.holdingSince ??= now;
        if (!st.firing && now - st.holdingSince >= st.rule.for) {
          st.firing = true;
          this.emit(name, "firing", r, st.rule, st.holdingSince);
        }
      } else {
        st.holdingSince = null;
        if (st.firing) {
          st.firing = false;
          this.emit(name, "resolved", r, st.rule, now);
        }
      }
    }
  }

  private read(name: AlertName, rule: AlertRule, now: number): Reading {
    switch (name) {
      case "consumer_pending": return this.maxConsumerPending();
      case "slow_consumers": return this.slowConsumersIn(rule.window, now);
      case "store_usage": return this.storeUsage();
      case "publish_latency_p99": return this.latencyP99(rule.window, now);
      case "link_down": return this.linksDown();
    }
  }

  private maxConsumerPending(): Reading {
    const out: Reading = { value: 0, detail: "" };
    const js = this.s.jetstream;
    if (js === null) return out;
    for (const st of js.streams.values()) {
      for (const c of st.consumers.values()) {
        const n = c.numPending();
        if (n > out.value || out.detail === "") {
          out.value = n;
          out.detail = `${st.name} > ${c.name}`;
        }
      }
    }
    return out;
  }

  private slowConsumersIn(window: number, now: number): Reading {
    const total = this.s.slowConsumers;
    const samples = this.slowSamples;
    samples.push([now, total]);
    // Keep one sample at or before the window's start as the baseline.
    while (samples.length > 1 && samples[1]![0] <= now - window) samples.shift();
    return { value: total - samples[0]![1], detail: `cut-offs in the last ${window / 1000}s` };
  }

  private storeUsage(): Reading {
    const out: Reading = { value: 0, detail: "" };
    const js = this.s.jetstream;
    if (js === null) return out;
    const limits = [["file", js.settings.maxStore], ["memory", js.settings.maxMemory]] as const;
    for (const [kind, max] of limits) {
      if (max <= 0) continue;
      const used = js.usage(kind);
      const share = used / max;
      if (share > out.value || out.detail === "") {
        out.value = share;
        out.detail = `${kind}: ${used} of ${max} bytes`;
      }
    }
    return out;
  }

  private latencyP99(window: number, now: number): Reading {
    const from = now - window;
    const xs: number[] = [];
    for (let i = 0; i < this.latCount; i++) if (this.latAt[i]! >= from) xs.push(this.latMs[i]!);
    if (xs.length === 0) return { value: 0, detail: "no messages stored in the window" };
    xs.sort((a, b) => a - b);
    const p99 = xs[Math.max(0, Math.ceil(xs.length * 0.99) - 1)]!;
    return { value: p99, detail: `p99 of ${xs.length} stores in the last ${window / 1000}s (ms)` };
  }

  private linksDown(): Reading {
    const down = this.s.downLinks?.() ?? [];
    return { value: down.length, detail: down.map((d) => `${d.kind} ${d.url}`).join(", ") };
  }

  private emit(name: AlertName, state: AlertEvent["state"], r: Reading, rule: AlertRule, since: number): void {
    const ev: AlertEvent = {
      name, state, value: r.value, threshold: rule.threshold, since: new Date(since).toISOString(), detail: r.detail,
      server_id: this.s.serverId,
    };
    this.recent.push(ev);
    if (this.recent.length > RECENT) this.recent.shift();
    this.log.warn({ alert: ev }, `alert ${name} ${state}: value ${ev.value} (threshold ${ev.threshold})${r.detail ? `, ${r.detail}` : ""}`);
    this.ic.publish(alertSubject(name), JSON.stringify(ev));
  }
}
