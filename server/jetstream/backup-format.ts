// Tested by test/jetstream/backup-format.test.ts and test/jetstream/backup.test.ts.
// What gnat's stream snapshot holds, as bytes: a tar (ustar) of
//   stream.json            { config, created, state } — the stream as it was when the snapshot began
//   consumers/NNNNNN.json  one durable's persisted state (consumer/persistence.ts), name inside
//   msgs/NNNNNN.bin        the messages, in sequence order, as records (below), ≤ ~1 MB an entry
// gzip-compressed piece by piece (each piece a gzip member: a concatenation of members is one
// gzip stream to any reader, `tar xzf` included). nats-server's snapshot is an s2-compressed tar
// of its own block files; gnat's is its own (a gnat snapshot restores on gnat only).
//
// A message record: seq u64, ts i64 (ns), subject length u16, header length u32 (0: none),
// payload length u32, then subject (wire form), header block, payload. Little-endian.

import type { StoredMsg } from "./store.js";

const BLOCK = 512;
const REC_FIXED = 8 + 8 + 2 + 4 + 4;
/** Messages are cut into tar entries of about this size, so no entry must be held whole for long. */
export const MSGS_ENTRY_BYTES = 1024 * 1024;

export const STREAM_ENTRY = "stream.json";

const entryNumber = (n: number): string => String(n).padStart(6, "0");
export const consumerEntry = (n: number): string => `consumers/${entryNumber(n)}.json`;
export const msgsEntry = (n: number): string => `msgs/${entryNumber(n)}.bin`;

// ---- tar --------------------------------------------------------------------------------------

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, "0") + "\0", off, len, "ascii");
}

/** A ustar header and the content padded to 512 bytes: one regular file of the archive. */
export function tarEntry(name: string, content: Buffer, mtimeSec: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, content.length);
  octal(h, 136, 12, mtimeSec);
  h.fill(0x20, 148, 156);
  h.write("0", 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const x of h) sum += x;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([h, content, Buffer.alloc(pad)]);
}

/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

export class SnapshotFormatError extends Error {}

/**
 * Reads a tar pushed to it in pieces of any size and hands over each regular file whole. Only
 * what tarEntry writes is accepted: anything else is unexpected content.
 */
export class TarReader {
  /** Bytes received and not used yet, as they came (joined only when a whole piece is there). */
  private parts: Buffer[] = [];
  private size = 0;
  private entry: { name: string; size: number } | null = null;
  private ended = false;

  constructor(private readonly onEntry: (name: string, content: Buffer) => void) {}

  get complete(): boolean {
    return this.ended;
  }

  /** The next n bytes (n ≤ size), taken out. */
  private take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length > 0 ? [rest] : [];
    this.size -= n;
    return out;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.parts.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.ended) {
        const rest = this.take(this.size);
        if (rest.some((x) => x !== 0)) throw new SnapshotFormatError("data after the end of the archive");
        return;
      }
      if (this.entry === null) {
        if (this.size < BLOCK) return;
        const h = this.take(BLOCK);
        if (h.every((x) => x === 0)) {
          this.ended = true;
          continue;
        }
        this.entry = parseHeader(h);
        continue;
      }
      const padded = this.entry.size + ((BLOCK - (this.entry.size % BLOCK)) % BLOCK);
      if (this.size < padded) return;
      const content = Buffer.from(this.take(padded).subarray(0, this.entry.size));
      const name = this.entry.name;
      this.entry = null;
      this.onEntry(name, content);
    }
  }
}

function parseHeader(h: Buffer): { name: string; size: number } {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const field = (off: number, len: number): string => h.toString("latin1", off, off + len).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (parseInt(field(148, 8), 8) !== sum) throw new SnapshotFormatError("tar header checksum mismatch");
  const type = h[156];
  if (type !== 0x30 && type !== 0) throw new SnapshotFormatError("unexpected tar entry type");
  const name = h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
  const size = parseInt(field(124, 12), 8);
  if (!Number.isSafeInteger(size) || size < 0) throw new SnapshotFormatError("bad tar entry size");
  return { name, size };
}

// ---- message records ----------------------------------------------------------------------------

/** Collects messages into msgs entries of about MSGS_ENTRY_BYTES. */
export class MsgRecords {
  private parts: Buffer[] = [];
  private size = 0;

  get bytes(): number {
    return this.size;
  }

  add(m: StoredMsg): void {
    const subject = Buffer.from(m.subject, "latin1");
    const hdr = m.hdr ?? Buffer.alloc(0);
    const f = Buffer.allocUnsafe(REC_FIXED);
    f.writeBigUInt64LE(BigInt(m.seq), 0);
    f.writeBigInt64LE(m.ts, 8);
    f.writeUInt16LE(subject.length, 16);
    f.writeUInt32LE(hdr.length, 18);
    f.writeUInt32LE(m.data.length, 22);
    this.parts.push(f, subject, hdr, m.data);
    this.size += REC_FIXED + subject.length + hdr.length + m.data.length;
  }

  /** The records collected so far, and start afresh. */
  take(): Buffer {
    const b = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return b;
  }
}

/** The messages of one msgs entry, in order. */
export function* readMsgRecords(b: Buffer): Generator<StoredMsg> {
  let o = 0;
  while (o < b.length) {
    if (o + REC_FIXED > b.length) throw new SnapshotFormatError("truncated message record");
    const seq = Number(b.readBigUInt64LE(o));
    const ts = b.readBigInt64LE(o + 8);
    const sl = b.readUInt16LE(o + 16);
    const hl = b.readUInt32LE(o + 18);
    const dl = b.readUInt32LE(o + 22);
    o += REC_FIXED;
    if (o + sl + hl + dl > b.length || sl === 0) throw new SnapshotFormatError("truncated message record");
    const subject = b.toString("latin1", o, o + sl);
    o += sl;
    const hdr = hl === 0 ? null : b.subarray(o, o + hl);
    o += hl;
    const data = b.subarray(o, o + dl);
    o += dl;
    yield { seq, ts, subject, hdr, data };
  }
}
