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

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
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
  buf.writeBigInt64LE(ts, off + 20);
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

/** Overwrite a record in place as Erased: same length, zeroed subject/header/payload. */
export function erasedRecord(seq: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf[4] = RecordKind.Erased;
  buf.writeDoubleLE(seq, 12);
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
    kind, seq, ts: buf.readBigInt64LE(off + 20), off, len,
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

export function writeIndexFile(path: string, blockSize: number, mtimeMs: number, records: RecordInfo[]): void {
  let n = 24 + 4;
  for (const r of records) n += 36 + r.subject.length;
  const buf = Buffer.allocUnsafe(n);
  buf.writeUInt32LE(IDX_MAGIC, 0);
  buf.writeUInt32LE(IDX_VERSION, 4);
  buf.writeDoubleLE(blockSize, 8);
  buf.writeDoubleLE(mtimeMs, 16);
  let p = 24;
  for (const r of records) {
    buf[p] = r.kind;
    buf[p + 1] = 0;
    buf.writeUInt16LE(r.subject.length, p + 2);
    buf.writeUInt32LE(r.hdrLen, p + 4);
    buf.writeUInt32LE(r.dataLen, p + 8);
    buf.writeUInt32LE(r.off, p + 12);
    buf.writeDoubleLE(r.seq, p + 16);
    buf.writeBigInt64LE(r.ts, p + 24);
    buf.writeUInt32LE(r.len, p + 32);
    p += 36;
    p += buf.latin1Write(r.subject, p, r.subject.length);
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, p)), p);
  // A torn index is caught by its CRC, so no fsync: the log is the truth.
  const tmp = path + ".tmp";
  const fd = openSync(tmp, "w");
  try { writeSync(fd, buf, 0, buf.length); } finally { closeSync(fd); }
  renameSync(tmp, path);
}

export function readIndexFile(path: string, blockSize: number, mtimeMs: number): RecordInfo[] | null {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch { return null; }
  if (buf.length < 28 || buf.readUInt32LE(0) !== IDX_MAGIC || buf.readUInt32LE(4) !== IDX_VERSION) return null;
  if (buf.readDoubleLE(8) !== blockSize || buf.readDoubleLE(16) !== mtimeMs) return null;
  const end = buf.length - 4;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return null;
  const out: RecordInfo[] = [];
  let p = 24;
  // Most records repeat the previous record's subject: reuse that string rather than allocate
  // one per message (a million records are a million strings otherwise).
  let prevSubject = "";
  let prevAt = -1;
  while (p < end) {
    if (p + 36 > end) return null;
    const sl = buf.readUInt16LE(p + 2);
    let subject: string;
    // A byte loop: Buffer#compare costs more than the bytes for subject-sized slices.
    let same = prevAt >= 0 && sl === prevSubject.length;
    for (let k = 0; same && k < sl; k++) if (buf[p + 36 + k] !== buf[prevAt + k]) same = false;
    if (same) {
      subject = prevSubject;
    } else {
      subject = buf.latin1Slice(p + 36, p + 36 + sl);
      prevSubject = subject;
      prevAt = p + 36;
    }
    out.push({
      kind: buf[p]!,
      hdrLen: buf.readUInt32LE(p + 4),
      dataLen: buf.readUInt32LE(p + 8),
      off: buf.readUInt32LE(p + 12),
      seq: buf.readDoubleLE(p + 16),
      ts: buf.readBigInt64LE(p + 24),
      len: buf.readUInt32LE(p + 32),
      subject,
    });
    p += 36 + sl;
  }
  return out;
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
