// Tested by test/monitor/sys-requests.test.ts.
// nats-server's monitoring over NATS, answered inside the system account (only its users can ask):
// `$SYS.REQ.SERVER.PING` (and `.PING.STATSZ`, `.<server id>.STATSZ`) with a ServerStatsMsg, and
// `$SYS.REQ.SERVER.PING.<X>` / `$SYS.REQ.SERVER.<id>.<X>` for VARZ, CONNZ, SUBSZ, ROUTEZ, LEAFZ,
// ACCOUNTZ, JSZ, HEALTHZ and IDZ; `$SYS.REQ.ACCOUNT.<account>.CONNZ` / `.SUBSZ` / `.JSZ` for one
// account. The request's payload, when there is one, is the endpoint's options as JSON (nats-server's
// ConnzOptions and so on); the reply is `{"server": …, "data": …}` or `{"server": …, "error":
// {"code", "description"}}`, built from the same functions as the HTTP endpoints.
import type { InternalClient, InternalMsg } from "../core/internal-client.js";
import { ClosedConnections, connz } from "./connz.js";
import { accountz, healthz, leafz, routez } from "./misc.js";
import { jsz } from "./jsz.js";
import { subsz } from "./subsz.js";
import { CpuSampler, varz } from "./varz.js";
import { BadRequest, Query, type MonitoredServer } from "./source.js";

/** What the requests read beside the server: the monitor's closed connections and HTTP facts when it runs. */
export interface SysRequestSources {
  closed(): ClosedConnections;
  http(): { host: string; port: number; reqStats: Record<string, number>; engine: string };
  serverInfo(): Record<string, unknown>;
}

/** nats-server's JSON option names → the HTTP endpoints' query parameters. */
const OPTION_PARAMS: Record<string, string> = {
  subscriptions: "subs", account: "acc", consumer: "consumers", details: "details",
};

function queryOf(data: Buffer): Query {
  const params = new URLSearchParams();
  if (data.length === 0) return new Query(params);
  let o: unknown;
  try {
    o = JSON.parse(data.toString("utf8"));
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new BadRequest("json: cannot unmarshal into the options");
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (v === undefined || v === null || v === false || v === "" || v === 0) continue;
    if (k === "subscriptions_detail") params.set("subs", "detail");
    else params.set(OPTION_PARAMS[k] ?? k, String(v));
  }
  return new Query(params);
}

export function serveSysRequests(ic: InternalClient, s: MonitoredServer, src: SysRequestSources): void {
  const cpu = new CpuSampler();
  const reply = (m: InternalMsg, build: (q: Query) => unknown): void => {
    if (m.reply === "") return;
    let body: Record<string, unknown>;
    try {
      body = { server: src.serverInfo(), data: build(queryOf(m.data)) };
    } catch (e) {
      const code = e instanceof BadRequest ? 400 : 500;
      body = { server: src.serverInfo(), error: { code, description: (e as Error).message } };
    }
    ic.publish(m.reply, JSON.stringify(body));
  };
  const statsz = (m: InternalMsg): void => {
    if (m.reply === "") return;
    const v = varz(s, src.http(), cpu);
    const accounts = new Set<string>();
    for (const c of s.clients.values()) if (c.connected) accounts.add(c.account);
    const js = v.jetstream as Record<string, unknown> | undefined;
    ic.publish(m.reply, JSON.stringify({
      server: src.serverInfo(),
      statsz: {
        start: v.start, mem: v.mem, cores: v.cores, cpu: v.cpu, connections: v.connections, total_connections: v.total_connections,
        active_accounts: accounts.size, subscriptions: v.subscriptions,
        sent: { msgs: v.out_msgs, bytes: v.out_bytes }, received: { msgs: v.in_msgs, bytes: v.in_bytes },
        slow_consumers: v.slow_consumers, active_servers: 1,
        ...(js !== undefined && s.jetstream !== null ? { jetstream: js } : {}),
      },
    }));
  };
  const endpoints: Record<string, (q: Query) => unknown> = {
    VARZ: () => varz(s, src.http(), cpu),
    CONNZ: (q) => connz(s, src.closed(), q),
    SUBSZ: (q) => subsz(s, q),
    ROUTEZ: (q) => routez(s, q),
    LEAFZ: (q) => leafz(s, q),
    ACCOUNTZ: (q) => accountz(s, q),
    JSZ: (q) => jsz(s, q),
    HEALTHZ: (q) => healthz(s, q).body,
    IDZ: () => ({ server_id: s.serverId, server_name: s.serverName }),
  };
  ic.subscribe("$SYS.REQ.SERVER.PING", statsz);
  ic.subscribe("$SYS.REQ.SERVER.PING.STATSZ", statsz);
  ic.subscribe(`$SYS.REQ.SERVER.${s.serverId}.STATSZ`, statsz);
  for (const [name, build] of Object.entries(endpoints)) {
    ic.subscribe(`$SYS.REQ.SERVER.PING.${name}`, (m) => reply(m, build));
    ic.subscribe(`$SYS.REQ.SERVER.${s.serverId}.${name}`, (m) => reply(m, build));
  }
  // One account's view: the account is the subject's, whatever the options say.
  const forAccount = (build: (q: Query) => unknown, extra: Record<string, string> = {}) => (m: InternalMsg): void => {
    const acc = m.subject.split(".")[3] ?? "";
    if (acc === "PING") return;
    reply(m, (q) => {
      q.params.set("acc", acc);
      for (const [k, v] of Object.entries(extra)) q.params.set(k, v);
      return build(q);
    });
  };
  ic.subscribe("$SYS.REQ.ACCOUNT.*.CONNZ", forAccount(endpoints.CONNZ!));
  ic.subscribe("$SYS.REQ.ACCOUNT.*.SUBSZ", forAccount(endpoints.SUBSZ!, { subs: "1" }));
  ic.subscribe("$SYS.REQ.ACCOUNT.*.JSZ", forAccount(endpoints.JSZ!, { accounts: "1" }));
}
