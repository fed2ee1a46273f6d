// Tested by test/monitor/monitor.test.ts.
// /subsz: the subject index's statistics, and its subscriptions on request (nats-server Subsz).
import { isValidLiteralSubject } from "../../protocol/subject.js";
import { subDetail, type SubDetail } from "./connz.js";
import { goTime } from "./format.js";
import { subjectMatches } from "../../protocol/subject.js";
import { BadRequest, type MonitoredServer, type Query } from "./source.js";
import { accountRouters } from "./accounts.js";

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
  // One subject index per account (just $G's without accounts): the figures are their sums.
  const routers = accountRouters(s);
  const t = { size: 0, inserts: 0, removes: 0, matches: 0, entries: 0, total: 0, max: 0 };
  for (const { router } of routers) {
    const sl = router.sublist;
    const fan = sl.cacheFanout();
    t.size += sl.size;
    t.inserts += sl.inserts;
    t.removes += sl.removes;
    t.matches += router.inMsgs;
    t.entries += fan.entries;
    t.total += fan.total;
    t.max = Math.max(t.max, fan.max);
  }
  const out: Record<string, unknown> = {
    server_id: s.serverId,
    now: goTime(Date.now()),
    num_subscriptions: t.size,
    num_cache: t.entries,
    num_inserts: t.inserts,
    num_removes: t.removes,
    // Every routed message is one match; gnat does not count cache hits (that would be per-message work).
    num_matches: t.matches,
    cache_hit_rate: 0,
    max_fanout: t.max,
    avg_fanout: t.entries === 0 ? 0 : t.total / t.entries,
    total: 0,
    offset,
    limit,
  };
  if (detail) {
    const list: SubDetail[] = [];
    for (const { account, router } of routers) {
      for (const sub of router.sublist.all()) {
        // Server-internal subscriptions (JetStream's, imports') have no client connection to name.
        if (sub.client.cid < 0) continue;
        if (test !== "" && !subjectMatches(sub.subject, test)) continue;
        list.push({ account, ...subDetail(sub, sub.client.cid) });
      }
    }
    list.sort((a, b) => a.cid - b.cid || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    const max = list.length;
    const page = list.slice(Math.min(offset, max), Math.min(offset + limit, max));
    out.total = page.length;
    if (page.length > 0) out.subscriptions_list = page;
  }
  return out;
}
