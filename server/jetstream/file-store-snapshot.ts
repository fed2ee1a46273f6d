// Tested by test/jetstream/store-index-paths.test.ts and test/jetstream/snapshot-restart.test.ts.
// A file stream's in-memory index written at a clean close as one checksummed file,
// <dir>/index.snap, and read back at the next open instead of every block's index file: the
// per-block summaries (ranges, counts, liveness bitmaps: column-index.ts) and the subjects'
// sequence lists are copied in as they were (memcpy, no work per message), ~4 bytes a message;
// the blocks' columns are not in it (they load from the index files when asked).
//
// Never trusted beyond what it can prove: its CRC-32 must hold, it must have been written on a
// machine of the same byte order, and the block files must be exactly the ones it lists, each
// with the size and mtime it recorded — any append, removal, erase or crash after the close
// changes one of them. It is also deleted as soon as it has been read (used or not), so it is
// only ever the state of the close that wrote it. Otherwise start-up falls back to the per-block
// index files (and those to scanning their block), as after a crash.

import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { BlockTable } from "./column-index.js";
import { crc32 } from "./crc.js";
import { SeqList } from "./msg-index.js";
import { ByteReader, ByteWriter } from "./byte-io.js";

const MAGIC = 0x4e534e47; // "GNSN"
const VERSION = 4;
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

export function writeSnapshot(dir: string, st: SnapState, table: BlockTable, subjects: Map<string, SeqList>): void {
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
  // Names and page counts first, then every page's base and length, then all pages' offsets
  // back to back: read as one array whose slices become the pages.
  w.u32(subjects.size);
  const heads: number[] = [];
  const pages: Uint32Array[] = [];
  for (const [subject, list] of subjects) {
    const ps = list.exportPages(heads);
    w.str(subject); w.u32(ps.length);
    for (const p of ps) pages.push(p);
  }
  for (const h of heads) w.f64(h);
  for (const p of pages) w.raw(p);
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
  dir: string, table: BlockTable, subjects: Map<string, SeqList>, matches: (blocks: SnapBlock[]) => boolean,
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
    const names: string[] = [];
    const npages: number[] = [];
    let np = 0;
    for (let i = 0; i < ns; i++) {
      const subject = r.str();
      const k = r.u32();
      if (subject === null || k === 0 || k > size) throw new RangeError("snapshot: bad subject list");
      names.push(subject); npages.push(k); np += k;
    }
    if (np * 16 > size) throw new RangeError("snapshot: bad subject lists");
    const heads = new Float64Array(np * 2);
    r.into(heads);
    let total = 0;
    for (let k = 0; k < np; k++) total += heads[k * 2 + 1]!;
    if (total * 4 > size) throw new RangeError("snapshot: bad subject lists");
    const all = new Uint32Array(total);
    r.into(all);
    let page = 0;
    let at = 0;
    for (let i = 0; i < ns; i++) {
      if (npages[i] === 1 && heads[page * 2 + 1] === 1) {
        subjects.set(names[i]!, SeqList.single(heads[page * 2]! + all[at]!));
        page++; at++;
        continue;
      }
      const bases: number[] = [];
      const views: Uint32Array[] = [];
      for (let k = 0; k < npages[i]!; k++, page++) {
        const len = heads[page * 2 + 1]!;
        if (!(len > 0)) throw new RangeError("snapshot: bad page");
        bases.push(heads[page * 2]!);
        views.push(all.subarray(at, at + len));
        at += len;
      }
      subjects.set(names[i]!, SeqList.fromPages(bases, views));
    }
    return r.verify() ? st : null;
  } finally {
    closeSync(fd);
  }
}
