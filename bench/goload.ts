// The Go load generator (go/loadgen, on Debian's nats.go) driving gnat and nats-server side
// by side: builds the generator, starts both servers fresh per scenario, runs rounds interleaved
// (gnat, nats-server, gnat, …), and reports throughput, the ratio to nats-server, messages per
// server CPU-second, loss, peak RSS (sampled every 100 ms) and RSS once the clients have left.
// Everything targets 127.0.0.1 and every run is bounded by a message count and a timeout.
//
//   npm run bench:go -- [--quick] [--rounds N] [--scenarios a,b] [--servers gnat,nats] [--write] [--strict]
//   npm run bench:go -- --sustained [--quick] [--scale X] [--write]     # 20 M 1 → 1 and 3 M × 8, zero loss expected
//   npm run bench:go -- --firehose [--bytes 10e9] [--size 65536] [--write]  # one producer, one reading subscriber
//   npm run bench:go -- --jetstream [--quick] [--rounds N] [--startup-bytes 1e9] [--no-startup] [--servers gnat,gnat-always,gnat-base,nats] [--write]
//
// GNAT_CLI=/other/dist/server/process/cli.js: run that build of gnat instead of this one.
// GNAT_BASE_CLI=/base/dist/server/process/cli.js (--jetstream only): run that build as well, as
// "gnat-base" (default sync), interleaved with the others, to compare two builds in one session.
//
// --strict: exit 1 if any run lost, duplicated, reordered or corrupted a message.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, rssKb, sleep, waitListening, which } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
/** The gnat to run: this build's, or another's (GNAT_CLI=/path/to/dist/server/process/cli.js, to compare builds). */
const GNAT_CLI = process.env["GNAT_CLI"] ?? join(root, "dist/server/process/cli.js");
/** A second build measured alongside (--jetstream): a before/after in one interleaved session. */
const GNAT_BASE_CLI = process.env["GNAT_BASE_CLI"] ?? "";
const GO_SRC = join(root, "go/loadgen");
const GO_BIN = join(root, "dist/bench/go/loadgen");
const NATS_GO = "/usr/share/gocode/src/github.com/nats-io/nats.go";

// ---- options ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag("quick");
const SUSTAINED = flag("sustained");
const FIREHOSE = flag("firehose");
const ROUNDS = Number(value("rounds") ?? (QUICK || SUSTAINED || FIREHOSE ? 1 : 3));
const SCALE = Number(value("scale") ?? (QUICK ? (SUSTAINED ? 0.1 : 0.25) : 1));
const WRITE = flag("write");
const STRICT = flag("strict");

type ServerKind = "gnat" | "nats";

interface RunningServer {
  kind: ServerKind;
  port: number;
  pid: number;
  child: ChildProcess;
}

// ---- processes ----------------------------------------------------------------------------------
/** Every process this driver started: none may outlive it, whatever ends it. */
const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
};
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

async function startServer(kind: ServerKind, natsServer: string): Promise<RunningServer> {
  const port = await freePort();
  const child = kind === "gnat"
    ? spawn(process.execPath, [GNAT_CLI, "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" })
    : spawn(natsServer, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  return { kind, port, pid: child.pid!, child };
}

function stopServer(s: RunningServer): void {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  children.delete(s.child);
}

// ---- building the generator ---------------------------------------------------------------------
/** Builds go/loadgen in GOPATH mode against Debian's nats.go; null (and why) if Go is not there. */
function buildGenerator(): string | null {
  // $GO picks a toolchain (GO=none to skip the Go generator).
  const goBin = process.env["GO"] !== undefined ? (existsSync(process.env["GO"]) ? process.env["GO"] : null)
    : which("go") ?? (existsSync("/usr/bin/go") ? "/usr/bin/go" : null);
  if (!goBin) {
    console.error("*** Go not found: skipping the Go generator (apt install golang-go golang-github-nats-io-go-nats-dev) ***");
    return null;
  }
  if (!existsSync(NATS_GO)) {
    console.error(`*** nats.go not found at ${NATS_GO}: skipping the Go generator (apt install golang-github-nats-io-go-nats-dev) ***`);
    return null;
  }
  mkdirSync(dirname(GO_BIN), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: "off",
    GOPATH: "/usr/share/gocode",
    GOFLAGS: "",
    GOPROXY: "off",
    GOTOOLCHAIN: "local",
    GOCACHE: join(tmpdir(), "gnat-loadgen-gocache"),
  };
  const t0 = Date.now();
  const r = spawnSync(goBin, ["build", "-o", GO_BIN, "."], { cwd: GO_SRC, env, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`building the Go generator failed (${goBin} build in ${GO_SRC}):\n${r.stderr}${r.stdout}`);
  }
  const version = spawnSync(goBin, ["version"], { encoding: "utf8" }).stdout.trim();
  process.stderr.write(`  built ${GO_BIN} (${version}, nats.go from ${NATS_GO}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return version;
}

// ---- one run --------------------------------------------------------------------------------------
/** What loadgen prints (the fields used here). */
interface GenResult {
  mode: string;
  msgs: number;
  size: number;
  published: number;
  publishErrors: number;
  elapsedSeconds: number;
  msgsPerSec: number;
  deliveriesPerSec: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  corrupt: number;
  clientDropped: number;
  slowConsumerErrors: number;
  asyncErrors?: Record<string, number>;
  disconnects: number;
  disconnectReasons?: Record<string, number>;
  deadSubscribers: number;
  timedOut: boolean;
  endedBy: string;
  p50Us?: number;
  p99Us?: number;
  errors?: string[];
  serverCpuTicks?: number;
  msgsPerCpuSec?: number;
  /** jspub: nats.go async reply-token collisions (see loadgen), not server loss. */
  replyCollisions?: number;
  ok: boolean;
}

interface Run {
  scenario: string;
  server: ServerKind;
  round: number;
  gen: GenResult;
  idleRssKb: number;
  peakRssKb: number;
  afterRssKb: number;
}

interface Scenario {
  name: string;
  args: string[];
  /** Seconds loadgen may take (its -timeout); the driver kills it some time after. */
  timeout: number;
  /** Start new servers for every run (RSS says something only on a fresh process). */
  fresh?: boolean;
  /** How long after the clients leave to read RSS again. */
  settleMs?: number;
}

function runGenerator(s: Pick<RunningServer, "port" | "pid"> & { kind: string }, sc: Scenario): Promise<{ gen: GenResult; peakRssKb: number }> {
  return new Promise((resolve, reject) => {
    const args = ["-port", String(s.port), "-pid", String(s.pid), "-scenario", sc.name, "-timeout", `${sc.timeout}s`, ...sc.args];
    const child = spawn(GO_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    let peak = rssKb(s.pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(s.pid))), 100);
    const killer = setTimeout(() => child.kill("SIGKILL"), (sc.timeout + 30) * 1000);
    child.on("close", (code, signal) => {
      clearInterval(sampler);
      clearTimeout(killer);
      children.delete(child);
      peak = Math.max(peak, rssKb(s.pid));
      const line = out.trim().split("\n").pop() ?? "";
      try {
        const gen = JSON.parse(line) as GenResult;
        if (gen.errors?.length) return reject(new Error(`loadgen (${sc.name}, ${s.kind}): ${gen.errors.join("; ")}`));
        resolve({ gen, peakRssKb: peak });
      } catch {
        reject(new Error(`loadgen (${sc.name}, ${s.kind}) ended with ${signal ?? code} and no result:\n${out}${err}`));
      }
    });
  });
}

// ---- scenarios ----------------------------------------------------------------------------------
const n = (x: number): string => String(Math.max(1, Math.round(x * SCALE)));

const DEFAULT: Scenario[] = [
  { name: "publish only, 16 B", timeout: 60, args: ["-mode", "pub", "-msgs", n(2_000_000), "-size", "16"] },
  { name: "1 → 1, 16 B", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(1_000_000), "-size", "16", "-subs", "1"] },
  { name: "1 → 1, 1 KiB", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(300_000), "-size", "1024", "-subs", "1"] },
  { name: "1 → 1, 64 KiB", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(20_000), "-size", "65536", "-subs", "1"] },
  { name: "fan-out 1 → 8", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(300_000), "-size", "16", "-subs", "8"] },
  { name: "queue group of 4", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(500_000), "-size", "16", "-subs", "4", "-queue", "workers"] },
  // As load.ts: 100 subjects bench.w.<n>.x published round-robin, 2 connections subscribed to bench.w.*.x.
  { name: "wildcard subscribers", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(500_000), "-size", "16", "-subs", "2", "-subjects", "100", "-wildcard"] },
  // As load.ts: 10,000 subjects round-robin, one connection holding one subscription per subject.
  { name: "10k distinct subjects", timeout: 60, args: ["-mode", "pubsub", "-msgs", n(500_000), "-size", "16", "-subs", "1", "-subjects", "10000"] },
  { name: "request-reply latency", timeout: 60, args: ["-mode", "req", "-msgs", n(10_000), "-size", "16"] },
];

const SUSTAINED_SCENARIOS: Scenario[] = [
  { name: "sustained 1 → 1, 16 B", timeout: 600, fresh: true, settleMs: 2000, args: ["-mode", "pubsub", "-msgs", n(20_000_000), "-size", "16", "-subs", "1"] },
  { name: "sustained fan-out 1 → 8, 16 B", timeout: 600, fresh: true, settleMs: 2000, args: ["-mode", "pubsub", "-msgs", n(3_000_000), "-size", "16", "-subs", "8"] },
];

function firehoseScenario(): Scenario {
  const size = Number(value("size") ?? 65536);
  const bytes = Number(value("bytes") ?? (QUICK ? 1e9 : 10e9));
  const msgs = Math.max(1, Math.round(bytes / size));
  return { name: `firehose ${fmtBytes(msgs * size)} of ${fmtBytes(size)} messages → 1 subscriber`, timeout: 600, fresh: true, settleMs: 2000,
    args: ["-mode", "pubsub", "-msgs", String(msgs), "-size", String(size), "-subs", "1"] };
}

// ---- formatting ---------------------------------------------------------------------------------
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function fmt(x: number, digits = 2): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(digits)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(1);
}

function fmtBytes(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(1)} GB`;
  if (b >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(0)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(0)} KiB`;
  return `${b} B`;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

/** Loss over all rounds of one scenario on one server, plus whatever else went wrong. */
function lossCell(runs: Run[]): string {
  const sum = (f: (g: GenResult) => number): number => runs.reduce((a, r) => a + f(r.gen), 0);
  const lost = sum((g) => g.lost);
  const expected = sum((g) => g.expectedDeliveries);
  const parts: string[] = [];
  if (lost > 0) parts.push(`**${lost.toLocaleString("en")} lost** (${((100 * lost) / Math.max(1, expected)).toFixed(1)}%)`);
  const extra: [string, number][] = [["duplicates", sum((g) => g.duplicates)], ["out of order", sum((g) => g.outOfOrder)],
    ["corrupt", sum((g) => g.corrupt)], ["dropped by nats.go", sum((g) => g.clientDropped)],
    ["subscriber connection(s) closed by the server", sum((g) => g.deadSubscribers)], ["publish errors", sum((g) => g.publishErrors)],
    ["timed out", runs.filter((r) => r.gen.timedOut).length]];
  for (const [what, k] of extra) if (k > 0) parts.push(`**${k.toLocaleString("en")} ${what}**`);
  if (parts.length === 0) return "0";
  const bad = runs.filter((r) => !r.gen.ok).length;
  return `${parts.join(", ")}${runs.length > 1 ? ` (${bad} of ${runs.length} runs)` : ""}`;
}

function problems(runs: Run[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    if (r.gen.ok) continue;
    const g = r.gen;
    const bits = [`${g.delivered.toLocaleString("en")} of ${g.expectedDeliveries.toLocaleString("en")} delivered`, `ended by ${g.endedBy}`];
    if (g.duplicates) bits.push(`${g.duplicates} duplicates`);
    if (g.outOfOrder) bits.push(`${g.outOfOrder} out of order`);
    if (g.corrupt) bits.push(`${g.corrupt} corrupt`);
    if (g.clientDropped) bits.push(`${g.clientDropped} dropped by nats.go`);
    if (g.slowConsumerErrors) bits.push(`${g.slowConsumerErrors} slow-consumer errors`);
    if (g.published < g.msgs) bits.push(`published only ${g.published} of ${g.msgs}`);
    const reasons = Object.entries(g.disconnectReasons ?? {}).map(([k, v]) => (v > 1 ? `${k} ×${v}` : k));
    if (reasons.length) bits.push(`disconnects: ${summarize(reasons)}`);
    const errs = Object.entries(g.asyncErrors ?? {}).map(([k, v]) => `${k} ×${v}`);
    if (errs.length) bits.push(`async errors: ${errs.join("; ")}`);
    out.push(`- ${r.scenario} / ${r.server === "nats" ? "nats-server" : r.server} / round ${r.round}: ${bits.join(", ")}`);
  }
  return out;
}

/** "sub-0: EOF", "sub-1: EOF", … → "sub-0..sub-7: EOF". */
function summarize(reasons: string[]): string {
  const byReason = new Map<string, string[]>();
  for (const r of reasons) {
    const i = r.indexOf(": ");
    const who = i >= 0 ? r.slice(0, i) : "";
    const why = i >= 0 ? r.slice(i + 2) : r;
    if (!byReason.has(why)) byReason.set(why, []);
    byReason.get(why)!.push(who);
  }
  return [...byReason].map(([why, who]) => `${who.length > 2 ? `${who.length} connections (${who[0]}, …)` : who.join(", ")}: ${why}`).join("; ");
}

// ---- main ---------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const goVersion = buildGenerator();
  if (goVersion === null) return;
  if (!existsSync(GNAT_CLI)) throw new Error("build first: npm run build");
  // --write keeps this build's sections: a comparison with another build is written up by hand.
  if (WRITE && (process.env["GNAT_CLI"] !== undefined || GNAT_BASE_CLI !== "")) throw new Error("--write with GNAT_CLI or GNAT_BASE_CLI: not this build's numbers");
  const natsServer = which("nats-server") ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : null);
  const wanted = (value("servers") ?? "gnat,nats").split(",").filter((k): k is ServerKind => k === "gnat" || k === "nats");
  const kinds = wanted.filter((k) => k === "gnat" || natsServer !== null);
  if (wanted.includes("nats") && !natsServer) console.warn("*** nats-server is not installed: left out of this run (no ratios) ***");

  if (flag("jetstream")) return jetstreamMain(goVersion, natsServer);
  const only = value("scenarios")?.split(",");
  const pool = FIREHOSE ? [firehoseScenario()] : SUSTAINED ? SUSTAINED_SCENARIOS : DEFAULT;
  const scenarios = pool.filter((s) => !only || only.some((o) => s.name.includes(o)));
  const started = Date.now();
  const runs: Run[] = [];
  for (const sc of scenarios) {
    // Fresh servers per scenario (or per run for RSS scenarios); rounds interleave the servers.
    let servers: RunningServer[] = [];
    const fresh = async (): Promise<void> => {
      for (const s of servers) stopServer(s);
      servers = [];
      for (const k of kinds) servers.push(await startServer(k, natsServer ?? ""));
      await sleep(300);
    };
    try {
      await fresh();
      for (let round = 1; round <= ROUNDS; round++) {
        if (sc.fresh && round > 1) await fresh();
        for (const s of servers) {
          const idleRssKb = rssKb(s.pid);
          const { gen, peakRssKb } = await runGenerator(s, sc);
          await sleep(sc.settleMs ?? 1000);
          const afterRssKb = rssKb(s.pid);
          const run: Run = { scenario: sc.name, server: s.kind, round, gen, idleRssKb, peakRssKb, afterRssKb };
          runs.push(run);
          const head = gen.p50Us !== undefined ? `p50 ${gen.p50Us.toFixed(0)} µs p99 ${(gen.p99Us ?? 0).toFixed(0)} µs`
            : `${fmt(gen.deliveriesPerSec || gen.msgsPerSec)}/s`;
          process.stderr.write(`  ${sc.name} / ${s.kind} / round ${round}: ${head}, peak RSS ${mb(peakRssKb)}` +
            `${gen.ok ? "" : ` — ${gen.lost > 0 ? `LOST ${gen.lost.toLocaleString("en")} of ${gen.expectedDeliveries.toLocaleString("en")}` : "NOT OK"} (ended by ${gen.endedBy})`}\n`);
        }
      }
    } finally {
      for (const s of servers) stopServer(s);
    }
  }

  const rows: string[] = [];
  const rss = SUSTAINED || FIREHOSE;
  rows.push(rss
    ? "| scenario | server | msgs/s | deliveries/s | ratio to nats-server | msgs per server CPU-s | loss | idle RSS | peak RSS | RSS 2 s after |"
    : "| scenario | server | msgs/s | deliveries/s | ratio to nats-server | msgs per server CPU-s | loss | peak RSS | RSS after | p50 / p99 µs |");
  rows.push(rss ? "|---|---|---:|---:|---:|---:|---|---:|---:|---:|" : "|---|---|---:|---:|---:|---:|---|---:|---:|---:|");
  for (const sc of scenarios) {
    const of = (k: ServerKind): Run[] => runs.filter((r) => r.scenario === sc.name && r.server === k);
    const isLat = sc.args.includes("req");
    const headline = (r: Run): number => (isLat ? r.gen.p50Us ?? 0 : r.gen.deliveriesPerSec || r.gen.msgsPerSec);
    const natsHead = median(of("nats").map(headline));
    for (const k of kinds) {
      const rs = of(k);
      if (rs.length === 0) continue;
      const med = (f: (r: Run) => number): number => median(rs.map(f));
      const ratio = natsHead > 0 ? med(headline) / natsHead : 0;
      const cells = [sc.name, k === "nats" ? "nats-server" : k,
        isLat ? "" : fmt(med((r) => r.gen.msgsPerSec)),
        isLat || sc.args.includes("pub") ? "" : fmt(med((r) => r.gen.deliveriesPerSec)),
        // A rate over a run that lost messages is not comparable: flag it.
        ratio ? `${ratio.toFixed(2)}×${rs.some((r) => !r.gen.ok) || of("nats").some((r) => !r.gen.ok) ? " (not clean)" : ""}` : "",
        fmt(med((r) => r.gen.msgsPerCpuSec ?? 0)),
        lossCell(rs)];
      if (rss) cells.push(mb(med((r) => r.idleRssKb)), mb(Math.max(...rs.map((r) => r.peakRssKb))), mb(med((r) => r.afterRssKb)));
      else cells.push(mb(Math.max(...rs.map((r) => r.peakRssKb))), mb(med((r) => r.afterRssKb)),
        isLat ? `${med((r) => r.gen.p50Us ?? 0).toFixed(0)} / ${med((r) => r.gen.p99Us ?? 0).toFixed(0)}` : "");
      rows.push(`| ${cells.join(" | ")} |`);
    }
  }
  const table = rows.join("\n");
  const issues = problems(runs);
  const natsVersion = natsServer ? spawnSync(natsServer, ["--version"], { encoding: "utf8" }).stdout.trim() : "absent";
  const header = [
    `Date: ${new Date().toISOString()}`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; node ${process.version}; ${natsVersion}; ${goVersion}, nats.go (Debian)`,
    `Command: npm run bench:go -- ${argv.join(" ")}`.trimEnd(),
    `Rounds: ${ROUNDS} (median shown; servers interleaved; loss summed over rounds), scale ${SCALE}; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
    "Ratios: gnat/nats-server, deliveries/s (msgs/s for publish only; p50 for latency, where lower is better). Peak RSS: the server's VmRSS sampled every 100 ms during the run; RSS after: 1 s (2 s for sustained/firehose) after the clients left.",
  ].join("\n");
  const issuesText = issues.length ? `\nRuns that were not clean (loss is counted per subscriber connection, or across a queue group):\n${issues.join("\n")}\n` : "\nEvery run clean: no loss, duplicates, reordering, client drops or disconnects.\n";
  console.log(`\n${header}\n\n${table}\n${issuesText}`);
  if (issues.length) console.error(`*** ${issues.length} run(s) not clean (see above) ***`);
  if (WRITE) {
    const path = join(root, "bench/RESULTS.md");
    const old = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
    const title = FIREHOSE ? "## Go generator: firehose" : SUSTAINED ? "## Go generator: sustained" : "## Go generator";
    const section = `${title}\n\n${FIREHOSE || SUSTAINED ? "" : `${ABOUT}\n\n`}${header}\n\n${table}\n${issuesText}`;
    const re = new RegExp(`${title}\\n[\\s\\S]*?(?=\\n## |$)`);
    writeFileSync(path, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`);
    console.log(`written to ${path}`);
  }
  if (STRICT && issues.length) process.exitCode = 1;
}

const ABOUT = `A second generator, written in Go on nats.go 1.22 (Debian's golang-github-nats-io-go-nats-dev,
built in GOPATH mode: no module download), because a Node generator missed a data-loss bug that a
Go client found at once. \`go/loadgen\` runs one scenario against one server and prints one
JSON line; \`bench/goload.ts\` builds it into dist/bench/go/, starts gnat and nats-server fresh per
scenario and interleaves them. The producer publishes as fast as nats.go lets it, then Flush().
Every payload starts with its sequence number; every subscriber connection (or a queue group as a
whole) must see each message exactly once and in order. Subscribers have unlimited pending limits
and reconnects are off, so nothing is dropped in the client and a connection the server closes
stays closed: its loss is counted, along with nats.go's Dropped(), async errors and disconnect
reasons. Each run ends by itself: complete, stalled after the publisher's flush, or timed out.

\`\`\`sh
npm run bench:go -- --quick                     # all scenarios, 1 round, ¼ of the messages
npm run bench:go -- --rounds 3 --write          # rewrites this section
npm run bench:go -- --sustained [--write]       # 20 M × 16 B 1 → 1 and 3 M × 8 fan-out: idle, peak and after RSS
npm run bench:go -- --firehose [--bytes 10e9]   # 64 KiB messages at one reading subscriber: peak RSS
npm run bench:load                              # the Node generator, then this one
\`\`\``;

// ---- JetStream ---------------------------------------------------------------------------------
// Acked publishing into a file and a memory stream, synchronous and with 4,000 in flight, on gnat
// (default sync policy, and sync_interval: always) and nats-server -js (its default), interleaved;
// then the start-up time of a ~1 GB file stream of 1 KiB messages on each server.

type JsKind = "gnat" | "gnat-always" | "gnat-base" | "nats";
interface JsServer { kind: JsKind; port: number; pid: number; child: ChildProcess; dir: string; }

const JS_LABEL: Record<JsKind, string> = {
  gnat: "gnat (default sync)", "gnat-always": "gnat (sync_interval: always)",
  "gnat-base": "gnat, base build (GNAT_BASE_CLI, default sync)", nats: "nats-server (default)",
};
const jsCli = (kind: JsKind): string => (kind === "gnat-base" ? GNAT_BASE_CLI : GNAT_CLI);

function jsArgs(kind: JsKind, dir: string, port: number): string[] {
  if (kind === "gnat-always") {
    const conf = join(dir, "gnat.conf");
    writeFileSync(conf, `jetstream {\n  store_dir: ${JSON.stringify(join(dir, "store"))}\n  sync_interval: always\n}\n`);
    return ["-c", conf, "-a", "127.0.0.1", "-p", String(port)];
  }
  return ["-js", "-sd", join(dir, "store"), "-a", "127.0.0.1", "-p", String(port)];
}

async function startJs(kind: JsKind, natsServer: string, dir: string, extraNode: string[] = []): Promise<JsServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = jsArgs(kind, dir, port);
  const child = kind === "nats" ? spawn(natsServer, args, { stdio: "ignore" })
    : spawn(process.execPath, [...extraNode, jsCli(kind), ...args], { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  return { kind, port, pid: child.pid!, child, dir };
}

async function stopJs(s: JsServer, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const c = s.child;
  if (c.exitCode === null && c.signalCode === null) {
    const done = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill("SIGKILL"), 20_000);
    await done;
    clearTimeout(t);
  }
  children.delete(c);
}

/**
 * One STREAM.INFO request over a raw socket; the reply's JSON, or null if the server is not
 * answering it yet (connection refused, no responders, an error reply).
 */
function streamInfo(port: number, stream: string): Promise<{ state?: { messages: number; bytes: number } } | null> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let buf = "";
    let asked = false;
    const done = (v: { state?: { messages: number; bytes: number } } | null): void => { sock.destroy(); resolve(v); };
    const timer = setTimeout(() => done(null), 5000);
    sock.on("error", () => { clearTimeout(timer); done(null); });
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      if (!asked && buf.includes("\r\n")) {
        asked = true;
        sock.write(`CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nSUB _INBOX.startup 1\r\nPUB $JS.API.STREAM.INFO.${stream} _INBOX.startup 0\r\n\r\n`);
      }
      if (buf.includes("HMSG _INBOX.startup")) { clearTimeout(timer); return done(null); } // 503 no responders
      const m = /MSG _INBOX\.startup 1 (\d+)\r\n/.exec(buf);
      if (m === null) return;
      const start = m.index + m[0].length;
      const len = Number(m[1]);
      if (buf.length < start + len) return;
      clearTimeout(timer);
      try {
        const j = JSON.parse(buf.slice(start, start + len)) as { error?: unknown; state?: { messages: number; bytes: number } };
        done(j.error !== undefined ? null : j);
      } catch {
        done(null);
      }
    });
  });
}

/** Process start → first STREAM.INFO reply with every message: connect retries, no fixed sleeps. */
async function timeStartup(kind: JsKind, natsServer: string, dir: string, stream: string, msgs: number): Promise<{ ms: number; server: JsServer }> {
  const port = await freePort();
  const args = jsArgs(kind, dir, port);
  const t0 = performance.now();
  const child = kind === "nats" ? spawn(natsServer, args, { stdio: "ignore" })
    : spawn(process.execPath, [jsCli(kind), ...args], { stdio: "ignore" });
  children.add(child);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited with ${child.exitCode} during start-up`);
    const info = await streamInfo(port, stream);
    if (info?.state !== undefined) {
      if (info.state.messages !== msgs) throw new Error(`${kind} restarted with ${info.state.messages} messages, expected ${msgs}`);
      return { ms: performance.now() - t0, server: { kind, port, pid: child.pid!, child, dir } };
    }
    if (Date.now() > deadline) throw new Error(`${kind}: no STREAM.INFO reply within 120 s`);
    await sleep(2);
  }
}

async function jetstreamMain(goVersion: string, natsServer: string | null): Promise<void> {
  if (GNAT_BASE_CLI !== "" && !existsSync(GNAT_BASE_CLI)) throw new Error(`GNAT_BASE_CLI: no ${GNAT_BASE_CLI}`);
  const all: JsKind[] = ["gnat", "gnat-always", ...(GNAT_BASE_CLI !== "" ? ["gnat-base" as const] : []), ...(natsServer !== null ? ["nats" as const] : [])];
  const only = value("servers")?.split(",");
  const kinds = all.filter((k) => !only || only.includes(k));
  if (natsServer === null) console.warn("*** nats-server is not installed: left out of this run (no ratios) ***");
  const base = join(tmpdir(), `gnat-jsbench-${process.pid}`);
  const started = Date.now();
  const size = Number(value("size") ?? 128);
  const scenarios: Scenario[] = [
    { name: "sync publish, file", timeout: 120, args: ["-mode", "jspub", "-async", "0", "-storage", "file", "-size", String(size), "-msgs", n(20_000)] },
    { name: "sync publish, memory", timeout: 120, args: ["-mode", "jspub", "-async", "0", "-storage", "memory", "-size", String(size), "-msgs", n(20_000)] },
    { name: "async publish (4,000 in flight), file", timeout: 120, args: ["-mode", "jspub", "-async", "4000", "-storage", "file", "-size", String(size), "-msgs", n(400_000)] },
    { name: "async publish (4,000 in flight), memory", timeout: 120, args: ["-mode", "jspub", "-async", "4000", "-storage", "memory", "-size", String(size), "-msgs", n(400_000)] },
  ].filter((sc) => { const only = value("scenarios")?.split(","); return !only || only.some((o) => sc.name.includes(o)); });

  interface JsRun { scenario: string; kind: JsKind; round: number; gen: GenResult; }
  const runs: JsRun[] = [];
  try {
    for (const sc of scenarios) {
      const servers: JsServer[] = [];
      try {
        for (const k of kinds) servers.push(await startJs(k, natsServer ?? "", join(base, `${k}-${runs.length}`)));
        for (let round = 1; round <= ROUNDS; round++) {
          // Each round starts with the next server: no server always runs first (or last).
          const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]!);
          for (const s of order) {
            const { gen } = await runGenerator(s, sc);
            runs.push({ scenario: sc.name, kind: s.kind, round, gen });
            process.stderr.write(`  ${sc.name} / ${s.kind} / round ${round}: ${fmt(gen.msgsPerSec)}/s` +
              `${gen.ok ? "" : ` — NOT OK: ${gen.publishErrors} errors, ${gen.lost} unacked, ${gen.duplicates} dup, ${gen.outOfOrder} out of order, ${gen.corrupt} bad acks`}\n`);
          }
        }
      } finally {
        for (const s of servers) await stopJs(s, "SIGKILL");
      }
    }

    // Start-up of a big file stream: fill through the server itself (acks checked), stop it
    // cleanly, then time restarts; one more after a kill -9.
    const startupBytes = Number(value("startup-bytes") ?? (QUICK ? 2e8 : 1e9));
    const bigMsgs = Math.round(startupBytes / 1024);
    const startup: Array<{ kind: JsKind; fillRate: number; clean: number[]; killed: number }> = [];
    const skinds = kinds.filter((k) => k !== "gnat-always");
    if (!flag("no-startup")) {
      const fills = new Map<JsKind, { dir: string; rate: number }>();
      for (const k of skinds) {
        const dir = join(base, `${k}-startup`);
        const s = await startJs(k, natsServer ?? "", dir);
        const fill: Scenario = { name: "fill", timeout: 600, args: ["-mode", "jspub", "-async", "4000", "-storage", "file", "-size", "1024", "-msgs", String(bigMsgs), "-stream", "BIG"] };
        const { gen } = await runGenerator(s, fill);
        if (!gen.ok) throw new Error(`filling ${k}: ${JSON.stringify(gen)}`);
        process.stderr.write(`  filled ${k}: ${bigMsgs.toLocaleString("en")} × 1 KiB at ${fmt(gen.msgsPerSec)}/s\n`);
        await stopJs(s, "SIGTERM");
        fills.set(k, { dir, rate: gen.msgsPerSec });
      }
      const clean = new Map<JsKind, number[]>(skinds.map((k) => [k, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const k of skinds) {
          const { ms, server } = await timeStartup(k, natsServer ?? "", fills.get(k)!.dir, "BIG", bigMsgs);
          clean.get(k)!.push(ms);
          process.stderr.write(`  start-up ${k} / round ${round}: ${ms.toFixed(0)} ms\n`);
          await stopJs(server, "SIGTERM");
        }
      }
      for (const k of skinds) {
        // Up, then kill -9, then the timed restart.
        const { server } = await timeStartup(k, natsServer ?? "", fills.get(k)!.dir, "BIG", bigMsgs);
        await stopJs(server, "SIGKILL");
        const { ms, server: again } = await timeStartup(k, natsServer ?? "", fills.get(k)!.dir, "BIG", bigMsgs);
        process.stderr.write(`  start-up ${k} after kill -9: ${ms.toFixed(0)} ms\n`);
        await stopJs(again, "SIGTERM");
        startup.push({ kind: k, fillRate: fills.get(k)!.rate, clean: clean.get(k)!, killed: ms });
      }
    }

    // ---- report ----
    // With a base build: each run over the base build's run of the same round (median of those),
    // steadier on a noisy machine than a ratio of medians taken minutes apart.
    const withBase = kinds.includes("gnat-base");
    const rows = [`| scenario | server | acked msgs/s | ratio to nats-server |${withBase ? " ratio to gnat-base (same round, median) |" : ""} msgs per server CPU-s | acks checked |`,
      `|---|---|---:|---:|${withBase ? "---:|" : ""}---:|---|`];
    for (const sc of scenarios) {
      const of = (k: JsKind): JsRun[] => runs.filter((r) => r.scenario === sc.name && r.kind === k);
      const natsMed = median(of("nats").map((r) => r.gen.msgsPerSec));
      const baseIn = (round: number): number => of("gnat-base").find((r) => r.round === round)?.gen.msgsPerSec ?? 0;
      for (const k of kinds) {
        const rs = of(k);
        const med = median(rs.map((r) => r.gen.msgsPerSec));
        const bad = rs.filter((r) => !r.gen.ok).length;
        const acks = rs.reduce((a, r) => a + r.gen.delivered, 0);
        const collisions = rs.reduce((a, r) => a + (r.gen.replyCollisions ?? 0), 0);
        const okCell = `${acks.toLocaleString("en")} ok${collisions > 0 ? ` (+${collisions} nats.go reply-token collision${collisions > 1 ? "s" : ""})` : ""}`;
        const vsBase = median(rs.filter((r) => baseIn(r.round) > 0).map((r) => r.gen.msgsPerSec / baseIn(r.round)));
        rows.push(`| ${sc.name} | ${JS_LABEL[k]} | ${fmt(med)} | ${natsMed > 0 ? `${(med / natsMed).toFixed(2)}×` : ""} |${withBase ? ` ${vsBase > 0 ? `${vsBase.toFixed(2)}×` : ""} |` : ""} ${fmt(median(rs.map((r) => r.gen.msgsPerCpuSec ?? 0)))} | ${bad === 0 ? okCell : `**${bad} of ${rs.length} runs not clean**`} |`);
      }
    }
    let startupTable = "";
    if (startup.length > 0) {
      const natsClean = median(startup.find((s) => s.kind === "nats")?.clean ?? []);
      startupTable = [
        `\nStart-up of a file stream of ${bigMsgs.toLocaleString("en")} × 1 KiB messages (${fmtBytes(bigMsgs * 1024)}): process start → first STREAM.INFO reply showing every message.\n`,
        "| server | fill (acked msgs/s, 4,000 in flight) | start-up after a clean stop (median) | ratio to nats-server (lower is better) | start-up after kill -9 |",
        "|---|---:|---:|---:|---:|",
        ...startup.map((s) => `| ${JS_LABEL[s.kind]} | ${fmt(s.fillRate)} | ${median(s.clean).toFixed(0)} ms | ${natsClean > 0 ? `${(median(s.clean) / natsClean).toFixed(2)}×` : ""} | ${s.killed.toFixed(0)} ms |`),
      ].join("\n");
    }
    const natsVersion = natsServer ? spawnSync(natsServer, ["--version"], { encoding: "utf8" }).stdout.trim() : "absent";
    const header = [
      `Date: ${new Date().toISOString()}`,
      `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; node ${process.version}; ${natsVersion}; ${goVersion}, nats.go (Debian)`,
      `Command: npm run bench:go -- ${argv.join(" ")}`.trimEnd(),
      `Rounds: ${ROUNDS} (median shown; servers interleaved), scale ${SCALE}, ${size} B payloads; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
      ...(GNAT_BASE_CLI !== "" || process.env["GNAT_CLI"] !== undefined ? [`Builds: gnat = ${GNAT_CLI}${GNAT_BASE_CLI !== "" ? `; gnat-base = ${GNAT_BASE_CLI}` : ""}`] : []),
    ].join("\n");
    const issues = runs.filter((r) => !r.gen.ok).length;
    const text = `${header}\n\n${rows.join("\n")}\n${startupTable}\n\n${issues === 0 ? "Every ack checked: no errors, sequences 1..n each once, in order." : `*** ${issues} run(s) not clean ***`}\n`;
    console.log(`\n${text}`);
    if (WRITE) {
      const path = join(root, "bench/RESULTS.md");
      const old = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
      const title = "## JetStream";
      const section = `${title}\n\n${JS_ABOUT}\n\n${text}`;
      const re = new RegExp(`${title}\\n[\\s\\S]*?(?=\\n## |$)`);
      writeFileSync(path, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`);
      console.log(`written to ${path}`);
    }
    if (STRICT && issues > 0) process.exitCode = 1;
  } finally {
    killAll();
    rmSync(base, { recursive: true, force: true });
  }
}

const JS_ABOUT = `\`loadgen -mode jspub\` (nats.go's JetStream API) publishes into a stream created afresh for each
run on subject \`bench.js\`: synchronously (\`js.Publish\`, each waits for its ack) or with
\`js.PublishAsync\` and \`PublishAsyncMaxPending(4000)\` (the clock stops at the last ack). Every ack
is checked: no error, the right stream, sequences 1..n each exactly once and in publish order.
(nats.go 1.22 can give two in-flight async publishes the same 6-character reply token; the later
then takes the earlier's ack. loadgen counts such a collision apart from loss only when the
stream holds exactly 1..n and the unacked publish's sequence is the one the other future got.)
gnat runs with its default sync policy (write(2) before the ack, fsync every 2 minutes, as
nats-server) and with \`sync_interval: always\` (fsync before the ack, one fsync per write batch);
nats-server 2.9.10 with its default. Each scenario gets fresh servers and store dirs.

\`\`\`sh
npm run bench:go -- --jetstream --rounds 3 --write    # rewrites this section (~1 GB per server on disk for the start-up part)
npm run bench:go -- --jetstream --quick --no-startup  # a short check
\`\`\``;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
