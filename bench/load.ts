// Loopback load benchmark: gnat, nats-server and (if installed) redis-server side by side, driven
// by the same generator, runs interleaved (A B C A B C …), medians reported as ratios to
// nats-server, plus messages per server CPU-second (from /proc). Everything targets 127.0.0.1
// and every run is bounded by a message count and a timeout.
//
//   npm run bench:load -- [--quick] [--rounds N] [--scenarios a,b] [--servers gnat,nats,redis] [--write]
//   node dist/bench/load.js --auth [--rounds N] [--quick] [--write]   (auth cost: see authCost)
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerMsg } from "./load/worker.js";
import { spawnRole, withTimeout, type Handle } from "./load/spawn.js";
import { cpuTicks, freePort, rssKb, waitListening, which } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const SINK = join(here, "load/sink.js");

// ---- options ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag("quick");
const ROUNDS = Number(value("rounds") ?? (QUICK ? 1 : 3));
const SCALE = QUICK ? 0.25 : 1;
const WRITE = flag("write");

type ServerKind = "gnat" | "nats" | "redis";

interface RunningServer {
  kind: ServerKind;
  port: number;
  pid: number;
  child: ChildProcess;
}

// ---- servers ------------------------------------------------------------------------------------
/** Every process this benchmark started: none may outlive it, whatever ends it. */
const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
};
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** `configFile`: a nats-server config file, given to gnat and nats-server alike (-c). */
async function startServerProcess(kind: ServerKind, configFile?: string): Promise<RunningServer> {
  const port = await freePort();
  let child: ChildProcess;
  const conf = configFile === undefined ? [] : ["-c", configFile];
  if (kind === "gnat") {
    child = spawn(process.execPath, [join(root, "dist/server/process/cli.js"), ...conf, "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  } else if (kind === "nats") {
    child = spawn(which("nats-server")!, [...conf, "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  } else {
    child = spawn(which("redis-server")!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--protected-mode", "no", "--client-output-buffer-limit", "pubsub 0 0 0"], { stdio: "ignore" });
  }
  children.add(child);
  await waitListening(port, child);
  return { kind, port, pid: child.pid!, child };
}

const CLK_TCK = 100;

// ---- generator ----------------------------------------------------------------------------------
// ---- frames -------------------------------------------------------------------------------------
const natsPub = (subject: string, payload: string): string => `PUB ${subject} ${payload.length}\r\n${payload}\r\n`;
const natsMsgLen = (subject: string, sid: string, size: number): number => `MSG ${subject} ${sid} ${size}\r\n`.length + size + 2;
const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const redisPub = (channel: string, payload: string): string => `*3\r\n${bulk("PUBLISH")}${bulk(channel)}${bulk(payload)}`;
const redisMsgLen = (channel: string, size: number): number => `*3\r\n${bulk("message")}${bulk(channel)}`.length + `$${size}\r\n`.length + size + 2;

function batchOf(frames: string[], perBatch: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < perBatch; i++) parts.push(frames[i % frames.length]!);
  return Buffer.from(parts.join(""), "latin1");
}

// ---- scenarios ----------------------------------------------------------------------------------
interface Result {
  scenario: string;
  server: ServerKind;
  msgsPerSec: number;
  deliveriesPerSec: number;
  mbPerSec: number;
  msgsPerCpuSec: number;
  p50?: number;
  p99?: number;
  rssPerConnKb?: number;
}

interface Scenario {
  name: string;
  servers: ServerKind[];
  /** Start new servers every round (memory: RSS only says something on a fresh process). */
  fresh?: boolean;
  run(s: RunningServer): Promise<Result>;
}

const BATCH = 1000;
/** "PING\r\n": what a server sends a quiet subscriber besides its messages. */
const PING_LINE = 6;

/** Publish `msgs` frames from one publisher to `subs` subscriber connections; measure at the subscribers. */
async function pubSub(s: RunningServer, name: string, opts: {
  msgs: number; payload: number; subs: number; subjects: string[]; subSubjects?: string[]; queue?: string;
  /** NATS CONNECT line for every connection (credentials); default: quiet, no credentials. */
  connect?: string;
}): Promise<Result> {
  const payload = "x".repeat(opts.payload);
  const repeats = Math.max(1, Math.round(opts.msgs / BATCH));
  const total = repeats * BATCH;
  const frames = opts.subjects.map((subj) => (s.kind === "redis" ? redisPub(subj, payload) : natsPub(subj, payload)));
  // Subscription ids are fixed-width, so every delivered frame has the same, known size.
  const sid = (i: number): string => String(10_000 + i);
  const frameLen = s.kind === "redis" ? redisMsgLen(opts.subjects[0]!, opts.payload) : natsMsgLen(opts.subjects[0]!, sid(0), opts.payload);
  const subjects = opts.subSubjects ?? [opts.subjects[0]!];
  let setup: string;
  let readyBytes: string;
  let readyCount = 1;
  if (s.kind === "redis") {
    setup = `*${subjects.length + 1}\r\n${bulk("SUBSCRIBE")}${subjects.map(bulk).join("")}`;
    readyBytes = "subscribe";
    readyCount = subjects.length;
  } else {
    setup = (opts.connect ?? 'CONNECT {"verbose":false,"pedantic":false}\r\n') +
      subjects.map((subj, i) => `SUB ${subj}${opts.queue ? ` ${opts.queue}` : ""} ${sid(i)}\r\n`).join("") + "PING\r\n";
    readyBytes = "PONG\r\n";
  }
  const perConn = opts.queue ? 0 : total * frameLen;
  // All subscriber connections live in one worker: fewer threads competing with the server.
  const subHandles: Handle[] = [spawnRole({ role: "sub", proto: s.kind === "redis" ? "redis" : "nats", port: s.port, conns: opts.subs,
    setup, readyBytes, readyCount, expectBytes: perConn, ...(opts.queue ? { expectTotal: total * frameLen } : {}) })];
  await withTimeout(Promise.all(subHandles.map((h) => h.ready)), 60_000, "subscribers");
  const replyBytes = s.kind === "redis" ? total * `:${opts.subs}\r\n`.length : undefined;
  const pub = spawnRole({ role: "pub", proto: s.kind === "redis" ? "redis" : "nats", port: s.port, batch: batchOf(frames, BATCH), repeats,
    ...(replyBytes ? { replyBytes } : {}), ...(opts.connect !== undefined ? { connect: opts.connect } : {}) });
  await withTimeout(pub.ready, 10_000, "publisher");
  const cpu0 = cpuTicks(s.pid);
  pub.go();
  const p = await withTimeout(pub.done, 120_000, `${name} publisher`);
  let subsDone: Extract<WorkerMsg, { type: "done" }>[];
  subsDone = await withTimeout(Promise.all(subHandles.map((h) => h.done)), 120_000, `${name} subscribers`);
  const got = subsDone.reduce((a, d) => a + d.bytes, 0);
  const want = opts.queue ? total * frameLen : perConn * opts.subs;
  // A run longer than the server's first client ping (2 s; a loaded machine) sees a "PING\r\n" or
  // two among the deliveries: only whole pings may make up a difference.
  const extra = got - want;
  if (extra < 0 || extra % PING_LINE !== 0 || extra > PING_LINE * 4 * opts.subs) {
    throw new Error(`${name}: subscribers got ${got} bytes, expected ${want}`);
  }
  const cpu1 = cpuTicks(s.pid);
  for (const h of [...subHandles, pub]) void h.worker.terminate();
  const t1 = Math.max(p.t1, ...subsDone.map((d) => d.t1));
  const secs = (t1 - p.t0) / 1000;
  const deliveries = opts.queue ? total : total * opts.subs;
  const cpuSecs = Math.max(1, cpu1 - cpu0) / CLK_TCK;
  return {
    scenario: name, server: s.kind,
    msgsPerSec: total / secs,
    deliveriesPerSec: deliveries / secs,
    mbPerSec: (deliveries * opts.payload) / secs / 1e6,
    msgsPerCpuSec: Math.max(total, deliveries) / cpuSecs,
  };
}

async function pubOnly(s: RunningServer, msgs: number): Promise<Result> {
  const payload = "x".repeat(16);
  const repeats = Math.round(msgs / BATCH);
  const total = repeats * BATCH;
  const frame = s.kind === "redis" ? redisPub("bench.pub", payload) : natsPub("bench.pub", payload);
  const pub = spawnRole({ role: "pub", proto: s.kind === "redis" ? "redis" : "nats", port: s.port, batch: batchOf([frame], BATCH), repeats,
    ...(s.kind === "redis" ? { replyBytes: total * ":0\r\n".length } : {}) });
  await withTimeout(pub.ready, 10_000, "publisher");
  const cpu0 = cpuTicks(s.pid);
  pub.go();
  const p = await withTimeout(pub.done, 120_000, "publish-only");
  const cpu1 = cpuTicks(s.pid);
  void pub.worker.terminate();
  const secs = (p.t1 - p.t0) / 1000;
  return { scenario: "publish only, 16 B", server: s.kind, msgsPerSec: total / secs, deliveriesPerSec: 0, mbPerSec: (total * 16) / secs / 1e6,
    msgsPerCpuSec: total / (Math.max(1, cpu1 - cpu0) / CLK_TCK) };
}

async function requestReply(s: RunningServer, requests: number, warm = false): Promise<Result> {
  // On this VM an idle core takes ~100 µs to wake: with `warm`, a spinning process keeps one core
  // busy for the run, so what is measured is the servers rather than CPU wake-ups.
  let spinner: ChildProcess | null = null;
  if (warm) {
    spinner = spawn(process.execPath, ["-e", "const end = Date.now() + 60000; while (Date.now() < end) {}"], { stdio: "ignore" });
    children.add(spinner);
  }
  try {
    return await requestReplyRun(s, requests);
  } finally {
    spinner?.kill("SIGKILL");
  }
}

async function requestReplyRun(s: RunningServer, requests: number): Promise<Result> {
  const h = spawnRole({ role: "latency", port: s.port, requests });
  await withTimeout(h.ready, 10_000, "latency");
  const cpu0 = cpuTicks(s.pid);
  h.go();
  const d = await withTimeout(h.done, 120_000, "request-reply");
  const cpu1 = cpuTicks(s.pid);
  void h.worker.terminate();
  const lat = (d.latencies ?? []).sort((a, b) => a - b);
  const q = (x: number): number => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))] ?? 0;
  const secs = (d.t1 - d.t0) / 1000;
  return { scenario: "request-reply latency (serial)", server: s.kind, msgsPerSec: requests / secs, deliveriesPerSec: 0, mbPerSec: 0,
    msgsPerCpuSec: (2 * requests) / (Math.max(1, cpu1 - cpu0) / CLK_TCK), p50: q(0.5), p99: q(0.99) };
}

/** 10k connections with 10 subscriptions each; RSS growth per connection. */
async function memory(s: RunningServer, conns: number): Promise<Result> {
  const before = rssKb(s.pid);
  const sockets: Socket[] = [];
  for (let i = 0; i < conns; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, conns - i) }, (_, k) => new Promise<void>((resolve, reject) => {
      const sock = connect(s.port, "127.0.0.1");
      sockets.push(sock);
      let subs = 'CONNECT {"verbose":false}\r\n';
      for (let j = 0; j < 10; j++) subs += `SUB conn.${i + k}.s${j} ${j}\r\n`;
      sock.write(`${subs}PING\r\n`);
      let b = "";
      sock.on("data", function f(d: Buffer) {
        b += d.toString("latin1");
        if (b.includes("PONG")) {
          sock.off("data", f);
          resolve();
        }
      });
      sock.on("error", reject);
    })));
  }
  await new Promise((r) => setTimeout(r, 200));
  const after = rssKb(s.pid);
  for (const sock of sockets) sock.destroy();
  return { scenario: `memory: ${conns} connections × 10 subs`, server: s.kind, msgsPerSec: 0, deliveriesPerSec: 0, mbPerSec: 0, msgsPerCpuSec: 0,
    rssPerConnKb: (after - before) / conns };
}

const fixed = (prefix: string, n: number, from: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

const SCENARIOS: Scenario[] = [
  { name: "publish only, 16 B", servers: ["gnat", "nats", "redis"], run: (s) => pubOnly(s, 5_000_000 * SCALE) },
  { name: "1 → 1, 16 B", servers: ["gnat", "nats", "redis"], run: (s) => pubSub(s, "1 → 1, 16 B", { msgs: 2_000_000 * SCALE, payload: 16, subs: 1, subjects: ["bench.one"] }) },
  { name: "1 → 1, 1 KiB", servers: ["gnat", "nats"], run: (s) => pubSub(s, "1 → 1, 1 KiB", { msgs: 500_000 * SCALE, payload: 1024, subs: 1, subjects: ["bench.kib"] }) },
  { name: "fan-out 1 → 8", servers: ["gnat", "nats", "redis"], run: (s) => pubSub(s, "fan-out 1 → 8", { msgs: 400_000 * SCALE, payload: 16, subs: 8, subjects: ["bench.fan"] }) },
  { name: "queue group of 4", servers: ["gnat", "nats"], run: (s) => pubSub(s, "queue group of 4", { msgs: 1_000_000 * SCALE, payload: 16, subs: 4, subjects: ["bench.q"], queue: "workers" }) },
  { name: "wildcard subscribers", servers: ["gnat", "nats"], run: (s) => pubSub(s, "wildcard subscribers", {
    msgs: 1_000_000 * SCALE, payload: 16, subs: 2, subjects: fixed("bench.", 100, 100).map((x) => `${x}.x`), subSubjects: ["bench.*.x"] }) },
  { name: "10k distinct subjects", servers: ["gnat", "nats"], run: (s) => pubSub(s, "10k distinct subjects", {
    msgs: 1_000_000 * SCALE, payload: 16, subs: 1, subjects: fixed("s.", 10_000, 10_000), subSubjects: fixed("s.", 10_000, 10_000) }) },
  { name: "request-reply latency", servers: ["gnat", "nats"], run: (s) => requestReply(s, Math.round(20_000 * SCALE)) },
  { name: "request-reply latency, one core kept busy", servers: ["gnat", "nats"], run: (s) => requestReply(s, Math.round(20_000 * SCALE), true) },
  { name: "memory", servers: ["gnat", "nats"], fresh: true, run: (s) => memory(s, QUICK ? 2_000 : 10_000) },
];

// ---- generator ceilings -------------------------------------------------------------------------
/** How fast the generator publishes into a sink that does nothing, and reads from one that only writes. */
async function generatorCeilings(): Promise<string[]> {
  const out: string[] = [];
  const sinks: ChildProcess[] = [];
  const startSink = async (mode: string, frames: number): Promise<{ port: number; child: ChildProcess }> => {
    const port = await freePort();
    const child = spawn(process.execPath, [SINK, mode, String(port), String(frames)], { stdio: ["ignore", "pipe", "ignore"] });
    sinks.push(child);
    children.add(child);
    await waitListening(port, child);
    return { port, child };
  };
  try {
    return await ceilingRuns(out, startSink);
  } finally {
    for (const c of sinks) c.kill("SIGKILL");
  }
}

async function ceilingRuns(out: string[], startSink: (mode: string, frames: number) => Promise<{ port: number; child: ChildProcess }>): Promise<string[]> {
  {
    const msgs = 5_000_000 * SCALE;
    const sink = await startSink("discard", 0);
    const pub = spawnRole({ role: "pub", proto: "nats", port: sink.port, batch: batchOf([natsPub("bench.pub", "x".repeat(16))], BATCH), repeats: Math.round(msgs / BATCH) });
    await withTimeout(pub.ready, 10_000, "ceiling publisher");
    pub.go();
    const d = await withTimeout(pub.done, 60_000, "ceiling publisher");
    void pub.worker.terminate();
    sink.child.kill("SIGKILL");
    out.push(`publisher → discard sink: ${fmt(Math.round(msgs / BATCH) * BATCH / ((d.t1 - d.t0) / 1000))} msgs/s (16 B)`);
  }
  for (const conns of [1, 8]) {
    const msgs = (conns === 1 ? 2_000_000 : 400_000) * SCALE;
    const sink = await startSink("firehose", msgs);
    const frameLen = natsMsgLen("bench.one", "10000", 16);
    const sub = spawnRole({ role: "sub", proto: "nats", port: sink.port, conns, setup: "CONNECT {}\r\nSUB bench.one 10000\r\nPING\r\n",
      readyBytes: "PONG\r\n", readyCount: 1, expectBytes: Math.round(msgs / BATCH) * BATCH * frameLen });
    const d = await withTimeout(sub.done, 60_000, "ceiling subscriber");
    void sub.worker.terminate();
    sink.child.kill("SIGKILL");
    out.push(`firehose → ${conns} subscriber connection${conns > 1 ? "s" : ""}: ${fmt((d.bytes / frameLen) / ((d.t1 - d.t0) / 1000))} deliveries/s (16 B)`);
  }
  return out;
}

// ---- auth cost (--auth) --------------------------------------------------------------------------
// The same publish → subscribe load with no auth, a token, and a user with wildcard allow/deny
// lists, gnat and nats-server each started with the same config file; every round runs every
// (workload, auth, server) once, so drift on this shared machine hits all of them alike.
const AUTH_MODES: { name: string; config: string; connect: string }[] = [
  { name: "no auth", config: "", connect: 'CONNECT {"verbose":false,"pedantic":false}\r\n' },
  { name: "token", config: 'authorization { token: "s3cr3t-bench-token" }\n', connect: 'CONNECT {"verbose":false,"pedantic":false,"auth_token":"s3cr3t-bench-token"}\r\n' },
  {
    name: "user, wildcard allow/deny",
    config: `authorization { users: [ { user: bench, password: bench, permissions: {
  publish: { allow: ["bench.>", "other.*.x", "_INBOX.>"], deny: ["bench.secret.>", "*.private", "bench.*.hidden"] }
  subscribe: { allow: ["bench.>", "_INBOX.>"], deny: ["bench.secret.>", "bench.*.hidden"] }
} } ] }\n`,
    connect: 'CONNECT {"verbose":false,"pedantic":false,"user":"bench","pass":"bench"}\r\n',
  },
];

const AUTH_WORKLOADS: { name: string; opts: { msgs: number; payload: number; subs: number; subjects: string[]; subSubjects?: string[] } }[] = [
  { name: "1 → 1, 16 B, one subject", opts: { msgs: 1_000_000 * SCALE, payload: 16, subs: 1, subjects: ["bench.auth"] } },
  // More distinct subjects than the per-connection permission cache holds (128), to a wildcard
  // subscriber the deny list applies to: the uncached path.
  { name: "1 → 1, 16 B, 1000 subjects → bench.>", opts: { msgs: 1_000_000 * SCALE, payload: 16, subs: 1, subjects: fixed("bench.s", 1000, 1000), subSubjects: ["bench.>"] } },
];

async function authCost(have: ServerKind[]): Promise<void> {
  const started = Date.now();
  const kinds = (["gnat", "nats"] as ServerKind[]).filter((k) => have.includes(k));
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "gnat-authbench-"));
  const servers: { mode: string; s: RunningServer }[] = [];
  const results: (Result & { mode: string })[] = [];
  try {
    for (const [i, m] of AUTH_MODES.entries()) {
      let file: string | undefined;
      if (m.config !== "") {
        file = join(dir, `auth${i}.conf`);
        writeFileSync(file, m.config);
      }
      for (const k of kinds) servers.push({ mode: m.name, s: await startServerProcess(k, file) });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of AUTH_WORKLOADS) {
        for (const { mode, s } of servers) {
          const m = AUTH_MODES.find((x) => x.name === mode)!;
          const r = await pubSub(s, w.name, { ...w.opts, connect: m.connect });
          results.push({ ...r, mode });
          process.stderr.write(`  ${w.name} / ${mode} / ${s.kind} / round ${round + 1}: ${fmt(r.deliveriesPerSec)}/s\n`);
        }
      }
    }
  } finally {
    for (const { s } of servers) s.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (w: string, mode: string, k: ServerKind, f: (r: Result) => number): number =>
    median(results.filter((r) => r.scenario === w && r.mode === mode && r.server === k).map(f));
  const rows = [
    "| workload | auth | server | deliveries/s | ratio to nats-server (same auth) | ratio to own no-auth run | msgs per server CPU-s |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const w of AUTH_WORKLOADS) {
    for (const m of AUTH_MODES) {
      for (const k of kinds) {
        const d = med(w.name, m.name, k, (r) => r.deliveriesPerSec);
        const nats = med(w.name, m.name, "nats", (r) => r.deliveriesPerSec);
        const base = med(w.name, AUTH_MODES[0]!.name, k, (r) => r.deliveriesPerSec);
        rows.push(`| ${w.name} | ${m.name} | ${k === "nats" ? "nats-server" : k} | ${fmt(d)} | ${nats > 0 ? `${(d / nats).toFixed(2)}×` : ""} | ${(d / base).toFixed(2)}× | ${fmt(med(w.name, m.name, k, (r) => r.msgsPerCpuSec))} |`);
      }
    }
  }
  const natsVersion = which("nats-server") ? spawnSync("nats-server", ["--version"], { encoding: "utf8" }).stdout.trim() : "absent";
  const header = [
    `Date: ${new Date().toISOString()}`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; node ${process.version}; ${natsVersion}`,
    `Command: node dist/bench/load.js ${argv.join(" ")} (after npx tsc -p tsconfig.json)`,
    `Rounds: ${ROUNDS} (median shown; every workload × auth × server once per round), scale ${SCALE}; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
    "The user has 3 allow and 3 deny publish patterns and 2 + 2 subscribe patterns (wildcards in both); the one-subject workload",
    "hits the per-connection permission cache every time; 1000 rotating subjects to a `bench.>` subscriber (which the subscribe deny",
    "list applies to) miss it every time (128 entries, as nats-server's), so that row is the cost of the check itself. The machine is",
    "shared: compare ratios within this one run, not across runs.",
  ].join("\n");
  const table = rows.join("\n");
  console.log(`\n${header}\n\n${table}\n`);
  if (WRITE) {
    const path = join(root, "bench/RESULTS.md");
    const old = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
    const section = `## Auth cost\n\n${header}\n\n${table}\n`;
    const re = /## Auth cost\n[\s\S]*?(?=\n## |$)/;
    writeFileSync(path, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`);
    console.log(`written to ${path}`);
  }
}

// ---- main ---------------------------------------------------------------------------------------
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function fmt(n: number, digits = 2): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(digits)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

async function main(): Promise<void> {
  if (!existsSync(join(root, "dist/server/process/cli.js"))) throw new Error("build first: npm run build");
  const wanted = (value("servers") ?? "gnat,nats,redis").split(",") as ServerKind[];
  const have = wanted.filter((k) => k === "gnat" || (k === "nats" ? which("nats-server") : which("redis-server")));
  for (const k of wanted) if (!have.includes(k)) console.warn(`*** ${k} is not installed: left out of this run ***`);
  if (flag("auth")) return authCost(have);
  const only = value("scenarios")?.split(",");
  const scenarios = SCENARIOS.filter((s) => !only || only.some((o) => s.name.includes(o)));

  const started = Date.now();
  const ceilings = flag("no-ceilings") ? [] : await generatorCeilings();
  for (const c of ceilings) process.stderr.write(`  generator ceiling: ${c}\n`);
  const results: Result[] = [];
  for (const sc of scenarios) {
    const kinds = sc.servers.filter((k) => have.includes(k));
    // Fresh servers per scenario (or per round); rounds interleave the servers so drift hits all alike.
    let servers = await Promise.all(kinds.map((k) => startServerProcess(k)));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        if (sc.fresh && round > 0) {
          for (const s of servers) s.child.kill("SIGKILL");
          servers = await Promise.all(kinds.map((k) => startServerProcess(k)));
        }
        for (const s of servers) {
          const r = { ...(await sc.run(s)), scenario: sc.name };
          results.push(r);
          process.stderr.write(`  ${sc.name} / ${s.kind} / round ${round + 1}: ${fmt(r.deliveriesPerSec || r.msgsPerSec)}/s${r.p50 ? ` p50 ${r.p50.toFixed(0)} µs` : ""}${r.rssPerConnKb ? ` ${r.rssPerConnKb.toFixed(1)} KB/conn` : ""}\n`);
        }
      }
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
    }
  }

  const rows: string[] = [];
  rows.push("| scenario | server | msgs/s | deliveries/s | MB/s | ratio to nats-server | msgs per server CPU-s | p50 / p99 µs | RSS/conn |");
  rows.push("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const sc of scenarios) {
    const byServer = new Map<ServerKind, Result[]>();
    for (const r of results.filter((x) => x.scenario === sc.name)) {
      if (!byServer.has(r.server)) byServer.set(r.server, []);
      byServer.get(r.server)!.push(r);
    }
    const med = (k: ServerKind, f: (r: Result) => number | undefined): number => median((byServer.get(k) ?? []).map((r) => f(r) ?? 0));
    const headline = (r: Result): number => (r.p50 !== undefined ? r.p50 : r.rssPerConnKb !== undefined ? r.rssPerConnKb : r.deliveriesPerSec || r.msgsPerSec);
    const natsHead = med("nats", headline);
    for (const k of ["gnat", "nats", "redis"] as ServerKind[]) {
      if (!byServer.has(k)) continue;
      const head = med(k, headline);
      const ratio = natsHead > 0 ? head / natsHead : 0;
      const isLat = byServer.get(k)![0]!.p50 !== undefined;
      const isMem = byServer.get(k)![0]!.rssPerConnKb !== undefined;
      rows.push(`| ${sc.name} | ${k === "nats" ? "nats-server" : k} | ${isLat || isMem ? "" : fmt(med(k, (r) => r.msgsPerSec))} | ${isLat || isMem ? "" : fmt(med(k, (r) => r.deliveriesPerSec))} | ${isLat || isMem ? "" : med(k, (r) => r.mbPerSec).toFixed(1)} | ${ratio ? `${ratio.toFixed(2)}×` : ""} | ${isMem ? "" : fmt(med(k, (r) => r.msgsPerCpuSec))} | ${isLat ? `${med(k, (r) => r.p50).toFixed(0)} / ${med(k, (r) => r.p99).toFixed(0)}` : ""} | ${isMem ? `${med(k, (r) => r.rssPerConnKb).toFixed(1)} KB` : ""} |`);
    }
  }
  const table = rows.join("\n");
  const natsVersion = which("nats-server") ? spawnSync("nats-server", ["--version"], { encoding: "utf8" }).stdout.trim() : "absent";
  const header = [
    `Date: ${new Date().toISOString()}`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; node ${process.version}; ${natsVersion}`,
    `Command: npm run bench:load -- ${argv.join(" ")}`.trimEnd(),
    `Rounds: ${ROUNDS} (median shown; servers interleaved), scale ${SCALE}; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
    "Ratios: throughput gnat/nats-server (higher is better); for latency and memory the same ratio means lower is better.",
    ...(ceilings.length ? ["", "Generator ceilings (the same generator against a sink that costs nothing; well above every server rate below, so the generator is not the bottleneck):", ...ceilings.map((c) => `- ${c}`)] : []),
  ].join("\n");
  console.log(`\n${header}\n\n${table}\n`);
  if (WRITE) {
    const path = join(root, "bench/RESULTS.md");
    const old = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
    const section = `## Load benchmark\n\n${header}\n\n${table}\n`;
    const re = /## Load benchmark\n[\s\S]*?(?=\n## |$)/;
    writeFileSync(path, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`);
    console.log(`written to ${path}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
