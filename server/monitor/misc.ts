// Endpoints of features gnat does not have (clustering, gateways, leaf nodes), in nats-server's
// empty shapes so tools that poll them keep working; and /accountz and /healthz.
import { goTime } from "./format.js";
import type { MonitoredServer, Query } from "./source.js";

export function routez(s: MonitoredServer): Record<string, unknown> {
  return { server_id: s.serverId, now: goTime(Date.now()), num_routes: 0, routes: [] };
}

export function leafz(s: MonitoredServer): Record<string, unknown> {
  return { server_id: s.serverId, now: goTime(Date.now()), leafnodes: 0, leafs: [] };
}

export function gatewayz(s: MonitoredServer): Record<string, unknown> {
  return { server_id: s.serverId, now: goTime(Date.now()), outbound_gateways: {}, inbound_gateways: {} };
}

/** The accounts' names; without accounts configured, gnat has the global account only. */
export function accountz(s: MonitoredServer, _q: Query): Record<string, unknown> {
  const reg = s.accounts;
  if (reg === undefined || reg === null) return { server_id: s.serverId, now: goTime(Date.now()), accounts: ["$G"] };
  return { server_id: s.serverId, now: goTime(Date.now()), system_account: reg.system.name, accounts: [...reg.accounts.keys()] };
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
