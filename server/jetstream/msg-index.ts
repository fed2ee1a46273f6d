// Tested by test/jetstream/store-contract.test.ts.
// In-memory index: per-subject sorted sequence lists (both stores), and the memory store's
// sequence → entry table (an object per message, holding its payload). The file store's table is
// column-index.ts: the same EntryTable contract, per block, in typed-array columns loaded lazily.

export class MsgEntry {
  constructor(
    readonly seq: number,
    readonly subject: string,
    readonly ts: bigint,
    /** This message's contribution to state bytes (store-specific msgSize). */
    readonly size: number,
    /** Length of its headers, 0 for none (known without reading the message). */
    readonly hdrLen: number,
    /** Memory store: the payload. File store: null (read from disk). */
    public hdr: Buffer | null,
    public data: Buffer | null,
    /** File store: block id, record offset and record length; -1/0/0 for the memory store. */
    readonly block: number,
    readonly off: number,
    readonly len: number,
  ) {}
}

/** Sequences a page of a SeqList holds (4 KiB). */
const PAGE = 1024;
/** Largest offset from its page's base a sequence may have in a page. */
const MAX_OFF = 0xffffffff;
const NO_PAGES: Uint32Array[] = [];
const NO_NUMS: number[] = [];
/** exportPages of a one-sequence list: one page, offset 0 (shared: a KV bucket has a million). */
const ONE_PAGE: Uint32Array[] = [Uint32Array.of(0)];

/**
 * Ascending sequences of one subject, in pages of Uint32Array holding each sequence's offset from
 * its page's base (the page's first sequence): 4 bytes a message, where a JS array of numbers
 * costs 8 plus its growth slack. A sequence more than 2^32 − 1 past its page's base starts a new
 * page. Pages never grow once full, so a long list costs no reallocation, and the malloc heap is
 * not left full of the holes that one array per subject, reallocated as it grows, made (that
 * roughly doubled RSS over live memory). Only the first page of a list grows (from 4), so a short
 * list stays small; a subject with one message (KV keys, mostly) keeps it in a field and has no
 * page at all. Removal is almost always from the front (limits, age, per-subject max): a moving
 * head, and whole pages dropped.
 */
export class SeqList {
  // Empty arrays shared by every list without pages: a KV bucket has a list per key, mostly of
  // one message, and four arrays each were ~100 bytes a key. Replaced, never mutated, while empty.
  private pages: Uint32Array[] = NO_PAGES;
  /** pages[i][j] is the sequence bases[i] + pages[i][j]. */
  private bases: number[] = NO_NUMS;
  /** Used range [starts[i], ends[i]) of pages[i]; never empty. */
  private starts: number[] = NO_NUMS;
  private ends: number[] = NO_NUMS;
  private n = 0;
  /** The only sequence while there are no pages; 0 for an empty list. */
  private one = 0;

  get count(): number { return this.pages.length === 0 ? (this.one === 0 ? 0 : 1) : this.n; }
  get first(): number { return this.pages.length === 0 ? this.one : this.bases[0]! + this.pages[0]![this.starts[0]!]!; }
  get last(): number {
    const k = this.pages.length - 1;
    return k < 0 ? this.one : this.bases[k]! + this.pages[k]![this.ends[k]! - 1]!;
  }

  private at(k: number, i: number): number { return this.bases[k]! + this.pages[k]![i]!; }

  /** Append a page holding seq alone (capacity cap). */
  private newPage(seq: number, cap: number): void {
    const p = new Uint32Array(cap);
    this.pages.push(p); this.bases.push(seq); this.starts.push(0); this.ends.push(1);
    this.n++;
  }

  push(seq: number): void {
    if (this.pages.length === 0) {
      if (this.one === 0) { this.one = seq; return; }
      this.pages = []; this.bases = []; this.starts = []; this.ends = [];
      this.n = 0;
      this.newPage(this.one, 4);
      this.one = 0;
    }
    const k = this.pages.length - 1;
    const base = this.bases[k]!;
    if (seq - base > MAX_OFF) { this.newPage(seq, PAGE); return; }
    let p = this.pages[k]!;
    const e = this.ends[k]!;
    if (e === p.length) {
      if (p.length < PAGE && (this.starts[k] === 0 || k > 0)) {
        // The first page (and a short last one from fromSnapshot) grows until it is a full page.
        const bigger = new Uint32Array(Math.min(PAGE, p.length * 2));
        bigger.set(p);
        this.pages[k] = p = bigger;
      } else {
        this.newPage(seq, PAGE);
        return;
      }
    }
    p[e] = seq - base;
    this.ends[k] = e + 1;
    this.n++;
  }

  remove(seq: number): void {
    if (this.pages.length === 0) { if (this.one === seq) this.one = 0; return; }
    let k: number;
    if (this.first === seq) { k = 0; this.starts[0]!++; }
    else {
      k = this.pageFor(seq);
      if (k >= this.pages.length) return;
      const i = this.lowerBoundIn(k, seq);
      const p = this.pages[k]!;
      if (i >= this.ends[k]! || this.bases[k]! + p[i]! !== seq) return;
      p.copyWithin(i, i + 1, this.ends[k]!);
      this.ends[k]!--;
    }
    this.n--;
    if (this.starts[k] === this.ends[k]) {
      this.pages.splice(k, 1); this.bases.splice(k, 1); this.starts.splice(k, 1); this.ends.splice(k, 1);
    }
    if (this.n <= 1) {
      this.one = this.n === 1 ? this.at(0, this.starts[0]!) : 0;
      this.pages = NO_PAGES; this.bases = NO_NUMS; this.starts = NO_NUMS; this.ends = NO_NUMS;
      this.n = 0;
    }
  }

  /** Index of the first page whose last sequence is ≥ seq (pages.length when none). */
  private pageFor(seq: number): number {
    let lo = 0;
    let hi = this.pages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid, this.ends[mid]! - 1) < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Index in page k of its first sequence ≥ seq. */
  private lowerBoundIn(k: number, seq: number): number {
    const p = this.pages[k]!;
    const off = seq - this.bases[k]!;
    let lo = this.starts[k]!;
    let hi = this.ends[k]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < off) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First sequence ≥ seq, 0 when none. */
  nextFrom(seq: number): number {
    if (this.pages.length === 0) return this.one >= seq ? this.one : 0;
    const k = this.pageFor(seq);
    return k < this.pages.length ? this.at(k, this.lowerBoundIn(k, seq)) : 0;
  }

  countFrom(seq: number): number {
    if (this.pages.length === 0) return this.one !== 0 && this.one >= seq ? 1 : 0;
    const k = this.pageFor(seq);
    const np = this.pages.length;
    if (k >= np) return 0;
    const inPage = this.ends[k]! - this.lowerBoundIn(k, seq);
    // Sum the shorter side: the pages after k, or (from the total) the pages before it.
    let n = 0;
    if (np - k < k) { for (let j = k + 1; j < np; j++) n += this.ends[j]! - this.starts[j]!; return inPage + n; }
    for (let j = 0; j < k; j++) n += this.ends[j]! - this.starts[j]!;
    return this.n - n - (this.ends[k]! - this.starts[k]!) + inPage;
  }

  /** Pages in use (for the snapshot's layout). */
  get pageCount(): number { return this.pages.length; }

  /**
   * For the file store's snapshot: each page's base and used length (into `heads`, two numbers a
   * page) and its used offsets (the views returned, ready to write as they are).
   */
  exportPages(heads: number[]): Uint32Array[] {
    if (this.pages.length === 0) { heads.push(this.one, 1); return ONE_PAGE; }
    const out: Uint32Array[] = [];
    for (let k = 0; k < this.pages.length; k++) {
      const s = this.starts[k]!;
      heads.push(this.bases[k]! + this.pages[k]![s]!, this.ends[k]! - s);
      const first = this.pages[k]![s]!;
      if (first === 0) out.push(this.pages[k]!.subarray(s, this.ends[k]!));
      else out.push(this.pages[k]!.slice(s, this.ends[k]!).map((o) => o - first)); // rebased on its first
    }
    return out;
  }

  /**
   * A list whose pages are the given views (offsets from their bases, ascending, as exportPages
   * wrote them): the snapshot reads every list into one array, so start-up allocates and copies
   * nothing per page. The array lives as long as one of its pages does; a full page is never
   * written again, a short last one is copied before it grows.
   */
  static fromPages(bases: number[], pages: Uint32Array[]): SeqList {
    const l = new SeqList();
    let n = 0;
    for (const p of pages) n += p.length;
    if (n === 0) return l;
    if (n === 1) { l.one = bases[0]! + pages[0]![0]!; return l; }
    l.pages = pages; l.bases = bases;
    l.starts = pages.map(() => 0); l.ends = pages.map((p) => p.length);
    l.n = n;
    return l;
  }

  /** A list of one sequence (a KV key's, mostly). */
  static single(seq: number): SeqList {
    const l = new SeqList();
    l.one = seq;
    return l;
  }

  /** A list of these ascending sequences (tests). */
  static fromSorted(seqs: ArrayLike<number>): SeqList {
    const l = new SeqList();
    for (let i = 0; i < seqs.length; i++) l.push(seqs[i]!);
    return l;
  }

  /** A copy, for callers that remove while iterating. */
  toArray(): number[] {
    if (this.pages.length === 0) return this.one === 0 ? [] : [this.one];
    const out: number[] = [];
    for (let k = 0; k < this.pages.length; k++) for (let i = this.starts[k]!; i < this.ends[k]!; i++) out.push(this.at(k, i));
    return out;
  }
}

/** What the stores need of a sequence → message index (SeqTable, or column-index.ts). */
export interface EntryTable {
  /** The entry for a live sequence (may be built on demand: do not keep it). */
  get(seq: number): MsgEntry | undefined;
  has(seq: number): boolean;
  subjectOf(seq: number): string | undefined;
  /** Time of a live sequence, 0n when none. */
  tsOf(seq: number): bigint;
  hasHeaders(seq: number): boolean;
  /** Place an entry (or a hole) at seq, which must be past everything placed so far. */
  put(seq: number, e: MsgEntry | undefined): void;
  delete(seq: number): void;
  /** First live sequence in [from, to], 0 when none. */
  nextLive(from: number, to: number): number;
  /** Last live sequence in [from, to], 0 when none. */
  prevLive(from: number, to: number): number;
  /** Everything below first is a hole: memory for it may go. */
  trim(first: number): void;
  clear(nextSeq: number): void;
  /** First live sequence in [from, to] with headers, 0 when none (optional: else hasHeaders per sequence). */
  nextWithHeaders?(from: number, to: number): number;
  /** First live sequence in [from, to] stored at or after ts, 0 when none (optional: else a binary search over tsOf). */
  seqFromTime?(ts: bigint, from: number, to: number): number;
}

/**
 * Sequence → entry over [base, base + entries.length). Holes (undefined) are deleted or skipped
 * sequences. The dead prefix is sliced off once it is both long and most of the array, so the
 * amortised cost of removing from the front stays O(1).
 */
export class SeqTable implements EntryTable {
  private entries: (MsgEntry | undefined)[] = [];
  private base = 1;

  get(seq: number): MsgEntry | undefined {
    return seq >= this.base ? this.entries[seq - this.base] : undefined;
  }

  has(seq: number): boolean { return this.get(seq) !== undefined; }
  subjectOf(seq: number): string | undefined { return this.get(seq)?.subject; }
  tsOf(seq: number): bigint { return this.get(seq)?.ts ?? 0n; }
  hasHeaders(seq: number): boolean { return (this.get(seq)?.hdrLen ?? 0) > 0; }

  /** Place an entry (or a hole) at seq, which must be past everything placed so far. */
  put(seq: number, e: MsgEntry | undefined): void {
    if (this.entries.length === 0) this.base = seq;
    const idx = seq - this.base;
    while (this.entries.length < idx) this.entries.push(undefined);
    this.entries.push(e);
  }

  delete(seq: number): void {
    const i = seq - this.base;
    if (i >= 0 && i < this.entries.length) this.entries[i] = undefined;
  }

  /** First live sequence in [from, to], 0 when none. */
  nextLive(from: number, to: number): number {
    const start = Math.max(from, this.base) - this.base;
    const end = Math.min(to - this.base, this.entries.length - 1);
    for (let i = start; i <= end; i++) if (this.entries[i] !== undefined) return i + this.base;
    return 0;
  }

  /** Last live sequence in [from, to], 0 when none. */
  prevLive(from: number, to: number): number {
    const start = Math.max(from, this.base) - this.base;
    const end = Math.min(to - this.base, this.entries.length - 1);
    for (let i = end; i >= start; i--) if (this.entries[i] !== undefined) return i + this.base;
    return 0;
  }

  /** Drop everything below first (they are all holes by then). */
  trim(first: number): void {
    const k = first - this.base;
    if (k > 1024 && k * 2 > this.entries.length) {
      this.entries = this.entries.slice(k);
      this.base = first;
    }
  }

  clear(nextSeq: number): void {
    this.entries = [];
    this.base = nextSeq;
  }
}
