// Tested by test/client/top.test.ts.
// What `gnat top` shows, read from the monitoring endpoints any NATS server has (/varz, /connz,
// /jsz), so it works against nats-server as well as gnat: the seed's three figures — throughput
// (rates from the difference between two polls), latency (each connection's RTT) and queue length
// (bytes pending to a connection; a consumer's pending, ack pending and redelivered).
import { parseDuration } from "../duration.js";
import { ClientError, describeError } from "../errors.js";

export const SORT_KEYS = ["cid", "subs", "pending", "msgs_to", "msgs_from", "bytes_to", "bytes_from", "last", "idle", "uptime", "rtt"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

interface Varz {
  server_name?: string;
  server_id?: string;
  version?: string;
  uptime?: string;
  mem?: number;
  cpu?: number;
  connections?: number;
  subscriptions?: number;
  slow_consumers?: number;
  in_msgs?: number;
  out_msgs?: number;
  in_bytes?: number;
  out_bytes?: number;
}

interface ConnInfo {
  cid: number;
  name?: string;
  ip?: string;
  port?: number;
  lang?: string;
  version?: string;
  rtt?: string;
  pending_bytes?: number;
  in_msgs?: number;
  out_msgs?: number;
  in_bytes?: number;
  out_bytes?: number;
  subscriptions?: number;
  uptime?: string;
  idle?: string;
}

interface Connz {
  num_connections?: number;
  total?: number;
  connections?: ConnInfo[];
}

interface ConsumerDetail {
  name: string;
  stream_name: string;
  num_pending?: number;
  num_ack_pending?: number;
  num_redelivered?: number;
  num_waiting?: number;
  delivered?: { consumer_seq?: number; stream_seq?: number };
}

interface StreamDetail {
  name: string;
  state?: { messages?: number; bytes?: number; last_seq?: number; consumer_count?: number };
  consumer_detail?: ConsumerDetail[];
}

interface Jsz {
  disabled?: boolean;
  account_details?: { name?: string; stream_detail?: StreamDetail[] }[];
}

/** One poll of the three endpoints, and when it was taken. */
export interface Poll {
  at: number;
  varz: Varz;
  connz: Connz;
  jsz: Jsz | null;
}

export interface ConnRow {
  cid: number;
  name: string;
  host: string;
  lang: string;
  subs: number;
  pending: number;
  inRate: number;
  outRate: number;
  inBytesRate: number;
  outBytesRate: number;
  msgsFrom: number;
  msgsTo: number;
  rttMs: number;
  uptime: string;
}

export interface StreamRow {
  name: string;
  account: string;
  messages: number;
  bytes: number;
  rate: number;
  consumers: number;
}

export interface ConsumerRow {
  stream: string;
  name: string;
  pending: number;
  ackPending: number;
  redelivered: number;
  waiting: number;
  rate: number;
}

/** What the screen shows: the latest poll, with rates against the one before (0 on the first). */
export interface View {
  server: string;
  version: string;
  uptime: string;
  cpu: number;
  mem: number;
  connections: number;
  totalConnections: number;
  subscriptions: number;
  slowConsumers: number;
  inRate: number;
  outRate: number;
  inBytesRate: number;
  outBytesRate: number;
  pending: number;
  rttP50: number;
  rttMax: number;
  conns: ConnRow[];
  jetstream: boolean;
  streams: StreamRow[];
  consumers: ConsumerRow[];
}

const n = (v: number | undefined): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** A Go duration string ("1.5ms", "152µs", "0s") in milliseconds; NaN when absent or unreadable. */
export function rttMs(text: string | undefined): number {
  if (text === undefined || text === "") return Number.NaN;
  try {
    return parseDuration(text);
  } catch {
    return Number.NaN;
  }
}

/** The view of `cur`, its rates from the difference with `prev` over the time between them. */
export function buildView(cur: Poll, prev: Poll | null): View {
  const secs = prev === null ? 0 : Math.max(0.001, (cur.at - prev.at) / 1000);
  const rate = (now: number | undefined, before: number | undefined): number => (secs === 0 || before === undefined ? 0 : Math.max(0, (n(now) - n(before)) / secs));
  type Counts = { in_msgs?: number; out_msgs?: number; in_bytes?: number; out_bytes?: number };
  /** Messages and bytes a second, in and out, between two readings of the same counters. */
  const rates = (now: Counts, then: Counts | undefined): { inRate: number; outRate: number; inBytesRate: number; outBytesRate: number } => ({
    inRate: rate(now.in_msgs, then?.in_msgs),
    outRate: rate(now.out_msgs, then?.out_msgs),
    inBytesRate: rate(now.in_bytes, then?.in_bytes),
    outBytesRate: rate(now.out_bytes, then?.out_bytes),
  });
  const v = cur.varz;
  const pv = prev?.varz;
  const before = new Map((prev?.connz.connections ?? []).map((c) => [c.cid, c]));
  const conns: ConnRow[] = (cur.connz.connections ?? []).map((c) => {
    const p = before.get(c.cid);
    return {
      cid: c.cid,
      name: c.name ?? "",
      host: c.ip === undefined ? "" : `${c.ip}:${c.port ?? ""}`,
      lang: `${c.lang ?? ""}${c.version === undefined ? "" : ` ${c.version}`}`.trim(),
      subs: n(c.subscriptions),
      pending: n(c.pending_bytes),
      ...rates(c, p),
      msgsFrom: n(c.in_msgs),
      msgsTo: n(c.out_msgs),
      rttMs: rttMs(c.rtt),
      uptime: c.uptime ?? "",
    };
  });
  const rtts = conns.map((c) => c.rttMs).filter((r) => Number.isFinite(r)).sort((a, b) => a - b);
  const prevStreams = new Map<string, StreamDetail>();
  const prevConsumers = new Map<string, ConsumerDetail>();
  for (const a of prev?.jsz?.account_details ?? []) {
    for (const s of a.stream_detail ?? []) {
      prevStreams.set(`${a.name}\u0000${s.name}`, s);
      for (const c of s.consumer_detail ?? []) prevConsumers.set(`${a.name}\u0000${s.name}\u0000${c.name}`, c);
    }
  }
  const streams: StreamRow[] = [];
  const consumers: ConsumerRow[] = [];
  for (const a of cur.jsz?.account_details ?? []) {
    for (const s of a.stream_detail ?? []) {
      const ps = prevStreams.get(`${a.name}\u0000${s.name}`);
      streams.push({
        name: s.name,
        account: a.name ?? "",
        messages: n(s.state?.messages),
        bytes: n(s.state?.bytes),
        rate: ps === undefined ? 0 : rate(s.state?.last_seq, ps.state?.last_seq),
        consumers: n(s.state?.consumer_count),
      });
      for (const c of s.consumer_detail ?? []) {
        const pc = prevConsumers.get(`${a.name}\u0000${s.name}\u0000${c.name}`);
        consumers.push({
          stream: c.stream_name ?? s.name,
          name: c.name,
          pending: n(c.num_pending),
          ackPending: n(c.num_ack_pending),
          redelivered: n(c.num_redelivered),
          waiting: n(c.num_waiting),
          rate: pc === undefined ? 0 : rate(c.delivered?.stream_seq, pc.delivered?.stream_seq),
        });
      }
    }
  }
  return {
    server: v.server_name ?? v.server_id ?? "",
    version: v.version ?? "",
    uptime: v.uptime ?? "",
    cpu: n(v.cpu),
    mem: n(v.mem),
    connections: n(v.connections),
    totalConnections: n(cur.connz.total ?? cur.connz.num_connections),
    subscriptions: n(v.subscriptions),
    slowConsumers: n(v.slow_consumers),
    ...rates(v, pv),
    pending: conns.reduce((sum, c) => sum + c.pending, 0),
    rttP50: rtts.length === 0 ? Number.NaN : rtts[Math.ceil(rtts.length / 2) - 1]!,
    rttMax: rtts.length === 0 ? Number.NaN : rtts[rtts.length - 1]!,
    conns,
    jetstream: cur.jsz !== null && cur.jsz.disabled !== true,
    streams: streams.sort((a, b) => b.rate - a.rate || a.name.localeCompare(b.name)),
    consumers: consumers.sort((a, b) => b.pending + b.ackPending - (a.pending + a.ackPending) || a.stream.localeCompare(b.stream) || a.name.localeCompare(b.name)),
  };
}

/** The monitoring base URL from what the user gave: "host:port", "http://host:port", or a port. */
export function monitorBase(given: string): string {
  let t = given.trim();
  if (/^\d+$/.test(t)) t = `127.0.0.1:${t}`;
  if (!/^https?:\/\//i.test(t)) t = `http://${t}`;
  return t.replace(/\/+$/, "");
}

async function getJson<T>(url: string, timeout: number): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeout) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new ClientError(`cannot reach ${url}: ${cause === "ECONNREFUSED" ? "connection refused" : cause ?? describeError(err)}`);
  }
  const text = await res.text();
  if (!res.ok) throw new ClientError(`${url}: HTTP ${res.status} ${text.trim().split("\n")[0] ?? ""}`.trim());
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ClientError(`${url}: not a NATS monitoring endpoint (the reply is not JSON)`);
  }
}

/** One poll: /varz, /connz sorted and limited as asked, and /jsz with streams and consumers. */
export async function poll(base: string, sort: SortKey, limit: number, timeout: number): Promise<Poll> {
  const [varz, connz, jsz] = await Promise.all([
    getJson<Varz>(`${base}/varz`, timeout),
    getJson<Connz>(`${base}/connz?sort=${sort}&limit=${limit}`, timeout),
    // A server without JetStream may answer with an error: the view then has no JetStream part.
    getJson<Jsz>(`${base}/jsz?accounts=true&streams=true&consumers=true`, timeout).catch(() => null),
  ]);
  return { at: performance.now(), varz, connz, jsz };
}
