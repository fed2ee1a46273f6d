// /jsz: JetStream totals, and per stream / consumer detail on request, in nats-server's JSInfo
// shape. gnat has one account ("$G"), so account_details has at most one entry.
import { join } from "node:path";
import type { JetStream } from "../jetstream/jetstream.js";
import type { Stream } from "../jetstream/stream.js";
import { tsToRFC3339 } from "../jetstream/store.js";
import { goTime } from "./format.js";
import type { MonitoredServer, Query } from "./source.js";

const DEFAULT_SYNC_INTERVAL_MS = 2 * 60 * 1000;

/** nats-server JetStreamConfig; -1 (unlimited) where gnat enforces no budget. */
export function jetStreamConfig(s: MonitoredServer): Record<string, unknown> {
  const js = s.jetstream;
  if (js === null) return { max_memory: 0, max_storage: 0 };
  const o = js.settings;
  return {
    max_memory: o.maxMemory > 0 ? o.maxMemory : -1,
    max_storage: o.maxStore > 0 ? o.maxStore : -1,
    store_dir: join(o.storeDir, "jetstream"),
    // nats-server leaves these out unless configured.
    ...(o.syncIntervalMs !== DEFAULT_SYNC_INTERVAL_MS ? { sync_interval: o.syncIntervalMs * 1e6 } : {}),
    ...(o.syncAlways ? { sync_always: true } : {}),
  };
}

/** nats-server JetStreamStats for the server (accounts: those with JetStream). */
export function jetStreamStats(js: JetStream | null, accounts = js === null ? 0 : 1): Record<string, unknown> {
  return {
    memory: js === null ? 0 : js.usage("memory"),
    storage: js === null ? 0 : js.usage("file"),
    reserved_memory: js === null ? 0 : js.reserved("memory"),
    reserved_storage: js === null ? 0 : js.reserved("file"),
    accounts,
    ha_assets: 0,
    api: { total: js === null ? 0 : js.apiTotal, errors: js === null ? 0 : js.apiErrors },
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

  const js = s.jetstream;
  const now = goTime(Date.now());
  if (js === null) {
    return { server_id: s.serverId, now, disabled: true, config: jetStreamConfig(s), ...jetStreamStats(null), streams: 0, consumers: 0, messages: 0, bytes: 0, total: 0 };
  }
  let nConsumers = 0, messages = 0, bytes = 0;
  for (const st of js.streams.values()) {
    nConsumers += st.consumers.size;
    const fs = st.store.fastState();
    messages += fs.msgs;
    bytes += fs.bytes;
  }
  const out: Record<string, unknown> = {
    server_id: s.serverId,
    now,
    config: jetStreamConfig(s),
    ...jetStreamStats(js),
    streams: js.streams.size,
    consumers: nConsumers,
    messages,
    bytes,
  };
  if (accounts || acc === js.account) {
    const detail: Record<string, unknown> = {
      name: js.account,
      id: js.account,
      // Per account, nats-server leaves the account count and HA assets at zero.
      ...jetStreamStats(js, 0),
    };
    if (streams) {
      const list = [...js.streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (list.length > 0) detail.stream_detail = list.map((st) => streamDetail(st, s.serverName, consumers, config));
    }
    out.account_details = [detail];
  }
  out.total = 1;
  return out;
}
