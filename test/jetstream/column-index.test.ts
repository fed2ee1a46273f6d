// The file store's per-block lazy index and the compact per-subject lists, against the object
// table they replace: the same random appends, holes and removals (across blocks, with the
// columns loaded, evicted and reloaded) must answer every query the same way.

import { describe, expect, it } from "vitest";
import { BlockTable } from "../../server/jetstream/column-index.js";
import { IndexBuilder, RecordKind } from "../../server/jetstream/file-store-block.js";
import { ByteWriter } from "../../server/jetstream/byte-io.js";
import { MsgEntry, SeqList, SeqTable } from "../../server/jetstream/msg-index.js";
import { fileStoreMsgSize } from "../../server/jetstream/store.js";

/** A tiny deterministic PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed;
  return () => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x / 2 ** 32; };
}

const size = (len: number, hdr: boolean): number => len - 32 + 30 + (hdr ? 4 : 0);

/** A BlockTable whose loader builds each block's index buffer from the entries put in it. */
function blockTable(cacheBytes: number, holdMs = 0) {
  const records = new Map<number, IndexBuilder>();
  const col = new BlockTable(size, cacheBytes, holdMs);
  col.loader = (block) => records.get(block)?.view() ?? null;
  const put = (seq: number, e: MsgEntry | undefined): void => {
    if (e !== undefined) {
      let b = records.get(e.block);
      if (b === undefined) { b = new IndexBuilder(); records.set(e.block, b); }
      b.add(RecordKind.Msg, seq, e.ts, e.off, e.len, e.subject, e.hdrLen, e.len - 32 - e.subject.length - e.hdrLen);
    }
    col.put(seq, e);
  };
  return { col, put };
}

describe("BlockTable", () => {
  it.each([["default cache", 8 << 20], ["a cache of one block", 1]])("answers like SeqTable through appends, holes, removals, trims across blocks (%s)", (_name, cacheBytes) => {
    const r = rng(7);
    const { col, put } = blockTable(cacheBytes);
    const obj = new SeqTable();
    let seq = 40_000;
    col.clear(seq); obj.clear(seq);
    let first = seq;
    let block = 3;
    const live: number[] = [];
    for (let i = 0; i < 60_000; i++) {
      const x = r();
      if (x < 0.05) { put(seq, undefined); obj.put(seq, undefined); seq++; continue; }
      if (x < 0.25 && live.length > 0) {
        const k = Math.floor(r() * live.length);
        const s = live[k]!;
        live.splice(k, 1);
        col.delete(s); obj.delete(s);
        continue;
      }
      if (x < 0.26) block++;
      const hdr = r() < 0.3;
      const subject = `s.${Math.floor(r() * 50)}`;
      const len = 32 + subject.length + (hdr ? 12 : 0) + Math.floor(r() * 100);
      const e = new MsgEntry(seq, subject, BigInt(seq) * 1000n + 7n, size(len, hdr), hdr ? 12 : 0, null, null, block, seq * 3, len);
      put(seq, e); obj.put(seq, e);
      live.push(seq);
      seq++;
      if (x > 0.999 && live.length > 0) {
        // Remove a front stretch and trim, as limits do.
        live.sort((a, b) => a - b);
        const cut = live[Math.floor(live.length / 2)]!;
        while (live.length > 0 && live[0]! < cut) { const s = live.shift()!; col.delete(s); obj.delete(s); }
        first = cut;
        col.trim(first); obj.trim(first);
      }
    }
    if (cacheBytes === 1) col.dropAll();
    let checked = 0;
    let withHdr = 0;
    for (let s = first - 5; s <= seq + 5; s++) {
      const a = col.get(s);
      const b = obj.get(s);
      expect(a === undefined).toBe(b === undefined);
      expect(col.has(s)).toBe(b !== undefined);
      expect(col.subjectOf(s)).toBe(b?.subject);
      expect(col.tsOf(s)).toBe(b?.ts ?? 0n);
      expect(col.hasHeaders(s)).toBe((b?.hdrLen ?? 0) > 0);
      if (a !== undefined && b !== undefined) {
        expect([a.seq, a.size, a.block, a.off, a.len, a.hdrLen > 0]).toEqual([b.seq, b.size, b.block, b.off, b.len, b.hdrLen > 0]);
        checked++;
        if (b.hdrLen > 0) withHdr++;
      }
      if (s % 97 === 0) {
        expect(col.nextLive(s, s + 500)).toBe(obj.nextLive(s, s + 500));
        expect(col.prevLive(s - 500, s)).toBe(obj.prevLive(s - 500, s));
        let h = 0;
        for (let q = s; q <= s + 300; q++) if ((obj.get(q)?.hdrLen ?? 0) > 0) { h = q; break; }
        expect(col.nextWithHeaders(s, s + 300)).toBe(h);
        const t = BigInt(s) * 1000n;
        expect(col.seqFromTime(t, first, seq)).toBe(obj.nextLive(s, seq));
      }
    }
    expect(checked).toBe(live.length);
    expect(withHdr).toBeGreaterThan(50);
    // Loads happen only on demand, and a tiny cache keeps at most one sealed block loaded.
    if (cacheBytes === 1) {
      expect(col.blocks).toBeGreaterThan(3);
      expect(col.loads).toBeGreaterThanOrEqual(col.blocks - 1);
      const loads = col.loads;
      const oldest = col.nextLive(first, seq);
      const pick = (e: MsgEntry | undefined) => e && [e.seq, e.subject, e.ts, e.block, e.off, e.len];
      expect(pick(col.get(oldest))).toEqual(pick(obj.get(oldest))); // evicted since: loaded again
      expect(col.loads).toBe(loads + 1);
      expect(col.cachedBytes).toBeLessThan(60_000 * 21);
    }
  });

  it("derives the file store's reported size from the record length", () => {
    const hdr = Buffer.from("NATS/1.0\r\nA: b\r\n\r\n");
    const data = Buffer.from("payload");
    expect(size(32 + 3 + data.length, false)).toBe(fileStoreMsgSize("foo", null, data));
    expect(size(32 + 3 + hdr.length + data.length, true)).toBe(fileStoreMsgSize("foo", hdr, data));
  });

  it("keeps blocks used within holdMs over the bound: readers at more places than it holds do not load a block per message", () => {
    for (const [holdMs, maxLoads] of [[60_000, 4], [0, 300]] as const) {
      const { col, put } = blockTable(1, holdMs);
      for (let s = 1; s <= 500; s++) put(s, new MsgEntry(s, `k.${s % 7}`, BigInt(s), 0, 0, null, null, 1 + Math.floor(s / 100), 0, 40));
      col.dropAll();
      // Three readers, each in its own sealed block, taking turns.
      for (let i = 0; i < 100; i++) for (const at of [10, 150, 250]) expect(col.subjectOf(at + (i % 50))).toBe(`k.${(at + (i % 50)) % 7}`);
      expect(col.loads).toBeLessThanOrEqual(maxLoads);
      if (holdMs === 0) expect(col.loads).toBeGreaterThan(250);
    }
  });

  it("drops a block whose messages are all removed, and loads nothing to count or walk", () => {
    const { col, put } = blockTable(1);
    for (let s = 1; s <= 1000; s++) put(s, new MsgEntry(s, `k.${s}`, BigInt(s), 0, 0, null, null, 1 + Math.floor(s / 100), 0, 40));
    const before = col.blocks;
    for (let s = 1; s <= 250; s++) col.delete(s);
    expect(col.blocks).toBe(before - 2);
    col.dropAll();
    const loads = col.loads;
    expect(col.nextLive(1, 1000)).toBe(251);
    expect(col.prevLive(1, 999)).toBe(999);
    expect(col.has(600)).toBe(true);
    expect(col.nextWithHeaders(1, 1000)).toBe(0);
    expect(col.loads).toBe(loads);
    expect(col.subjectOf(600)).toBe("k.600");
    expect(col.loads).toBe(loads + 1);
  });
});

describe("SeqList", () => {
  it("matches a plain sorted array through pushes and removals", () => {
    const r = rng(11);
    const list = new SeqList();
    const ref: number[] = [];
    let maxLen = 0;
    let seq = 1;
    for (let i = 0; i < 40_000; i++) {
      const x = r();
      if (x < (i < 20_000 ? 0.7 : 0.4) || ref.length === 0) { seq += 1 + Math.floor(r() * 3); list.push(seq); ref.push(seq); }
      else if (x < 0.85) { list.remove(ref[0]!); ref.shift(); }
      else { const k = Math.floor(r() * ref.length); list.remove(ref[k]!); ref.splice(k, 1); }
      maxLen = Math.max(maxLen, ref.length);
      if (i % 101 === 0 || ref.length < 3 || i % 1000 < 5) {
        expect(list.count).toBe(ref.length);
        expect(list.first).toBe(ref[0] ?? 0);
        expect(list.last).toBe(ref[ref.length - 1] ?? 0);
        const probe = (ref[0] ?? 0) + Math.floor(r() * (seq - (ref[0] ?? 0) + 2));
        const idx = ref.findIndex((s) => s >= probe);
        expect(list.nextFrom(probe)).toBe(idx < 0 ? 0 : ref[idx]!);
        expect(list.countFrom(probe)).toBe(idx < 0 ? 0 : ref.length - idx);
      }
    }
    expect(list.toArray()).toEqual(ref);
    expect(maxLen).toBeGreaterThan(2000); // many pages, then emptied down again
    list.remove(12345678); // not there: no change
    expect(list.count).toBe(ref.length);
  });

  it("lists read from one array of pages (the snapshot's) grow, shrink and remove without touching each other", () => {
    const a = Array.from({ length: 2600 }, (_, i) => 10 + i * 2);
    const b = Array.from({ length: 700 }, (_, i) => 11 + i * 2);
    const la0 = SeqList.fromSorted(a);
    la0.remove(10); la0.remove(12); a.splice(0, 2); // a moving head: the first page is rebased on export
    const heads: number[] = [];
    const pages = [...la0.exportPages(heads), ...SeqList.fromSorted(b).exportPages(heads)];
    const all = new Uint32Array(pages.reduce((n, p) => n + p.length, 0));
    let at = 0;
    const views = pages.map((p) => { all.set(p, at); at += p.length; return all.subarray(at - p.length, at); });
    const na = la0.pageCount;
    const la = SeqList.fromPages(heads.filter((_, i) => i % 2 === 0).slice(0, na), views.slice(0, na));
    const lb = SeqList.fromPages(heads.filter((_, i) => i % 2 === 0).slice(na), views.slice(na));
    expect(la.toArray()).toEqual(a);
    for (let i = 0; i < 600; i++) { const s = 9000 + i; la.push(s); a.push(s); }
    for (const s of [14, 16, 400, 2000, 5200]) { la.remove(s); a.splice(a.indexOf(s), 1); }
    for (const s of [11, 13, 501]) { lb.remove(s); b.splice(b.indexOf(s), 1); }
    lb.push(9000); b.push(9000);
    expect(la.toArray()).toEqual(a);
    expect(lb.toArray()).toEqual(b);
    expect([la.count, la.first, la.last, la.countFrom(2001), la.nextFrom(2599)]).toEqual([a.length, a[0], a[a.length - 1], a.filter((s) => s >= 2001).length, 2600]);
  });

  it("starts a page when a sequence is more than 2^32 - 1 past its page's base", () => {
    const seqs = [5, 6, 5 + 2 ** 32, 2 ** 40, 2 ** 40 + 1, 2 ** 52];
    const l = SeqList.fromSorted(seqs);
    expect(l.toArray()).toEqual(seqs);
    expect([l.first, l.last, l.nextFrom(7), l.countFrom(2 ** 40)]).toEqual([5, 2 ** 52, 5 + 2 ** 32, 3]);
    l.remove(2 ** 40);
    expect(l.toArray()).toEqual([5, 6, 5 + 2 ** 32, 2 ** 40 + 1, 2 ** 52]);
  });
});

describe("ByteWriter (the index snapshot's)", () => {
  it("copies small arrays into its buffer instead of a part (and a fresh 64 KiB buffer) each", () => {
    const w = new ByteWriter();
    const one = Uint32Array.of(7);
    for (let i = 0; i < 100_000; i++) { w.u32(i); w.raw(one); }
    const big = new Uint32Array(10_000).fill(9);
    w.raw(big);
    w.u32(1);
    const parts = w.finish();
    expect(parts.length).toBeLessThan(20);
    const all = Buffer.concat(parts);
    expect(all.length).toBe(100_000 * 8 + 40_000 + 4);
    expect([all.readUInt32LE(8 * 99_999), all.readUInt32LE(8 * 99_999 + 4), all.readUInt32LE(800_000), all.readUInt32LE(840_000)]).toEqual([99_999, 7, 9, 1]);
  });
});
