// Tested by test/jetstream/column-index.test.ts and, as the file store's index, by
// test/jetstream/store-contract.test.ts and test/jetstream/store-index-paths.test.ts.
//
// The file store's sequence → message index, per block and loaded lazily (as nats-server keeps
// per-block state and caches only what is hot). Design:
//
// - Always in memory, per block (a Seg): its id, the first and last sequence placed in it, how
//   many of them are live, how many had headers, the time of its first and last message, and a
//   liveness bitmap over [first, top] (1 bit a sequence: a 0 is a removed, erased or skipped
//   sequence — the block's deleted set). That answers has(), nextLive(), prevLive(), first/last,
//   counts and the deleted list, and finds the block of a sequence, without the columns.
// - Loaded on demand, per block: the columns of its messages (typed arrays indexed by seq − first:
//   block-local subject id 4, time 8, record offset 4, record length 4, flags 1 = 21 bytes) and
//   its subject names, built from the block's index file (or a scan of the block: the file store's
//   loader). get(), subjectOf(), tsOf() and hasHeaders() load them. Sealed blocks never change
//   (liveness is in the bitmap), so a loaded block is dropped without writing anything back.
// - The columns of sealed blocks are an LRU cache bounded by `cacheBytes` (default 8 MiB, about
//   400,000 messages' columns); the last block (the one appended to) is kept loaded and not
//   counted. Columns used within the last `holdMs` (1 s) are not evicted even over the bound, so
//   readers at more places than the cache holds do not load a block per message; the cache is
//   trimmed back to its bound once they are older. So memory per stored message is the bitmap's
//   bit, plus whatever the per-subject index above this table keeps (base-store.ts).
// - Time and header summaries let the start-up scans (the duplicate window: seqFromTime, then the
//   messages with headers) skip blocks without loading them.
// Get() builds a transient MsgEntry for the callers that need one.

import { IndexReader, readI64LE, RecordKind, SubjectInterner } from "./file-store-block.js";
import type { ByteReader, ByteWriter } from "./byte-io.js";
import { MsgEntry, type EntryTable } from "./msg-index.js";

const HDR = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const FIRST_CAP = 64;

/** Bytes of column memory one message costs while its block is loaded (for docs and tests). */
export const COLUMN_BYTES_PER_MSG = 4 + 8 + 4 + 4 + 1;
/** Default bound on the loaded columns of sealed blocks. */
export const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;
/** Columns used this recently are kept over the bound (see BlockTable). */
export const DEFAULT_HOLD_MS = 1000;

/** One block's message columns, indexed by seq − base. */
class Cols {
  subj: Uint32Array;
  ts: BigInt64Array;
  tsBytes: Uint8Array;
  off: Uint32Array;
  len: Uint32Array;
  flags: Uint8Array;
  names: string[] = [""];
  ids = new Map<string, number>();

  constructor(readonly base: number, cap: number) {
    this.subj = new Uint32Array(cap);
    this.ts = new BigInt64Array(cap);
    this.tsBytes = new Uint8Array(this.ts.buffer);
    this.off = new Uint32Array(cap);
    this.len = new Uint32Array(cap);
    this.flags = new Uint8Array(cap);
  }

  get bytes(): number { return this.subj.length * COLUMN_BYTES_PER_MSG + this.names.length * 48; }

  reserve(i: number): void {
    const cap = this.subj.length;
    if (i < cap) return;
    let n = Math.max(cap, FIRST_CAP);
    while (n <= i) n *= 2;
    const subj = new Uint32Array(n); subj.set(this.subj); this.subj = subj;
    const ts = new BigInt64Array(n); ts.set(this.ts); this.ts = ts; this.tsBytes = new Uint8Array(ts.buffer);
    const off = new Uint32Array(n); off.set(this.off); this.off = off;
    const len = new Uint32Array(n); len.set(this.len); this.len = len;
    const flags = new Uint8Array(n); flags.set(this.flags); this.flags = flags;
  }

  intern(subject: string): number {
    let id = this.ids.get(subject);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(subject);
      this.ids.set(subject, id);
    }
    return id;
  }
}

/** What is always known of one block. */
class Seg {
  /** Sequences [first, top] were placed here (top ≥ first once a message is placed). */
  top = 0;
  live = 0;
  /** Messages with headers placed here (0: the headers scan skips the block). */
  hdrs = 0;
  tsFirst = 0n;
  tsLast = 0n;
  /** Bit (seq − first) set: live. */
  bits: Uint8Array = new Uint8Array(8);
  cols: Cols | null = null;
  /** When its columns were last in use (performance.now(), ms; kept on a switch to another block). */
  usedAt = 0;

  constructor(readonly id: number, readonly first: number) {}

  isLive(seq: number): boolean {
    if (seq < this.first || seq > this.top) return false;
    const i = seq - this.first;
    return (this.bits[i >>> 3]! & (1 << (i & 7))) !== 0;
  }

  setLive(seq: number): void {
    const i = seq - this.first;
    if ((i >>> 3) >= this.bits.length) {
      let n = this.bits.length * 2;
      while (n <= (i >>> 3)) n *= 2;
      const b = new Uint8Array(n); b.set(this.bits); this.bits = b;
    }
    this.bits[i >>> 3]! |= 1 << (i & 7);
  }

  clearLive(seq: number): void {
    const i = seq - this.first;
    this.bits[i >>> 3]! &= ~(1 << (i & 7));
  }

  get full(): boolean { return this.live === this.top - this.first + 1; }

  /** First live sequence in [from, to] (both inside the seg), 0 when none. */
  next(from: number, to: number): number {
    if (this.full) return from <= to ? from : 0;
    const b = this.bits;
    let i = from - this.first;
    const end = to - this.first;
    while (i <= end) {
      const byte = b[i >>> 3]!;
      if (byte === 0) { i = (i | 7) + 1; continue; }
      if ((byte & (1 << (i & 7))) !== 0) return i + this.first;
      i++;
    }
    return 0;
  }

  /** Last live sequence in [from, to], 0 when none. */
  prev(from: number, to: number): number {
    if (this.full) return from <= to ? to : 0;
    const b = this.bits;
    let i = to - this.first;
    const start = from - this.first;
    while (i >= start) {
      const byte = b[i >>> 3]!;
      if (byte === 0) { i = (i & ~7) - 1; continue; }
      if ((byte & (1 << (i & 7))) !== 0) return i + this.first;
      i--;
    }
    return 0;
  }
}

/**
 * Where a block's records come from when its columns are needed: an index buffer (file-store-
 * block.ts format: its index file, or its scan encoded the same way, or the active block's
 * builder). Null when the block cannot be read (then its messages read as missing).
 */
export type BlockLoader = (block: number) => Buffer | null;

export class BlockTable implements EntryTable {
  /** Blocks in sequence order (ascending first). */
  private segs: Seg[] = [];
  /** Highest sequence placed (live or hole), 0 for none. */
  private top = 0;
  /** Loaded sealed segs, least recently used first. */
  private lru = new Set<Seg>();
  private lruBytes = 0;
  private touched: Seg | null = null;
  private hint: Seg | null = null;
  /** Column loads (for tests and I/O statistics). */
  loads = 0;
  loader: BlockLoader = () => null;

  private sweep: NodeJS.Timeout | null = null;

  /**
   * sizeOf(recordLength, hasHeaders): a message's contribution to state bytes. holdMs: a block's
   * columns used within this long are not evicted, even over cacheBytes (readers at more places
   * than the cache holds would otherwise load a block per message); a timer trims the cache back
   * once they are older.
   */
  constructor(
    private readonly sizeOf: (len: number, hdr: boolean) => number,
    private readonly cacheBytes = DEFAULT_CACHE_BYTES,
    private readonly holdMs = DEFAULT_HOLD_MS,
  ) {}

  // ---- finding ---------------------------------------------------------------------------

  private segOf(seq: number): Seg | null {
    const h = this.hint;
    if (h !== null && seq >= h.first && seq <= h.top) return h;
    const segs = this.segs;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const g = segs[mid]!;
      if (seq < g.first) hi = mid - 1;
      else if (seq > g.top) lo = mid + 1;
      else { this.hint = g; return g; }
    }
    return null;
  }

  /** Index of the first seg whose top is ≥ seq (segs.length when none). */
  private segIndexFrom(seq: number): number {
    let lo = 0;
    let hi = this.segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segs[mid]!.top < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  private liveSeg(seq: number): Seg | null {
    const g = this.segOf(seq);
    return g !== null && g.isLive(seq) ? g : null;
  }

  private get lastSeg(): Seg | null { return this.segs[this.segs.length - 1] ?? null; }

  // ---- columns ---------------------------------------------------------------------------

  private colsOf(g: Seg): Cols {
    let c = g.cols;
    if (c === null) {
      c = this.build(g);
      g.cols = c;
      if (g !== this.lastSeg) {
        this.lru.add(g);
        this.lruBytes += c.bytes;
        this.touch(g);
        this.evict();
      }
    } else if (g !== this.touched && this.lru.has(g)) {
      this.lru.delete(g);
      this.lru.add(g);
      this.touch(g);
    }
    return c;
  }

  /** g is the block in use now; the one in use until now was used until now. */
  private touch(g: Seg): void {
    const now = performance.now();
    if (this.touched !== null) this.touched.usedAt = now;
    g.usedAt = now;
    this.touched = g;
  }

  private evict(): void {
    const now = performance.now();
    while (this.lruBytes > this.cacheBytes && this.lru.size > 1) {
      const victim = this.lru.values().next().value as Seg;
      if (victim === this.touched || now - victim.usedAt < this.holdMs) {
        // Still in use: over the bound for now; trimmed once it is older.
        if (this.sweep === null) {
          this.sweep = setTimeout(() => { this.sweep = null; this.evict(); }, this.holdMs + 10);
          this.sweep.unref();
        }
        return;
      }
      this.dropCols(victim);
    }
  }

  private dropCols(g: Seg): void {
    if (g.cols === null) return;
    if (this.lru.delete(g)) this.lruBytes -= g.cols.bytes;
    g.cols = null;
    if (this.touched === g) this.touched = null;
  }

  /** The columns of a seg from its loader's index buffer: its messages in [first, top]. */
  private build(g: Seg): Cols {
    this.loads++;
    const c = new Cols(g.first, Math.max(1, g.top - g.first + 1));
    const idx = this.loader(g.id);
    if (idx === null) return c;
    const interner = new SubjectInterner();
    const r = new IndexReader(idx);
    while (r.next()) {
      if (r.kind !== RecordKind.Msg) continue;
      const seq = r.seq;
      if (seq < g.first || seq > g.top || !g.isLive(seq)) continue;
      this.fill(c, seq - g.first, r.subject(interner), idx, r.tsAt, r.off, r.len, r.hdrLen > 0);
    }
    return c;
  }

  private fill(c: Cols, i: number, subject: string, src: Buffer, tsAt: number, off: number, len: number, hdr: boolean): void {
    c.reserve(i);
    c.subj[i] = c.intern(subject);
    if (LITTLE_ENDIAN) {
      const tb = c.tsBytes;
      const at = i * 8;
      for (let b = 0; b < 8; b++) tb[at + b] = src[tsAt + b]!;
    } else c.ts[i] = src.readBigInt64LE(tsAt);
    c.off[i] = off;
    c.len[i] = len;
    c.flags[i] = hdr ? HDR : 0;
  }

  /** Drop every loaded column (tests; and what a memory-pressure hook would call). */
  dropAll(): void {
    for (const g of [...this.lru]) this.dropCols(g);
  }

  /** Bytes of sealed blocks' columns loaded now. */
  get cachedBytes(): number { return this.lruBytes; }

  // ---- EntryTable ------------------------------------------------------------------------

  has(seq: number): boolean { return this.liveSeg(seq) !== null; }

  get(seq: number): MsgEntry | undefined {
    const g = this.liveSeg(seq);
    if (g === null) return undefined;
    const c = this.colsOf(g);
    const i = seq - g.first;
    if (i >= c.subj.length || c.subj[i] === 0) return undefined;
    const len = c.len[i]!;
    const hdr = (c.flags[i]! & HDR) !== 0;
    return new MsgEntry(seq, c.names[c.subj[i]!]!, c.ts[i]!, this.sizeOf(len, hdr), hdr ? 1 : 0, null, null, g.id, c.off[i]!, len);
  }

  subjectOf(seq: number): string | undefined {
    const g = this.liveSeg(seq);
    if (g === null) return undefined;
    const c = this.colsOf(g);
    const i = seq - g.first;
    return i < c.subj.length && c.subj[i] !== 0 ? c.names[c.subj[i]!] : undefined;
  }

  tsOf(seq: number): bigint {
    const g = this.liveSeg(seq);
    if (g === null) return 0n;
    if (seq === g.first) return g.tsFirst;
    const c = this.colsOf(g);
    const i = seq - g.first;
    return i < c.ts.length ? c.ts[i]! : 0n;
  }

  hasHeaders(seq: number): boolean {
    const g = this.liveSeg(seq);
    if (g === null || g.hdrs === 0) return false;
    const c = this.colsOf(g);
    const i = seq - g.first;
    return i < c.flags.length && (c.flags[i]! & HDR) !== 0;
  }

  /** The block a live sequence is stored in, -1 when none. */
  blockOf(seq: number): number {
    return this.liveSeg(seq)?.id ?? -1;
  }

  /** The seg a message of `block` at seq goes in (a new one when the block changes). */
  private segFor(seq: number, block: number): Seg {
    let g = this.lastSeg;
    if (g === null || g.id !== block || seq < g.first) {
      this.resolvePending();
      const prev = g;
      g = new Seg(block, seq);
      this.segs.push(g);
      if (prev !== null) {
        if (prev.live === 0) this.removeSeg(prev);
        else if (prev.cols !== null) {
          // Sealed: its columns join the cache (dropped as it fills).
          this.lru.add(prev);
          this.lruBytes += prev.cols.bytes;
          this.evict();
        }
      }
    }
    return g;
  }

  private place(g: Seg, seq: number, hdr: boolean): void {
    g.top = seq;
    g.setLive(seq);
    g.live++;
    if (hdr) g.hdrs++;
  }

  put(seq: number, e: MsgEntry | undefined): void {
    this.top = seq;
    if (e === undefined) return;
    const g = this.segFor(seq, e.block);
    if (g.cols === null) g.cols = g.live === 0 && g.top < g.first ? new Cols(g.first, FIRST_CAP) : this.build(g);
    if (seq === g.first) g.tsFirst = e.ts;
    g.tsLast = e.ts;
    this.place(g, seq, e.hdrLen > 0);
    const c = g.cols;
    const i = seq - g.first;
    c.reserve(i);
    c.subj[i] = c.intern(e.subject);
    c.ts[i] = e.ts;
    c.off[i] = e.off;
    c.len[i] = e.len;
    c.flags[i] = e.hdrLen > 0 ? HDR : 0;
  }

  /**
   * A live message found by recovery: only its summary (no columns; they load from the block's
   * index file when asked). Its time is at src[tsAt] (an index buffer); only a block's first and
   * last are read (a BigInt per message was ~45 ms a million at start-up). Call endPlacing after.
   */
  placeSummary(seq: number, block: number, src: Buffer, tsAt: number, hdr: boolean): void {
    if (seq > this.top) this.top = seq;
    const g = this.segFor(seq, block);
    if (seq === g.first) g.tsFirst = readI64LE(src, tsAt);
    this.place(g, seq, hdr);
    this.pendingSeg = g; this.pendingSrc = src; this.pendingAt = tsAt;
  }

  /** Recovery placed everything; `last` is the stream's last sequence (skips may follow the last message). */
  endPlacing(last: number): void {
    this.resolvePending();
    if (last > this.top) this.top = last;
  }

  private pendingSeg: Seg | null = null;
  private pendingSrc: Buffer | null = null;
  private pendingAt = 0;

  private resolvePending(): void {
    if (this.pendingSeg !== null && this.pendingSrc !== null) this.pendingSeg.tsLast = readI64LE(this.pendingSrc, this.pendingAt);
    this.pendingSeg = null;
    this.pendingSrc = null;
  }

  delete(seq: number): void {
    const g = this.liveSeg(seq);
    if (g === null) return;
    g.clearLive(seq);
    g.live--;
    if (g.live === 0 && g !== this.lastSeg) this.removeSeg(g);
  }

  private removeSeg(g: Seg): void {
    const i = this.segs.indexOf(g);
    if (i >= 0) this.segs.splice(i, 1);
    this.dropCols(g);
    g.cols = null;
    if (this.hint === g) this.hint = null;
  }

  nextLive(from: number, to: number): number {
    to = Math.min(to, this.top);
    for (let k = this.segIndexFrom(from); k < this.segs.length; k++) {
      const g = this.segs[k]!;
      if (g.first > to) break;
      if (g.live === 0) continue;
      const s = g.next(Math.max(from, g.first), Math.min(to, g.top));
      if (s !== 0) return s;
    }
    return 0;
  }

  prevLive(from: number, to: number): number {
    to = Math.min(to, this.top);
    for (let k = Math.min(this.segIndexFrom(to), this.segs.length - 1); k >= 0; k--) {
      const g = this.segs[k]!;
      if (g.top < from) break;
      if (g.live === 0 || g.first > to) continue;
      const s = g.prev(Math.max(from, g.first), Math.min(to, g.top));
      if (s !== 0) return s;
    }
    return 0;
  }

  /** First live sequence in [from, to] whose message has headers, 0 when none. */
  nextWithHeaders(from: number, to: number): number {
    to = Math.min(to, this.top);
    for (let k = this.segIndexFrom(from); k < this.segs.length; k++) {
      const g = this.segs[k]!;
      if (g.first > to) break;
      if (g.live === 0 || g.hdrs === 0) continue;
      const c = this.colsOf(g);
      for (let s = g.next(Math.max(from, g.first), Math.min(to, g.top)); s !== 0; s = g.next(s + 1, Math.min(to, g.top))) {
        if ((c.flags[s - g.first]! & HDR) !== 0) return s;
      }
    }
    return 0;
  }

  /**
   * The first live sequence in [from, to] stored at or after ts, 0 when none. Blocks whose last
   * message is older are skipped on their summary; one block's columns are searched.
   */
  seqFromTime(ts: bigint, from: number, to: number): number {
    to = Math.min(to, this.top);
    for (let k = this.segIndexFrom(from); k < this.segs.length; k++) {
      const g = this.segs[k]!;
      if (g.first > to) break;
      if (g.live === 0 || g.tsLast < ts) continue;
      // Its first message is new enough: no need to load the block to search it.
      if (g.first >= from && g.tsFirst >= ts && g.isLive(g.first)) return g.first;
      let lo = Math.max(from, g.first);
      let hi = Math.min(to, g.top);
      let found = 0;
      while (lo <= hi) {
        const mid = lo + Math.floor((hi - lo) / 2);
        const s = g.next(mid, hi);
        if (s === 0) { hi = mid - 1; continue; }
        if (this.tsOf(s) >= ts) { found = s; hi = mid - 1; } else lo = s + 1;
      }
      if (found !== 0) return found;
    }
    return 0;
  }

  /** Drop the blocks wholly below first (all holes by then). */
  trim(first: number): void {
    while (this.segs.length > 1 && this.segs[0]!.top < first) this.removeSeg(this.segs[0]!);
  }

  clear(nextSeq: number): void {
    if (this.sweep !== null) { clearTimeout(this.sweep); this.sweep = null; }
    this.pendingSeg = null;
    this.pendingSrc = null;
    for (const g of this.segs) g.cols = null;
    this.segs = [];
    this.lru.clear();
    this.lruBytes = 0;
    this.touched = null;
    this.hint = null;
    this.top = nextSeq - 1;
  }

  /** Blocks known (with a live message or the last), for tests. */
  get blocks(): number { return this.segs.length; }

  /** The summaries, for the file store's snapshot at a clean close (file-store-snapshot.ts). */
  exportTo(w: ByteWriter): void {
    w.f64(this.top);
    w.u32(this.segs.length);
    for (const g of this.segs) {
      w.f64(g.id); w.f64(g.first); w.f64(g.top); w.f64(g.live); w.f64(g.hdrs);
      w.i64(g.tsFirst); w.i64(g.tsLast);
      const n = g.top >= g.first ? ((g.top - g.first) >>> 3) + 1 : 0;
      w.u32(n);
      w.raw(g.bits.subarray(0, n));
    }
  }

  /** Replace everything with what exportTo wrote. */
  importFrom(r: ByteReader): void {
    this.clear(1);
    this.top = r.f64();
    const n = r.u32();
    for (let k = 0; k < n; k++) {
      const g = new Seg(r.f64(), r.f64());
      g.top = r.f64(); g.live = r.f64(); g.hdrs = r.f64();
      g.tsFirst = r.i64(); g.tsLast = r.i64();
      const nb = r.u32();
      if (nb > (1 << 28)) throw new RangeError("snapshot: bad bitmap");
      g.bits = new Uint8Array(Math.max(8, nb));
      r.into(g.bits.subarray(0, nb));
      this.segs.push(g);
    }
  }
}
