// Tested by test/monitor/monitor.test.ts.
// /connz: open connections, and a bounded ring of closed ones, in nats-server's ConnInfo shape.
// Everything is read from counters the connections keep anyway; nothing here runs per message.
import type { ClientConnection } from "../core/connection.js";
import { peerCertificates, type PeerCertInfo } from "./peer-certs.js";
import { goDurationNs } from "../duration.js";
import { goTime, goUptime } from "./format.js";
import { BadRequest, type MonitoredServer, type Query } from "./source.js";

/** nats-server DefaultConnListSize / DefaultMaxClosedClients. */
export const DEFAULT_CONN_LIST_SIZE = 1024;
export const MAX_CLOSED_CLIENTS = 10_000;

export interface SubDetail {
  account?: string;
  subject: string;
  qgroup?: string;
  sid: string;
  msgs: number;
  max?: number;
  cid: number;
}

/** One connection's figures, numbers kept raw for sorting; rendered only for the page returned. */
interface ConnRow {
  cid: number;
  ip: string;
  port: number;
  startMs: number;
  lastMs: number;
  stopMs: number;
  reason: string;
  rttMs: number;
  pending: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  stalls: number;
  name: string;
  lang: string;
  version: string;
  tlsVersion: string;
  tlsCipher: string;
  tlsFirst: boolean;
  /** Only for open connections asked for with auth=true. */
  peerCerts: PeerCertInfo[] | null;
  /** The authenticated user ("" when none) and the account, shown with auth=true. */
  user: string;
  account: string;
  subs: SubDetail[];
}

export function subDetail(s: { subject: string; queue: string; sid: string; delivered: number; max: number }, cid: number): SubDetail {
  // Built in nats-server's field order, optional fields left out as its omitempty does.
  return {
    subject: s.subject,
    ...(s.queue !== "" ? { qgroup: s.queue } : {}),
    sid: s.sid,
    msgs: s.delivered,
    ...(s.max > 0 ? { max: s.max } : {}),
    cid,
  };
}

function rowOf(c: ClientConnection, stopMs: number, reason: string, auth = false): ConnRow {
  const subs: SubDetail[] = [];
  for (const s of c.subs.values()) subs.push(subDetail(s, c.cid));
  const o = c.opts;
  return {
    cid: c.cid, ip: stripMapped(c.remoteAddress), port: c.remotePort, startMs: c.start,
    lastMs: c.lastActivityAt, stopMs, reason, rttMs: c.roundTripMs, pending: stopMs > 0 ? 0 : c.pendingBytes,
    inMsgs: c.inMsgs, outMsgs: c.outMsgs, inBytes: c.inBytes, outBytes: c.outBytes, stalls: c.stalls,
    name: o.name, lang: o.lang, version: o.version, user: c.user?.name ?? "", account: c.account, subs,
    tlsVersion: c.tls?.version ?? "", tlsCipher: c.tls?.cipher ?? "", tlsFirst: c.tls?.first === true,
    peerCerts: auth && c.tls !== null ? peerCertificates(c.socket) : null,
  };
}

function stripMapped(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/** Closed connections, oldest dropped first (nats-server keeps the last 10 000 too). */
export class ClosedConnections {
  private readonly ring: (ConnRow | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = MAX_CLOSED_CLIENTS) {
    this.ring = new Array<ConnRow | undefined>(capacity);
  }

  /** Called once per connection as it closes, before it forgets its subscriptions. */
  add(c: ClientConnection, reason: string): void {
    this.ring[this.next] = rowOf(c, Date.now(), reason);
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  rows(): ConnRow[] {
    const out: ConnRow[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity]!);
    return out;
  }
}

type SortKey = "cid" | "start" | "subs" | "pending" | "msgs_to" | "msgs_from" | "bytes_to" | "bytes_from"
  | "last" | "idle" | "uptime" | "stop" | "reason" | "rtt";

const SORT_KEYS = new Set<string>(["cid", "start", "subs", "pending", "msgs_to", "msgs_from", "bytes_to", "bytes_from",
  "last", "idle", "uptime", "stop", "reason", "rtt"]);

/** nats-server's orders: cid/start and uptime and reason ascending, every other key descending. */
function comparator(key: SortKey, now: number): (a: ConnRow, b: ConnRow) => number {
  const desc = (f: (r: ConnRow) => number) => (a: ConnRow, b: ConnRow): number => f(b) - f(a);
  const up = (r: ConnRow): number => (r.stopMs > 0 ? r.stopMs : now) - r.startMs;
  switch (key) {
    case "cid":
    case "start":
      return (a, b) => a.cid - b.cid;
    case "subs": return desc((r) => r.subs.length);
    case "pending": return desc((r) => r.pending);
    case "msgs_to": return desc((r) => r.outMsgs);
    case "msgs_from": return desc((r) => r.inMsgs);
    case "bytes_to": return desc((r) => r.outBytes);
    case "bytes_from": return desc((r) => r.inBytes);
    case "last": return desc((r) => r.lastMs);
    case "idle": return desc((r) => now - r.lastMs);
    case "uptime": return (a, b) => up(a) - up(b);
    case "stop": return desc((r) => r.stopMs);
    case "reason": return (a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0);
    case "rtt": return desc((r) => r.rttMs);
  }
}

function render(r: ConnRow, now: number, subs: "none" | "list" | "detail", auth: boolean): Record<string, unknown> {
  const closed = r.stopMs > 0;
  const end = closed ? r.stopMs : now;
  const o: Record<string, unknown> = {
    cid: r.cid, kind: "Client", type: "nats", ip: r.ip, port: r.port, start: goTime(r.startMs), last_activity: goTime(r.lastMs),
  };
  if (closed) {
    o.stop = goTime(r.stopMs);
    o.reason = r.reason;
  }
  o.rtt = goDurationNs(r.rttMs * 1e6);
  o.uptime = goUptime(end - r.startMs);
  o.idle = goUptime(end - r.lastMs);
  o.pending_bytes = r.pending;
  o.in_msgs = r.inMsgs;
  o.out_msgs = r.outMsgs;
  o.in_bytes = r.inBytes;
  o.out_bytes = r.outBytes;
  // Times this client was held back as a producer (newer nats-server's `stalls`, omitted at 0).
  if (r.stalls > 0) o.stalls = r.stalls;
  o.subscriptions = r.subs.length;
  if (r.name !== "") o.name = r.name;
  if (r.lang !== "") o.lang = r.lang;
  if (r.version !== "") o.version = r.version;
  if (r.tlsVersion !== "") o.tls_version = r.tlsVersion;
  if (r.tlsCipher !== "") o.tls_cipher_suite = r.tlsCipher;
  if (r.peerCerts !== null && r.peerCerts.length > 0) o.tls_peer_certs = r.peerCerts;
  if (r.tlsFirst) o.tls_first = true;
  if (auth) {
    if (r.user !== "") o.authorized_user = r.user;
    o.account = r.account;
  }
  if (r.subs.length > 0 && subs === "list") o.subscriptions_list = r.subs.map((s) => s.subject);
  if (r.subs.length > 0 && subs === "detail") o.subscriptions_list_detail = r.subs;
  return o;
}

function knownAccount(s: MonitoredServer, name: string): boolean {
  return s.accounts.get(name) !== undefined;
}

export function connz(s: MonitoredServer, closed: ClosedConnections, q: Query): Record<string, unknown> {
  const sortRaw = q.str("sort");
  if (sortRaw !== "" && !SORT_KEYS.has(sortRaw)) throw new BadRequest(`invalid sorting option: ${sortRaw}`);
  const sort = (sortRaw === "" ? "cid" : sortRaw) as SortKey;
  const auth = q.bool("auth");
  const subsMode = q.str("subs").toLowerCase() === "detail" ? "detail" : q.bool("subs") ? "list" : "none";
  const offset = Math.max(0, q.int("offset"));
  let limit = q.int("limit");
  if (limit <= 0) limit = DEFAULT_CONN_LIST_SIZE;
  const cid = q.int("cid", true);
  const stateRaw = q.str("state").toLowerCase();
  let state: "open" | "closed" | "all";
  if (stateRaw === "" || stateRaw === "open") state = "open";
  else if (stateRaw === "closed") state = "closed";
  else if (stateRaw === "any" || stateRaw === "all") state = "all";
  else throw new BadRequest(`Error decoding state for ${q.str("state")}`);
  if (sort === "stop" && state !== "closed") throw new BadRequest("sort by stop only valid on closed connections");
  if (sort === "reason" && state !== "closed") throw new BadRequest("sort by reason only valid on closed connections");
  if (cid > 0) limit = 1;
  const acc = q.str("acc");
  const now = Date.now();
  if (acc !== "" && !knownAccount(s, acc)) {
    // nats-server's answer for an account it does not know: an empty ConnInfo, no server id.
    return { server_id: "", now: goTime(now), num_connections: 0, total: 0, offset, limit, connections: null };
  }

  const closedRows = state === "open" ? [] : closed.rows();
  let total = (state === "closed" ? 0 : s.clients.size) + closedRows.length;
  let rows: ConnRow[] = [];
  if (cid > 0) {
    // As nats-server: a cid is looked up among the closed when asked for closed (or all), else the open.
    if (state !== "open") {
      const hit = closedRows.find((r) => r.cid === cid);
      if (hit !== undefined) rows.push(hit);
    } else {
      const c = s.clients.get(cid);
      if (c !== undefined) rows.push(rowOf(c, 0, "", auth));
    }
  } else {
    if (state !== "closed") for (const c of s.clients.values()) rows.push(rowOf(c, 0, "", auth));
    rows = rows.concat(closedRows);
  }
  if (acc !== "") {
    rows = rows.filter((r) => r.account === acc);
    total = rows.length;
  }
  rows.sort(comparator(sort, now));
  const max = rows.length;
  const page = rows.slice(Math.min(offset, max), Math.min(offset + limit, max));
  return {
    server_id: s.serverId,
    now: goTime(now),
    num_connections: page.length,
    total,
    offset,
    limit,
    connections: page.map((r) => render(r, now, subsMode, auth)),
  };
}
