// Tested by test/jetstream/column-index.test.ts and, as the file store's index, by
// test/jetstream/store-contract.test.ts.
// The file store's sequence → message index as columns of typed arrays instead of an object per
// message: ~21 bytes a stored message (subject id 4, time 8, offset 4, record length 4, flags 1)
// where a MsgEntry, its BigInt and its array slot cost ~200. Columns come in chunks of CHUNK
// sequences, so removing from the front frees whole chunks and growing never copies a column.
// Subjects are interned to ids (refcounted: an id is freed with the subject's last message), and
// the block of a sequence is found from the runs of sequences each block holds (one pair per
// block, not per message). get() builds a transient MsgEntry for the callers that need one.

import type { ByteReader, ByteWriter } from "./byte-io.js";
import { MsgEntry, type EntryTable } from "./msg-index.js";

const SHIFT = 14;
const CHUNK = 1 << SHIFT;
const HDR = 1;

/**
 * CHUNK sequences' columns. A chunk starts small and doubles up to CHUNK as it is appended to,
 * so a stream of a few messages costs a few hundred bytes, not a full chunk.
 */
class Chunk {
  subj: Uint32Array;
  ts: BigInt64Array;
  off: Uint32Array;
  len: Uint32Array;
  flags: Uint8Array;
  /** The bytes of ts (for putPlaced). */
  tsBytes: Uint8Array;
  live = 0;

  constructor(cap: number) {
    this.subj = new Uint32Array(cap);
    this.ts = new BigInt64Array(cap);
    this.off = new Uint32Array(cap);
    this.len = new Uint32Array(cap);
    this.flags = new Uint8Array(cap);
    this.tsBytes = new Uint8Array(this.ts.buffer);
  }

  /** Make index i addressable. */
  reserve(i: number): void {
    const cap = this.subj.length;
    if (i < cap) return;
    let n = cap;
    while (n <= i) n *= 2;
    n = Math.min(n, CHUNK);
    const subj = new Uint32Array(n); subj.set(this.subj); this.subj = subj;
    const ts = new BigInt64Array(n); ts.set(this.ts); this.ts = ts; this.tsBytes = new Uint8Array(ts.buffer);
    const off = new Uint32Array(n); off.set(this.off); this.off = off;
    const len = new Uint32Array(n); len.set(this.len); this.len = len;
    const flags = new Uint8Array(n); flags.set(this.flags); this.flags = flags;
  }
}

const FIRST_CAP = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of index memory a stored message costs in a full chunk (for docs and tests). */
export const COLUMN_BYTES_PER_MSG = 4 + 8 + 4 + 4 + 1;

export class ColumnTable implements EntryTable {
  /** chunks[k] covers sequences [(c0 + k) * CHUNK, (c0 + k + 1) * CHUNK); null: all holes. */
  private chunks: (Chunk | null)[] = [];
  private c0 = 0;
  /** Highest sequence placed (live or hole), 0 for none. */
  private top = 0;
  // Subject interning.
  private names: (string | undefined)[] = [""];
  private refs: number[] = [0];
  private readonly ids = new Map<string, number>();
  private freeIds: number[] = [];
  // Block runs: runSeq[i] is the first sequence placed in block runBlock[i]; ascending.
  private runSeq: number[] = [];
  private runBlock: number[] = [];

  /** sizeOf(recordLength, hasHeaders): a message's contribution to state bytes. */
  constructor(private readonly sizeOf: (len: number, hdr: boolean) => number) {}

  private chunkOf(seq: number): Chunk | null {
    const k = Math.floor(seq / CHUNK) - this.c0;
    return k >= 0 && k < this.chunks.length ? this.chunks[k]! : null;
  }

  private liveAt(seq: number): Chunk | null {
    if (seq > this.top) return null;
    const c = this.chunkOf(seq);
    const i = seq & (CHUNK - 1);
    return c !== null && i < c.subj.length && c.subj[i] !== 0 ? c : null;
  }

  has(seq: number): boolean { return this.liveAt(seq) !== null; }

  get(seq: number): MsgEntry | undefined {
    const c = this.liveAt(seq);
    if (c === null) return undefined;
    const i = seq & (CHUNK - 1);
    const len = c.len[i]!;
    const hdr = (c.flags[i]! & HDR) !== 0;
    return new MsgEntry(seq, this.names[c.subj[i]!]!, c.ts[i]!, this.sizeOf(len, hdr), hdr ? 1 : 0, null, null,
      this.blockOf(seq), c.off[i]!, len);
  }

  subjectOf(seq: number): string | undefined {
    const c = this.liveAt(seq);
    return c === null ? undefined : this.names[c.subj[seq & (CHUNK - 1)]!];
  }

  tsOf(seq: number): bigint {
    const c = this.liveAt(seq);
    return c === null ? 0n : c.ts[seq & (CHUNK - 1)]!;
  }

  hasHeaders(seq: number): boolean {
    const c = this.liveAt(seq);
    return c !== null && (c.flags[seq & (CHUNK - 1)]! & HDR) !== 0;
  }

  /** The block a live sequence was stored in (its run), -1 when none. */
  blockOf(seq: number): number {
    let lo = 0;
    let hi = this.runSeq.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runSeq[mid]! <= seq) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found < 0 ? -1 : this.runBlock[found]!;
  }

  put(seq: number, e: MsgEntry | undefined): void {
    if (this.top === 0 && this.chunks.length === 0) this.c0 = Math.floor(seq / CHUNK);
    this.top = seq;
    if (e === undefined) return;
    const c = this.chunkFor(seq);
    const i = seq & (CHUNK - 1);
    c.subj[i] = this.intern(e.subject);
    c.ts[i] = e.ts;
    c.off[i] = e.off;
    c.len[i] = e.len;
    c.flags[i] = e.hdrLen > 0 ? HDR : 0;
    c.live++;
    const n = this.runBlock.length;
    if (n === 0 || this.runBlock[n - 1] !== e.block) { this.runSeq.push(seq); this.runBlock.push(e.block); }
  }

  /**
   * put() from an index file's record: the time is copied as its 8 bytes from src[tsAt] (native
   * little-endian, as BigInt64Array holds it on every platform Node runs on).
   */
  putPlaced(seq: number, subject: string, src: Buffer, tsAt: number, off: number, len: number, hdr: boolean, block: number): void {
    if (this.top === 0 && this.chunks.length === 0) this.c0 = Math.floor(seq / CHUNK);
    this.top = seq;
    const c = this.chunkFor(seq);
    const i = seq & (CHUNK - 1);
    c.subj[i] = this.intern(subject);
    if (LITTLE_ENDIAN) {
      const tb = c.tsBytes;
      const at = i * 8;
      for (let b = 0; b < 8; b++) tb[at + b] = src[tsAt + b]!;
    } else c.ts[i] = src.readBigInt64LE(tsAt);
    c.off[i] = off;
    c.len[i] = len;
    c.flags[i] = hdr ? HDR : 0;
    c.live++;
    const n = this.runBlock.length;
    if (n === 0 || this.runBlock[n - 1] !== block) { this.runSeq.push(seq); this.runBlock.push(block); }
  }

  /**
   * The chunk seq goes in, made and grown as needed. A stream's first chunk starts small; once a
   * stream has needed a second, chunks are made whole (no regrowing, no heap holes left behind).
   */
  private chunkFor(seq: number): Chunk {
    const k = Math.floor(seq / CHUNK) - this.c0;
    while (this.chunks.length <= k) this.chunks.push(null);
    let c = this.chunks[k]!;
    const i = seq & (CHUNK - 1);
    if (c === null) {
      c = new Chunk(this.chunks.length > 1 ? CHUNK : Math.min(CHUNK, Math.max(FIRST_CAP, i + 1)));
      this.chunks[k] = c;
    }
    c.reserve(i);
    return c;
  }

  delete(seq: number): void {
    const k = Math.floor(seq / CHUNK) - this.c0;
    const c = k >= 0 && k < this.chunks.length ? this.chunks[k]! : null;
    if (c === null) return;
    const i = seq & (CHUNK - 1);
    if (i >= c.subj.length) return;
    const id = c.subj[i]!;
    if (id === 0) return;
    c.subj[i] = 0;
    this.release(id);
    // A chunk with nothing live goes, unless it is the one being appended to.
    if (--c.live === 0 && k !== this.chunks.length - 1) this.chunks[k] = null;
  }

  nextLive(from: number, to: number): number {
    to = Math.min(to, this.top);
    let seq = Math.max(from, this.c0 * CHUNK);
    while (seq <= to) {
      const c = this.chunkOf(seq);
      const chunkEnd = (Math.floor(seq / CHUNK) + 1) * CHUNK - 1;
      if (c !== null && c.live > 0) {
        const end = Math.min(to, chunkEnd, chunkEnd - CHUNK + c.subj.length);
        for (let s = seq; s <= end; s++) if (c.subj[s & (CHUNK - 1)] !== 0) return s;
      }
      seq = chunkEnd + 1;
    }
    return 0;
  }

  prevLive(from: number, to: number): number {
    from = Math.max(from, this.c0 * CHUNK);
    let seq = Math.min(to, this.top);
    while (seq >= from) {
      const c = this.chunkOf(seq);
      const chunkStart = Math.floor(seq / CHUNK) * CHUNK;
      if (c !== null && c.live > 0) {
        const start = Math.max(from, chunkStart);
        const top = Math.min(seq, chunkStart + c.subj.length - 1);
        for (let s = top; s >= start; s--) if (c.subj[s & (CHUNK - 1)] !== 0) return s;
      }
      seq = chunkStart - 1;
    }
    return 0;
  }

  /** Drop the chunks and block runs wholly below first (all holes by then). */
  trim(first: number): void {
    const k = Math.floor(first / CHUNK) - this.c0;
    if (k > 0) {
      const drop = Math.min(k, this.chunks.length);
      this.chunks.splice(0, drop);
      this.c0 += drop;
    }
    let r = 0;
    while (r + 1 < this.runSeq.length && this.runSeq[r + 1]! <= first) r++;
    if (r > 0) { this.runSeq.splice(0, r); this.runBlock.splice(0, r); }
  }

  clear(nextSeq: number): void {
    this.chunks = [];
    this.c0 = Math.floor(nextSeq / CHUNK);
    this.top = nextSeq - 1;
    this.names = [""];
    this.refs = [0];
    this.ids.clear();
    this.freeIds = [];
    this.runSeq = [];
    this.runBlock = [];
  }

  /** Everything, for the file store's snapshot at a clean close (file-store-snapshot.ts). */
  exportTo(w: ByteWriter): void {
    w.f64(this.c0);
    w.f64(this.top);
    w.u32(this.chunks.length);
    for (const c of this.chunks) {
      if (c === null) { w.u32(0); continue; }
      w.u32(c.subj.length);
      w.f64(c.live);
      w.raw(c.subj); w.raw(c.ts); w.raw(c.off); w.raw(c.len); w.raw(c.flags);
    }
    w.u32(this.names.length);
    for (let id = 0; id < this.names.length; id++) { w.str(this.names[id] ?? null); w.u32(this.refs[id] ?? 0); }
    w.u32(this.freeIds.length);
    for (const id of this.freeIds) w.u32(id);
    w.u32(this.runSeq.length);
    for (let i = 0; i < this.runSeq.length; i++) { w.f64(this.runSeq[i]!); w.f64(this.runBlock[i]!); }
  }

  /** Replace everything with what exportTo wrote. */
  importFrom(r: ByteReader): void {
    this.c0 = r.f64();
    this.top = r.f64();
    const n = r.u32();
    this.chunks = [];
    for (let k = 0; k < n; k++) {
      const cap = r.u32();
      if (cap === 0) { this.chunks.push(null); continue; }
      if (cap > CHUNK) throw new RangeError("snapshot: bad chunk");
      const c = new Chunk(cap);
      c.live = r.f64();
      r.into(c.subj); r.into(c.ts); r.into(c.off); r.into(c.len); r.into(c.flags);
      this.chunks.push(c);
    }
    const ids = r.u32();
    this.names = [];
    this.refs = [];
    this.ids.clear();
    for (let id = 0; id < ids; id++) {
      const name = r.str();
      this.names.push(name ?? undefined);
      this.refs.push(r.u32());
      if (id > 0 && name !== null) this.ids.set(name, id);
    }
    if (this.names.length === 0) { this.names = [""]; this.refs = [0]; }
    const nf = r.u32();
    this.freeIds = [];
    for (let i = 0; i < nf; i++) this.freeIds.push(r.u32());
    const nr = r.u32();
    this.runSeq = [];
    this.runBlock = [];
    for (let i = 0; i < nr; i++) { this.runSeq.push(r.f64()); this.runBlock.push(r.f64()); }
  }

  /** Distinct subjects with a live message (for tests). */
  get subjectCount(): number { return this.ids.size; }

  private intern(subject: string): number {
    let id = this.ids.get(subject);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.names.length;
      this.names[id] = subject;
      this.refs[id] = 0;
      this.ids.set(subject, id);
    }
    this.refs[id]!++;
    return id;
  }

  private release(id: number): void {
    if (--this.refs[id]! > 0) return;
    this.ids.delete(this.names[id]!);
    this.names[id] = undefined;
    this.freeIds.push(id);
  }
}
