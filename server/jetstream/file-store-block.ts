// Tested by test/jetstream/file-store.test.ts.
// On-disk formats of the file store: the record log inside a block file, the scan that
// recovers it, and the per-block index file that lets start-up skip the scan.
//
// Record (little-endian), every record the same frame so one scan handles all kinds:
//   0  u32  record length (this whole frame, including the length and the CRC)
//   4  u8   kind (RecordKind)
//   5  u8   reserved (0)
//   6  u16  subject length
//   8  u32  header length
//   12 f64  sequence (doubles are exact to 2^53, the range of sequences)
//   20 i64  timestamp, Unix ns
//   28      subject, header, payload
//   len-4 u32 CRC-32 of bytes [4, len-4)
// A block is append-only except for erase, which rewrites one record in place with the same
// length as kind Erased and zeroed contents.

import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { crc32, crc32Range } from "./crc.js";

export const RecordKind = {
  /** A message. */
  Msg: 1,
  /** seq was removed (it lives in an earlier record). */
  Tomb: 2,
  /** Every sequence below seq is gone (purge, compact, removal from the front). */
  Floor: 3,
  /** seq was consumed without a message. */
  Skip: 4,
  /** A message record overwritten by erase; counts as removed. */
  Erased: 5,
  /** last_seq was at least seq (written at the start of each block so it survives). */
  Last: 6,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

// Buffer#writeBigInt64LE / readBigInt64LE split the BigInt with BigInt arithmetic, allocating
// on every call; a typed-array cell converts it natively (a write per stored message).
const i64 = new BigInt64Array(1);
const i64Bytes = new Uint8Array(i64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeI64LE(buf: Buffer, v: bigint, off: number): void {
  if (!LITTLE_ENDIAN) { buf.writeBigInt64LE(v, off); return; }
  i64[0] = v;
  for (let k = 0; k < 8; k++) buf[off + k] = i64Bytes[k]!;
}

export function readI64LE(buf: Buffer, off: number): bigint {
  if (!LITTLE_ENDIAN) return buf.readBigInt64LE(off);
  for (let k = 0; k < 8; k++) i64Bytes[k] = buf[off + k]!;
  return i64[0]!;
}

export const REC_HDR = 28;
export const REC_OVERHEAD = REC_HDR + 4;
export const MAX_SUBJECT = 0xffff;

/** What recovery needs of a record: everything but the payload bytes. */
export interface RecordInfo {
  kind: number;
  seq: number;
  ts: bigint;
  off: number;
  len: number;
  subject: string;
  hdrLen: number;
  dataLen: number;
}

/** Encode a record into buf at off (buf must have room: recordLength()). Returns its length. */
export function encodeRecord(
  buf: Buffer, off: number, kind: number, seq: number, ts: bigint,
  subject: string, hdr: Buffer | null, data: Buffer | null,
): number {
  const hl = hdr === null ? 0 : hdr.length;
  const dl = data === null ? 0 : data.length;
  const len = REC_OVERHEAD + subject.length + hl + dl;
  buf.writeUInt32LE(len, off);
  buf[off + 4] = kind;
  buf[off + 5] = 0;
  buf.writeUInt16LE(subject.length, off + 6);
  buf.writeUInt32LE(hl, off + 8);
  buf.writeDoubleLE(seq, off + 12);
  writeI64LE(buf, ts, off + 20);
  let p = off + REC_HDR;
  p += buf.latin1Write(subject, p, subject.length);
  if (hdr !== null) p += hdr.copy(buf, p);
  if (data !== null) p += data.copy(buf, p);
  buf.writeUInt32LE(crc32Range(buf, off + 4, p), p);
  return len;
}

export function recordLength(subject: string, hdr: Buffer | null, data: Buffer | null): number {
  return REC_OVERHEAD + subject.length + (hdr === null ? 0 : hdr.length) + (data === null ? 0 : data.length);
}

/** Overwrite a record in place as Erased: same length and time, zeroed subject/header/payload. */
export function erasedRecord(seq: number, ts: bigint, len: number): Buffer {
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf[4] = RecordKind.Erased;
  buf.writeDoubleLE(seq, 12);
  // The time stays: when the erased message was the last, it is still the stream's last_ts.
  writeI64LE(buf, ts, 20);
  // Subject/header lengths stay 0: all of the body reads as payload of zeros.
  buf.writeUInt32LE(crc32(buf.subarray(4, len - 4)), len - 4);
  return buf;
}

/** Parse and verify the record at off; null when it is not a whole, valid record. */
export function parseRecord(buf: Buffer, off: number, end: number): RecordInfo | null {
  if (end - off < REC_OVERHEAD) return null;
  const len = buf.readUInt32LE(off);
  if (len < REC_OVERHEAD || len > end - off) return null;
  const kind = buf[off + 4]!;
  if (kind < RecordKind.Msg || kind > RecordKind.Last) return null;
  const sl = buf.readUInt16LE(off + 6);
  const hl = buf.readUInt32LE(off + 8);
  if (sl + hl > len - REC_OVERHEAD) return null;
  if (crc32Range(buf, off + 4, off + len - 4) !== buf.readUInt32LE(off + len - 4)) return null;
  const seq = buf.readDoubleLE(off + 12);
  if (!Number.isSafeInteger(seq) || seq < 0) return null;
  return {
    kind, seq, ts: readI64LE(buf, off + 20), off, len,
    subject: buf.latin1Slice(off + REC_HDR, off + REC_HDR + sl),
    hdrLen: hl, dataLen: len - REC_OVERHEAD - sl - hl,
  };
}

export interface ScanResult {
  records: RecordInfo[];
  /** Bytes of valid log; anything after it is a torn tail to cut off. */
  validEnd: number;
  /** Corrupt stretches skipped in the middle: [offset, length]. */
  corrupt: Array<[number, number]>;
}

/**
 * Scan a block from the start (Kafka/SQLite style recovery). A record that fails its length or
 * CRC check is a torn tail if nothing valid follows it, and is cut; if a valid record follows
 * (found by re-synchronising byte by byte) the damage is in the middle: it is skipped and
 * reported, and the rest of the block still loads.
 */
export function scanBlock(buf: Buffer): ScanResult {
  const records: RecordInfo[] = [];
  const corrupt: Array<[number, number]> = [];
  const end = buf.length;
  let off = 0;
  while (off < end) {
    const r = parseRecord(buf, off, end);
    if (r !== null) { records.push(r); off += r.len; continue; }
    let next = -1;
    for (let p = off + 1; p + REC_OVERHEAD <= end; p++) {
      if (parseRecord(buf, p, end) !== null) { next = p; break; }
    }
    if (next < 0) return { records, validEnd: off, corrupt };
    corrupt.push([off, next - off]);
    off = next;
  }
  return { records, validEnd: off, corrupt };
}

// ---- per-block index file ------------------------------------------------------------------
// A cache of scanBlock's result for a sealed block, trusted only when the block's size and
// mtime match what it records and its own CRC holds. Missing or stale: scan the block.

const IDX_MAGIC = 0x58494e47; // "GNIX"
const IDX_VERSION = 1;

// Layout (little-endian): u32 magic, u32 version, f64 block size, f64 block mtime (ms), then
// per record 36 bytes — u8 kind, u8 0, u16 subject length, u32 header length, u32 payload
// length, u32 offset, f64 seq, i64 ts, u32 record length — and its subject; u32 CRC-32 last.
const IDX_HEAD = 24;
const IDX_REC = 36;

/** A block's records in index-file form (for writeIndexBuffer and IndexReader). */
export function encodeIndex(blockSize: number, mtimeMs: number, records: RecordInfo[]): Buffer {
  const b = new IndexBuilder();
  for (const r of records) b.add(r.kind, r.seq, r.ts, r.off, r.len, r.subject, r.hdrLen, r.dataLen);
  return b.finish(blockSize, mtimeMs);
}

/** Write an index (from encodeIndex). A torn index is caught by its CRC, so no fsync: the log is the truth. */
export function writeIndexBuffer(path: string, buf: Buffer): void {
  const tmp = path + ".tmp";
  const fd = openSync(tmp, "w");
  try { writeSync(fd, buf, 0, buf.length); } finally { closeSync(fd); }
  renameSync(tmp, path);
}

/**
 * The index file of a block whose size and mtime are these, checked (magic, version, CRC, every
 * record inside the file); null when missing, stale or damaged.
 */
export function loadIndex(path: string, blockSize: number, mtimeMs: number): Buffer | null {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch { return null; }
  if (buf.length < IDX_HEAD + 4 || buf.readUInt32LE(0) !== IDX_MAGIC || buf.readUInt32LE(4) !== IDX_VERSION) return null;
  if (buf.readDoubleLE(8) !== blockSize || buf.readDoubleLE(16) !== mtimeMs) return null;
  const end = buf.length - 4;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return null;
  let p = IDX_HEAD;
  while (p < end) {
    if (p + IDX_REC > end) return null;
    p += IDX_REC + buf.readUInt16LE(p + 2);
  }
  return p === end ? buf : null;
}

/**
 * A block's records as an index buffer: its index file when that is valid for the block as it is
 * now, else a scan of the block. A scan cuts a torn tail (fsynced) and reports corrupt stretches
 * through warn; a clean block that stays sealed (not the last, or full) gets its index file back,
 * or every start-up would read it whole again (a copy or restore that does not keep mtimes makes
 * every index stale). The last block may become the active one, whose index is not kept; a
 * damaged block is scanned, and reported, at each start. size: the block's length after.
 */
export function readBlockIndex(
  path: string, idxPath: string, last: boolean, blockSize: number, warn: (m: string) => void,
): { idx: Buffer; size: number; scanned: boolean } {
  const st = statSync(path);
  const idx = loadIndex(idxPath, st.size, st.mtimeMs);
  if (idx !== null) return { idx, size: st.size, scanned: false };
  const buf = readFileSync(path);
  const scan = scanBlock(buf);
  for (const [off, len] of scan.corrupt) warn(`skipped ${len} corrupt bytes at offset ${off}`);
  let size = st.size;
  if (scan.validEnd < buf.length) {
    warn(`cut torn tail of ${buf.length - scan.validEnd} bytes at offset ${scan.validEnd}`);
    const fd = openSync(path, "r+");
    try { ftruncateSync(fd, scan.validEnd); fsyncSync(fd); } finally { closeSync(fd); }
    size = scan.validEnd;
  }
  const built = encodeIndex(st.size, st.mtimeMs, scan.records);
  if ((!last || size >= blockSize) && scan.corrupt.length === 0 && scan.validEnd === buf.length) {
    try {
      writeIndexBuffer(idxPath, built);
    } catch (err) {
      warn(`index not written: ${String(err)}`);
    }
  }
  return { idx: built, size, scanned: true };
}

/**
 * Subject strings by their bytes: records of a stream repeat a few subjects, and one string per
 * subject instead of one per record spares start-up a million allocations that all survive.
 */
export class SubjectInterner {
  private readonly seen = new Map<number, string>();

  get(buf: Buffer, at: number, len: number): string {
    let h = len;
    for (let k = 0; k < len; k++) h = Math.imul(h ^ buf[at + k]!, 16777619);
    const s = this.seen.get(h);
    if (s !== undefined && s.length === len) {
      let same = true;
      for (let k = 0; same && k < len; k++) same = s.charCodeAt(k) === buf[at + k];
      if (same) return s;
    }
    const fresh = buf.latin1Slice(at, at + len);
    if (this.seen.size >= 65_536) this.seen.clear();
    this.seen.set(h, fresh);
    return fresh;
  }
}

/** Walks the records of a checked index (loadIndex or encodeIndex) in place, no object per record. */
export class IndexReader {
  private p = -1;
  private nextAt = IDX_HEAD;
  private readonly end: number;
  // A DataView reads the fields without Buffer's per-call checks: start-up reads every record.
  private readonly dv: DataView;

  constructor(private readonly buf: Buffer) {
    this.end = buf.length - 4;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  /** A reader placed on the record at a position an earlier reader of buf reported. */
  static at(buf: Buffer, position: number): IndexReader {
    const r = new IndexReader(buf);
    r.nextAt = position;
    r.next();
    return r;
  }

  /** Where the current record starts (for IndexReader.at). */
  get position(): number { return this.p; }

  /** Move to the next record; false past the last. */
  next(): boolean {
    if (this.nextAt >= this.end) return false;
    this.p = this.nextAt;
    this.nextAt = this.p + IDX_REC + this.dv.getUint16(this.p + 2, true);
    return true;
  }

  get kind(): number { return this.buf[this.p]!; }
  get hdrLen(): number { return this.dv.getUint32(this.p + 4, true); }
  get dataLen(): number { return this.dv.getUint32(this.p + 8, true); }
  get off(): number { return this.dv.getUint32(this.p + 12, true); }
  get seq(): number { return this.dv.getFloat64(this.p + 16, true); }
  get ts(): bigint { return readI64LE(this.buf, this.p + 24); }
  /** Where the current record's time (i64 LE) is in the buffer, to copy it without a BigInt. */
  get tsAt(): number { return this.p + 24; }
  get len(): number { return this.dv.getUint32(this.p + 32, true); }
  get subjectLength(): number { return this.dv.getUint16(this.p + 2, true); }
  subject(interner: SubjectInterner): string { return interner.get(this.buf, this.p + IDX_REC, this.subjectLength); }
}

/**
 * The active block's index, built as its records are appended: at seal or close it is written
 * as the block's index file (finish). Bytes, not an object per record — those lived until the
 * block was sealed and cost the collector on every append.
 */
export class IndexBuilder {
  private buf: Buffer;
  private end = IDX_HEAD;

  /** Start empty, or from a checked index (loadIndex / encodeIndex) of the block being resumed. */
  constructor(from: Buffer | null = null) {
    const body = from === null ? 0 : from.length - 4 - IDX_HEAD;
    this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, (IDX_HEAD + body + 4) * 2));
    if (from !== null) { from.copy(this.buf, IDX_HEAD, IDX_HEAD, IDX_HEAD + body); this.end = IDX_HEAD + body; }
  }

  add(kind: number, seq: number, ts: bigint, off: number, len: number, subject: string, hdrLen: number, dataLen: number): void {
    const need = this.end + IDX_REC + subject.length + 4;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(need * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const b = this.buf;
    const p = this.end;
    b[p] = kind;
    b[p + 1] = 0;
    b.writeUInt16LE(subject.length, p + 2);
    b.writeUInt32LE(hdrLen, p + 4);
    b.writeUInt32LE(dataLen, p + 8);
    b.writeUInt32LE(off, p + 12);
    b.writeDoubleLE(seq, p + 16);
    writeI64LE(b, ts, p + 24);
    b.writeUInt32LE(len, p + 32);
    this.end = p + IDX_REC + b.latin1Write(subject, p + IDX_REC, subject.length);
  }

  /** The record at off was erased in place: it reads as a scan of it would (kind Erased, no subject). */
  erase(off: number): void {
    const b = this.buf;
    for (let p = IDX_HEAD; p < this.end; p += IDX_REC + b.readUInt16LE(p + 2)) {
      if (b.readUInt32LE(p + 12) !== off) continue;
      const sl = b.readUInt16LE(p + 2);
      const len = b.readUInt32LE(p + 32);
      b[p] = RecordKind.Erased;
      b.writeUInt16LE(0, p + 2);
      b.writeUInt32LE(0, p + 4);
      b.writeUInt32LE(len - REC_OVERHEAD, p + 8);
      b.copy(b, p + IDX_REC, p + IDX_REC + sl, this.end);
      this.end -= sl;
      return;
    }
  }

  /** The records so far, readable by IndexReader (no header or CRC: not for a file); valid until the next add. */
  view(): Buffer {
    if (this.end + 4 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.end + 4);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    return this.buf.subarray(0, this.end + 4);
  }

  /** Empty again, for the next block, keeping the buffer (grown once, not once per block). */
  reset(): void { this.end = IDX_HEAD; }

  /**
   * The index file for the block as it is now: a view of the builder's buffer, valid until the
   * next add or reset (write it out at once). Not a copy: a block's index is megabytes, and a
   * fresh one per sealed block left the malloc heap full of holes.
   */
  finish(blockSize: number, mtimeMs: number): Buffer {
    if (this.end + 4 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.end + 4);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const out = this.buf.subarray(0, this.end + 4);
    out.writeUInt32LE(IDX_MAGIC, 0);
    out.writeUInt32LE(IDX_VERSION, 4);
    out.writeDoubleLE(blockSize, 8);
    out.writeDoubleLE(mtimeMs, 16);
    out.writeUInt32LE(crc32(out.subarray(0, this.end)), this.end);
    return out;
  }
}


/** Write a small file atomically and durably: tmp, fsync, rename, fsync the directory. */
export function writeFileAtomic(dir: string, name: string, data: Buffer | string): void {
  const tmp = `${dir}/${name}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    const b = typeof data === "string" ? Buffer.from(data) : data;
    writeSync(fd, b, 0, b.length);
    fsyncSync(fd);
  } finally { closeSync(fd); }
  renameSync(tmp, `${dir}/${name}`);
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
