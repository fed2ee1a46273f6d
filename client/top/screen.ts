// Tested by test/client/top.test.ts (and test/client/terminal.test.ts: on a real terminal).
// The `gnat top` screen as lines of text for a terminal of a given size: a server summary, then
// the connections, streams and consumers, each table cut to the rows that fit (with "… N more"),
// each line cut to the width, so 80×24 shows every part. Pure: the command draws what this returns.
import type { ConnRow, ConsumerRow, SortKey, StreamRow, View } from "./model.js";

export interface ScreenOptions {
  width: number;
  height: number;
  url: string;
  sort: SortKey;
  interval: number;
  error?: string;
}

const comma = (v: number): string => Math.round(v).toLocaleString("en-US");

/** Bytes short: "512B", "1.5K", "20M", "3.1G" (columns are narrow). */
export function shortBytes(v: number): string {
  if (v < 1024) return `${Math.round(v)}B`;
  const units = ["K", "M", "G", "T"];
  let x = v;
  let i = -1;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x < 10 ? x.toFixed(1) : Math.round(x)}${units[i]}`;
}

/** A rate short: "950", "12.3K", "1.2M". */
export function shortCount(v: number): string {
  if (v < 1000) return String(Math.round(v));
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 1 : 0)}K`;
  return `${(v / 1e6).toFixed(v < 1e7 ? 1 : 0)}M`;
}

export function shortLatency(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

function cut(s: string, width: number): string {
  const chars = [...s];
  return chars.length <= width ? s : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

interface Column<T> {
  title: string;
  width: number;
  right?: boolean;
  value(row: T): string;
}

/** A table's lines: a header, up to `rows` rows, and "… N more" when some did not fit. */
function table<T>(cols: Column<T>[], data: T[], rows: number, width: number, flex: number): string[] {
  // The flexible column takes what the width leaves (at least its own width).
  const fixed = cols.reduce((sum, c, i) => sum + (i === flex ? 0 : c.width + 1), 0);
  const widths = cols.map((c, i) => (i === flex ? Math.max(c.width, width - fixed) : c.width));
  const line = (cells: string[]): string => cut(cells.map((v, i) => {
    const w = widths[i]!;
    const t = cut(v, w);
    return cols[i]!.right === true ? t.padStart(w) : t.padEnd(w);
  }).join(" ").trimEnd(), width);
  const out = [line(cols.map((c) => c.title))];
  if (rows <= 0) return out;
  const shown = data.length > rows ? data.slice(0, rows - 1) : data;
  for (const r of shown) out.push(line(cols.map((c) => c.value(r))));
  if (data.length > shown.length) out.push(`  … ${data.length - shown.length} more`);
  return out;
}

/** The screen, at most `height` lines of at most `width` characters. */
export function renderScreen(v: View, o: ScreenOptions): string[] {
  const w = Math.max(20, o.width);
  const head = [
    cut(`gnat top  ${o.url}  ${v.server === "" ? "" : `server ${v.server}`}${v.version === "" ? "" : ` (${v.version})`}  up ${v.uptime}`, w),
    cut(`Throughput  in ${shortCount(v.inRate)} msgs/s ${shortBytes(v.inBytesRate)}/s   out ${shortCount(v.outRate)} msgs/s ${shortBytes(v.outBytesRate)}/s`, w),
    cut(`Latency     rtt p50 ${shortLatency(v.rttP50)}  max ${shortLatency(v.rttMax)}      Queue  pending ${shortBytes(v.pending)}  slow consumers ${comma(v.slowConsumers)}`, w),
    cut(`Server      conns ${comma(v.connections)}  subs ${comma(v.subscriptions)}  cpu ${v.cpu.toFixed(1)}%  mem ${shortBytes(v.mem)}${v.jetstream ? `  streams ${v.streams.length}  consumers ${v.consumers.length}` : ""}`, w),
  ];
  const foot = cut(o.error === undefined ? `sort: ${o.sort} (s: next)   q: quit   every ${o.interval}s` : `! ${o.error}`, w);
  // The rows the tables share: the height less the summary, the footer, a blank line before each
  // table and each table's header. Connections get half (all without JetStream), streams half of
  // what is left, consumers the rest; a table with fewer rows leaves its share to the next.
  const tables = v.jetstream ? 3 : 1;
  const rows = Math.max(0, o.height - head.length - 1 - 2 * tables);
  const connRows = v.jetstream ? Math.min(v.conns.length, Math.max(Math.min(1, rows), Math.ceil(rows / 2))) : rows;
  const streamRows = v.jetstream ? Math.min(v.streams.length, Math.max(Math.min(1, rows - connRows), Math.floor((rows - connRows) / 2))) : 0;
  const consumerRows = Math.max(0, rows - connRows - streamRows);
  const lines = [...head, ""];
  lines.push(...table<ConnRow>([
    { title: "CID", width: 5, right: true, value: (r) => String(r.cid) },
    { title: "NAME", width: 12, value: (r) => r.name === "" ? r.host : r.name },
    { title: "SUBS", width: 5, right: true, value: (r) => comma(r.subs) },
    { title: "PENDING", width: 7, right: true, value: (r) => shortBytes(r.pending) },
    { title: "IN/S", width: 6, right: true, value: (r) => shortCount(r.inRate) },
    { title: "OUT/S", width: 6, right: true, value: (r) => shortCount(r.outRate) },
    { title: "MSGS_FROM", width: 9, right: true, value: (r) => shortCount(r.msgsFrom) },
    { title: "MSGS_TO", width: 8, right: true, value: (r) => shortCount(r.msgsTo) },
    { title: "RTT", width: 7, right: true, value: (r) => shortLatency(r.rttMs) },
    // The client's language and version only where there is room for it beside the name.
    ...(w >= 100 ? [{ title: "LANG", width: 14, value: (r: ConnRow) => r.lang }] : []),
  ], v.conns, connRows, w, 1));
  if (v.jetstream) {
    lines.push("");
    lines.push(...table<StreamRow>([
      { title: "STREAM", width: 16, value: (r) => r.name },
      { title: "MSGS", width: 9, right: true, value: (r) => shortCount(r.messages) },
      { title: "BYTES", width: 7, right: true, value: (r) => shortBytes(r.bytes) },
      { title: "IN/S", width: 7, right: true, value: (r) => shortCount(r.rate) },
      { title: "CONSUMERS", width: 9, right: true, value: (r) => comma(r.consumers) },
    ], v.streams, streamRows, w, 0));
    lines.push("");
    lines.push(...table<ConsumerRow>([
      { title: "CONSUMER", width: 20, value: (r) => `${r.stream} > ${r.name}` },
      { title: "PENDING", width: 8, right: true, value: (r) => shortCount(r.pending) },
      { title: "ACK_PEND", width: 8, right: true, value: (r) => shortCount(r.ackPending) },
      { title: "REDELIV", width: 7, right: true, value: (r) => shortCount(r.redelivered) },
      { title: "WAITING", width: 7, right: true, value: (r) => comma(r.waiting) },
      { title: "OUT/S", width: 7, right: true, value: (r) => shortCount(r.rate) },
    ], v.consumers, consumerRows, w, 0));
  }
  const body = lines.slice(0, Math.max(0, o.height - 1));
  while (body.length < o.height - 1) body.push("");
  return [...body, foot];
}
