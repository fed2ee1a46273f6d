// Byte writer and reader for the file store's index snapshot (file-store-snapshot.ts) and the
// block summaries that copy themselves into it (column-index.ts). Apart from the snapshot, so that
// the index does not import the file that imports them.
// Tested by test/jetstream/store-index-paths.test.ts and test/jetstream/snapshot-restart.test.ts.

import { readSync } from "node:fs";
import { crc32 } from "./crc.js";

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
  /**
   * A typed array's bytes as they are in memory (the reader checks the byte order). A small one
   * is copied in; a large one becomes a part of its own (no copy), and the rest of the current
   * buffer goes on being used — a fresh 64 KiB buffer per array made a snapshot of a million
   * one-message subjects allocate 64 GB.
   */
  raw(a: ArrayBufferView): void {
    const n = a.byteLength;
    const bytes = Buffer.from(a.buffer, a.byteOffset, n);
    if (n <= 4096) {
      this.room(n);
      bytes.copy(this.cur, this.at);
      this.at += n;
      return;
    }
    this.parts.push(this.cur.subarray(0, this.at));
    this.parts.push(bytes);
    this.cur = this.cur.subarray(this.at);
    this.at = 0;
    if (this.cur.length < 4096) this.cur = Buffer.allocUnsafe(1 << 16);
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
