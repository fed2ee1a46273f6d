// The live dashboard at / : a static page (server/monitor/dashboard/, shipped in the package) that
// polls /dashboard.json once a second. The JSON is the server's cumulative counters, small lists,
// and the recent history of the charted figures (history.ts: one sample a second in a fixed
// ring), so a page opened now draws the last minutes at once. `?since=<ms>` returns only the
// samples taken after that time, which is what the page asks for after its first load.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { DashboardHistory } from "./history.js";
import type { MonitoredServer } from "./source.js";

const TOP_CONNECTIONS = 10;

export function dashboardJson(s: MonitoredServer, history: DashboardHistory | null = null, since = 0): Record<string, unknown> {
  const r = s.router;
  // Top connections by traffic rather than top subjects: per-subject counts would cost every
  // message a map update, while these counters are kept per connection anyway.
  const top = [...s.clients.values()]
    .map((c) => ({ cid: c.cid, name: c.opts.name, ip: c.remoteAddress, in_msgs: c.inMsgs, out_msgs: c.outMsgs, in_bytes: c.inBytes, out_bytes: c.outBytes, pending_bytes: c.pendingBytes, subscriptions: c.subs.size }))
    .sort((a, b) => b.in_bytes + b.out_bytes - (a.in_bytes + a.out_bytes))
    .slice(0, TOP_CONNECTIONS);
  const js = s.jetstream;
  const streams = js === null ? [] : [...js.streams.values()].map((st) => {
    const fs = st.store.fastState();
    return {
      name: st.name, messages: fs.msgs, bytes: fs.bytes,
      consumers: [...st.consumers.values()].map((c) => ({ name: c.name, num_pending: c.numPending(), num_ack_pending: c.numAckPending, num_redelivered: c.numRedelivered })),
    };
  });
  const cs = s.clusterStats?.() ?? null;
  const ls = s.leafStats?.() ?? null;
  const links = [
    ...(cs?.routes ?? []).map((l) => ({ kind: "route", remote: l.remoteName || l.remoteId, ip: `${l.ip}:${l.port}`, l })),
    ...(ls?.leafs ?? []).map((l) => ({ kind: "leaf", remote: `${l.name} (${l.account})`, ip: `${l.ip}:${l.port}`, l })),
  ].map(({ kind, remote, ip, l }) => ({
    kind, remote, ip, rtt_ms: l.rttMs, in_msgs: l.inMsgs, out_msgs: l.outMsgs, in_bytes: l.inBytes, out_bytes: l.outBytes, pending_bytes: l.pendingBytes,
  }));
  const a = s.alerts;
  return {
    now: Date.now(),
    server_id: s.serverId, server_name: s.serverName, version: s.version,
    start: s.startedAt.toISOString(),
    connections: s.clients.size, total_connections: s.totalConnections,
    subscriptions: r.sublist.size,
    in_msgs: r.inMsgs, out_msgs: r.outMsgs, in_bytes: r.inBytes, out_bytes: r.outBytes,
    slow_consumers: s.slowConsumers, stalled_clients: s.stalledClients,
    top_connections: top,
    jetstream: js !== null,
    streams,
    links,
    links_down: [...(cs?.down ?? []), ...(ls?.down ?? [])],
    alerts: a === null ? [] : a.names.map((name) => ({ name, active: a.isActive(name), threshold: a.options.rules[name]?.threshold ?? 0, value: a.lastReading(name)?.value ?? 0, detail: a.lastReading(name)?.detail ?? "" })),
    recent_alerts: a === null ? [] : a.recent.slice(-20).reverse(),
    history: history === null ? null : history.toJSON(since),
  };
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "application/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/**
 * The page's files: its own (beside this module, in the source tree and in dist/ alike, where the
 * build copies them) and uPlot's, from the uplot package. Read once, on first request.
 */
export class DashboardFiles {
  private files: Map<string, StaticFile> | null = null;

  get(path: string): StaticFile | undefined {
    this.files ??= this.load();
    return this.files.get(path);
  }

  private load(): Map<string, StaticFile> {
    const own = (name: string): string => fileURLToPath(new URL(`./dashboard/${name}`, import.meta.url));
    const require = createRequire(import.meta.url);
    const sources: [string, string][] = [
      ["/", own("index.html")],
      ["/dashboard/dashboard.js", own("dashboard.js")],
      ["/dashboard/dashboard.css", own("dashboard.css")],
      ["/dashboard/uPlot.iife.min.js", require.resolve("uplot/dist/uPlot.iife.min.js")],
      ["/dashboard/uPlot.min.css", require.resolve("uplot/dist/uPlot.min.css")],
    ];
    const out = new Map<string, StaticFile>();
    for (const [url, file] of sources) {
      const ext = file.slice(file.lastIndexOf(".") + 1);
      out.set(url, { body: readFileSync(file), contentType: TYPES[ext] ?? "application/octet-stream" });
    }
    return out;
  }
}
