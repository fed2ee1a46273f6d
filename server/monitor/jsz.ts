// Tested by test/monitor/monitor.test.ts.
// /jsz: JetStream totals, and per stream / consumer detail on request, in nats-server's JSInfo
// shape: one account_details entry per account with JetStream ($G's alone without accounts).
import { join } from "node:path";
import type { JetStream } from "../jetstream/jetstream.js";
import type { Stream } from "../jetstream/stream.js";
import { tsToRFC3339 } from "../jetstream/store.js";
import { goTime } from "./format.js";
import type { MonitoredServer, Query } from "./source.js";
import { accountJetStreams } from "./accounts.js";

const DEFAULT_SYNC_INTERVAL_MS = 2 * 60 * 1000;

/** nats-server JetStreamConfig; -1 (unlimited) where gnat enforces no budget. */
export function jetStreamConfig(s: MonitoredServer): Record<string, unknown> {
  const js = accountJetStreams(s)[0];
  if (js === undefined) return { max_memory: 0, max_storage: 0 };
  const o = js.settings;
  const max = { memory: s.options.maxMemoryStore, store: s.options.maxFileStore };
  return {
    // The server's budget (an account's JetStream has its own, smaller one in its settings).
    max_memory: max.memory > 0 ? max.memory : -1,
    max_storage: max.store > 0 ? max.store : -1,
    store_dir: join(o.storeDir, "jetstream"),
    // nats-server leaves these out unless configured.
    ...(o.syncIntervalMs !== DEFAULT_SYNC_INTERVAL_MS ? { sync_interval: o.syncIntervalMs * 1e6 } : {}),
    ...(o.syncAlways ? { sync_always: true } : {}),
    ...(o.domain !== undefined && o.domain !== "" ? { domain: o.domain } : {}),
  };
}

/** nats-server JetStreamStats, summed over `list` (accounts: those with JetStream). */
export function jetStreamStats(list: JetStream[], accounts = list.length): Record<string, unknown> {
  const sum = (f: (js: JetStream) => number): number => list.reduce((n, js) => n + f(js), 0);
  return {
    memory: sum((js) => js.usage("memory")),
    storage: sum((js) => js.usage("file")),
    reserved_memory: sum((js) => js.reserved("memory")),
    reserved_storage: sum((js) => js.reserved("file")),
    accounts,
    ha_assets: 0,
    api: { total: sum((js) => js.apiTotal), errors: sum((js) => js.apiErrors) },
  };
}

function streamDetail(s: Stream, serverName: string, consumers: boolean, config: boolean): Record<string, unknown> {
  const info = s.infoJSON(false, "", { leader: serverName });
  const o: Record<string, unknown> = {
    name: s.name,
    created: tsToRFC3339(s.created),
    cluster: info.cluster,
  };
  if (config) o.config = info.config;
  o.state = info.state;
  if (consumers && s.consumers.size > 0) {
    o.consumer_detail = [...s.consumers.values()].map((c) => {
      const ci = c.infoJSON(serverName);
      if (!config) delete ci.config;
      return ci;
    });
  }
  // nats-server's StreamDetail: the mirror's or sources' lag and activity, as in stream info.
  if (info.mirror !== undefined) o.mirror = info.mirror;
  if (info.sources !== undefined) o.sources = info.sources;
  return o;
}

export function jsz(s: MonitoredServer, q: Query): Record<string, unknown> {
  let accounts = q.bool("accounts");
  let streams = q.bool("streams");
  const consumers = q.bool("consumers");
  const config = q.bool("config");
  q.int("offset");
  q.int("limit");
  q.bool("leader-only");
  q.bool("raft");
  q.bool("stream-leader-only");
  const acc = q.str("acc");
  if (consumers) streams = true;
  if (streams && acc === "") accounts = true;

  const all = accountJetStreams(s);
  const now = goTime(Date.now());
  if (all.length === 0) {
    return { server_id: s.serverId, now, disabled: true, config: jetStreamConfig(s), ...jetStreamStats([]), streams: 0, consumers: 0, messages: 0, bytes: 0, total: 0 };
  }
  let nStreams = 0, nConsumers = 0, messages = 0, bytes = 0;
  for (const js of all) {
    nStreams += js.streams.size;
    for (const st of js.streams.values()) {
      nConsumers += st.consumers.size;
      const fs = st.store.fastState();
      messages += fs.msgs;
      bytes += fs.bytes;
    }
  }
  const out: Record<string, unknown> = {
    server_id: s.serverId,
    now,
    config: jetStreamConfig(s),
    ...jetStreamStats(all),
    streams: nStreams,
    consumers: nConsumers,
    messages,
    bytes,
  };
  const details: Record<string, unknown>[] = [];
  for (const js of all) {
    if (!accounts && acc !== js.account) continue;
    const detail: Record<string, unknown> = {
      name: js.account,
      id: js.account,
      // Per account, nats-server leaves the account count and HA assets at zero.
      ...jetStreamStats([js], 0),
    };
    if (streams) {
      const list = [...js.streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (list.length > 0) detail.stream_detail = list.map((st) => streamDetail(st, s.serverName, consumers, config));
    }
    details.push(detail);
  }
  if (details.length > 0) out.account_details = details;
  out.total = details.length === 0 ? 1 : details.length;
  return out;
}
