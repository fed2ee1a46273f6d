// The Go load generator (bench/go/loadgen, on Debian's nats.go) driving gnat and nats-server side
// by side: builds the generator, starts both servers fresh per scenario, runs rounds interleaved
// (gnat, nats-server, gnat, …), and reports throughput, the ratio to nats-server, messages per
// server CPU-second, loss, peak RSS (sampled every 100 ms) and RSS once the clients have left.
// Everything targets 127.0.0.1 and every run is bounded by a message count and a timeout.
//
//   npm run bench:go -- [--quick] [--rounds N] [--scenarios a,b] [--servers gnat,nats] [--write] [--strict]
//   npm run bench:go -- --sustained [--quick] [--scale X] [--write]     # 20 M 1 → 1 and 3 M × 8, zero loss expected
//   npm run bench:go -- --firehose [--bytes 10e9] [--size 65536] [--write]  # one producer, one reading subscriber
//
// --strict: exit 1 if any run lost, duplicated, reordered or corrupted a message.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const GO_SRC = join(root, "bench/go/loadgen");
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

function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const p = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await sleep(25);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startServer(kind: ServerKind, natsServer: string): Promise<RunningServer> {
  const port = await freePort();
  const child = kind === "gnat"
    ? spawn(process.execPath, [join(root, "dist/server/cli.js"), "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" })
    : spawn(natsServer, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  return { kind, port, pid: child.pid!, child };
}

function stopServer(s: RunningServer): void {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  children.delete(s.child);
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// ---- building the generator ---------------------------------------------------------------------
/** Builds bench/go/loadgen in GOPATH mode against Debian's nats.go; null (and why) if Go is not there. */
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

function runGenerator(s: RunningServer, sc: Scenario): Promise<{ gen: GenResult; peakRssKb: number }> {
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
  if (!existsSync(join(root, "dist/server/cli.js"))) throw new Error("build first: npm run build");
  const natsServer = which("nats-server") ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : null);
  const wanted = (value("servers") ?? "gnat,nats").split(",").filter((k): k is ServerKind => k === "gnat" || k === "nats");
  const kinds = wanted.filter((k) => k === "gnat" || natsServer !== null);
  if (wanted.includes("nats") && !natsServer) console.warn("*** nats-server is not installed: left out of this run (no ratios) ***");

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
Go client found at once. \`bench/go/loadgen\` runs one scenario against one server and prints one
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
