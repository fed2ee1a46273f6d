// File store recovery from the block files (file-store.ts): every block's records come as an
// index buffer (its index file, or its scan encoded the same way) and are read in place into the
// index columns, with no object per record. Tombstones and floors can sit in later blocks than
// their targets, so one pass collects them and a second places the live messages.
// Tested by test/jetstream/store-index-paths.test.ts and test/jetstream/file-store.test.ts.
import { IndexReader, RecordKind, SubjectInterner } from "./file-store-block.js";

/** One block file of a file store, and what the index knows of it. */
export class Block {
  fd = -1;
  /** Bytes on disk (written). */
  size = 0;
  /** Live messages in this block. */
  live = 0;
  /** Targets of the Tomb records this block holds (carried forward if it is removed early). */
  tombs: number[] = [];
  /** Range of the message sequences written here (to tell where a tombstone's target lives). */
  minMsg = 0;
  maxMsg = 0;
  constructor(readonly id: number, readonly path: string, readonly idxPath: string) {}
}

export interface RecoverSink {
  blockFor(id: number): Block;
  /** A block's index buffer and its size on disk; `last`: the newest block (it may be torn). */
  readIndex(b: Block, last: boolean): { idx: Buffer; size: number };
  warn(m: string): void;
  /** A live message: its record at `off` (`len` bytes) in block `b`, its time at `tsAt` in `idx`. */
  place(seq: number, subject: string, idx: Buffer, tsAt: number, off: number, len: number, hasHdr: boolean, b: Block, size: number): void;
}

export interface Recovered {
  /** The blocks, oldest first, with their live counts, sequence ranges and tombstones. */
  blocks: Block[];
  /** The highest Floor record: everything below it is gone. */
  floor: number;
  /** The newest message sequence seen, and its time. */
  lastSeen: number;
  lastSeenTs: bigint;
  /** The newest block's index buffer (null without blocks), for resuming it as the active one. */
  tailIdx: Buffer | null;
}

export function recoverBlocks(ids: readonly number[], sink: RecoverSink): Recovered {
  let floor = 0;
  let lastSeen = 0;
  // Where the newest record is, not its time: reading a BigInt per record to keep the last
  // one made start-up of a million-message stream ~45 ms slower.
  let lastSeenIdx: Buffer | null = null;
  let lastSeenPos = 0;
  const tombs = new Set<number>();
  const perBlock: Array<[Block, Buffer]> = [];

  for (let i = 0; i < ids.length; i++) {
    const b = sink.blockFor(ids[i]!);
    const got = sink.readIndex(b, i === ids.length - 1);
    b.size = got.size;
    const idx = got.idx;
    perBlock.push([b, idx]);
    const r = new IndexReader(idx);
    while (r.next()) {
      const seq = r.seq;
      switch (r.kind) {
        case RecordKind.Msg:
          if (b.minMsg === 0) b.minMsg = seq;
          b.maxMsg = seq;
          break;
        case RecordKind.Tomb: tombs.add(seq); b.tombs.push(seq); continue;
        case RecordKind.Floor: if (seq > floor) floor = seq; continue;
      }
      if (seq > lastSeen) { lastSeen = seq; lastSeenIdx = idx; lastSeenPos = r.position; }
    }
  }

  let prev = 0;
  const subjects = new SubjectInterner();
  for (const [b, idx] of perBlock) {
    const r = new IndexReader(idx);
    while (r.next()) {
      if (r.kind !== RecordKind.Msg) continue;
      const seq = r.seq;
      if (seq <= prev) {
        sink.warn(`block ${b.id}: sequence ${seq} out of order, ignored`);
        continue;
      }
      prev = seq;
      if (seq < floor || tombs.has(seq)) continue;
      const hl = r.hdrLen;
      const size = 22 + r.subjectLength + (hl > 0 ? 4 + hl : 0) + r.dataLen + 8;
      sink.place(seq, r.subject(subjects), idx, r.tsAt, r.off, r.len, hl > 0, b, size);
      b.live++;
    }
  }
  return {
    blocks: perBlock.map(([b]) => b),
    floor,
    lastSeen,
    lastSeenTs: lastSeenIdx === null ? 0n : IndexReader.at(lastSeenIdx, lastSeenPos).ts,
    tailIdx: perBlock[perBlock.length - 1]?.[1] ?? null,
  };
}
