// /subsz: the subject index's statistics, and its subscriptions on request (nats-server Subsz).
import { isValidLiteralSubject } from "../../protocol/subject.js";
import { subDetail, type SubDetail } from "./connz.js";
import { goTime } from "./format.js";
import { literalMatches } from "../sublist.js";
import { BadRequest, type MonitoredServer, type Query } from "./source.js";

export const DEFAULT_SUB_LIST_SIZE = 1024;

export function subsz(s: MonitoredServer, q: Query): Record<string, unknown> {
  const detail = q.bool("subs");
  const offset = Math.max(0, q.int("offset"));
  let limit = q.int("limit");
  if (limit <= 0) limit = DEFAULT_SUB_LIST_SIZE;
  const test = q.str("test");
  if (test !== "" && !isValidLiteralSubject(test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${test}`);
  }
  const sl = s.router.sublist;
  const fan = sl.cacheFanout();
  const out: Record<string, unknown> = {
    server_id: s.serverId,
    now: goTime(Date.now()),
    num_subscriptions: sl.size,
    num_cache: fan.entries,
    num_inserts: sl.inserts,
    num_removes: sl.removes,
    // Every routed message is one match; gnat does not count cache hits (that would be per-message work).
    num_matches: s.router.inMsgs,
    cache_hit_rate: 0,
    max_fanout: fan.max,
    avg_fanout: fan.entries === 0 ? 0 : fan.total / fan.entries,
    total: 0,
    offset,
    limit,
  };
  if (detail) {
    const list: SubDetail[] = [];
    for (const sub of sl.all()) {
      // Server-internal subscriptions (JetStream's) have no client connection to name.
      if (sub.client.cid < 0) continue;
      if (test !== "" && !literalMatches(sub.subject, test)) continue;
      list.push({ account: "$G", ...subDetail(sub, sub.client.cid) });
    }
    list.sort((a, b) => a.cid - b.cid || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    const max = list.length;
    const page = list.slice(Math.min(offset, max), Math.min(offset + limit, max));
    out.total = page.length;
    if (page.length > 0) out.subscriptions_list = page;
  }
  return out;
}
