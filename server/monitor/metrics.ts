// Tested by test/monitor/monitor.test.ts.
// /metrics: Prometheus exposition through prom-client. Every figure is read at scrape time by a
// collect callback from counters the server keeps anyway, so scraping costs the message path
// nothing; the one exception, the JetStream store-latency histogram, is observed per stored
// message and only while a monitor is running.
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";
import type { Stream } from "../jetstream/stream.js";
import type { Router } from "../core/router.js";
import { accountRouters } from "./accounts.js";
import type { MonitoredServer } from "./source.js";

// prom-client (and the OpenTelemetry API it loads) is a hundred files: read a few seconds after
// the server is ready (Metrics.warm) or at the first scrape, not before the listeners are up
// (clients' test harnesses give a new server seconds to start, and start one
// with monitoring per test). The latency histograms are ours (LatencyHistogram), observed from
// the monitor's start and handed to prom-client's registry when it is built.
let promClient: typeof PromClient | null = null;
const prom = (): typeof PromClient => (promClient ??= createRequire(import.meta.url)("prom-client") as typeof PromClient);

/** How long after the server is ready prom-client is read (Metrics.warm). */
const WARM_AFTER_MS = 3000;

/** What the link metrics read of a route or a leafnode connection. */
interface LinkFigures {
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  rttMs: number;
  pendingBytes: number;
}

/** Names and help of every gnat metric (README's list is checked against this in a test). */
export const METRICS = {
  messagesIn: ["gnat_messages_in_total", "Messages received from publishers (clients and internal), nats-server's in_msgs."],
  messagesOut: ["gnat_messages_out_total", "Messages delivered to subscribers, nats-server's out_msgs."],
  bytesIn: ["gnat_bytes_in_total", "Payload bytes received, nats-server's in_bytes."],
  bytesOut: ["gnat_bytes_out_total", "Payload bytes delivered, nats-server's out_bytes."],
  connections: ["gnat_connections", "Client connections open now."],
  connectionsTotal: ["gnat_connections_total", "Client connections accepted since start."],
  subscriptions: ["gnat_subscriptions", "Subscriptions in the subject index now (internal ones included)."],
  slowConsumers: ["gnat_slow_consumers_total", "Clients closed as slow consumers."],
  stalls: ["gnat_stalls_total", "Times a producer was held back by flow control (nats-server's stalled_clients)."],
  clientPending: ["gnat_client_pending_bytes", "Bytes queued for one client and not yet written (queue length per connection)."],
  streamMessages: ["gnat_jetstream_stream_messages", "Messages stored in a stream."],
  streamBytes: ["gnat_jetstream_stream_bytes", "Bytes stored in a stream."],
  streamConsumers: ["gnat_jetstream_stream_consumers", "Consumers on a stream."],
  consumerPending: ["gnat_jetstream_consumer_num_pending", "Messages a consumer has yet to deliver (queue length per consumer)."],
  consumerAckPending: ["gnat_jetstream_consumer_num_ack_pending", "Messages delivered and awaiting an ack."],
  consumerRedelivered: ["gnat_jetstream_consumer_num_redelivered", "Messages delivered more than once and not yet acked."],
  apiRequests: ["gnat_jetstream_api_requests_total", "JetStream API requests handled."],
  apiErrors: ["gnat_jetstream_api_errors_total", "JetStream API requests answered with an error."],
  links: ["gnat_links", "Links to other servers up now, by kind (route, leaf)."],
  linkMessagesIn: ["gnat_link_messages_in_total", "Messages received over one link (a route or leafnode connection)."],
  linkMessagesOut: ["gnat_link_messages_out_total", "Messages sent over one link."],
  linkBytesIn: ["gnat_link_bytes_in_total", "Payload bytes received over one link."],
  linkBytesOut: ["gnat_link_bytes_out_total", "Payload bytes sent over one link."],
  linkRtt: ["gnat_link_rtt_seconds", "Round-trip time of one link's last PING/PONG."],
  linkPending: ["gnat_link_pending_bytes", "Bytes queued for one link and not yet written."],
  linksDown: ["gnat_links_down", "Configured links (routes, leafnode remotes) that are not connected now."],
  alertActive: ["gnat_alert_active", "1 while a gnat threshold alert (config `alerts`) is firing, else 0; one series per configured alert."],
  ackLatency: ["gnat_jetstream_consumer_ack_latency_seconds", "Time from a consumer's delivery of a message to its ack (explicit ack policy), per consumer."],
  storeLatency: ["gnat_jetstream_store_latency_seconds", "Time from a publish reaching a stream to the message being durable (written, or fsynced with sync_interval: always)."],
} as const;

/** Seconds: from an in-memory store (tens of µs) to an fsync on a slow disk. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Delivery-to-ack is application time: from a millisecond to minutes. */
const ACK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/**
 * A Prometheus histogram kept without prom-client: cumulative per bucket at export, one series
 * per label set. prom-client's registry takes it as a metric (it asks only for name and get()).
 */
export class LatencyHistogram {
  readonly type = "histogram";
  private readonly series = new Map<string, { labels: Record<string, string>; counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[], private readonly labelNames: readonly string[] = []) {}

  observe(seconds: number, labels: Record<string, string> = {}): void {
    const key = this.labelNames.length === 0 ? "" : this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: { ...labels }, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    // The first bucket whose bound holds the value (le: less than or equal).
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    if (i < this.buckets.length) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  /** prom-client's metric shape: _bucket (cumulative, then +Inf), _sum and _count per series. */
  get(): { name: string; help: string; type: string; values: { metricName: string; labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number }[]; aggregator: string } {
    const values: ReturnType<LatencyHistogram["get"]>["values"] = [];
    // Without observations and labels, prom-client exports zeros: so do we.
    const all = this.series.size === 0 && this.labelNames.length === 0
      ? [{ labels: {}, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }]
      : [...this.series.values()];
    for (const s of all) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: this.buckets[i]! }, sharedLabels: s.labels, value: acc });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}

export class Metrics {
  private registryBuilt: PromClient.Registry | null = null;
  private readonly latency = new LatencyHistogram(METRICS.storeLatency[0], METRICS.storeLatency[1], LATENCY_BUCKETS);
  private readonly acks = new LatencyHistogram(METRICS.ackLatency[0], METRICS.ackLatency[1], ACK_BUCKETS, ["stream", "consumer"]);
  private detach: (() => void) | null = null;
  private closed = false;

  constructor(private readonly s: MonitoredServer) {
    const js = s.jetstream;
    if (js !== null) {
      const h = this.latency;
      const acks = this.acks;
      const stopStore = js.observeStoreLatency((seconds) => h.observe(seconds));
      js.ackLatency = (stream, consumer, seconds) => acks.observe(seconds, { stream, consumer });
      this.detach = () => {
        stopStore();
        js.ackLatency = null;
      };
    }
  }

  /** prom-client's registry over the server's figures, built (and prom-client read) at the first scrape. */
  get registry(): PromClient.Registry {
    return (this.registryBuilt ??= this.build());
  }

  /**
   * Build the registry a few seconds after the server is ready, so a first scrape is as quick as
   * the next ones. Not at once: reading prom-client takes ~80 ms of CPU, and a server that has
   * just written its ports file is being dialled (a test harness connects, a route registers and
   * clients get their connect_urls) — nats.js's "events - disreconnect" lost that race.
   */
  warm(): void {
    setTimeout(() => {
      if (!this.closed) void this.registry;
    }, WARM_AFTER_MS).unref();
  }

  private build(): PromClient.Registry {
    const s = this.s;
    const registry = new (prom().Registry)();
    const registers = [registry];
    // A counter's value is the server's own counter: reset, then add it, at each scrape.
    const counter = (m: readonly [string, string], read: () => number): void => {
      new (prom().Counter)({ name: m[0], help: m[1], registers, collect() { this.reset(); this.inc(read()); } });
    };
    const gauge = (m: readonly [string, string], read: () => number): void => {
      new (prom().Gauge)({ name: m[0], help: m[1], registers, collect() { this.set(read()); } });
    };
    // Every account's router (just the server's without accounts).
    const sum = (read: (r: Router) => number): number => {
      let n = 0;
      for (const a of accountRouters(s)) n += read(a.router);
      return n;
    };
    counter(METRICS.messagesIn, () => sum((r) => r.inMsgs));
    counter(METRICS.messagesOut, () => sum((r) => r.outMsgs));
    counter(METRICS.bytesIn, () => sum((r) => r.inBytes));
    counter(METRICS.bytesOut, () => sum((r) => r.outBytes));
    gauge(METRICS.connections, () => s.clients.size);
    counter(METRICS.connectionsTotal, () => s.totalConnections);
    gauge(METRICS.subscriptions, () => sum((r) => r.sublist.size));
    counter(METRICS.slowConsumers, () => s.slowConsumers);
    counter(METRICS.stalls, () => s.stalledClients);

    const [pn, ph] = METRICS.clientPending;
    new (prom().Gauge)({
      name: pn, help: ph, registers, labelNames: ["cid", "name"] as const,
      collect() {
        // Closed connections must drop out, so start from nothing each time.
        this.reset();
        for (const c of s.clients.values()) this.set({ cid: String(c.cid), name: c.opts.name }, c.pendingBytes);
      },
    });

    const perStream = (m: readonly [string, string], read: (st: Stream) => number): void => {
      new (prom().Gauge)({
        name: m[0], help: m[1], registers, labelNames: ["stream"] as const,
        collect() {
          this.reset();
          const js = s.jetstream;
          if (js !== null) for (const st of js.streams.values()) this.set({ stream: st.name }, read(st));
        },
      });
    };
    perStream(METRICS.streamMessages, (st) => st.store.fastState().msgs);
    perStream(METRICS.streamBytes, (st) => st.store.fastState().bytes);
    perStream(METRICS.streamConsumers, (st) => st.consumers.size);

    const perConsumer = (m: readonly [string, string], field: "num_pending" | "num_ack_pending" | "num_redelivered"): void => {
      new (prom().Gauge)({
        name: m[0], help: m[1], registers, labelNames: ["stream", "consumer"] as const,
        collect() {
          this.reset();
          const js = s.jetstream;
          if (js === null) return;
          for (const st of js.streams.values()) {
            for (const c of st.consumers.values()) {
              const v = field === "num_pending" ? c.numPending() : field === "num_ack_pending" ? c.numAckPending : c.numRedelivered;
              this.set({ stream: st.name, consumer: c.name }, v);
            }
          }
        },
      });
    };
    perConsumer(METRICS.consumerPending, "num_pending");
    perConsumer(METRICS.consumerAckPending, "num_ack_pending");
    perConsumer(METRICS.consumerRedelivered, "num_redelivered");
    counter(METRICS.apiRequests, () => s.jetstream?.apiTotal ?? 0);
    counter(METRICS.apiErrors, () => s.jetstream?.apiErrors ?? 0);

    // Links to other servers: one series per link, labelled by kind and the other server.
    const links = (): { kind: string; remote: string; remote_id: string; st: LinkFigures }[] => [
      ...(s.clusterStats?.()?.routes ?? []).map((st) => ({ kind: "route", remote: st.remoteName, remote_id: st.remoteId, st })),
      ...(s.leafStats?.()?.leafs ?? []).map((st) => ({ kind: "leaf", remote: st.name, remote_id: st.id, st })),
    ];
    const linkLabels = ["kind", "remote", "remote_id"] as const;
    const perLink = (m: readonly [string, string], read: (st: LinkFigures) => number, type: "counter" | "gauge"): void => {
      const opts = { name: m[0], help: m[1], registers, labelNames: linkLabels };
      if (type === "gauge") {
        new (prom().Gauge)({ ...opts, collect() {
          this.reset();
          for (const l of links()) this.set({ kind: l.kind, remote: l.remote, remote_id: l.remote_id }, read(l.st));
        } });
      } else {
        new (prom().Counter)({ ...opts, collect() {
          this.reset();
          for (const l of links()) this.inc({ kind: l.kind, remote: l.remote, remote_id: l.remote_id }, read(l.st));
        } });
      }
    };
    new (prom().Gauge)({
      name: METRICS.links[0], help: METRICS.links[1], registers, labelNames: ["kind"] as const,
      collect() {
        this.reset();
        const ls = links();
        if (s.clusterStats?.() != null) this.set({ kind: "route" }, ls.filter((l) => l.kind === "route").length);
        if (s.leafStats?.() != null) this.set({ kind: "leaf" }, ls.filter((l) => l.kind === "leaf").length);
      },
    });
    perLink(METRICS.linkMessagesIn, (st) => st.inMsgs, "counter");
    perLink(METRICS.linkMessagesOut, (st) => st.outMsgs, "counter");
    perLink(METRICS.linkBytesIn, (st) => st.inBytes, "counter");
    perLink(METRICS.linkBytesOut, (st) => st.outBytes, "counter");
    perLink(METRICS.linkRtt, (st) => st.rttMs / 1000, "gauge");
    perLink(METRICS.linkPending, (st) => st.pendingBytes, "gauge");
    gauge(METRICS.linksDown, () => (s.clusterStats?.()?.down.length ?? 0) + (s.leafStats?.()?.down.length ?? 0));

    const [an, ah] = METRICS.alertActive;
    new (prom().Gauge)({
      name: an, help: ah, registers, labelNames: ["alert"] as const,
      collect() {
        const a = s.alerts;
        if (a !== null) for (const name of a.names) this.set({ alert: name }, a.isActive(name) ? 1 : 0);
      },
    });

    registry.registerMetric(this.latency as unknown as PromClient.Metric);
    registry.registerMetric(this.acks as unknown as PromClient.Metric);
    // prom-client's collectDefaultMetrics is left out on purpose: it starts an event-loop delay
    // monitor and a GC observer per registry that nothing stops, and gnat runs several servers
    // per process in tests and embeddings. /varz has mem and cpu.
    return registry;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.closed = true;
    this.detach?.();
    this.detach = null;
    this.registryBuilt?.clear();
  }
}
