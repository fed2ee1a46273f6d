// JetStream store benchmark: storeMsg throughput for 1 KiB messages into the memory store, the
// file store (default sync, and syncAlways with N concurrent writers each waiting for its
// ack), and file store start-up time for a large stream (with index files, and with them
// deleted so every block is scanned), and the two ways an ack can learn the acked message's
// subject (loadMsg, subjectOf). Each scenario checks the store holds what was written before its
// number is printed.
// Run: npm run build && node dist/bench/store.js [--msgs 200000] [--mb 200] [--dir /path]
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../server/jetstream/file-store.js";
import { MemoryStore } from "../server/jetstream/memory-store.js";
import type { StreamStore } from "../server/jetstream/store.js";

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = arg("--msgs", 200_000);
const MB = arg("--mb", 200);
const dirArg = args.indexOf("--dir");
const base = dirArg >= 0 ? args[dirArg + 1]! : tmpdir();
const payload = Buffer.alloc(1024, 0x61);
const BATCH = 100; // messages per event-loop turn, like one socket read of publishes

function tempDir(): string { return mkdtempSync(join(base, "gnat-bench-store-")); }

function check(store: StreamStore, n: number): void {
  const st = store.fastState();
  if (st.msgs !== n) throw new Error(`expected ${n} messages, store has ${st.msgs}`);
  const m = store.loadMsg(st.last_seq);
  if (m === null || !m.data.equals(payload)) throw new Error("last message does not read back");
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Publish-path shape: BATCH stores per turn, acks awaited per batch but pipelined. */
async function publish(store: StreamStore, n: number): Promise<number> {
  const t0 = performance.now();
  let pending: Promise<void>[] = [];
  for (let i = 0; i < n; ) {
    let last = 0;
    for (let j = 0; j < BATCH && i < n; j++, i++) last = store.storeMsg(`orders.${i & 255}`, null, payload).seq;
    pending.push(store.whenDurable(last));
    if (pending.length >= 64) { await Promise.all(pending); pending = []; }
    await tick();
  }
  await Promise.all(pending);
  return performance.now() - t0;
}

/** W writers, each storing one message and waiting for its ack before the next. */
async function writers(store: StreamStore, n: number, w: number): Promise<number> {
  const t0 = performance.now();
  let left = n;
  await Promise.all(Array.from({ length: w }, async (_, k) => {
    while (left > 0) {
      left--;
      const { seq } = store.storeMsg(`orders.${k}`, null, payload);
      await store.whenDurable(seq);
    }
  }));
  return performance.now() - t0;
}

const rows: string[] = [];
function report(name: string, n: number, ms: number): void {
  const line = `${name.padEnd(44)} ${String(Math.round(n / (ms / 1000))).padStart(9)} msgs/s  ${(n * 1024 / 1048576 / (ms / 1000)).toFixed(0).padStart(5)} MiB/s  (${n} in ${ms.toFixed(0)} ms)`;
  rows.push(line);
  console.log(line);
}

async function main(): Promise<void> {
  {
    const s = new MemoryStore();
    const ms = await publish(s, N);
    check(s, N);
    report("memory", N, ms);
    await s.close();
  }
  {
    const dir = tempDir();
    const s = FileStore.open({ dir });
    const ms = await publish(s, N);
    check(s, N);
    report("file, default sync (write before ack)", N, ms);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const w of [1, 16, 256]) {
    const dir = tempDir();
    const s = FileStore.open({ dir, syncAlways: true });
    const n = w === 1 ? Math.min(N, 2_000) : Math.min(N, 50_000);
    const ms = await writers(s, n, w);
    check(s, n);
    report(`file, syncAlways, ${w} concurrent writer(s)`, n, ms);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
  {
    // An ack on an interest or work-queue stream needs the acked message's subject: read the
    // message (a pread once it has left the write buffer) or ask the index. Each way twice,
    // alternating; the second pass of each is reported.
    const dir = tempDir();
    const s = FileStore.open({ dir });
    await publish(s, N);
    const pass = (subjectOf: (seq: number) => string | null): number => {
      const t0 = performance.now();
      for (let seq = 1; seq <= N; seq++) if (subjectOf(seq) !== `orders.${(seq - 1) & 255}`) throw new Error(`subject of ${seq}`);
      return performance.now() - t0;
    };
    const load = (seq: number): string | null => s.loadMsg(seq)?.subject ?? null;
    const index = (seq: number): string | null => s.subjectOf(seq);
    pass(load);
    pass(index);
    const loadMs = pass(load);
    const indexMs = pass(index);
    const line = `an acked message's subject, file, ${N} msgs: loadMsg ${Math.round(N / (loadMs / 1000))}/s, subjectOf ${Math.round(N / (indexMs / 1000))}/s`;
    rows.push(line);
    console.log(line);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
  {
    const dir = tempDir();
    const n = Math.round((MB * 1048576) / 1024);
    const s = FileStore.open({ dir });
    await publish(s, n);
    await s.close();
    let t0 = performance.now();
    let r = FileStore.open({ dir });
    const withIdx = performance.now() - t0;
    check(r, n);
    await r.close();
    for (const f of readdirSync(join(dir, "msgs"))) if (f.endsWith(".idx")) unlinkSync(join(dir, "msgs", f));
    t0 = performance.now();
    r = FileStore.open({ dir });
    const scan = performance.now() - t0;
    check(r, n);
    await r.close();
    const line = `start-up, ${MB} MB stream (${n} msgs): ${withIdx.toFixed(0)} ms with index files, ${scan.toFixed(0)} ms scanning every block`;
    rows.push(line);
    console.log(line);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
