// Tested by test/monitor/sys-requests.test.ts and test/server/operator.test.ts.
// What nats-server answers over NATS, wired at start-up: the monitoring requests ($SYS.REQ.SERVER…)
// and, in operator mode, the claims requests in the system account; $SYS.REQ.USER.INFO in every
// account, $G included (and in each account resolved later). Part of the composition root.
import type { Logger } from "pino";
import type { AccountRegistry } from "../accounts/accounts.js";
import { serveClaims } from "../accounts/claims-api.js";
import type { OperatorMode } from "../accounts/operator-mode.js";
import { DEFAULT_RESOLVER_INTERVAL_MS } from "../accounts/operator-options.js";
import type { ClientConnection } from "../core/connection.js";
import { internalClient } from "../core/internal-client.js";
import type { Router } from "../core/router.js";
import type { SystemEvents } from "../events.js";
import { ClosedConnections } from "../monitor/connz.js";
import type { MonitoredServer } from "../monitor/source.js";
import { serveSysRequests } from "../monitor/sys-requests.js";
import { serveUserInfo } from "../monitor/user-info.js";

/** What the system requests read of the server. */
export interface SystemRequestsHost extends MonitoredServer {
  readonly log: Logger;
  readonly accounts: AccountRegistry;
  readonly operator: OperatorMode | null;
  readonly clients: Map<number, ClientConnection>;
  readonly monitor: { readonly closedConnections: ClosedConnections; readonly host: string; readonly boundTo: number; readonly engineName: string } | null;
}

/** $SYS.REQ.USER.INFO in one account (each has it, as in nats-server 2.10). */
export function serveAccountUserInfo(s: SystemRequestsHost, ev: SystemEvents, router: Router): void {
  serveUserInfo(internalClient(router), (cid) => s.clients.get(cid), () => ev.serverInfo());
}

/** Everything above; in operator mode, what stops the claims requests' timer (the full resolver's sync). */
export function serveSystemRequests(s: SystemRequestsHost, ev: SystemEvents): { close(): void } | null {
  // In $G too, as nats-server 2.10 imports it into every account but the system account's own.
  for (const a of s.accounts.accounts.values()) serveAccountUserInfo(s, ev, a.router);
  const sys = internalClient(s.accounts.system.router);
  const noneClosed = new ClosedConnections(1);
  serveSysRequests(sys, s, {
    closed: () => s.monitor?.closedConnections ?? noneClosed,
    http: () => ({ host: s.monitor?.host ?? "", port: s.monitor?.boundTo ?? 0, reqStats: {}, engine: s.monitor?.engineName ?? "" }),
    serverInfo: () => ev.serverInfo(),
  });
  if (s.operator === null) return null;
  const r = s.options.resolver;
  // Who may answer a lookup: the other servers of the cluster, and leafnodes bound to the system account.
  const sysName = s.accounts.system.name;
  const peers = (): number => (s.clusterStats?.()?.routes.length ?? 0) + (s.leafStats?.()?.leafs.filter((l) => l.account === sysName).length ?? 0);
  const sync = r?.type === "full"
    ? { client: internalClient(s.accounts.system.router, { echo: false }), interval: r.interval !== undefined && r.interval > 0 ? r.interval : DEFAULT_RESOLVER_INTERVAL_MS, serverId: s.serverId, peers }
    : null;
  return serveClaims(sys, s.operator.accounts, () => ev.serverInfo(), s.log, s.accounts.system.name, sync);
}
