// A direct-mapped table of recent subject strings, keyed by their bytes. A subject seen recently
// comes back as the very same string: no allocation, and caches keyed by it hash it for free.
// One table can serve every parser of a server (it is only a cache).
import "./bytes.js";

export class InternTable {
  private readonly strings: string[];
  private readonly bytes: Buffer;
  private readonly mask: number;

  /** `slots` is rounded up to a power of two; subjects longer than `maxLen` are not kept. */
  constructor(slots = 4096, readonly maxLen = 64) {
    let n = 1;
    while (n < slots) n <<= 1;
    this.mask = n - 1;
    this.strings = new Array<string>(n).fill("");
    this.bytes = Buffer.alloc(n * maxLen);
  }

  /** The latin1 string of `a[s, e)`. */
  get(a: Buffer, s: number, e: number): string {
    const len = e - s;
    const maxLen = this.maxLen;
    if (len > maxLen) return a.latin1Slice(s, e);
    let h = len;
    for (let i = s; i < e; i++) h = (Math.imul(h, 31) + a[i]!) | 0;
    const slot = (h ^ (h >>> 15)) & this.mask;
    const known = this.strings[slot]!;
    const bytes = this.bytes;
    const base = slot * maxLen;
    if (known.length === len) {
      let i = 0;
      while (i < len && a[s + i] === bytes[base + i]) i++;
      if (i === len) return known;
    }
    const str = a.latin1Slice(s, e);
    a.copy(bytes, base, s, e);
    this.strings[slot] = str;
    return str;
  }
}
