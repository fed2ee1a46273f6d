// Every way the file store's index comes back, against the state it had: a clean stop (through
// the close's snapshot of the whole index, and without it through the index files), a crash
// (the directory as a kill -9 leaves it, with and without a torn last record), an index file
// deleted, one corrupted, one cut in half (a summary half-written when the disk filled), an
// index that cannot be written at all, and after compaction and purges. Each must give the same
// first/last sequence and time, counts, bytes, deleted sequences, per-subject counts, every
// message, and the answers the stream layer asks of the index (pending counts, last by subject,
// the headers scan that rebuilds the dedupe window, sequence from time).

import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStore } from "../../server/jetstream/file-store.js";
import type { StreamStore } from "../../server/jetstream/store.js";
import { tempDir } from "./helpers.js";

const HDR = Buffer.from("NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n");
const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function dir(): string {
  const t = tempDir("gnat-index-paths-");
  cleanups.push(t.remove);
  return t.dir;
}

/** Everything observable about the stream's index and contents. */
function snapshot(s: StreamStore) {
  const msgs: string[] = [];
  for (let m = s.loadNextMsg(">", 0); m !== null; m = s.loadNextMsg(">", m.seq + 1)) {
    msgs.push(`${m.seq} ${m.subject} ${m.ts} ${m.hdr?.toString() ?? "-"} ${m.data.toString()}`);
  }
  const st = s.state();
  const hdrSeqs: number[] = [];
  for (let q = s.nextSeqWithHeaders(0); q !== 0; q = s.nextSeqWithHeaders(q + 1)) hdrSeqs.push(q);
  const mid = s.loadMsg(s.loadNextMsg(">", Math.floor((st.first_seq + st.last_seq) / 2))?.seq ?? 0);
  return {
    state: st,
    subjects: [...s.subjectsState(">")].sort(),
    msgs,
    pending: ["", "a.*", "a.1", "b.>", "c"].map((f) => [s.numPending(f, 0), s.numPending(f, st.first_seq + 7)]),
    lastBySubject: ["a.0", "a.1", "a.2", "b.x.y", "c", "none"].map((x) => s.lastSeqForSubject(x)),
    lastWild: s.loadLastMsg("a.*")?.seq ?? 0,
    hdrSeqs,
    fromTime: mid === null ? 0 : s.seqFromTime(mid.ts),
  };
}

/** A stream over many small blocks with every kind of record: interior deletes, an erase, skips, headers. */
async function build(d: string): Promise<FileStore> {
  // cacheBytes 1: the state it is compared with is read through column loads and evictions.
  const s = FileStore.open({ dir: d, blockSize: 2048, cacheBytes: 1, cacheHoldMs: 0 });
  for (let i = 0; i < 400; i++) {
    const subject = i % 10 === 0 ? "c" : i % 3 === 0 ? `b.x.y` : `a.${i % 4}`;
    s.storeMsg(subject, i % 5 === 0 ? HDR : null, Buffer.from(`payload-${i}`));
    if (i === 100) s.skipMsg();
  }
  for (const q of [3, 17, 18, 250, 399]) s.removeMsg(q);
  s.eraseMsg(120);
  s.purge({ filter: "a.2", keep: 20 });
  s.storeMsg("a.1", HDR, Buffer.from("tail"));
  await s.whenDurable(s.fastState().last_seq);
  return s;
}

const snap = (d: string): string => join(d, "index.snap");
const idxFiles = (d: string): string[] => readdirSync(join(d, "msgs")).filter((f) => f.endsWith(".idx")).sort((a, b) => parseInt(a) - parseInt(b));
const blkFiles = (d: string): string[] => readdirSync(join(d, "msgs")).filter((f) => f.endsWith(".blk")).sort((a, b) => parseInt(a) - parseInt(b));

describe("file store: every index path gives back the same stream", () => {
  it("after a clean stop: from the index snapshot, which is then deleted; without it, from the index files", async () => {
    const d = dir();
    const s = await build(d);
    const want = snapshot(s);
    expect(want.state.num_deleted).toBeGreaterThan(5);
    await s.close();
    expect(existsSync(snap(d))).toBe(true);
    let r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(r.ioStats()).toMatchObject({ snapshot: true, scanned: 0 });
    expect(existsSync(snap(d))).toBe(false); // used once: never the state of a later crash
    expect(snapshot(r)).toEqual(want);
    // It goes on as a store: a new message, a removal, another clean restart.
    r.storeMsg("a.9", null, Buffer.from("after"));
    r.removeMsg(want.state.first_seq);
    const want2 = snapshot(r);
    await r.close();
    r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(r.ioStats().snapshot).toBe(true);
    expect(snapshot(r)).toEqual(want2);
    await r.close();
    rmSync(snap(d));
    r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(r.ioStats()).toMatchObject({ snapshot: false, scanned: 0 });
    expect(snapshot(r)).toEqual(want2);
    await r.close();
  });

  it("an index snapshot that is corrupt, cut short, stale or unwritable is not used, and nothing is lost", async () => {
    const d = dir();
    const s = await build(d);
    const want = snapshot(s);
    await s.close();
    const good = readFileSync(snap(d));
    const warnings: string[] = [];
    const open = (): FileStore => FileStore.open({ dir: d, blockSize: 2048, onWarning: (m) => warnings.push(m) });
    // A flipped byte (the CRC fails) and a snapshot cut in half (a full disk, a crash while writing).
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 3)]! ^= 0x01;
    for (const bad of [flipped, good.subarray(0, good.length >> 1)]) {
      writeFileSync(snap(d), bad);
      const r = open();
      expect(r.ioStats().snapshot).toBe(false);
      expect(snapshot(r)).toEqual(want);
      await r.close();
    }
    // Stale: the stream changed after the close that wrote it (here, put back over a newer one).
    let r = open();
    r.storeMsg("c", null, Buffer.from("newer"));
    r.removeMsg(want.state.last_seq);
    const newer = snapshot(r);
    await r.close();
    writeFileSync(snap(d), good);
    r = open();
    expect(r.ioStats().snapshot).toBe(false);
    expect(snapshot(r)).toEqual(newer);
    // A snapshot that cannot be written (a directory where its temporary goes): a warning, and
    // the next start reads the index files.
    mkdirSync(snap(d) + ".tmp");
    await r.close();
    expect(warnings.join()).toMatch(/snapshot not written/);
    expect(existsSync(snap(d))).toBe(false);
    rmSync(snap(d) + ".tmp", { recursive: true });
    r = open();
    expect(r.ioStats()).toMatchObject({ snapshot: false, scanned: 0 });
    expect(snapshot(r)).toEqual(newer);
    await r.close();
  });

  it("after a crash (no close), and with a torn last record: the torn bytes go, nothing else", async () => {
    const d = dir();
    const s = await build(d);
    const want = snapshot(s);
    const crashed = dir();
    cpSync(d, crashed, { recursive: true }); // what a kill -9 leaves: written, never closed
    let r = FileStore.open({ dir: crashed, blockSize: 2048 });
    expect(snapshot(r)).toEqual(want);
    await r.close();
    const torn = dir();
    cpSync(d, torn, { recursive: true });
    const last = blkFiles(torn).at(-1)!;
    appendFileSync(join(torn, "msgs", last), Buffer.from([60, 0, 0, 0, 1, 0, 3, 0, 0, 0])); // a record cut short
    const warnings: string[] = [];
    r = FileStore.open({ dir: torn, blockSize: 2048, onWarning: (m) => warnings.push(m) });
    expect(warnings.join()).toMatch(/torn tail/);
    expect(snapshot(r)).toEqual(want);
    await r.close();
    await s.close();
  });

  it("with an index file deleted, corrupted, cut in half, or another block's: each rebuilt from its block", async () => {
    const d = dir();
    const s = await build(d);
    const want = snapshot(s);
    await s.close();
    rmSync(snap(d));
    const idx = idxFiles(d);
    expect(idx.length).toBeGreaterThan(5);
    const p = (i: number): string => join(d, "msgs", idx[i]!);
    rmSync(p(0));
    const bytes = readFileSync(p(1));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(p(1), bytes);
    truncateSync(p(2), Math.floor(readFileSync(p(2)).length / 2));
    writeFileSync(p(3), readFileSync(p(4)));
    const r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(r.ioStats().scanned).toBe(4);
    expect(snapshot(r)).toEqual(want);
    await r.close();
    // Rebuilt index files were written back: the next start reads none of the blocks.
    rmSync(snap(d));
    const again = FileStore.open({ dir: d, blockSize: 2048 });
    expect(again.ioStats().scanned).toBe(0);
    expect(snapshot(again)).toEqual(want);
    await again.close();
  });

  it("when index files cannot be written (a directory in the way), the stream still stores and restarts whole", async () => {
    const d = dir();
    const s = FileStore.open({ dir: d, blockSize: 2048 });
    // Block ids are sequential: block in the way of the next few blocks' index files.
    for (let id = 1; id <= 4; id++) mkdirSync(join(d, "msgs", `${id}.idx`));
    for (let i = 0; i < 200; i++) s.storeMsg(`a.${i % 4}`, null, Buffer.from(`payload-${i}`));
    s.removeMsg(7);
    const want = snapshot(s);
    await s.close();
    for (let id = 1; id <= 4; id++) rmSync(join(d, "msgs", `${id}.idx`), { recursive: true });
    rmSync(snap(d));
    const r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(r.ioStats().scanned).toBeGreaterThan(0);
    expect(snapshot(r)).toEqual(want);
    await r.close();
  });

  it("after compaction and purges (whole blocks removed, floors and tombstones carried)", async () => {
    const d = dir();
    const s = await build(d);
    const blocksBefore = blkFiles(d).length;
    s.compact(150);
    s.purge({ filter: "b.>", seq: 300 });
    s.removeMsg(301);
    await s.whenDurable(s.fastState().last_seq);
    expect(blkFiles(d).length).toBeLessThan(blocksBefore);
    const want = snapshot(s);
    expect(want.state.first_seq).toBeGreaterThanOrEqual(150);
    await s.close();
    const r = FileStore.open({ dir: d, blockSize: 2048 });
    expect(snapshot(r)).toEqual(want);
    // And again without any index file.
    await r.close();
    rmSync(snap(d));
    for (const f of idxFiles(d)) rmSync(join(d, "msgs", f));
    const again = FileStore.open({ dir: d, blockSize: 2048 });
    expect(snapshot(again)).toEqual(want);
    await again.close();
  });

  it("a store directory that is a file is a clear error, and the file is left alone", () => {
    const d = dir();
    const f = join(d, "not-a-dir");
    writeFileSync(f, "keep me");
    expect(() => FileStore.open({ dir: f })).toThrow(/ENOTDIR|EEXIST|not a directory|file already exists/);
    expect(readFileSync(f, "utf8")).toBe("keep me");
  });
});
