// Tested by test/jetstream/store-contract.test.ts.
// The semantics every store shares (sequences, limits, purge/compact rules, filtered reads),
// written once so the memory and file stores cannot drift apart. Subclasses only decide where
// bytes live: the persist* hooks are told about each change after the index has made it.

import { hasWildcard, subjectMatcher } from "../../protocol/subject.js";
import { MsgEntry, SeqList, SeqTable, type EntryTable } from "./msg-index.js";
import {
  NO_LIMITS, NsClock, StoreError, StoreErrorCode,
  type PurgeRequest, type RemoveCallback, type StorageType, type StoredMsg, type StoreLimits,
  type StoreResult, type StreamState, type StreamStore, type SubjectState,
} from "./store.js";

/** Sequences a wildcard loadNextMsg walks before it asks the subjects' lists. */
const NEAR_WALK = 64;
/** The most subject lists matchingLists keeps for one filter. */
const MAX_MATCHED = 4096;

export abstract class BaseStore implements StreamStore {
  abstract readonly type: StorageType;
  onRemove: RemoveCallback | null = null;

  protected limits: StoreLimits = { ...NO_LIMITS };
  protected readonly table: EntryTable;
  protected readonly subjects = new Map<string, SeqList>();
  protected first = 0;
  protected last = 0;
  protected firstTs = 0n;
  protected lastTs = 0n;
  protected msgs = 0;
  protected bytes = 0;
  protected closed = false;
  /** See StreamStore.generation. */
  private gen = 0;
  /** Moves whenever a subject is added to or leaves `subjects` (a list object is replaced). */
  protected subjectsChanged = 0;
  /** The lists of the subjects one wildcard filter matches, while no subject came or went. */
  private matched: { filter: string; at: number; lists: SeqList[] } | null = null;
  protected readonly clock = new NsClock();
  private ageTimer: NodeJS.Timeout | null = null;

  constructor(table: EntryTable = new SeqTable()) {
    this.table = table;
  }

  // ---- hooks -------------------------------------------------------------------------------

  abstract msgSize(subject: string, hdr: Buffer | null, data: Buffer): number;
  /** Throw StoreError(MsgTooLarge) if the message cannot be stored; called before any change. */
  protected abstract validate(subject: string, hdr: Buffer | null, data: Buffer): void;
  /** Keep the message; returns the entry to index (with payload or disk location). */
  protected abstract persistStore(seq: number, ts: bigint, subject: string, hdr: Buffer | null, data: Buffer, size: number): MsgEntry;
  protected abstract persistSkip(seq: number): void;
  /**
   * A message left the index. wasFirst: first_seq moved past it (a floor covers it).
   * bulk: part of purge/compact, which will call persistFloor / persistPurgeAll afterwards.
   */
  protected abstract persistRemove(e: MsgEntry, erase: boolean, wasFirst: boolean, bulk: boolean): void;
  /** first/last changed by compact or purge: record the new floor. */
  protected abstract persistFloor(): void;
  protected abstract persistPurgeAll(): void;
  protected abstract readMsg(e: MsgEntry): StoredMsg | null;
  abstract whenDurable(seq: number): Promise<void>;
  abstract flush(): Promise<void>;
  protected abstract release(): Promise<void>;
  abstract delete(): Promise<void>;

  // ---- writes ------------------------------------------------------------------------------

  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts?: bigint): StoreResult {
    this.checkOpen();
    if (hdr !== null && hdr.length === 0) hdr = null;
    this.validate(subject, hdr, data);
    const seq = this.last + 1;
    const t = ts ?? this.clock.now();
    const size = this.msgSize(subject, hdr, data);
    const e = this.persistStore(seq, t, subject, hdr, data, size);
    this.index(e);
    this.enforceOnStore(subject);
    if (this.limits.maxAgeMs > 0 && this.ageTimer === null) this.scheduleAgeCheck();
    return { seq, ts: t };
  }

  /** Add a stored entry to the index (also used by the file store's recovery). */
  protected index(e: MsgEntry): void {
    if (this.msgs === 0) { this.first = e.seq; this.firstTs = e.ts; }
    this.table.put(e.seq, e);
    this.msgs++;
    this.bytes += e.size;
    if (e.seq > this.last) { this.last = e.seq; this.lastTs = e.ts; }
    let list = this.subjects.get(e.subject);
    if (list === undefined) { list = new SeqList(); this.subjects.set(e.subject, list); this.subjectsChanged++; }
    list.push(e.seq);
  }

  /**
   * index() for a message its store has already placed in the table (the file store's recovery,
   * which writes the columns straight from its index files). Leaves last/lastTs to the caller.
   */
  protected indexPlaced(seq: number, subject: string, size: number): void {
    if (this.msgs === 0) { this.first = seq; this.firstTs = this.table.tsOf(seq); }
    this.msgs++;
    this.bytes += size;
    let list = this.subjects.get(subject);
    if (list === undefined) { list = new SeqList(); this.subjects.set(subject, list); this.subjectsChanged++; }
    list.push(seq);
  }

  skipMsg(seq?: number): number {
    this.checkOpen();
    const next = this.last + 1;
    if (seq !== undefined && seq !== next) {
      throw new StoreError(StoreErrorCode.SequenceMismatch, `expected sequence ${next}, got ${seq}`);
    }
    this.last = next;
    if (this.lastTs === 0n) this.lastTs = this.clock.now();
    if (this.msgs === 0) {
      this.first = next + 1;
      this.firstTs = 0n;
      this.table.clear(next + 1);
    } else {
      this.table.put(next, undefined);
    }
    this.persistSkip(next);
    return next;
  }

  removeMsg(seq: number): boolean { return this.removeOne(seq, false); }
  eraseMsg(seq: number): boolean { return this.removeOne(seq, true); }

  private removeOne(seq: number, erase: boolean): boolean {
    this.checkOpen();
    const e = this.table.get(seq);
    if (e === undefined) return false;
    this.unindex(e, erase, false);
    return true;
  }

  /** Take one entry out of the index, tell the subclass, then the callback. */
  protected unindex(e: MsgEntry, erase: boolean, bulk: boolean): void {
    const seq = e.seq;
    this.table.delete(seq);
    this.msgs--;
    this.bytes -= e.size;
    const list = this.subjects.get(e.subject);
    if (list !== undefined) {
      list.remove(seq);
      if (list.count === 0) { this.subjects.delete(e.subject); this.subjectsChanged++; }
    }
    const wasFirst = seq === this.first;
    if (wasFirst && !bulk) this.advanceFirst();
    this.persistRemove(e, erase, wasFirst, bulk);
    this.onRemove?.(seq, e.subject);
  }

  private advanceFirst(): void {
    if (this.msgs === 0) {
      this.first = this.last + 1;
      this.firstTs = 0n;
      this.table.clear(this.first);
      return;
    }
    const next = this.table.nextLive(this.first + 1, this.last);
    this.first = next;
    this.firstTs = this.table.tsOf(next);
    this.table.trim(next);
  }

  purge(req: PurgeRequest = {}): number {
    this.checkOpen();
    const seq = req.seq ?? 0;
    const keep = req.keep ?? 0;
    let filter = req.filter ?? "";
    if (seq === 1) return 0;
    if (filter === "" || filter === ">") {
      if (keep === 0 && seq === 0) return this.purgeAll();
      if (seq > 1) return this.compact(seq);
      filter = ">";
    }
    const candidates = this.matchingSeqs(filter, 1, seq > 1 ? seq - 1 : this.last);
    let toRemove = candidates.length;
    if (keep > 0) {
      const total = this.numPending(filter, 0);
      if (keep >= total) return 0;
      toRemove = Math.min(toRemove, total - keep);
    }
    let purged = 0;
    for (let i = 0; i < toRemove; i++) {
      const e = this.table.get(candidates[i]!);
      if (e === undefined) continue;
      this.unindex(e, false, false);
      purged++;
    }
    return purged;
  }

  private purgeAll(): number {
    const removed = this.drainBelow(this.last + 1);
    this.first = this.last + 1;
    this.firstTs = 0n;
    this.table.clear(this.first);
    this.persistPurgeAll();
    return removed;
  }

  compact(seq: number): number {
    this.checkOpen();
    if (seq <= 0) return this.purgeAll();
    if (this.first > seq) return 0;
    const removed = this.drainBelow(seq);
    if (seq <= this.last) {
      const next = this.msgs > 0 ? this.table.nextLive(seq, this.last) : 0;
      if (next === 0) { this.first = this.last + 1; this.firstTs = 0n; this.table.clear(this.first); }
      else { this.first = next; this.firstTs = this.table.tsOf(next); this.table.trim(next); }
    } else {
      // Past the end: the next message stored gets seq.
      this.last = seq - 1;
      this.first = seq;
      this.firstTs = 0n;
      this.table.clear(seq);
    }
    this.persistFloor();
    return removed;
  }

  /** Remove every message below seq (bulk: the caller persists one floor for all of them). */
  private drainBelow(seq: number): number {
    let removed = 0;
    if (this.msgs === 0) return 0;
    for (let s = this.first; s < seq && s <= this.last; s++) {
      const e = this.table.get(s);
      if (e === undefined) continue;
      this.unindex(e, false, true);
      removed++;
    }
    return removed;
  }

  // ---- limits ------------------------------------------------------------------------------

  updateConfig(limits: StoreLimits): void {
    this.checkOpen();
    this.limits = { ...limits };
    this.enforceMsgsAndBytes();
    const maxp = this.limits.maxMsgsPerSubject;
    if (maxp > 0) {
      for (const [subject, list] of [...this.subjects]) {
        if (list.count > maxp) this.enforcePerSubject(subject);
      }
    }
    if (this.ageTimer !== null) { clearTimeout(this.ageTimer); this.ageTimer = null; }
    if (this.limits.maxAgeMs > 0) this.expireAged();
  }

  private enforceOnStore(subject: string): void {
    if (this.limits.maxMsgsPerSubject > 0) this.enforcePerSubject(subject);
    this.enforceMsgsAndBytes();
  }

  private enforcePerSubject(subject: string): void {
    const maxp = this.limits.maxMsgsPerSubject;
    let list = this.subjects.get(subject);
    while (list !== undefined && list.count > maxp) {
      const e = this.table.get(list.first);
      if (e === undefined) break;
      this.unindex(e, false, false);
      list = this.subjects.get(subject);
    }
  }

  /** Discard old only: with discard new the stream layer refused the message before storing. */
  private enforceMsgsAndBytes(): void {
    if (this.limits.discard !== "old") return;
    const { maxMsgs, maxBytes } = this.limits;
    while ((maxMsgs > 0 && this.msgs > maxMsgs) || (maxBytes > 0 && this.bytes > maxBytes)) {
      const e = this.table.get(this.first);
      if (e === undefined) break;
      this.unindex(e, false, false);
    }
  }

  /** Arm one timer for when the oldest message reaches max_age. */
  protected scheduleAgeCheck(): void {
    if (this.closed || this.limits.maxAgeMs <= 0 || this.msgs === 0) return;
    const ageMs = Number((this.clock.now() - this.firstTs) / 1_000_000n);
    const delay = Math.max(0, this.limits.maxAgeMs - ageMs) + 1;
    this.ageTimer = setTimeout(() => { this.ageTimer = null; this.expireAged(); }, delay);
    this.ageTimer.unref();
  }

  private expireAged(): void {
    if (this.closed) return;
    const cutoff = this.clock.now() - BigInt(this.limits.maxAgeMs) * 1_000_000n;
    while (this.msgs > 0) {
      if (!this.table.has(this.first) || this.table.tsOf(this.first) > cutoff) break;
      this.unindex(this.table.get(this.first)!, false, false);
    }
    this.scheduleAgeCheck();
  }

  // ---- reads -------------------------------------------------------------------------------

  loadMsg(seq: number): StoredMsg | null {
    this.checkOpen();
    const e = this.table.get(seq);
    return e === undefined ? null : this.readMsg(e);
  }

  subjectOf(seq: number): string | null {
    this.checkOpen();
    return this.table.subjectOf(seq) ?? null;
  }

  loadNextMsg(filter: string, fromSeq: number, toSeq?: number): StoredMsg | null {
    this.checkOpen();
    const to = toSeq === undefined ? this.last : Math.min(toSeq, this.last);
    const seq = this.nextSeq(filter, Math.max(fromSeq, this.first, 1), to);
    return seq === 0 ? null : this.loadMsg(seq);
  }

  loadLastMsg(filter: string): StoredMsg | null {
    this.checkOpen();
    if (this.msgs === 0) return null;
    let seq = 0;
    if (filter === "" || filter === ">") seq = this.table.prevLive(this.first, this.last);
    else if (!hasWildcard(filter)) seq = this.subjects.get(filter)?.last ?? 0;
    else {
      const match = subjectMatcher(filter);
      for (const [subject, list] of this.subjects) if (list.last > seq && match(subject)) seq = list.last;
    }
    return seq === 0 ? null : this.loadMsg(seq);
  }

  /** First live sequence in [from, to] whose subject matches filter, 0 when none. */
  private nextSeq(filter: string, from: number, to: number): number {
    if (this.msgs === 0 || from > to) return 0;
    if (filter === "" || filter === ">") return this.table.nextLive(from, to);
    if (!hasWildcard(filter)) {
      const s = this.subjects.get(filter)?.nextFrom(from) ?? 0;
      return s <= to ? s : 0;
    }
    const match = this.matcher(filter);
    // A consumer reading in order mostly finds its next message close by: look a few sequences
    // ahead first (asking every subject's list was a walk of all subjects per delivery).
    const near = Math.min(to, from + NEAR_WALK - 1);
    for (let s = from; s <= near; s++) {
      const subject = this.table.subjectOf(s);
      if (subject !== undefined && match(subject)) return s;
    }
    from = near + 1;
    if (from > to) return 0;
    // Few subjects: ask each list; many: walk the sequence range.
    if (this.subjects.size < to - from + 1) {
      let best = 0;
      for (const list of this.matchingLists(filter)) {
        if (list.last < from || list.first > to || (best !== 0 && list.first >= best)) continue;
        const s = list.nextFrom(from);
        if (s !== 0 && s <= to && (best === 0 || s < best)) best = s;
      }
      return best;
    }
    for (let s = from; s <= to; s++) {
      const subject = this.table.subjectOf(s);
      if (subject !== undefined && match(subject)) return s;
    }
    return 0;
  }

  /**
   * The lists of the subjects matching a wildcard filter, kept while no subject comes or goes: a
   * consumer whose filter matches few of many subjects asks per delivery, and matching every
   * subject's name each time was the cost.
   */
  private matchingLists(filter: string): SeqList[] {
    const m = this.matched;
    if (m !== null && m.filter === filter && m.at === this.subjectsChanged) return m.lists;
    const match = this.matcher(filter);
    const lists: SeqList[] = [];
    for (const [subject, list] of this.subjects) if (match(subject)) lists.push(list);
    // Kept only while small: a filter matching most of a million subjects is not held on to.
    this.matched = lists.length <= MAX_MATCHED ? { filter, at: this.subjectsChanged, lists } : null;
    return lists;
  }

  private lastFilter = "";
  private lastMatch: (subject: string) => boolean = () => true;

  /** subjectMatcher, the last one kept: a consumer asks with the same filter per delivery. */
  private matcher(filter: string): (subject: string) => boolean {
    if (filter !== this.lastFilter) {
      this.lastMatch = subjectMatcher(filter);
      this.lastFilter = filter;
    }
    return this.lastMatch;
  }

  /** Live sequences in [from, to] whose subject matches, ascending. */
  private matchingSeqs(filter: string, from: number, to: number): number[] {
    const out: number[] = [];
    if (!hasWildcard(filter) && filter !== "") {
      const list = this.subjects.get(filter);
      if (list === undefined) return out;
      for (const s of list.toArray()) if (s >= from && s <= to) out.push(s);
      return out;
    }
    const match = subjectMatcher(filter);
    for (let s = Math.max(from, this.first); s <= to; s++) {
      const subject = this.table.subjectOf(s);
      if (subject !== undefined && match(subject)) out.push(s);
    }
    return out;
  }

  numPending(filter: string, fromSeq: number): number {
    this.checkOpen();
    const from = Math.max(fromSeq, this.first);
    if (this.msgs === 0 || from > this.last) return 0;
    const all = filter === "" || filter === ">";
    if (all && from <= this.first) return this.msgs;
    // No gaps between first and last (the usual case): a subtraction, not a walk. Consumers ask
    // this for every message they deliver (the pending count in the ack subject).
    if (all && this.msgs === this.last - this.first + 1) return this.last - from + 1;
    if (!all && !hasWildcard(filter)) return this.subjects.get(filter)?.countFrom(from) ?? 0;
    const match = all ? null : this.matcher(filter);
    let n = 0;
    if (this.subjects.size < this.last - from + 1) {
      for (const [subject, list] of this.subjects) {
        if (list.last >= from && (match === null || match(subject))) n += list.countFrom(from);
      }
      return n;
    }
    for (let s = from; s <= this.last; s++) {
      const subject = this.table.subjectOf(s);
      if (subject !== undefined && (match === null || match(subject))) n++;
    }
    return n;
  }

  get lastSeq(): number { return this.last; }
  get generation(): number { return this.gen; }

  lastSeqForSubject(subject: string): number {
    this.checkOpen();
    return this.subjects.get(subject)?.last ?? 0;
  }

  nextSeqWithHeaders(fromSeq: number): number {
    this.checkOpen();
    if (this.table.nextWithHeaders !== undefined) {
      return this.msgs === 0 ? 0 : this.table.nextWithHeaders(Math.max(fromSeq, this.first), this.last);
    }
    for (let seq = Math.max(fromSeq, this.first); seq <= this.last; seq++) {
      if (this.table.hasHeaders(seq)) return seq;
    }
    return 0;
  }

  seqFromTime(ts: bigint): number {
    this.checkOpen();
    if (this.table.seqFromTime !== undefined) {
      return (this.msgs === 0 ? 0 : this.table.seqFromTime(ts, this.first, this.last)) || this.last + 1;
    }
    // Binary search over [first, last]; a probe in a run of deleted sequences moves to the
    // next live one, and everything it skipped is known to be empty.
    let lo = this.first;
    let hi = this.last;
    let found = this.last + 1;
    while (this.msgs > 0 && lo <= hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const seq = this.table.nextLive(mid, hi);
      if (seq === 0) {
        hi = mid - 1;
      } else if (this.table.tsOf(seq) >= ts) {
        found = seq;
        hi = mid - 1;
      } else {
        lo = seq + 1;
      }
    }
    return found;
  }

  subjectsState(filter: string): Map<string, SubjectState> {
    this.checkOpen();
    const out = new Map<string, SubjectState>();
    if (filter !== "" && !hasWildcard(filter)) {
      const l = this.subjects.get(filter);
      if (l !== undefined) out.set(filter, { msgs: l.count, first_seq: l.first, last_seq: l.last });
      return out;
    }
    const match = subjectMatcher(filter);
    for (const [subject, l] of this.subjects) {
      if (match(subject)) out.set(subject, { msgs: l.count, first_seq: l.first, last_seq: l.last });
    }
    return out;
  }

  fastState(): StreamState {
    this.checkOpen();
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      first_seq: this.first,
      first_ts: this.firstTs,
      last_seq: this.last,
      last_ts: this.lastTs,
      num_deleted: this.msgs === 0 ? 0 : this.last - this.first + 1 - this.msgs,
      deleted: [],
      num_subjects: this.subjects.size,
    };
  }

  state(): StreamState {
    const st = this.fastState();
    if (st.num_deleted > 0) {
      for (let s = this.first; s <= this.last; s++) if (!this.table.has(s)) st.deleted.push(s);
    }
    return st;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    let failed: unknown = null;
    try { await this.flush(); } catch (err) { failed = err; }
    this.closed = true;
    if (this.ageTimer !== null) { clearTimeout(this.ageTimer); this.ageTimer = null; }
    await this.release();
    if (failed !== null) throw failed;
  }

  protected checkOpen(): void {
    if (this.closed) throw new StoreError(StoreErrorCode.Closed, "store is closed");
  }

  /** Reset the index (file store recovery after a failed write). */
  protected resetIndex(): void {
    this.gen++;
    this.table.clear(1);
    this.subjects.clear();
    this.subjectsChanged++;
    this.first = this.last = this.msgs = this.bytes = 0;
    this.firstTs = this.lastTs = 0n;
  }
}
