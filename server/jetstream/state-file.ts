// A small file rewritten often (a durable consumer's state): two slots written in turn, in
// place, so no write replaces a file. Replacing one (write a temporary, rename it over) made
// ext4 flush the new file's data on every rename (auto_da_alloc), ~0.25 ms each, on the thread
// that serves clients; an in-place write of a few KB costs a few µs.
//
// Slot file (little-endian):
//   0  u32  "GNS1"
//   4  u32  payload length
//   8  f64  generation (one more each write; the newer valid slot is the state)
//   16 u32  CRC-32 of bytes [0, 16) and the payload
//   20      payload (UTF-8)
// A slot is rewritten from offset 0 and never truncated: the length says where it ends. A write
// torn by a crash fails its CRC, and the other slot (one write older) is read instead.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { crc32 } from "./crc.js";

const MAGIC = 0x3153_4e47; // "GNS1"
const HDR = 20;
const SLOTS = ["state.0", "state.1"] as const;

function crcOf(buf: Buffer, end: number): number {
  return crc32(buf.subarray(HDR, end), crc32(buf.subarray(0, 16)));
}

/** A slot's payload and generation, or null when it is missing, short or corrupt. */
function readSlot(path: string): { gen: number; text: string } | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  if (buf.length < HDR || buf.readUInt32LE(0) !== MAGIC) return null;
  const len = buf.readUInt32LE(4);
  if (HDR + len > buf.length) return null;
  if (crcOf(buf, HDR + len) !== buf.readUInt32LE(16)) return null;
  return { gen: buf.readDoubleLE(8), text: buf.toString("utf8", HDR, HDR + len) };
}

/** The newer of the two slots that are intact, or null. */
function newest(dir: string): { gen: number; text: string } | null {
  const a = readSlot(join(dir, SLOTS[0]));
  const b = readSlot(join(dir, SLOTS[1]));
  return a === null ? b : b === null ? a : a.gen >= b.gen ? a : b;
}

export class StateFile {
  /** Generation of the newest intact slot: the next write is one more, over the other slot. */
  private gen: number;

  /** `legacy`: a file of the older layout (replaced by rename), removed after the first write. */
  constructor(private readonly dir: string, private legacy: string | null = null) {
    this.gen = newest(dir)?.gen ?? 0;
  }

  /** The newest intact state: a slot's, else the legacy file's; null when there is none. */
  static read(dir: string, legacy: string | null = null): string | null {
    const best = newest(dir);
    if (best !== null) return best.text;
    if (legacy !== null && existsSync(join(dir, legacy))) return readFileSync(join(dir, legacy), "utf8");
    return null;
  }

  /** Write `text` over the older slot; with `sync`, fsynced before this returns. Throws on failure. */
  write(text: string, sync: boolean): void {
    const len = Buffer.byteLength(text);
    const buf = Buffer.allocUnsafe(HDR + len);
    buf.write(text, HDR, "utf8");
    const gen = this.gen + 1;
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(len, 4);
    buf.writeDoubleLE(gen, 8);
    buf.writeUInt32LE(crcOf(buf, HDR + len), 16);
    // Generation 1 goes to slot 1, 2 to slot 0, …: always over the older of the two.
    const fd = openSync(join(this.dir, SLOTS[gen % 2]!), constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, off);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.gen = gen;
    if (this.legacy !== null) {
      rmSync(join(this.dir, this.legacy), { force: true });
      this.legacy = null;
    }
  }
}
