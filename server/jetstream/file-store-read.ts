// Reading messages back from a file store's sealed blocks (file-store.ts): a read-ahead window,
// since consumers read a stream in order, and the check that a record is the one the index names.
// Tested by test/jetstream/file-store.test.ts and test/jetstream/store-contract.test.ts.
import { readSync } from "node:fs";
import { REC_HDR, REC_OVERHEAD, RecordKind } from "./file-store-block.js";
import { crc32Range } from "./crc.js";
import type { MsgEntry } from "./msg-index.js";
import type { StoredMsg } from "./store.js";

/**
 * One read of up to `window` bytes serves the records after it too, instead of a system call per
 * message. Each read goes into a fresh chunk, so the messages sliced out of one stay valid after
 * the next read (no copy per message; a chunk lives as long as a message that points into it).
 */
export class ReadAhead {
  /** Reads done (for the store's I/O statistics). */
  reads = 0;
  /** Where the record starts in the buffer the last read() returned; -1: it could not be read. */
  at = 0;
  private buf = Buffer.allocUnsafe(0);
  private block: object | null = null;
  private start = 0;
  private len = 0;

  constructor(private readonly window: number) {}

  /** The window no longer describes `block` (it was rewritten or removed). */
  forget(block: object): void {
    if (block === this.block) this.block = null;
  }

  /** The buffer holding the `len` bytes at `off` of `block` (of `size` bytes), from `at`. */
  read(block: { size: number }, fd: () => number, off: number, len: number): Buffer {
    let rel = off - this.start;
    if (block !== this.block || rel < 0 || rel + len > this.len) {
      if (len > this.window) {
        const big = Buffer.allocUnsafeSlow(len);
        this.reads++;
        const n = readSync(fd(), big, 0, len, off);
        this.at = n === len ? 0 : -1;
        return big;
      }
      const want = Math.max(len, Math.min(this.window, block.size - off));
      this.block = null;
      this.buf = Buffer.allocUnsafeSlow(want);
      this.reads++;
      this.len = readSync(fd(), this.buf, 0, want, off);
      this.block = block;
      this.start = off;
      rel = 0;
      if (this.len < len) {
        this.at = -1;
        return this.buf;
      }
    }
    this.at = rel;
    return this.buf;
  }
}

/**
 * The message whose record starts at `at` in `buf`, when it is the one `e` names and intact
 * (length, kind, subject length, sequence, CRC); null otherwise. The index already knows the
 * subject, sequence and time; headers and data are sliced out, not copied.
 */
export function storedAt(buf: Buffer, at: number, e: MsgEntry): StoredMsg | null {
  const len = e.len;
  const sl = e.subject.length;
  const hl = buf.readUInt32LE(at + 8);
  if (buf.readUInt32LE(at) !== len || buf[at + 4] !== RecordKind.Msg || buf.readUInt16LE(at + 6) !== sl
    || sl + hl > len - REC_OVERHEAD || buf.readDoubleLE(at + 12) !== e.seq
    || crc32Range(buf, at + 4, at + len - 4) !== buf.readUInt32LE(at + len - 4)) {
    return null;
  }
  const hs = at + REC_HDR + sl;
  return {
    subject: e.subject, seq: e.seq, ts: e.ts,
    hdr: hl > 0 ? buf.subarray(hs, hs + hl) : null,
    data: buf.subarray(hs + hl, at + len - 4),
  };
}
