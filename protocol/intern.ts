// Tested by test/protocol/parser.test.ts.
// A table of recent subject strings, keyed by their bytes. A subject seen recently comes back as
// the very same string: no allocation, and caches keyed by it (a Map keeps a string's hash in the
// string) hash it for free. One table can serve every parser of a server (it is only a cache).
//
// Open addressing with linear probing, grown up to `maxSlots` and cleared when full there: a
// direct-mapped table of 4096 slots thrashed on 10k subjects published round-robin (every PUB
// allocated a string), while this one holds up to maxSlots/2 subjects exactly.
import "./bytes.js";

/** Per-byte step of the subject hash; callers that scan the bytes anyway (the parser) inline it. */
export function hashStep(h: number, b: number): number {
  return (Math.imul(h, 31) + b) | 0;
}

/** Final mix of a hash built with hashStep from 0: spreads similar subjects across slots. */
export function hashFinish(h: number, len: number): number {
  h = (h ^ len) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class InternTable {
  /** "" marks an empty slot (an empty subject is never stored). */
  private strings: string[];
  private hashes: Int32Array;
  private mask: number;
  private count = 0;
  private readonly maxSlots: number;

  /**
   * `slots` (rounded up to a power of two) is the starting size; the table doubles up to
   * `maxSlots` as subjects arrive. Subjects longer than `maxLen` are not kept.
   */
  constructor(slots = 4096, readonly maxLen = 64, maxSlots = 1 << 16) {
    let n = 16;
    while (n < slots) n <<= 1;
    let max = n;
    while (max < maxSlots) max <<= 1;
    this.maxSlots = max;
    this.mask = n - 1;
    this.strings = new Array<string>(n).fill("");
    this.hashes = new Int32Array(n);
  }

  /** Slots in use, and the current capacity (for tests and monitoring). */
  get size(): number {
    return this.count;
  }

  get slots(): number {
    return this.mask + 1;
  }

  /** The latin1 string of `a[s, e)`. */
  get(a: Buffer, s: number, e: number): string {
    if (e - s > this.maxLen) return a.latin1Slice(s, e);
    let h = 0;
    for (let i = s; i < e; i++) h = hashStep(h, a[i]!);
    return this.lookup(a, s, e, hashFinish(h, e - s));
  }

  /** As get, with `h` = hashFinish(hashStep over the bytes, length) already computed. */
  lookup(a: Buffer, s: number, e: number, h: number): string {
    const len = e - s;
    if (len === 0) return "";
    if (len > this.maxLen) return a.latin1Slice(s, e);
    const strings = this.strings;
    const hashes = this.hashes;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const known = strings[slot]!;
      if (known.length === 0) break;
      if (hashes[slot] === h && known.length === len) {
        let i = 0;
        while (i < len && known.charCodeAt(i) === a[s + i]) i++;
        if (i === len) return known;
      }
      slot = (slot + 1) & mask;
    }
    const str = a.latin1Slice(s, e);
    // Keep the load at most one half, so probes stay short.
    if ((this.count + 1) * 2 > mask + 1) {
      this.makeRoom();
      this.insert(str, h);
    } else {
      strings[slot] = str;
      hashes[slot] = h;
      this.count++;
    }
    return str;
  }

  /** Double the table, or at full size start afresh (cheaper than tracking recency per PUB). */
  private makeRoom(): void {
    const oldStrings = this.strings;
    const oldHashes = this.hashes;
    const n = oldStrings.length;
    const grow = n < this.maxSlots;
    const size = grow ? n * 2 : n;
    this.strings = new Array<string>(size).fill("");
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    if (!grow) return;
    for (let i = 0; i < n; i++) {
      const str = oldStrings[i]!;
      if (str.length !== 0) this.insert(str, oldHashes[i]!);
    }
  }

  private insert(str: string, h: number): void {
    const mask = this.mask;
    let slot = h & mask;
    while (this.strings[slot]!.length !== 0) slot = (slot + 1) & mask;
    this.strings[slot] = str;
    this.hashes[slot] = h;
    this.count++;
  }
}
