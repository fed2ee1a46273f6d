// Tested by test/jetstream/store-index-paths.test.ts and test/jetstream/snapshot-restart.test.ts.
// A file stream's whole in-memory index written at a clean close as one checksummed file,
// <dir>/index.snap, and read back at the next open instead of every block's index file: the
// columns and sequence lists are copied in as they were (memcpy, no work per message), so a
// clean restart costs about a read of ~30 bytes a message rather than rebuilding the index.
//
// Never trusted beyond what it can prove: its CRC-32 must hold, it must have been written on a
// machine of the same byte order, and the block files must be exactly the ones it lists, each
// with the size and mtime it recorded — any append, removal, erase or crash after the close
// changes one of them. It is also deleted as soon as it has been read (used or not), so it is
// only ever the state of the close that wrote it. Otherwise start-up falls back to the per-block
// index files (and those to scanning their block), as after a crash.

import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import type { ColumnTable } from "./column-index.js";
import { crc32 } from "./crc.js";
import { SeqList } from "./msg-index.js";

const MAGIC = 0x4e534e47; // "GNSN"
const VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const SNAPSHOT_FILE = "index.snap";

/** What the file store keeps per block. */
export interface SnapBlock {
  id: number;
  size: number;
  mtimeMs: number;
  live: number;
  minMsg: number;
  maxMsg: number;
  tombs: number[];
}

export interface SnapState {
  first: number;
  last: number;
  firstTs: bigint;
  lastTs: bigint;
  msgs: number;
  bytes: number;
  blocks: SnapBlock[];
}

/** Appends little-endian fields to a list of buffers. */
export class ByteWriter {
  private parts: Buffer[] = [];
  private cur = Buffer.allocUnsafe(1 << 16);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.cur.length) return;
    this.parts.push(this.cur.subarray(0, this.at));
    this.cur = Buffer.allocUnsafe(Math.max(1 << 16, n));
    this.at = 0;
  }

  u32(v: number): void { this.room(4); this.cur.writeUInt32LE(v, this.at); this.at += 4; }
  f64(v: number): void { this.room(8); this.cur.writeDoubleLE(v, this.at); this.at += 8; }
  i64(v: bigint): void { this.room(8); this.cur.writeBigInt64LE(v, this.at); this.at += 8; }
  /** A latin1 string, or null. */
  str(s: string | null): void {
    if (s === null) { this.u32(0xffffffff); return; }
    this.u32(s.length);
    this.room(s.length);
    this.at += this.cur.latin1Write(s, this.at, s.length);
  }
  /** A typed array's bytes as they are in memory (the reader checks the byte order). */
  raw(a: ArrayBufferView): void {
    this.parts.push(this.cur.subarray(0, this.at));
    this.parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    this.cur = Buffer.allocUnsafe(1 << 16);
    this.at = 0;
  }
  finish(): Buffer[] {
    this.parts.push(this.cur.subarray(0, this.at));
    return this.parts;
  }
}

/**
 * Reads what ByteWriter wrote, from a file descriptor: fields through a 64 KiB window, typed
 * arrays straight into their own memory (no buffer the size of the file). The CRC-32 of every
 * byte read so far is kept; throws RangeError past the end.
 */
export class ByteReader {
  private readonly win = Buffer.allocUnsafe(1 << 16);
  private wpos = 0;
  private wlen = 0;
  /** File offset of win[wlen]. */
  private filePos = 0;
  crc = 0;

  constructor(private readonly fd: number, private readonly end: number) {}

  /** Make n bytes available at win[wpos]. */
  private fill(n: number): void {
    const rem = this.wlen - this.wpos;
    if (rem >= n) return;
    if (n > this.win.length || this.filePos + (n - rem) > this.end) throw new RangeError("snapshot too short");
    this.win.copy(this.win, 0, this.wpos, this.wlen);
    this.wpos = 0;
    this.wlen = rem;
    const want = Math.min(this.win.length - rem, this.end - this.filePos);
    let got = 0;
    while (got < want) {
      const k = readSync(this.fd, this.win, rem + got, want - got, this.filePos + got);
      if (k === 0) throw new RangeError("snapshot too short");
      got += k;
    }
    this.crc = crc32(this.win.subarray(rem, rem + got), this.crc);
    this.wlen = rem + got;
    this.filePos += got;
  }

  u32(): number { this.fill(4); const v = this.win.readUInt32LE(this.wpos); this.wpos += 4; return v; }
  f64(): number { this.fill(8); const v = this.win.readDoubleLE(this.wpos); this.wpos += 8; return v; }
  i64(): bigint { this.fill(8); const v = this.win.readBigInt64LE(this.wpos); this.wpos += 8; return v; }
  str(): string | null {
    const n = this.u32();
    if (n === 0xffffffff) return null;
    this.fill(n);
    const s = this.win.latin1Slice(this.wpos, this.wpos + n);
    this.wpos += n;
    return s;
  }

  /** Fill a typed array with the next bytes. */
  into(a: ArrayBufferView): void {
    const dst = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const fromWin = Math.min(dst.length, this.wlen - this.wpos);
    this.win.copy(dst, 0, this.wpos, this.wpos + fromWin);
    this.wpos += fromWin;
    let at = fromWin;
    if (at === dst.length) return;
    if (this.filePos + (dst.length - at) > this.end) throw new RangeError("snapshot too short");
    while (at < dst.length) {
      const k = readSync(this.fd, dst, at, dst.length - at, this.filePos);
      if (k === 0) throw new RangeError("snapshot too short");
      this.crc = crc32(dst.subarray(at, at + k), this.crc);
      at += k;
      this.filePos += k;
    }
  }

  /** Everything up to the trailing CRC was read, and the CRC holds. */
  verify(): boolean {
    if (this.wpos !== this.wlen || this.filePos !== this.end) return false;
    const tail = Buffer.allocUnsafe(4);
    return readSync(this.fd, tail, 0, 4, this.end) === 4 && tail.readUInt32LE(0) === this.crc;
  }
}

/** Write the snapshot (tmp file, rename). No fsync: a torn or lost one only means a slower start. */
export function writeSnapshot(dir: string, st: SnapState, table: ColumnTable, subjects: Map<string, SeqList>): void {
  const w = new ByteWriter();
  w.u32(MAGIC);
  w.u32(VERSION);
  w.u32(LITTLE_ENDIAN ? 1 : 0);
  w.f64(st.first); w.f64(st.last); w.i64(st.firstTs); w.i64(st.lastTs); w.f64(st.msgs); w.f64(st.bytes);
  w.u32(st.blocks.length);
  for (const b of st.blocks) {
    w.f64(b.id); w.f64(b.size); w.f64(b.mtimeMs); w.f64(b.live); w.f64(b.minMsg); w.f64(b.maxMsg);
    w.u32(b.tombs.length);
    for (const t of b.tombs) w.f64(t);
  }
  table.exportTo(w);
  w.u32(subjects.size);
  for (const [subject, list] of subjects) {
    w.str(subject);
    const seqs = list.toFloat64();
    w.u32(seqs.length);
    w.raw(seqs);
  }
  const parts = w.finish();
  let crc = 0;
  for (const p of parts) crc = crc32(p, crc);
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32LE(crc, 0);
  parts.push(tail);
  // Part by part (the columns' own memory), not one concatenated copy of it all.
  const path = `${dir}/${SNAPSHOT_FILE}`;
  const fd = openSync(path + ".tmp", "w");
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } catch (err) {
    closeSync(fd);
    rmSync(path + ".tmp", { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(path + ".tmp", path);
}

/**
 * Read and delete the snapshot. On success the table and subjects hold the index and the
 * stream's counters and blocks are returned; null (or a RangeError) when there is none or it
 * fails its checks — the caller must then reset table and subjects, which may be partly filled,
 * and recover. `matches` checks the block list against the files on disk.
 */
export function readSnapshot(
  dir: string, table: ColumnTable, subjects: Map<string, SeqList>, matches: (blocks: SnapBlock[]) => boolean,
): SnapState | null {
  const path = `${dir}/${SNAPSHOT_FILE}`;
  let fd: number;
  try { fd = openSync(path, "r"); } catch { return null; }
  try {
    rmSync(path, { force: true });
    const size = fstatSync(fd).size;
    if (size < 16) return null;
    const r = new ByteReader(fd, size - 4);
    if (r.u32() !== MAGIC || r.u32() !== VERSION || r.u32() !== (LITTLE_ENDIAN ? 1 : 0)) return null;
    const st: SnapState = {
      first: r.f64(), last: r.f64(), firstTs: r.i64(), lastTs: r.i64(), msgs: r.f64(), bytes: r.f64(), blocks: [],
    };
    const nb = r.u32();
    for (let i = 0; i < nb; i++) {
      const b: SnapBlock = { id: r.f64(), size: r.f64(), mtimeMs: r.f64(), live: r.f64(), minMsg: r.f64(), maxMsg: r.f64(), tombs: [] };
      const nt = r.u32();
      for (let k = 0; k < nt; k++) b.tombs.push(r.f64());
      st.blocks.push(b);
    }
    if (!matches(st.blocks)) return null;
    // Read as it streams in; trusted (returned) only once the CRC over all of it holds.
    table.importFrom(r);
    const ns = r.u32();
    for (let i = 0; i < ns; i++) {
      const subject = r.str();
      const n = r.u32();
      if (subject === null || n === 0 || n > size) throw new RangeError("snapshot: bad subject list");
      const seqs = new Float64Array(n);
      r.into(seqs);
      subjects.set(subject, SeqList.fromSorted(seqs));
    }
    return r.verify() ? st : null;
  } finally {
    closeSync(fd);
  }
}
