// Tested by test/monitor/monitor.test.ts (and test/cluster/monitor.test.ts, test/cluster/leafnodes.test.ts).
// /routez and /leafz (the cluster's routes and the leafnode connections), /gatewayz in
// nats-server's empty shape (gnat has no gateways) so tools that poll it keep working; and
// /accountz and /healthz.
import { goTime, goUptime } from "./format.js";
import { goDurationNs } from "../duration.js";
import { BadRequest, type MonitoredServer, type Query } from "./source.js";
import type { Account } from "../accounts/accounts.js";

/** nats-server's Routez: each route with its counters (and, with subs=1, the other side's interest). */
export function routez(s: MonitoredServer, q: Query): Record<string, unknown> {
  const now = Date.now();
  const stats = s.clusterStats?.() ?? null;
  const subs = q.bool("subs");
  const routes = (stats?.routes ?? []).map((r) => ({
    rid: r.rid,
    remote_id: r.remoteId,
    remote_name: r.remoteName,
    did_solicit: r.didSolicit,
    is_configured: r.isConfigured,
    ip: r.ip,
    port: r.port,
    start: goTime(r.startMs),
    last_activity: goTime(r.lastActivityMs),
    rtt: goDurationNs(r.rttMs * 1e6),
    uptime: goUptime(now - r.startMs),
    idle: goUptime(now - r.lastActivityMs),
    pending_size: r.pendingBytes,
    in_msgs: r.inMsgs,
    out_msgs: r.outMsgs,
    in_bytes: r.inBytes,
    out_bytes: r.outBytes,
    subscriptions: r.subscriptions.length,
    ...(subs ? { subscriptions_list: r.subscriptions } : {}),
  }));
  return { server_id: s.serverId, now: goTime(now), num_routes: routes.length, routes };
}

/**
 * nats-server's Leafz: each leafnode connection with its counters (with subs=1, the other side's
 * interest; with acc, one account's). No connection: "leafs" is [], as nats-server 2.10 has it
 * (2.9 says null).
 */
export function leafz(s: MonitoredServer, q: Query): Record<string, unknown> {
  const stats = s.leafStats?.() ?? null;
  const subs = q.bool("subs");
  const acc = q.str("acc");
  const leafs = (stats?.leafs ?? []).filter((l) => acc === "" || l.account === acc).map((l) => ({
    account: l.account,
    ip: l.ip,
    port: l.port,
    rtt: goDurationNs(l.rttMs * 1e6),
    in_msgs: l.inMsgs,
    out_msgs: l.outMsgs,
    in_bytes: l.inBytes,
    out_bytes: l.outBytes,
    subscriptions: l.subscriptions.length,
    ...(subs ? { subscriptions_list: l.subscriptions } : {}),
  }));
  return { server_id: s.serverId, now: goTime(Date.now()), leafnodes: leafs.length, leafs };
}

export function gatewayz(s: MonitoredServer): Record<string, unknown> {
  return { server_id: s.serverId, now: goTime(Date.now()), outbound_gateways: {}, inbound_gateways: {} };
}

/**
 * The accounts' names, or with `acc` one account's detail (nats-server's AccountInfo, without
 * the system imports nats-server adds to every account). Without accounts configured, gnat has
 * the global account only.
 */
export function accountz(s: MonitoredServer, q: Query): Record<string, unknown> {
  const reg = s.accounts;
  const now = goTime(Date.now());
  const name = q.str("acc");
  if (name === "") return { server_id: s.serverId, now, system_account: reg.system.name, accounts: [...reg.accounts.keys()] };
  const a = reg.get(name);
  if (a === undefined) throw new BadRequest(`Account ${name} does not exist`);
  return { server_id: s.serverId, now, system_account: reg.system.name, account_detail: accountDetail(s, a) };
}

const RESPONSE_TYPE_NAMES = { singleton: "Singleton", stream: "Stream", chunked: "Chunked" } as const;

function accountDetail(s: MonitoredServer, a: Account): Record<string, unknown> {
  let clients = 0;
  for (const c of s.clients.values()) if (c.account === a.name && c.connected) clients++;
  const sl = a.router.sublist;
  const fan = sl.cacheFanout();
  const out: Record<string, unknown> = {
    account_name: a.name,
    update_time: goTime(s.startedAt.getTime()),
    expired: false,
    complete: true,
    jetstream_enabled: a.jetstream !== null,
    leafnode_connections: (s.leafStats?.()?.leafs ?? []).filter((l) => l.account === a.name).length,
    client_connections: clients,
    subscriptions: sl.size,
  };
  const exports = (a.config.exports ?? []).map((e) => ({
    subject: e.stream ?? e.service,
    type: e.stream !== undefined ? "stream" : "service",
    ...(e.service !== undefined ? { response_type: RESPONSE_TYPE_NAMES[e.responseType ?? "singleton"] } : {}),
    ...(e.accounts !== undefined ? { approved_accounts: e.accounts } : {}),
  }));
  if (exports.length > 0) out.exports = exports;
  const imports = (a.config.imports ?? []).map((i) => {
    const ref = (i.stream ?? i.service)!;
    const common = { account: ref.account };
    if (i.stream !== undefined) {
      const local = i.to !== undefined ? i.to : ref.subject;
      const prefixed = i.prefix !== undefined && i.prefix !== "" ? `${i.prefix}.${local}` : local;
      return { subject: ref.subject, ...common, ...(prefixed !== ref.subject ? { local_subject: prefixed } : {}), type: "stream", invalid: false, share: false, tracking: false };
    }
    return { subject: i.to ?? ref.subject, ...common, to: ref.subject, type: "service", invalid: false, share: false, tracking: false };
  });
  if (imports.length > 0) out.imports = imports;
  out.sublist_stats = {
    num_subscriptions: sl.size, num_cache: fan.entries, num_inserts: sl.inserts, num_removes: sl.removes,
    num_matches: a.router.inMsgs, cache_hit_rate: 0, max_fanout: fan.max, avg_fanout: fan.entries === 0 ? 0 : fan.total / fan.entries,
  };
  return out;
}

/**
 * nats-server's healthz: ok once the server is ready. With JetStream configured, a single server
 * is healthy once its streams are recovered, which gnat does before it listens; so the
 * `js-enabled-only` and `js-server-only` checks answer ok as well.
 */
export function healthz(_s: MonitoredServer, q: Query): { status: number; body: Record<string, unknown> } {
  q.bool("js-enabled");
  q.bool("js-enabled-only");
  q.bool("js-server-only");
  q.bool("details");
  return { status: 200, body: { status: "ok" } };
}
