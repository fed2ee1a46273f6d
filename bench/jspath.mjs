// The JetStream publish path in process, no sockets and no client: an internal publisher's messages
// (128 B, 16 subjects, one in four with a reply to ack) go through the router into a stream on a
// memory or file store (limits retention, max_msgs 200,000); messages per second after a
// 20,000-message warm-up. What it leaves out (parsing, sockets, the client, the Go generator
// competing for the same 2 cores) is most of what makes bench:go --jetstream noisy, so a change
// to the path from the router to the store shows here first.
//
// It takes dist directories, so two builds compare in one interleaved session: every run is a
// fresh `node` process, the builds take turns (each round starts with the next one), and the
// report gives each build's median and its ratio to the first build's run of the same round, for
// wall-clock throughput and for messages per CPU-second of the process (user + system, all its
// threads): on a shared machine the second moves much less, since waiting for a core costs none.
// Plain JavaScript, not TypeScript, because it loads whichever build it is given at run time.
//
//   node bench/jspath.mjs [--rounds 5] [--messages 200000] [--cases memory,file,memory+hdr,file+hdr] [dist dir …]
//   node bench/jspath.mjs --rounds 5 /tmp/base/dist dist     # base build vs this one
//
// A case's "+hdr": every message carries a unique Nats-Msg-Id header, so header decoding and the
// dedupe window run too. Default: this build's dist, cases memory and file, 5 rounds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const argv = process.argv.slice(2);
const value = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const named = new Set(["--rounds", "--messages", "--cases", "--child"]);
const positional = argv.filter((a, i) => !a.startsWith("--") && !named.has(argv[i - 1] ?? ""));

if (argv.includes("--child")) await child(resolve(positional[0]), value("child"), Number(value("messages", 200_000)));
else parent();

/** One measured run of one case on one build: prints one JSON line. */
async function child(dist, kase, n) {
  const [storage, hdrFlag] = kase.split("+");
  const withHdr = hdrFlag === "hdr";
  const load = (p) => import(pathToFileURL(join(dist, p)).href);
  const { Router } = await load("server/core/router.js");
  const { internalClient } = await load("server/core/internal-client.js");
  const { Stream, storeLimits } = await load("server/jetstream/stream.js");
  const { zeroConfig, checkStreamConfig } = await load("server/jetstream/config.js");
  const { MemoryStore } = await load("server/jetstream/memory-store.js");
  const { FileStore } = await load("server/jetstream/file-store.js");
  const { NsClock } = await load("server/jetstream/store.js");
  const router = new Router();
  const ic = internalClient(router);
  const pub = internalClient(router);
  const cfg = checkStreamConfig({ ...zeroConfig(), name: "S", subjects: ["s.>"], storage, max_msgs: 200_000 });
  const dir = mkdtempSync(join(tmpdir(), "gnat-jspath-"));
  try {
    const store = storage === "memory" ? new MemoryStore(storeLimits(cfg)) : FileStore.open({ dir, limits: storeLimits(cfg) });
    const host = { ic, clock: new NsClock(), resourcesExceeded: () => false, warn: () => {}, storeLatency: null };
    const stream = new Stream(host, cfg, store, 0n);
    stream.start();
    const payload = Buffer.alloc(128, 120);
    let acks = 0;
    ic.subscribe("_INBOX.acks.>", () => { acks++; });
    const subjects = Array.from({ length: 16 }, (_, i) => `s.${i}`);
    let next = 0;
    const run = async (count) => {
      for (let i = 0; i < count; i++, next++) {
        const h = withHdr ? Buffer.from(`NATS/1.0\r\nNats-Msg-Id: m${next}\r\n\r\n`) : null;
        pub.publishWire(subjects[next & 15], next % 4 === 0 ? `_INBOX.acks.${next}` : "", subjects[next & 15], h, payload);
        if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
      }
      await store.flush?.();
    };
    await run(20_000);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await run(n);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    await new Promise((r) => setTimeout(r, 50));
    const stored = store.fastState().last_seq;
    if (stored !== 20_000 + n || acks !== Math.ceil((20_000 + n) / 4)) throw new Error(`stored ${stored}, acks ${acks}`);
    console.log(JSON.stringify({ perSec: n / (ms / 1000), perCpuSec: n / ((cpu.user + cpu.system) / 1e6) }));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parent() {
  const dists = (positional.length > 0 ? positional : ["dist"]).map((d) => resolve(d));
  const rounds = Number(value("rounds", 5));
  const n = Number(value("messages", 200_000));
  const cases = value("cases", "memory,file").split(",");
  const self = fileURLToPath(import.meta.url);
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length === 0 ? 0 : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
  const rows = [];
  for (const kase of cases) {
    const per = dists.map(() => []);
    const cpu = dists.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let j = 0; j < dists.length; j++) {
        const d = (j + round) % dists.length;
        const r = spawnSync(process.execPath, [self, "--child", kase, "--messages", String(n), dists[d]], { encoding: "utf8", timeout: 300_000 });
        if (r.status !== 0) throw new Error(`${kase} on ${dists[d]}: ${r.stderr || r.error}`);
        const out = JSON.parse(r.stdout.trim().split("\n").pop());
        per[d][round] = out.perSec;
        cpu[d][round] = out.perCpuSec;
        process.stderr.write(`  ${kase} / ${dists[d]} / round ${round + 1}: ${fmt(out.perSec)}/s, ${fmt(out.perCpuSec)} per CPU-s\n`);
      }
    }
    for (let d = 0; d < dists.length; d++) {
      const vs = (xs) => median(xs[d].map((x, round) => x / xs[0][round])).toFixed(2);
      rows.push(`| ${kase} | ${dists[d]} | ${fmt(median(per[d]))} | ${vs(per)}× | ${fmt(median(cpu[d]))} | ${vs(cpu)}× | ${cpu[d].map(fmt).join(", ")} |`);
    }
  }
  console.log([
    `Date: ${new Date().toISOString()}; node ${process.version}; ${rounds} round(s), ${n.toLocaleString("en")} messages of 128 B per run after 20,000 untimed`,
    `Command: node bench/jspath.mjs ${argv.join(" ")}`.trimEnd(),
    "",
    "| case | build (dist) | msgs/s (median) | ratio to the first build | msgs per CPU-s (median) | ratio to the first build | msgs per CPU-s, each run |",
    "|---|---|---:|---:|---:|---:|---|",
    ...rows,
  ].join("\n"));
}
