// Tested by test/monitor/monitor.test.ts and test/differential/monitor.test.ts.
// /varz: the server's configuration and totals, in nats-server's Varz shape and units
// (durations in nanoseconds, times RFC 3339, mem in bytes, cpu in percent of one core).
import { availableParallelism, cpus } from "node:os";
import { goTime, goUptime } from "./format.js";
import { jetStreamConfig, jetStreamStats } from "./jsz.js";
import { accountJetStreams, accountRouters } from "./accounts.js";
import type { Router } from "../core/router.js";
import type { ClusterStats, LeafStats, MonitoredServer } from "./source.js";
import { authTimeoutMs } from "../auth/auth.js";
import { DEFAULT_TLS_TIMEOUT_MS, tlsTimeoutMs, tlsVerify } from "../tls-options.js";

const NS_PER_MS = 1e6;

/**
 * The machine's cores, read once, as nats-server reads runtime.NumCPU() once: os.cpus() parses
 * /proc/cpuinfo on every call, which was most of a /varz request's time.
 */
const CORES = cpus().length;

/** CPU use between two /varz calls, as nats-server samples it (a percentage of one core). */
export class CpuSampler {
  private last = process.cpuUsage();
  private lastAt = performance.now();
  private pct = 0;

  sample(): number {
    const now = performance.now();
    const elapsedMs = now - this.lastAt;
    // Too short an interval gives noise, not a reading: keep the previous one.
    if (elapsedMs >= 100) {
      const u = process.cpuUsage(this.last);
      this.pct = Math.round(((u.user + u.system) / 1000 / elapsedMs) * 1000) / 10;
      this.last = process.cpuUsage();
      this.lastAt = now;
    }
    return this.pct;
  }
}

export interface HttpInfo {
  host: string;
  port: number;
  /** Requests served per path, nats-server's http_req_stats. */
  reqStats: Record<string, number>;
  /** What serves HTTP and WebSocket here: "uws" or "node". */
  engine: string;
}

export function varz(s: MonitoredServer, http: HttpInfo, cpu: CpuSampler): Record<string, unknown> {
  const o = s.options;
  const now = Date.now();
  const start = s.startedAt.getTime();
  const r = sumRouters(accountRouters(s).map((a) => a.router));
  const jss = accountJetStreams(s);
  const js = jss[0] ?? null;
  const cs = s.clusterStats?.() ?? null;
  const ls = s.leafStats?.() ?? null;
  const urls = s.connectUrls?.() ?? [];
  return {
    server_id: s.serverId,
    server_name: s.serverName,
    version: s.version,
    proto: 1,
    go: `node${process.versions.node}`,
    host: o.host,
    port: s.port,
    ...(o.tls !== null ? { tls_required: true } : {}),
    ...(o.tls !== null && tlsVerify(o.tls) ? { tls_verify: true } : {}),
    max_connections: o.maxConnections,
    ...(o.maxSubscriptions > 0 ? { max_subscriptions: o.maxSubscriptions } : {}),
    ping_interval: o.pingInterval * NS_PER_MS,
    ping_max: o.pingMax,
    http_host: http.host,
    http_port: http.port,
    http_base_path: "",
    https_port: 0,
    // Seconds, as nats-server reports them.
    auth_timeout: authTimeoutMs(o.authorization, o.tls === null ? null : tlsTimeoutMs(o.tls)) / 1000,
    max_control_line: o.maxControlLine,
    max_payload: o.maxPayload,
    max_pending: o.maxPending,
    cluster: clusterVarz(cs),
    gateway: {},
    leaf: leafVarz(ls),
    mqtt: {},
    websocket: {},
    jetstream: js === null ? {} : { config: jetStreamConfig(s), stats: jetStreamStats(jss) },
    tls_timeout: (o.tls === null ? DEFAULT_TLS_TIMEOUT_MS : tlsTimeoutMs(o.tls)) / 1000,
    write_deadline: o.writeDeadline * NS_PER_MS,
    start: goTime(start),
    now: goTime(now),
    uptime: goUptime(now - start),
    mem: process.memoryUsage.rss(),
    cores: CORES,
    gomaxprocs: availableParallelism(),
    cpu: cpu.sample(),
    connections: s.clients.size,
    total_connections: s.totalConnections,
    ...(urls.length > 0 ? { connect_urls: urls } : {}),
    routes: cs?.routes.length ?? 0,
    remotes: cs?.routes.length ?? 0,
    leafnodes: ls?.leafs.length ?? 0,
    in_msgs: r.inMsgs,
    out_msgs: r.outMsgs,
    in_bytes: r.inBytes,
    out_bytes: r.outBytes,
    slow_consumers: s.slowConsumers,
    subscriptions: r.sublist.size,
    http_req_stats: { ...http.reqStats },
    config_load_time: goTime((s.configLoadedAt ?? s.startedAt).getTime()),
    system_account: s.accounts.system.name,
    slow_consumer_stats: { clients: s.slowConsumers, routes: 0, gateways: 0, leafs: 0 },
    // Newer nats-server releases report producers held back by flow control under this name.
    stalled_clients: s.stalledClients,
    // gnat's own: uWebSockets.js or node:http serves this port (and WebSocket).
    http_engine: http.engine,
  };
}

/** The counters varz reads, summed over the accounts' routers. */
function sumRouters(list: Router[]): { inMsgs: number; outMsgs: number; inBytes: number; outBytes: number; sublist: { size: number } } {
  const t = { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, sublist: { size: 0 } };
  for (const r of list) {
    t.inMsgs += r.inMsgs;
    t.outMsgs += r.outMsgs;
    t.inBytes += r.inBytes;
    t.outBytes += r.outBytes;
    t.sublist.size += r.sublist.size;
  }
  return t;
}

/** nats-server's LeafNodeOptsVarz: {} without leafnodes; the listener's part only with one. */
function leafVarz(ls: LeafStats | null): Record<string, unknown> {
  if (ls === null) return {};
  return {
    ...(ls.port !== 0 ? { host: ls.host, port: ls.port, auth_timeout: ls.authTimeout, tls_timeout: 2 } : {}),
    ...(ls.remotes.length > 0 ? {
      remotes: ls.remotes.map((r) => ({
        local_account: r.localAccount,
        urls: r.urls,
        ...(r.denyImports.length > 0 || r.denyExports.length > 0 ? {
          deny: {
            ...(r.denyExports.length > 0 ? { exports: r.denyExports } : {}),
            ...(r.denyImports.length > 0 ? { imports: r.denyImports } : {}),
          },
        } : {}),
      })),
    } : {}),
  };
}

/** nats-server's ClusterOptsVarz: {} when not clustered. */
function clusterVarz(cs: ClusterStats | null): Record<string, unknown> {
  if (cs === null) return {};
  return {
    name: cs.name,
    addr: cs.host,
    cluster_port: cs.port,
    auth_timeout: cs.authTimeout,
    ...(cs.urls.length > 0 ? { urls: cs.urls } : {}),
    tls_timeout: 2,
  };
}
