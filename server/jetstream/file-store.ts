// File store: a stream as numbered, append-only block files of checksummed records
// (file-store-block.ts). The index (column-index.ts) keeps a summary per block in memory (range,
// live count, a liveness bit per sequence) and loads a block's columns from its index file when
// asked, caching a bounded number; base-store.ts keeps each subject's sequence list (4 bytes a
// message).
//
// Layout of <dir>:
//   meta.json        limits and the stream layer's config, written atomically
//   msgs/<id>.blk    blocks, ids ascending; the last one is the active block
//   msgs/<id>.idx    index cache of a sealed block (written on seal and on close)
//
// Removals are records too: Tomb(seq) for one message, Floor(seq) for "everything below seq"
// (the common case: limits and age remove from the front). Each block starts with Floor(first)
// and Last(last) so first/last survive even when every older block has been deleted.
//
// Writes: storeMsg encodes into one reusable buffer and returns; the buffer is written with a
// single write(2) at the end of the current microtask (or at once past FLUSH_AT bytes), so one
// socket read of many publishes becomes one syscall. whenDurable() resolves after that write
// (default) or after an fsync that covers it (syncAlways; one fsync serves every append that
// was written when it started: group commit).

import {
  closeSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync,
  readFileSync, rmSync, statSync, unlinkSync, writeSync,
} from "node:fs";
import { join } from "node:path";
import { BaseStore } from "./base-store.js";
import type { FileStoreOptions, IoStats } from "./file-store-options.js";
import {
  encodeIndex, encodeRecord, erasedRecord, fsyncDir, IndexBuilder, loadIndex, MAX_SUBJECT, readBlockIndex,
  REC_OVERHEAD, RecordKind, recordLength, scanBlock, writeFileAtomic,
  writeIndexBuffer,
} from "./file-store-block.js";
import { BlockTable } from "./column-index.js";
import { Block, recoverBlocks } from "./file-store-recover.js";
import { ReadAhead, storedAt } from "./file-store-read.js";
import { readSnapshot, writeSnapshot, type SnapBlock } from "./file-store-snapshot.js";
import { MsgEntry } from "./msg-index.js";
import {
  fileStoreMsgSize, NO_LIMITS, StorageType, StoreError, StoreErrorCode,
  type StoredMsg, type StoreLimits,
} from "./store.js";

export type { FileStoreOptions, IoStats } from "./file-store-options.js";

interface Deferred { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void; }

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  // Nobody may be waiting on a batch that fails; that must not be an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const FLUSH_AT = 1 << 20;
/** Sealed blocks keep a read descriptor open up to this many; the oldest opened is closed. */
const MAX_READ_FDS = 64;
/** Bytes read at once when a message is loaded from a block (see readAhead). */
const READ_AHEAD = 256 * 1024;
const resolved: Promise<void> = Promise.resolve();

export class FileStore extends BaseStore {
  readonly type = StorageType.File;

  private readonly dir: string;
  private readonly msgDir: string;
  private readonly blockSize: number;
  private readonly syncAlways: boolean;
  private readonly warn: (m: string) => void;
  private readonly writeFault: ((bytes: number) => Error | null) | null;
  private config: unknown;

  /** The index (the same object as this.table), for recovery's bulk path. */
  private readonly cols: BlockTable;
  private readonly blocks = new Map<number, Block>();
  private active!: Block;
  /** Records of the active block, for its index file when it is sealed. */
  private activeIndex = new IndexBuilder();

  private wbuf = Buffer.allocUnsafe(FLUSH_AT * 2);
  /** Read-ahead window over one block's flushed bytes (file-store-read.ts). */
  private readonly ra = new ReadAhead(READ_AHEAD);
  private wlen = 0;
  private flushQueued = false;
  private floorPending = false;
  private nextFlush: Deferred | null = null;
  private awaitingSync: Deferred[] = [];
  private syncInFlight = false;
  private writtenGen = 0;
  private syncedGen = 0;
  private deferredCloses = new Set<number>();
  private reloadPending = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Set while a block is being removed: blocks emptied meanwhile wait for the next pass. */
  private removing = false;
  /** Sealed blocks with an open descriptor, oldest opened first. */
  private readFds: Block[] = [];
  /** Sealed blocks whose index file an erase removed: rewritten at close (see release). */
  private staleIndex = new Set<Block>();
  private nWrites = 0;
  private nFsyncs = 0;
  private nScanned = 0;
  private fromSnapshot = false;

  static open(opts: FileStoreOptions): FileStore {
    return new FileStore(opts);
  }

  private constructor(opts: FileStoreOptions) {
    // fileStoreMsgSize from the record length: the record is REC_OVERHEAD (32) + subject +
    // header + payload, the reported size 30 + the same (+ 4 when there are headers).
    const cols = new BlockTable((len, hdr) => len - REC_OVERHEAD + 30 + (hdr ? 4 : 0), opts.cacheBytes, opts.cacheHoldMs);
    super(cols);
    this.cols = cols;
    cols.loader = (id) => this.blockRecords(id);
    this.dir = opts.dir;
    this.msgDir = join(opts.dir, "msgs");
    this.blockSize = opts.blockSize ?? 8 * 1024 * 1024;
    this.syncAlways = opts.syncAlways ?? false;
    this.warn = opts.onWarning ?? (() => {});
    this.writeFault = opts.writeFault ?? null;
    mkdirSync(this.msgDir, { recursive: true });

    const meta = this.readMeta();
    this.config = opts.config ?? meta?.config;
    const limits = opts.limits ?? meta?.limits ?? { ...NO_LIMITS };
    if (meta === null || opts.limits !== undefined || opts.config !== undefined) this.writeMeta(limits);

    this.recover();
    this.updateConfigNoMeta(limits);

    const every = opts.syncIntervalMs ?? 120_000;
    if (!this.syncAlways && every > 0) {
      this.syncTimer = setInterval(() => this.kickSync(true), every);
      this.syncTimer.unref();
    }
  }

  // ---- meta ----------------------------------------------------------------------------------

  private readMeta(): { limits?: StoreLimits; config?: unknown } | null {
    try {
      return JSON.parse(readFileSync(join(this.dir, "meta.json"), "utf8")) as { limits?: StoreLimits; config?: unknown };
    } catch {
      return null;
    }
  }

  private writeMeta(limits: StoreLimits): void {
    writeFileAtomic(this.dir, "meta.json", JSON.stringify({ version: 1, limits, config: this.config ?? null }));
  }

  /** The stream layer's configuration as kept in meta.json. */
  get streamConfig(): unknown { return this.config; }

  setStreamConfig(config: unknown): void {
    this.checkOpen();
    this.config = config;
    this.writeMeta(this.limits);
  }

  override updateConfig(limits: StoreLimits): void {
    this.checkOpen();
    this.writeMeta(limits);
    super.updateConfig(limits);
  }

  private updateConfigNoMeta(limits: StoreLimits): void {
    super.updateConfig(limits);
  }

  // ---- recovery ------------------------------------------------------------------------------

  private blockFor(id: number): Block {
    return new Block(id, join(this.msgDir, `${id}.blk`), join(this.msgDir, `${id}.idx`));
  }

  /** Rebuild the index from the blocks: index caches where valid, a scan otherwise. */
  private recover(): void {
    const ids = readdirSync(this.msgDir)
      .filter((f) => /^\d+\.blk$/.test(f))
      .map((f) => parseInt(f, 10))
      .sort((a, b) => a - b);
    if (!this.reloadPending && this.loadSnapshot(ids)) return;

    const got = recoverBlocks(ids, {
      blockFor: (id) => this.blockFor(id),
      readIndex: (b, last) => {
        const r = readBlockIndex(b.path, b.idxPath, last, this.blockSize, (m) => this.warn(`file store ${this.dir}: block ${b.id}: ${m}`));
        if (r.scanned) this.nScanned++;
        return r;
      },
      warn: (m) => this.warn(`file store ${this.dir}: ${m}`),
      place: (seq, subject, idx, tsAt, _off, _len, hasHdr, b, size) => {
        // Only the block's summary: its columns load from its index file when asked.
        this.cols.placeSummary(seq, b.id, idx, tsAt, hasHdr);
        this.indexPlaced(seq, subject, size);
      },
    });
    for (const b of got.blocks) this.blocks.set(b.id, b);
    const last = Math.max(got.lastSeen, got.floor - 1, this.last);
    if (last > this.last) { this.last = last; this.lastTs = got.lastSeenTs || this.lastTs; }
    this.cols.endPlacing(this.last);
    if (this.msgs === 0 && this.last > 0) {
      this.first = this.last + 1;
      this.table.clear(this.first);
    }

    this.startActive(ids[ids.length - 1], got.tailIdx);
  }

  /**
   * The index as a clean close left it (file-store-snapshot.ts), when the block files are still
   * exactly those it describes; false (nothing changed) otherwise.
   */
  private loadSnapshot(ids: number[]): boolean {
    let tailIdx: Buffer | null = null;
    const matches = (blocks: SnapBlock[]): boolean => {
      if (blocks.length !== ids.length) return false;
      for (let i = 0; i < blocks.length; i++) {
        const sb = blocks[i]!;
        if (sb.id !== ids[i]) return false;
        const st = statSync(this.blockFor(sb.id).path);
        if (st.size !== sb.size || st.mtimeMs !== sb.mtimeMs) return false;
        if (i === blocks.length - 1 && sb.size < this.blockSize) {
          tailIdx = loadIndex(this.blockFor(sb.id).idxPath, st.size, st.mtimeMs);
          if (tailIdx === null) return false;
        }
      }
      return true;
    };
    let st;
    try {
      st = readSnapshot(this.dir, this.cols, this.subjects, matches);
      this.subjectsChanged++;
    } catch (err) {
      this.warn(`file store ${this.dir}: index snapshot unreadable, rebuilding from the blocks: ${String(err)}`);
      st = null;
    }
    if (st === null) { this.resetIndex(); return false; }
    this.first = st.first; this.last = st.last; this.firstTs = st.firstTs; this.lastTs = st.lastTs;
    this.msgs = st.msgs; this.bytes = st.bytes;
    for (const sb of st.blocks) {
      const b = this.blockFor(sb.id);
      b.size = sb.size; b.live = sb.live; b.minMsg = sb.minMsg; b.maxMsg = sb.maxMsg; b.tombs = sb.tombs;
      this.blocks.set(b.id, b);
    }
    this.fromSnapshot = true;
    this.startActive(ids[ids.length - 1], tailIdx);
    return true;
  }

  /** The last block stays active if it has room (resumed with its index); its index file goes, as it will change. */
  private startActive(lastId: number | undefined, tailIdx: Buffer | null): void {
    const tail = lastId === undefined ? undefined : this.blocks.get(lastId);
    if (tail !== undefined && tail.size < this.blockSize) {
      this.active = tail;
      this.activeIndex = new IndexBuilder(tailIdx);
      this.openFd(tail);
      try { unlinkSync(tail.idxPath); } catch { /* none */ }
    } else {
      this.newBlock((lastId ?? 0) + 1);
    }
    for (const b of [...this.blocks.values()]) {
      if (b !== this.active && b.live === 0) this.removeBlock(b);
    }
  }

  private openFd(b: Block): number {
    if (b.fd < 0) {
      b.fd = openSync(b.path, "r+");
      if (b !== this.active) this.trackReadFd(b);
    }
    return b.fd;
  }

  private trackReadFd(b: Block): void {
    this.readFds.push(b);
    if (this.readFds.length > MAX_READ_FDS) {
      const victim = this.readFds.shift()!;
      if (victim.fd >= 0 && victim !== this.active) this.closeFd(victim);
    }
  }

  /** Start a new active block; it opens with Floor/Last so first/last survive on their own. */
  private newBlock(id: number): void {
    const b = this.blockFor(id);
    b.fd = openSync(b.path, "w+");
    fsyncDir(this.msgDir);
    this.blocks.set(id, b);
    this.active = b;
    this.activeIndex.reset();
    if (this.last > 0) {
      this.encode(RecordKind.Floor, this.first, 0n, "", null, null);
      this.encode(RecordKind.Last, this.last, this.lastTs, "", null, null);
    }
  }

  /** Seal the active block (flushed, fsynced, indexed) and start the next. */
  private rollover(): void {
    this.flushWrites();
    if (this.reloadPending) return;
    const old = this.active;
    fsyncSync(old.fd);
    try {
      writeIndexBuffer(old.idxPath, this.activeIndex.finish(old.size, fstatSync(old.fd).mtimeMs));
    } catch (err) {
      this.warn(`file store ${this.dir}: block ${old.id}: index not written: ${String(err)}`);
    }
    this.newBlock(old.id + 1);
    this.trackReadFd(old);
    if (old.live === 0 && !this.removing) this.removeBlock(old);
  }

  /** A block's records as an index buffer, for its columns (column-index.ts); null: unreadable. */
  private blockRecords(id: number): Buffer | null {
    const b = this.blocks.get(id);
    if (b === undefined) return null;
    if (b === this.active) return this.activeIndex.view();
    try {
      const r = readBlockIndex(b.path, b.idxPath, false, this.blockSize, (m) => this.warn(`file store ${this.dir}: block ${b.id}: ${m}`));
      if (r.scanned) this.nScanned++;
      return r.idx;
    } catch (err) {
      this.warn(`file store ${this.dir}: block ${b.id}: index unreadable: ${String(err)}`);
      return null;
    }
  }

  // ---- appends -------------------------------------------------------------------------------

  /** Encode a record at the end of the active block (in the write buffer). Returns its offset. */
  private encode(kind: number, seq: number, ts: bigint, subject: string, hdr: Buffer | null, data: Buffer | null): number {
    const len = recordLength(subject, hdr, data);
    if (this.active.size + this.wlen + len > this.blockSize && this.active.size + this.wlen > 0 && !this.reloadPending) {
      this.rollover();
    }
    if (this.wlen + len > this.wbuf.length) {
      this.flushWrites();
      if (len > this.wbuf.length) this.wbuf = Buffer.allocUnsafe(len);
    }
    const off = this.active.size + this.wlen;
    encodeRecord(this.wbuf, this.wlen, kind, seq, ts, subject, hdr, data);
    this.wlen += len;
    this.activeIndex.add(kind, seq, ts, off, len, subject, hdr === null ? 0 : hdr.length, data === null ? 0 : data.length);
    if (this.wlen >= FLUSH_AT) this.flushWrites();
    else this.scheduleFlush();
    return off;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.closed) this.flushWrites();
    });
  }

  /** Hand the buffered records to the OS with one write(2). */
  private flushWrites(): void {
    if (this.floorPending && !this.reloadPending) {
      this.floorPending = false;
      this.encode(RecordKind.Floor, this.first, 0n, "", null, null);
    }
    const d = this.nextFlush;
    if (this.wlen === 0) {
      if (d !== null) { this.nextFlush = null; this.afterWrite(d); }
      return;
    }
    const b = this.active;
    let written = 0;
    try {
      if (this.reloadPending) throw new Error("an earlier write failed; store is reloading");
      const fault = this.writeFault?.(this.wlen) ?? null;
      if (fault !== null) {
        written = writeSync(b.fd, this.wbuf, 0, this.wlen >>> 1, b.size); // a partial write first
        throw fault;
      }
      while (written < this.wlen) written += writeSync(b.fd, this.wbuf, written, this.wlen - written, b.size + written);
    } catch (err) {
      this.failWrite(err, d);
      return;
    }
    b.size += this.wlen;
    this.wlen = 0;
    this.nWrites++;
    this.writtenGen++;
    this.nextFlush = null;
    if (d !== null) this.afterWrite(d);
  }

  private afterWrite(d: Deferred): void {
    if (this.syncAlways) { this.awaitingSync.push(d); this.kickSync(false); }
    else d.resolve();
  }

  /**
   * A write failed (ENOSPC, EIO …): cut what reached the file back to the last good record,
   * fail the waiting batch, and rebuild the index from disk on the next microtask, so the
   * provisional messages vanish and everything written before stays.
   */
  private failWrite(err: unknown, d: Deferred | null): void {
    try { ftruncateSync(this.active.fd, this.active.size); } catch { /* the rebuild cuts it */ }
    this.wlen = 0;
    this.nextFlush = null;
    this.floorPending = false;
    if (!this.reloadPending) {
      this.warn(`file store ${this.dir}: write failed: ${String(err)}`);
      this.reloadPending = true;
      queueMicrotask(() => this.reload());
    }
    d?.reject(new StoreError(StoreErrorCode.WriteFailed, `write failed: ${String(err)}`, { cause: err }));
  }

  private reload(): void {
    if (this.closed) return;
    const assigned = this.last;
    const assignedTs = this.lastTs;
    for (const b of this.blocks.values()) if (b.fd >= 0) this.closeFd(b);
    this.blocks.clear();
    this.readFds = [];
    this.resetIndex();
    this.wlen = 0;
    this.reloadPending = false;
    this.recover();
    // Sequences handed out for the failed batch are not reused in this process.
    if (this.last < assigned) {
      this.last = assigned;
      this.lastTs = assignedTs;
      if (this.msgs === 0) { this.first = assigned + 1; this.table.clear(this.first); }
    }
    if (this.limits.maxAgeMs > 0) this.scheduleAgeCheck();
  }

  private kickSync(interval: boolean): void {
    if (this.syncInFlight || this.closed) return;
    if (!interval && this.awaitingSync.length === 0) return;
    if (interval && this.syncedGen === this.writtenGen) return;
    const batch = this.awaitingSync;
    this.awaitingSync = [];
    const gen = this.writtenGen;
    const fd = this.active.fd;
    this.syncInFlight = true;
    this.nFsyncs++;
    fsync(fd, (err) => {
      this.syncInFlight = false;
      if (this.deferredCloses.delete(fd)) closeSync(fd);
      if (err !== null) {
        this.warn(`file store ${this.dir}: fsync failed: ${String(err)}`);
        const se = new StoreError(StoreErrorCode.WriteFailed, `fsync failed: ${String(err)}`, { cause: err });
        for (const d of batch) d.reject(se);
      } else {
        if (gen > this.syncedGen) this.syncedGen = gen;
        for (const d of batch) d.resolve();
      }
      this.kickSync(false);
    });
  }

  whenDurable(_seq: number): Promise<void> {
    if (this.closed) return resolved;
    // Conservative and cheap: wait for everything buffered now, which includes seq.
    if (this.wlen > 0 || this.floorPending) {
      if (this.nextFlush === null) this.nextFlush = deferred();
      return this.nextFlush.promise;
    }
    if (this.syncAlways && this.syncedGen < this.writtenGen) {
      const d = deferred();
      this.awaitingSync.push(d);
      this.kickSync(false);
      return d.promise;
    }
    return resolved;
  }

  async flush(): Promise<void> {
    if (this.closed) return;
    this.flushWrites();
    if (this.reloadPending) throw new StoreError(StoreErrorCode.WriteFailed, "write failed");
    const gen = this.writtenGen;
    const fd = this.active.fd;
    await new Promise<void>((res, rej) => fsync(fd, (err) => (err === null ? res() : rej(err))));
    if (gen > this.syncedGen) this.syncedGen = gen;
  }

  /** I/O counters (for monitoring, and to show batching and group commit at work). */
  ioStats(): IoStats {
    return {
      writes: this.nWrites, fsyncs: this.nFsyncs, reads: this.ra.reads, scanned: this.nScanned, snapshot: this.fromSnapshot,
      blocks: this.blocks.size, loads: this.cols.loads, cachedBytes: this.cols.cachedBytes,
    };
  }

  // ---- hooks ---------------------------------------------------------------------------------

  msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return fileStoreMsgSize(subject, hdr, data);
  }

  protected validate(subject: string, hdr: Buffer | null, data: Buffer): void {
    if (subject.length === 0) throw new StoreError(StoreErrorCode.InvalidArgument, "subject required");
    if (subject.length > MAX_SUBJECT) throw new StoreError(StoreErrorCode.MsgTooLarge, "subject too long");
    if (recordLength(subject, hdr, data) > 0xfffffff0) throw new StoreError(StoreErrorCode.MsgTooLarge, "message too large");
  }

  protected persistStore(seq: number, ts: bigint, subject: string, hdr: Buffer | null, data: Buffer, size: number): MsgEntry {
    const off = this.encode(RecordKind.Msg, seq, ts, subject, hdr, data);
    const a = this.active;
    a.live++;
    if (a.minMsg === 0) a.minMsg = seq;
    a.maxMsg = seq;
    return new MsgEntry(seq, subject, ts, size, hdr === null ? 0 : hdr.length, null, null, this.active.id, off, recordLength(subject, hdr, data));
  }

  protected persistSkip(seq: number): void {
    this.encode(RecordKind.Skip, seq, this.clock.now(), "", null, null);
  }

  protected persistRemove(e: MsgEntry, erase: boolean, wasFirst: boolean, bulk: boolean): void {
    const b = this.blocks.get(e.block);
    if (b !== undefined) b.live--;
    if (!bulk) {
      // Removal from the front is covered by one Floor record per write batch.
      if (wasFirst) { this.floorPending = true; this.scheduleFlush(); }
      else { this.encode(RecordKind.Tomb, e.seq, 0n, "", null, null); this.active.tombs.push(e.seq); }
    }
    if (erase && b !== undefined) this.overwrite(b, e);
    if (b !== undefined && b.live === 0 && b !== this.active && !this.removing) this.removeBlock(b);
  }

  /** Erase: rewrite the record in place, zeroed, as kind Erased. */
  private overwrite(b: Block, e: MsgEntry): void {
    const rec = erasedRecord(e.seq, e.ts, e.len);
    this.ra.forget(b);
    if (b === this.active && e.off >= b.size) {
      rec.copy(this.wbuf, e.off - b.size);
    } else {
      try { unlinkSync(b.idxPath); } catch { /* none */ }
      if (b !== this.active) this.staleIndex.add(b);
      try { writeSync(this.openFd(b), rec, 0, rec.length, e.off); } catch (err) {
        this.warn(`file store ${this.dir}: erase of ${e.seq} failed: ${String(err)}`);
      }
    }
    if (b === this.active) {
      this.activeIndex.erase(e.off);
    }
  }

  protected persistFloor(): void {
    this.floorPending = true;
    this.encode(RecordKind.Last, this.last, this.lastTs, "", null, null);
    for (const b of [...this.blocks.values()]) {
      if (b !== this.active && b.live === 0) this.removeBlock(b);
    }
  }

  protected persistPurgeAll(): void {
    // A fresh block whose Floor covers everything, durable before the old blocks go.
    const old = [...this.blocks.values()];
    this.rollover();
    this.flushWrites();
    if (this.reloadPending) return;
    fsyncSync(this.active.fd);
    for (const b of old) if (b !== this.active) this.removeBlock(b);
  }

  /**
   * Delete a block none of whose messages is live. A block that is not the oldest may hold
   * tombstones for messages in older blocks: those are re-written to the active block (and
   * synced) first, or the messages would come back after a restart.
   */
  private removeBlock(b: Block): void {
    this.ra.forget(b);
    let oldest = true;
    for (const id of this.blocks.keys()) if (id < b.id) { oldest = false; break; }
    if (!oldest) {
      // Only tombstones whose message is still on disk in another block matter.
      const others = [...this.blocks.values()].filter((o) => o !== b && o.maxMsg > 0);
      const carry = b.tombs.filter((t) => t >= this.first && others.some((o) => t >= o.minMsg && t <= o.maxMsg));
      this.removing = true;
      try {
        for (const t of carry) { this.encode(RecordKind.Tomb, t, 0n, "", null, null); this.active.tombs.push(t); }
        this.floorPending = true;
        this.flushWrites();
      } finally { this.removing = false; }
      if (this.reloadPending) return;
      fsyncSync(this.active.fd);
    }
    if (b.fd >= 0) this.closeFd(b);
    this.blocks.delete(b.id);
    try { unlinkSync(b.path); } catch { /* gone */ }
    try { unlinkSync(b.idxPath); } catch { /* none */ }
  }

  private closeFd(b: Block): void {
    const i = this.readFds.indexOf(b);
    if (i >= 0) this.readFds.splice(i, 1);
    // An fsync may still be running on it in the thread pool: close when it ends.
    if (this.syncInFlight) this.deferredCloses.add(b.fd);
    else closeSync(b.fd);
    b.fd = -1;
  }

  protected readMsg(e: MsgEntry): StoredMsg | null {
    const b = this.blocks.get(e.block);
    if (b === undefined) return null;
    let buf: Buffer;
    let at: number;
    if (b === this.active && e.off >= b.size) {
      const rel = e.off - b.size;
      if (rel + e.len > this.wlen) return null;
      buf = Buffer.from(this.wbuf.subarray(rel, rel + e.len));
      at = 0;
    } else {
      buf = this.ra.read(b, () => this.openFd(b), e.off, e.len);
      at = this.ra.at;
      if (at < 0) return null;
    }
    const m = storedAt(buf, at, e);
    if (m === null) this.warn(`file store ${this.dir}: message ${e.seq} unreadable in block ${b.id}`);
    return m;
  }

  protected async release(): Promise<void> {
    if (this.syncTimer !== null) { clearInterval(this.syncTimer); this.syncTimer = null; }
    const a = this.active;
    try {
      fsyncSync(a.fd);
      writeIndexBuffer(a.idxPath, this.activeIndex.finish(a.size, fstatSync(a.fd).mtimeMs));
    } catch (err) {
      this.warn(`file store ${this.dir}: index not written on close: ${String(err)}`);
    }
    // A sealed block with an erased record lost its index file; without it the next start-up
    // would read the block whole.
    for (const b of this.staleIndex) {
      if (this.blocks.get(b.id) !== b) continue;
      try {
        const buf = readFileSync(b.path);
        const scan = scanBlock(buf);
        if (scan.corrupt.length === 0 && scan.validEnd === buf.length) {
          writeIndexBuffer(b.idxPath, encodeIndex(buf.length, statSync(b.path).mtimeMs, scan.records));
        }
      } catch (err) {
        this.warn(`file store ${this.dir}: block ${b.id}: index not written on close: ${String(err)}`);
      }
    }
    this.staleIndex.clear();
    this.saveSnapshot();
    while (this.syncInFlight) await new Promise((r) => setImmediate(r));
    for (const d of this.awaitingSync) d.resolve();
    this.awaitingSync = [];
    for (const b of this.blocks.values()) if (b.fd >= 0) { closeSync(b.fd); b.fd = -1; }
  }

  /** At a clean close: the whole index in one file, for a start-up that does not rebuild it. */
  private saveSnapshot(): void {
    if (this.reloadPending || this.wlen > 0) return;
    try {
      const blocks: SnapBlock[] = [];
      for (const b of [...this.blocks.values()].sort((x, y) => x.id - y.id)) {
        const st = statSync(b.path);
        if (st.size !== b.size) return;
        blocks.push({ id: b.id, size: b.size, mtimeMs: st.mtimeMs, live: b.live, minMsg: b.minMsg, maxMsg: b.maxMsg, tombs: b.tombs });
      }
      writeSnapshot(this.dir, {
        first: this.first, last: this.last, firstTs: this.firstTs, lastTs: this.lastTs, msgs: this.msgs, bytes: this.bytes, blocks,
      }, this.cols, this.subjects);
    } catch (err) {
      this.warn(`file store ${this.dir}: index snapshot not written: ${String(err)}`);
    }
  }

  async delete(): Promise<void> {
    if (!this.closed) await this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
