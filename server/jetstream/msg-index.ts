// Tested by test/jetstream/store-contract.test.ts.
// In-memory index shared by both stores: one entry per live message, addressable by sequence,
// plus per-subject sorted sequence lists. The memory store keeps payloads in the entries; the
// file store keeps where the record lives on disk.

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
 * Ascending sequences of one subject. Removal is almost always from the front (limits, age,
 * per-subject max), so the front is a moving head index instead of an O(n) shift.
 */
export class SeqList {
  private a: number[] = [];
  private h = 0;

  get count(): number { return this.a.length - this.h; }
  get first(): number { return this.a[this.h] ?? 0; }
  get last(): number { return this.a[this.a.length - 1] ?? 0; }

  push(seq: number): void { this.a.push(seq); }

  remove(seq: number): void {
    if (this.a[this.h] === seq) {
      this.h++;
      if (this.h > 32 && this.h * 2 > this.a.length) { this.a = this.a.slice(this.h); this.h = 0; }
      return;
    }
    const i = this.lowerBound(seq);
    if (this.a[i] === seq) this.a.splice(i, 1);
  }

  /** Index of the first element ≥ seq. */
  lowerBound(seq: number): number {
    let lo = this.h;
    let hi = this.a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.a[mid]! < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First sequence ≥ seq, 0 when none. */
  nextFrom(seq: number): number { return this.a[this.lowerBound(seq)] ?? 0; }
  /** Last sequence ≤ seq, 0 when none. */
  prevFrom(seq: number): number {
    const i = this.lowerBound(seq + 1) - 1;
    return i >= this.h ? this.a[i]! : 0;
  }
  countFrom(seq: number): number { return this.a.length - this.lowerBound(seq); }
  /** A copy, for callers that remove while iterating. */
  toArray(): number[] { return this.a.slice(this.h); }
}

/**
 * Sequence → entry over [base, base + entries.length). Holes (undefined) are deleted or skipped
 * sequences. The dead prefix is sliced off once it is both long and most of the array, so the
 * amortised cost of removing from the front stays O(1).
 */
export class SeqTable {
  private entries: (MsgEntry | undefined)[] = [];
  private base = 1;

  get(seq: number): MsgEntry | undefined {
    return seq >= this.base ? this.entries[seq - this.base] : undefined;
  }

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
