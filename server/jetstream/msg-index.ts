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
const PAGE = 512;
const NO_PAGES: Float64Array[] = [];
const NO_NUMS: number[] = [];

/**
 * Ascending sequences of one subject, in pages of Float64Array (8 bytes a message, where a JS
 * array of numbers costs that plus its growth slack). Pages never grow once full, so a long list
 * costs no reallocation, and the malloc heap is not left full of the holes that one array per
 * subject, reallocated as it grows, made (that roughly doubled RSS over live memory). Only the
 * first page of a list grows (from 4), so a short list stays small; a subject with one message
 * (KV keys, mostly) keeps it in a field and has no page at all. Removal is almost always from
 * the front (limits, age, per-subject max): a moving head, and whole pages dropped.
 */
export class SeqList {
  // Empty arrays shared by every list without pages: a KV bucket has a list per key, mostly of
  // one message, and three arrays each were ~100 bytes a key. Replaced, never mutated, while empty.
  private pages: Float64Array[] = NO_PAGES;
  /** Used range [starts[i], ends[i]) of pages[i]; never empty. */
  private starts: number[] = NO_NUMS;
  private ends: number[] = NO_NUMS;
  private n = 0;
  /** The only sequence while there are no pages; 0 for an empty list. */
  private one = 0;

  get count(): number { return this.pages.length === 0 ? (this.one === 0 ? 0 : 1) : this.n; }
  get first(): number { return this.pages.length === 0 ? this.one : this.pages[0]![this.starts[0]!]!; }
  get last(): number {
    const k = this.pages.length - 1;
    return k < 0 ? this.one : this.pages[k]![this.ends[k]! - 1]!;
  }

  push(seq: number): void {
    if (this.pages.length === 0) {
      if (this.one === 0) { this.one = seq; return; }
      const p = new Float64Array(4);
      p[0] = this.one;
      this.pages = [p]; this.starts = [0]; this.ends = [1];
      this.n = 1;
      this.one = 0;
    }
    const k = this.pages.length - 1;
    let p = this.pages[k]!;
    const e = this.ends[k]!;
    if (e === p.length) {
      if (p.length < PAGE && (this.starts[k] === 0 || k > 0)) {
        // The first page (and a short last one from fromSorted) grows until it is a full page.
        const bigger = new Float64Array(Math.min(PAGE, p.length * 2));
        bigger.set(p);
        this.pages[k] = p = bigger;
      } else {
        p = new Float64Array(PAGE);
        this.pages.push(p); this.starts.push(0); this.ends.push(0);
        p[0] = seq;
        this.ends[k + 1] = 1;
        this.n++;
        return;
      }
    }
    p[e] = seq;
    this.ends[k] = e + 1;
    this.n++;
  }

  remove(seq: number): void {
    if (this.pages.length === 0) { if (this.one === seq) this.one = 0; return; }
    let k: number;
    let i: number;
    if (this.pages[0]![this.starts[0]!] === seq) { k = 0; i = this.starts[0]!; this.starts[0] = i + 1; }
    else {
      k = this.pageFor(seq);
      if (k >= this.pages.length) return;
      i = this.lowerBoundIn(k, seq);
      const p = this.pages[k]!;
      if (i >= this.ends[k]! || p[i] !== seq) return;
      p.copyWithin(i, i + 1, this.ends[k]!);
      this.ends[k]!--;
    }
    this.n--;
    if (this.starts[k] === this.ends[k]) { this.pages.splice(k, 1); this.starts.splice(k, 1); this.ends.splice(k, 1); }
    if (this.n <= 1) {
      this.one = this.n === 1 ? this.pages[0]![this.starts[0]!]! : 0;
      this.pages = NO_PAGES; this.starts = NO_NUMS; this.ends = NO_NUMS;
      this.n = 0;
    }
  }

  /** Index of the first page whose last sequence is ≥ seq (pages.length when none). */
  private pageFor(seq: number): number {
    let lo = 0;
    let hi = this.pages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pages[mid]![this.ends[mid]! - 1]! < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Index in page k of its first sequence ≥ seq. */
  private lowerBoundIn(k: number, seq: number): number {
    const p = this.pages[k]!;
    let lo = this.starts[k]!;
    let hi = this.ends[k]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First sequence ≥ seq, 0 when none. */
  nextFrom(seq: number): number {
    if (this.pages.length === 0) return this.one >= seq ? this.one : 0;
    const k = this.pageFor(seq);
    return k < this.pages.length ? this.pages[k]![this.lowerBoundIn(k, seq)]! : 0;
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

  /** The sequences in one array (for the file store's snapshot). */
  toFloat64(): Float64Array {
    if (this.pages.length === 0) return this.one === 0 ? new Float64Array(0) : Float64Array.of(this.one);
    const out = new Float64Array(this.n);
    let at = 0;
    for (let k = 0; k < this.pages.length; k++) {
      out.set(this.pages[k]!.subarray(this.starts[k]!, this.ends[k]!), at);
      at += this.ends[k]! - this.starts[k]!;
    }
    return out;
  }

  /**
   * A list of these ascending sequences whose pages are views of `seqs`, not copies (the
   * snapshot reads every list into one array: no allocation or copy per page at start-up). The
   * array lives as long as one of its pages does; a full page is never written to again, the
   * last one is copied before it grows.
   */
  static fromSorted(seqs: Float64Array): SeqList {
    const l = new SeqList();
    if (seqs.length === 1) { l.one = seqs[0]!; return l; }
    if (seqs.length === 0) return l;
    l.pages = []; l.starts = []; l.ends = [];
    for (let at = 0; at < seqs.length; at += PAGE) {
      const end = Math.min(seqs.length, at + PAGE);
      l.pages.push(seqs.subarray(at, end)); l.starts.push(0); l.ends.push(end - at);
    }
    l.n = seqs.length;
    return l;
  }

  /** A copy, for callers that remove while iterating. */
  toArray(): number[] {
    if (this.pages.length === 0) return this.one === 0 ? [] : [this.one];
    const out: number[] = [];
    for (let k = 0; k < this.pages.length; k++) for (let i = this.starts[k]!; i < this.ends[k]!; i++) out.push(this.pages[k]![i]!);
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
