// Tested by test/jetstream/store-contract.test.ts.
// In-memory index: per-subject sorted sequence lists (both stores), and the memory store's
// sequence → entry table (an object per message, holding its payload). The file store's table is
// column-index.ts: the same EntryTable contract, in typed-array columns.

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

/**
 * Ascending sequences of one subject, in a Float64Array (8 bytes a message, where a JS array of
 * numbers costs that plus its growth slack and a per-list header twice as big). A subject with
 * one message (KV keys, mostly) keeps it in a field and no array at all. Removal is almost always
 * from the front (limits, age, per-subject max), so the front is a moving head index.
 */
export class SeqList {
  private a: Float64Array | null = null;
  private h = 0;
  private n = 0;
  /** The only sequence while a is null; 0 for an empty list. */
  private one = 0;

  get count(): number { return this.a === null ? (this.one === 0 ? 0 : 1) : this.n - this.h; }
  get first(): number { return this.a === null ? this.one : this.a[this.h]!; }
  get last(): number { return this.a === null ? this.one : this.a[this.n - 1]!; }

  push(seq: number): void {
    if (this.a === null) {
      if (this.one === 0) { this.one = seq; return; }
      this.a = new Float64Array(4);
      this.a[0] = this.one;
      this.h = 0;
      this.n = 1;
      this.one = 0;
    }
    if (this.n === this.a.length) {
      const live = this.n - this.h;
      if (this.h * 2 >= this.a.length) this.a.copyWithin(0, this.h, this.n);
      else {
        const b = new Float64Array(Math.ceil(live * 1.5) + 2);
        b.set(this.a.subarray(this.h, this.n));
        this.a = b;
      }
      this.h = 0;
      this.n = live;
    }
    this.a[this.n++] = seq;
  }

  remove(seq: number): void {
    const a = this.a;
    if (a === null) { if (this.one === seq) this.one = 0; return; }
    if (a[this.h] === seq) this.h++;
    else {
      const i = this.lowerBound(seq);
      if (i >= this.n || a[i] !== seq) return;
      a.copyWithin(i, i + 1, this.n);
      this.n--;
    }
    const live = this.n - this.h;
    if (live <= 1) { this.one = live === 1 ? a[this.h]! : 0; this.a = null; this.h = this.n = 0; }
    else if (live * 4 < a.length && a.length > 64) {
      this.a = a.slice(this.h, this.n + Math.ceil(live / 2));
      this.n = live;
      this.h = 0;
    }
  }

  /** Index of the first element ≥ seq (a is not null). */
  private lowerBound(seq: number): number {
    const a = this.a!;
    let lo = this.h;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First sequence ≥ seq, 0 when none. */
  nextFrom(seq: number): number {
    if (this.a === null) return this.one >= seq ? this.one : 0;
    const i = this.lowerBound(seq);
    return i < this.n ? this.a[i]! : 0;
  }

  countFrom(seq: number): number {
    if (this.a === null) return this.one !== 0 && this.one >= seq ? 1 : 0;
    return this.n - this.lowerBound(seq);
  }

  /** A copy, for callers that remove while iterating. */
  toArray(): number[] {
    if (this.a === null) return this.one === 0 ? [] : [this.one];
    return Array.from(this.a.subarray(this.h, this.n));
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
