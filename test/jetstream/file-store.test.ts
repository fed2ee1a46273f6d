// File store behaviour beyond the contract: recovery from torn and corrupt logs, index caches,
// block lifecycle, write failures, durability waits.

import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync, copyFileSync, mkdirSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { crc32, crc32Fallback, crc32Range } from "../../server/jetstream/crc.js";
import { FileStore, type FileStoreOptions } from "../../server/jetstream/file-store.js";
import { readI64LE, SubjectInterner, writeI64LE } from "../../server/jetstream/file-store-block.js";
import { StoreError, NO_LIMITS } from "../../server/jetstream/store.js";
import { buf, tempDir } from "./helpers.js";

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });

function setup(opts: Partial<FileStoreOptions> = {}) {
  const t = tempDir();
  const warnings: string[] = [];
  const stores: FileStore[] = [];
  const open = (more: Partial<FileStoreOptions> = {}): FileStore => {
    const s = FileStore.open({ dir: t.dir, onWarning: (m) => warnings.push(m), ...opts, ...more });
    stores.push(s);
    return s;
  };
  cleanups.push(async () => { for (const s of stores) await s.close().catch(() => {}); t.remove(); });
  return { dir: t.dir, msgDir: join(t.dir, "msgs"), open, warnings };
}

function blocks(msgDir: string): string[] {
  return readdirSync(msgDir).filter((f) => f.endsWith(".blk")).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
}

function payloads(s: FileStore): string[] {
  const out: string[] = [];
  for (let m = s.loadNextMsg(">", 0); m !== null; m = s.loadNextMsg(">", m.seq + 1)) out.push(m.data.toString());
  return out;
}

describe("file store recovery", () => {
  it("reads each record's own subject back from the index files, however its neighbours' compare", async () => {
    const { msgDir, open } = setup({ blockSize: 256 });
    const subjects = ["a.1", "a.1", "a.2", "b.22", "a.1", "a.11", "a.1", "c", "c", "a.1"];
    let s = open();
    for (const subj of subjects) s.storeMsg(subj, null, buf("x".repeat(40)));
    await s.close();
    expect(readdirSync(msgDir).filter((f) => f.endsWith(".idx")).length).toBeGreaterThan(1);
    s = open();
    expect(subjects.map((_, i) => s.loadMsg(i + 1)?.subject)).toEqual(subjects);
    await s.close();
  });

  it("64-bit times are written and read as Buffer's LE methods do", () => {
    for (const v of [0n, 1n, -1n, 1796320101606123456n, (1n << 63n) - 1n, -(1n << 63n), 0x0102030405060708n]) {
      const a = Buffer.alloc(11);
      const b = Buffer.alloc(11);
      writeI64LE(a, v, 3);
      b.writeBigInt64LE(v, 3);
      expect(a).toEqual(b);
      expect(readI64LE(b, 3)).toBe(v);
    }
  });

  it("the subject interner returns each record's own subject, however many there are", () => {
    const interner = new SubjectInterner();
    const names = Array.from({ length: 70_000 }, (_, i) => `k.${i.toString(36)}`);
    const bytes = Buffer.from(names.join(""), "latin1");
    const read = (): string[] => {
      let at = 0;
      return names.map((n) => { const s = interner.get(bytes, at, n.length); at += n.length; return s; });
    };
    expect(read()).toEqual(names);
    // Past its bound the table starts over; what it returns stays right.
    expect(read()).toEqual(names);
    const twice = [interner.get(Buffer.from("orders.1"), 0, 8), interner.get(Buffer.from("xorders.1"), 1, 8)];
    expect(twice[0]).toBe("orders.1");
    expect(twice[1]).toBe(twice[0]);
  });

  it("a torn last record, cut at any byte, is dropped and everything before it loads", async () => {
    const { dir, msgDir, open } = setup();
    const s = open();
    for (let i = 0; i < 4; i++) s.storeMsg(`s.${i}`, i === 2 ? buf("NATS/1.0\r\n\r\n") : null, buf(`payload-${i}`));
    await s.close();
    const blk = join(msgDir, blocks(msgDir)[0]!);
    rmSync(join(msgDir, blocks(msgDir)[0]!.replace(".blk", ".idx")), { force: true });
    const full = readFileSync(blk);
    const lastLen = 32 + "s.3".length + "payload-3".length;
    const lastStart = full.length - lastLen;
    const pristine = join(dir, "pristine");
    mkdirSync(pristine);
    copyFileSync(blk, join(pristine, "b"));

    for (let cut = lastStart; cut < full.length; cut++) {
      copyFileSync(join(pristine, "b"), blk);
      truncateSync(blk, cut);
      const warnings: string[] = [];
      const r = FileStore.open({ dir, onWarning: (m) => warnings.push(m) });
      expect(payloads(r)).toEqual(["payload-0", "payload-1", "payload-2"]);
      expect(r.state()).toMatchObject({ msgs: 3, last_seq: 3 });
      if (cut > lastStart) expect(warnings.join()).toMatch(/torn tail/);
      expect(r.storeMsg("s.new", null, buf("after")).seq).toBe(4);
      await r.close();
      const again = FileStore.open({ dir });
      expect(payloads(again)).toEqual(["payload-0", "payload-1", "payload-2", "after"]);
      await again.close();
      rmSync(blk.replace(".blk", ".idx"), { force: true });
    }
  });

  it("a corrupt byte in a middle record skips that record with a warning; the rest loads", async () => {
    const { msgDir, open, warnings } = setup();
    const s = open();
    for (let i = 0; i < 5; i++) s.storeMsg("s", null, buf(`payload-${i}`));
    await s.close();
    const name = blocks(msgDir)[0]!;
    rmSync(join(msgDir, name.replace(".blk", ".idx")));
    const blk = join(msgDir, name);
    const b = readFileSync(blk);
    // Records are 32 + 1 + 9 bytes; corrupt a payload byte of the third (seq 3).
    b[2 * 42 + 28 + 1 + 3]! ^= 0xff;
    writeFileSync(blk, b);
    const r = open();
    expect(payloads(r)).toEqual(["payload-0", "payload-1", "payload-3", "payload-4"]);
    expect(r.state()).toMatchObject({ msgs: 4, first_seq: 1, last_seq: 5, deleted: [3] });
    expect(warnings.join()).toMatch(/corrupt/);
    expect(r.storeMsg("s", null, buf("x")).seq).toBe(6);
  });

  it("a corrupt length field in the middle is skipped by resynchronising on the next record", async () => {
    const { msgDir, open, warnings } = setup();
    const s = open();
    for (let i = 0; i < 5; i++) s.storeMsg("s", null, buf(`payload-${i}`));
    await s.close();
    const name = blocks(msgDir)[0]!;
    rmSync(join(msgDir, name.replace(".blk", ".idx")));
    const blk = join(msgDir, name);
    const b = readFileSync(blk);
    b.writeUInt32LE(0x7fffffff, 42); // length of seq 2
    writeFileSync(blk, b);
    const r = open();
    expect(payloads(r)).toEqual(["payload-0", "payload-2", "payload-3", "payload-4"]);
    expect(warnings.join()).toMatch(/corrupt/);
  });

  it("start-up uses the index files and rebuilds from the log when they are stale or missing", async () => {
    const { msgDir, open } = setup({ blockSize: 1024 });
    const s = open();
    for (let i = 0; i < 100; i++) s.storeMsg(`s.${i % 7}`, null, buf(`payload-${i}`));
    s.removeMsg(50);
    const want = s.state();
    await s.close();
    const idx = readdirSync(msgDir).filter((f) => f.endsWith(".idx"));
    expect(idx.length).toBe(blocks(msgDir).length);
    let r = open();
    expect(r.state()).toEqual(want);
    await r.close();
    // A garbage index is ignored (its CRC fails); a missing one is rebuilt by scanning. (Without
    // the close's snapshot of the whole index, which would be used instead of the index files.)
    writeFileSync(join(msgDir, idx[0]!), Buffer.from("garbage"));
    rmSync(join(msgDir, idx[1]!));
    rmSync(join(msgDir, "..", "index.snap"));
    r = open();
    expect(r.state()).toEqual(want);
    expect(payloads(r).length).toBe(99);
  });

  it("a sealed block read whole at start-up gets its index back: the next start-up reads no block", async () => {
    const { msgDir, open } = setup({ blockSize: 1024 });
    const s = open();
    for (let i = 0; i < 100; i++) s.storeMsg(`s.${i % 7}`, null, buf(`payload-${i}`));
    const want = s.state();
    await s.close();
    const n = blocks(msgDir).length;
    // A copy that does not keep mtimes (cp, a restore) makes every index file stale.
    const later = new Date(Date.now() + 60_000);
    for (const b of blocks(msgDir)) utimesSync(join(msgDir, b), later, later);
    let r = open();
    expect(r.ioStats().scanned).toBe(n);
    expect(r.state()).toEqual(want);
    await r.close();
    r = open();
    expect(r.ioStats().scanned).toBe(0);
    expect(r.state()).toEqual(want);
    expect(payloads(r).length).toBe(100);
  });

  it("the active block's index, built as records are appended and erased, is what a scan of the block gives", async () => {
    const { msgDir, open } = setup();
    const s = open();
    for (let i = 0; i < 40; i++) s.storeMsg(`subject.${"x".repeat(i % 9)}`, i % 3 === 0 ? buf("NATS/1.0\r\nA: b\r\n\r\n") : null, buf(`v${i}`));
    await s.flush();
    s.eraseMsg(7);
    s.removeMsg(9);
    s.eraseMsg(20);
    s.skipMsg();
    s.storeMsg("after", null, buf("z"));
    s.eraseMsg(42);
    const want = s.state();
    await s.close();
    const idx = join(msgDir, blocks(msgDir)[0]!.replace(".blk", ".idx"));
    const built = readFileSync(idx);
    rmSync(idx);
    let r = open();
    expect(r.ioStats().scanned).toBe(1);
    expect(r.state()).toEqual(want);
    await r.close();
    expect(readFileSync(idx)).toEqual(built);
    r = open();
    expect(r.ioStats().scanned).toBe(0);
    expect(r.state()).toEqual(want);
  });

  it("the stream's limits and config are kept in meta.json", async () => {
    const { dir, open } = setup();
    const s = open({ limits: { ...NO_LIMITS, maxMsgs: 2 }, config: { name: "ORDERS" } });
    await s.close();
    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { limits: { maxMsgs: number }; config: { name: string } };
    expect(meta.limits.maxMsgs).toBe(2);
    const r = open();
    expect(r.streamConfig).toEqual({ name: "ORDERS" });
    for (let i = 0; i < 5; i++) r.storeMsg("s", null, buf(""));
    expect(r.state().msgs).toBe(2);
  });
});

describe("file store after a crash (no close)", () => {
  it("a second open of a stream whose writer never closed sees every acknowledged change", async () => {
    const { open } = setup({ blockSize: 2048 });
    const s = open({ limits: { ...NO_LIMITS, maxMsgsPerSubject: 3 } });
    for (let i = 0; i < 60; i++) s.storeMsg(`kv.${i % 5}`, null, buf(`v${i}`));
    s.removeMsg(50);
    s.eraseMsg(51);
    s.purge({ filter: "kv.4", keep: 1 });
    s.skipMsg();
    s.storeMsg("kv.x", null, buf("last"));
    await s.whenDurable(s.state().last_seq);
    const want = s.state();
    const r = open(); // as after kill -9: no final flush, no index for the active block
    expect(r.state()).toEqual(want);
    expect(payloads(r)).toEqual(payloads(s));
  });
});

describe("file store blocks", () => {
  it("rolls over to new blocks and deletes blocks whose messages are all gone", async () => {
    const { msgDir, open } = setup({ blockSize: 512 });
    const s = open({ limits: { ...NO_LIMITS, maxMsgs: 5 } });
    for (let i = 0; i < 200; i++) s.storeMsg("s", null, Buffer.alloc(50, i));
    await s.flush();
    expect(blocks(msgDir).length).toBeLessThanOrEqual(3);
    expect(s.state()).toMatchObject({ msgs: 5, first_seq: 196 });
  });

  it("an emptied block in the middle goes, and its tombstones move so deletes survive restart", async () => {
    const { msgDir, open } = setup({ blockSize: 256 });
    const s = open();
    // Block 1: a.0..a.3; then KV-like updates of b that empty later blocks via removeMsg.
    for (let i = 0; i < 4; i++) s.storeMsg("a", null, Buffer.alloc(30, i));
    s.removeMsg(2); // tombstone for block 1's message, written in block 1 or 2
    for (let i = 0; i < 12; i++) s.storeMsg("b", null, Buffer.alloc(30, i));
    for (let seq = 5; seq <= 12; seq++) s.removeMsg(seq); // empties middle blocks
    const want = s.state();
    await s.close();
    const r = open();
    expect(r.state()).toEqual(want);
    expect(r.loadMsg(2)).toBeNull();
    const nBlocks = blocks(msgDir).length;
    expect(nBlocks).toBeLessThan(Math.ceil((16 * 70) / 256));
  });

  it("reads across more blocks than it keeps descriptors open for", async () => {
    const { msgDir, open } = setup({ blockSize: 200 });
    const s = open();
    for (let i = 0; i < 300; i++) s.storeMsg("s", null, buf(`payload-${i}`));
    await s.close();
    expect(blocks(msgDir).length).toBeGreaterThan(64);
    const r = open();
    const got = payloads(r);
    expect(got.length).toBe(300);
    expect(got[299]).toBe("payload-299");
    expect(payloads(r)).toEqual(got); // second pass re-opens closed descriptors
  });

  it("purging everything leaves one block and keeps the sequence", async () => {
    const { msgDir, open } = setup({ blockSize: 512 });
    const s = open();
    for (let i = 0; i < 50; i++) s.storeMsg("s", null, Buffer.alloc(40));
    s.purge();
    await s.close();
    expect(blocks(msgDir).length).toBe(1);
    const r = open();
    expect(r.state()).toMatchObject({ msgs: 0, first_seq: 51, last_seq: 50 });
  });

  it("erase overwrites the payload bytes on disk", async () => {
    const { msgDir, open } = setup();
    const s = open();
    s.storeMsg("s", null, buf("TOP-SECRET-VALUE"));
    s.storeMsg("s", null, buf("public"));
    await s.flush();
    s.eraseMsg(1);
    await s.close();
    const all = Buffer.concat(blocks(msgDir).map((b) => readFileSync(join(msgDir, b))));
    expect(all.includes("TOP-SECRET-VALUE")).toBe(false);
    expect(all.includes("public")).toBe(true);
    const r = open();
    expect(r.state()).toMatchObject({ msgs: 1, first_seq: 2 });
  });

  it("erase of a message still in the write buffer never reaches the disk", async () => {
    const { msgDir, open } = setup();
    const s = open();
    s.storeMsg("s", null, buf("TOP-SECRET-VALUE"));
    s.storeMsg("s", null, buf("x"));
    s.eraseMsg(1);
    await s.close();
    const all = Buffer.concat(blocks(msgDir).map((b) => readFileSync(join(msgDir, b))));
    expect(all.includes("TOP-SECRET-VALUE")).toBe(false);
  });
});

describe("file store lazy index (column-index.ts)", () => {
  it("starts from its snapshot or index files without loading a block's columns, and reads a cold stream within the cache bound", async () => {
    const cacheBytes = 64 * 1024;
    const { open, msgDir } = setup({ blockSize: 32 * 1024, cacheBytes, cacheHoldMs: 0 });
    let s = open();
    const n = 12_000;
    for (let i = 0; i < n; i++) s.storeMsg(`k.${i % 37}`, null, Buffer.from(`m${i}`));
    await s.close();
    const nBlocks = blocks(msgDir).length;
    expect(nBlocks).toBeGreaterThan(10);
    let last36 = 0;
    for (let i = 0; i < n; i++) if (i % 37 === 36) last36 = i + 1;
    for (const fromSnapshot of [true, false]) {
      if (!fromSnapshot) rmSync(join(msgDir, "..", "index.snap"), { force: true });
      s = open();
      expect(s.ioStats()).toMatchObject({ snapshot: fromSnapshot, loads: 0, cachedBytes: 0 });
      // Counts, ranges, per-subject state and the deleted set come from the summaries.
      expect(s.fastState().msgs).toBe(n);
      expect(s.numPending("k.5", 0)).toBe(Math.ceil((n - 5) / 37));
      expect(s.lastSeqForSubject("k.36")).toBe(last36);
      expect(s.nextSeqWithHeaders(0)).toBe(0);
      expect(s.seqFromTime(0n)).toBe(1); // the duplicate window's start, on a block's first time
      expect(s.ioStats().loads).toBe(0);
      // A read through every block pages columns in and out: never more than the bound (plus the
      // block being loaded), each sealed block loaded once.
      let seen = 0;
      let maxCached = 0;
      for (let m = s.loadNextMsg(">", 0); m !== null; m = s.loadNextMsg(">", m.seq + 1)) {
        expect(m.data.toString()).toBe(`m${m.seq - 1}`);
        seen++;
        maxCached = Math.max(maxCached, s.ioStats().cachedBytes);
      }
      expect(seen).toBe(n);
      expect(maxCached).toBeLessThanOrEqual(cacheBytes + 32 * 1024);
      expect(s.ioStats().loads).toBe(nBlocks);
      await s.close();
    }
  });
});

describe("file store durability", () => {
  it("whenDurable resolves once the batch is written to the OS", async () => {
    const { msgDir, open } = setup();
    const s = open();
    const { seq } = s.storeMsg("s", null, buf("hello"));
    await s.whenDurable(seq);
    const size = statSync(join(msgDir, blocks(msgDir)[0]!)).size;
    expect(size).toBeGreaterThan(32);
  });

  it("syncAlways: many concurrent appends share fsyncs (group commit)", async () => {
    const { open } = setup({ syncAlways: true });
    const s = open();
    const waits: Array<Promise<void>> = [];
    for (let round = 0; round < 20; round++) {
      for (let w = 0; w < 50; w++) waits.push(s.whenDurable(s.storeMsg("s", null, buf(`${round}.${w}`)).seq));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waits);
    expect(s.state().msgs).toBe(1000);
    // 20 turns of 50 appends: one write(2) per turn, and 1000 waiters served by at most one
    // fsync per write.
    const io = s.ioStats();
    expect(io.writes).toBeLessThanOrEqual(21);
    expect(io.fsyncs).toBeLessThanOrEqual(io.writes);
    expect(io.fsyncs).toBeGreaterThan(0);
  });

  it("a failed write rejects the waiting batch, keeps what was written, and the store goes on", async () => {
    let fail = false;
    const { open, warnings } = setup();
    const s = open({ writeFault: () => (fail ? Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }) : null) });
    for (let i = 0; i < 3; i++) s.storeMsg("s", null, buf(`ok-${i}`));
    await s.whenDurable(3);
    fail = true;
    const lost = s.storeMsg("s", null, buf("lost"));
    await expect(s.whenDurable(lost.seq)).rejects.toBeInstanceOf(StoreError);
    expect(warnings.join()).toMatch(/ENOSPC/);
    // Reads still work and only acknowledged messages remain.
    await expect.poll(() => payloads(s)).toEqual(["ok-0", "ok-1", "ok-2"]);
    fail = false;
    const next = s.storeMsg("s", null, buf("after"));
    expect(next.seq).toBe(5); // the failed sequence is not handed out again
    await s.whenDurable(next.seq);
    await s.close();
    const r = open();
    expect(payloads(r)).toEqual(["ok-0", "ok-1", "ok-2", "after"]);
  });

  it("stores 50k messages in one burst (throughput smoke check)", async () => {
    const { open } = setup();
    const s = open();
    const data = Buffer.alloc(1024, 7);
    const t0 = performance.now();
    let last = 0;
    for (let i = 0; i < 50_000; i++) last = s.storeMsg(`orders.${i % 100}`, null, data).seq;
    await s.whenDurable(last);
    const ms = performance.now() - t0;
    expect(s.state().msgs).toBe(50_000);
    console.log(`file store: 50k x 1 KiB in ${ms.toFixed(0)} ms (${Math.round(50_000 / (ms / 1000))} msgs/s)`);
  });
});

describe("helpers", () => {
  it("the CRC-32 fallback agrees with zlib's", () => {
    const data = Buffer.from("The quick brown fox jumps over the lazy dog");
    expect(crc32Fallback(data)).toBe(0x414fa339);
    expect(crc32(data)).toBe(0x414fa339);
  });

  it("crc32Range (slicing-by-8 for short ranges) agrees with zlib at every length and offset", () => {
    const buf = Buffer.alloc(700);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + 13) & 0xff;
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= buf.length; end += end < 300 ? 1 : 37) {
        expect(crc32Range(buf, start, end)).toBe(crc32(buf.subarray(start, end)));
      }
    }
  });

});
