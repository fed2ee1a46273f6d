// Route throughput: messages published on node A of a two-node cluster and read by a subscriber
// on node B, so every message crosses the route once. Four pairs: gnat → gnat, gnat → nats-server,
// nats-server → gnat and nats-server → nats-server (three clusters, all started up front), run
// interleaved in every round (each pair and size once per round, so drift on this shared machine
// hits them alike), medians reported as ratios to nats-server → nats-server, with messages per
// server CPU-second (both nodes' user + system time, from /proc). Loopback only; each run is
// bounded by its message count and a time-out. The generator is bench/load's (raw-socket
// publisher and byte-counting subscriber in worker threads).
//
// With --leaf the link is a leafnode connection instead: four hub/leaf pairs (every mix of gnat
// and nats-server), each measured both ways (published on the leaf, read on the hub, and the
// reverse), as ratios to nats-server's pair in the same direction.
//
//   npm run bench:cluster -- [--leaf] [--quick] [--rounds N] [--write]
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnRole, withTimeout } from "./load/spawn.js";
import { cpuTicks, freePort, sleep, waitListening, which } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");

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
const LEAF = flag("leaf");
const CLK_TCK = 100;
const BATCH = 1000;

type Kind = "gnat" | "nats";

interface ClusterNode {
  kind: Kind;
  port: number;
  monitor: number;
  pid: number;
  child: ChildProcess;
  /** Where its link's interest is listed: /routez or /leafz. */
  link: "route" | "leaf";
}

// ---- servers ------------------------------------------------------------------------------------
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

/** A node of cluster `name`, dialling `routeTo` (a cluster port) if given. Same flags for both. */
async function startNode(kind: Kind, name: string, clusterPort: number, routeTo?: number): Promise<ClusterNode> {
  const port = await freePort();
  const monitor = await freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitor), "--cluster_name", name,
    "--cluster", `nats://127.0.0.1:${clusterPort}`, ...(routeTo !== undefined ? ["--routes", `nats://127.0.0.1:${routeTo}`] : [])];
  return spawnServer(kind, args, port, monitor, "route");
}

async function spawnServer(kind: Kind, args: string[], port: number, monitor: number, link: "route" | "leaf"): Promise<ClusterNode> {
  const child = kind === "gnat"
    ? spawn(process.execPath, [join(root, "dist/server/process/cli.js"), ...args], { stdio: "ignore" })
    : spawn(which("nats-server")!, args, { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  await waitListening(monitor, child);
  return { kind, port, monitor, pid: child.pid!, child, link };
}

const confDir = mkdtempSync(join(tmpdir(), "gnat-bench-leaf-"));
process.on("exit", () => rmSync(confDir, { recursive: true, force: true }));

/** A hub (leafnode listener) and a leaf dialling it, from config files (same for both kinds). */
async function startLeafPair(hubKind: Kind, leafKind: Kind, name: string): Promise<[ClusterNode, ClusterNode]> {
  const leafPort = await freePort();
  const start = async (kind: Kind, who: string, block: string): Promise<ClusterNode> => {
    const port = await freePort();
    const monitor = await freePort();
    const conf = join(confDir, `${name}-${who}.conf`);
    writeFileSync(conf, `server_name: ${name}-${who}\nleafnodes {\n${block}\n}\n`);
    return spawnServer(kind, ["-a", "127.0.0.1", "-p", String(port), "-m", String(monitor), "-c", conf], port, monitor, "leaf");
  };
  const hub = await start(hubKind, "hub", `  listen: 127.0.0.1:${leafPort}`);
  const leaf = await start(leafKind, "leaf", `  remotes [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ]`);
  for (const n of [hub, leaf]) await until(n, (r) => r.num_routes === 1, `${name}: the leafnode link between ${hubKind} and ${leafKind}`);
  return [hub, leaf];
}

interface Routez {
  num_routes: number;
  routes: { subscriptions_list?: string[] }[];
}

/** The node's links and their interest: /routez, or /leafz read the same way. */
async function routez(n: ClusterNode): Promise<Routez> {
  if (n.link === "leaf") {
    const l = (await (await fetch(`http://127.0.0.1:${n.monitor}/leafz?subs=1`)).json()) as { leafnodes: number; leafs: Routez["routes"] };
    return { num_routes: l.leafnodes, routes: l.leafs ?? [] };
  }
  return (await (await fetch(`http://127.0.0.1:${n.monitor}/routez?subs=1`)).json()) as Routez;
}

/** Poll what `n` reports until `ok` (10 s at most). */
async function until(n: ClusterNode, ok: (r: Routez) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (ok(await routez(n))) return;
    } catch { /* not serving yet */ }
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** Two nodes routed to each other. */
async function startPair(a: Kind, b: Kind, name: string): Promise<[ClusterNode, ClusterNode]> {
  const ca = await freePort();
  const na = await startNode(a, name, ca);
  const nb = await startNode(b, name, await freePort(), ca);
  for (const n of [na, nb]) await until(n, (r) => r.num_routes === 1, `${name}: the route between ${a} and ${b}`);
  return [na, nb];
}

// ---- generator (bench/load's workers) -----------------------------------------------------------
const SID = "10000";

// ---- one run ------------------------------------------------------------------------------------
interface Result {
  pair: string;
  size: number;
  msgsPerSec: number;
  /** Messages per CPU-second of both nodes; and of each. */
  perCpu: number;
  perCpuA: number;
  perCpuB: number;
}

let runs = 0;

async function acrossRoute(pair: string, a: ClusterNode, b: ClusterNode, size: number, msgs: number): Promise<Result> {
  const subject = `bench.route.${++runs}`;
  const repeats = Math.max(1, Math.round(msgs / BATCH));
  const total = repeats * BATCH;
  const payload = "x".repeat(size);
  const frameLen = `MSG ${subject} ${SID} ${size}\r\n`.length + size + 2;
  const sub = spawnRole({ role: "sub", proto: "nats", port: b.port, conns: 1,
    setup: `CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} ${SID}\r\nPING\r\n`,
    readyBytes: "PONG\r\n", readyCount: 1, expectBytes: total * frameLen });
  await withTimeout(sub.ready, 10_000, "subscriber");
  // Node A knows of B's subscriber (RS+ arrived): else the first messages would go nowhere.
  await until(a, (r) => r.routes.some((x) => x.subscriptions_list?.includes(subject) === true), `${pair}: interest in ${subject} on A`);
  const frame = `PUB ${subject} ${size}\r\n${payload}\r\n`;
  const batch = Buffer.from(frame.repeat(BATCH), "latin1");
  const pub = spawnRole({ role: "pub", proto: "nats", port: a.port, batch, repeats });
  await withTimeout(pub.ready, 10_000, "publisher");
  const cpuA0 = cpuTicks(a.pid);
  const cpuB0 = cpuTicks(b.pid);
  pub.go();
  const p = await withTimeout(pub.done, 120_000, `${pair} publisher`);
  const s = await withTimeout(sub.done, 120_000, `${pair} subscriber (${size} B)`);
  const cpuA = Math.max(1, cpuTicks(a.pid) - cpuA0) / CLK_TCK;
  const cpuB = Math.max(1, cpuTicks(b.pid) - cpuB0) / CLK_TCK;
  void pub.worker.terminate();
  void sub.worker.terminate();
  // Both servers PING a quiet client two seconds after it connects: "PING\r\n" (6 bytes) may come along.
  const extra = s.bytes - total * frameLen;
  if (extra < 0 || extra % 6 !== 0 || extra > 60) throw new Error(`${pair}: the subscriber got ${s.bytes} bytes, expected ${total * frameLen}`);
  const secs = (Math.max(p.t1, s.t1) - p.t0) / 1000;
  // B drops the subscriber's interest before the next run (its worker closed the socket).
  await until(a, (r) => !r.routes.some((x) => x.subscriptions_list?.includes(subject) === true), `${pair}: interest in ${subject} gone`);
  return { pair, size, msgsPerSec: total / secs, perCpu: total / (cpuA + cpuB), perCpuA: total / cpuA, perCpuB: total / cpuB };
}

// ---- main ---------------------------------------------------------------------------------------
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} k`;
  return n.toFixed(1);
}

const SIZES = [
  { size: 16, msgs: 2_000_000 },
  { size: 1024, msgs: 500_000 },
];

async function main(): Promise<void> {
  if (!existsSync(join(root, "dist/server/process/cli.js"))) throw new Error("build first: npm run build");
  if (which("nats-server") === null) throw new Error("nats-server is not installed: this benchmark compares against it");
  const started = Date.now();
  const PAIRS: { name: string; a: ClusterNode; b: ClusterNode; base: string }[] = [];
  if (LEAF) {
    const base = (dir: string): string => `nats-server ${dir}`;
    for (const [h, l] of [["gnat", "gnat"], ["gnat", "nats"], ["nats", "gnat"], ["nats", "nats"]] as [Kind, Kind][]) {
      const [hub, leaf] = await startLeafPair(h, l, `bench-${h}-${l}`);
      const n = (k: Kind): string => (k === "gnat" ? "gnat" : "nats-server");
      PAIRS.push({ name: `${n(l)} leaf → ${n(h)} hub`, a: leaf, b: hub, base: base("leaf → nats-server hub") });
      PAIRS.push({ name: `${n(h)} hub → ${n(l)} leaf`, a: hub, b: leaf, base: base("hub → nats-server leaf") });
    }
  } else {
    const gg = await startPair("gnat", "gnat", "bench-gg");
    const gn = await startPair("gnat", "nats", "bench-gn");
    const nn = await startPair("nats", "nats", "bench-nn");
    const base = "nats-server → nats-server";
    PAIRS.push(
      { name: "gnat → gnat", a: gg[0], b: gg[1], base },
      { name: "gnat → nats-server", a: gn[0], b: gn[1], base },
      { name: "nats-server → gnat", a: gn[1], b: gn[0], base },
      { name: "nats-server → nats-server", a: nn[0], b: nn[1], base },
    );
  }
  const results: Result[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const { size, msgs } of SIZES) {
        for (const pr of PAIRS) {
          const r = await acrossRoute(pr.name, pr.a, pr.b, size, msgs * SCALE);
          results.push(r);
          process.stderr.write(`  ${pr.name}, ${size} B, round ${round + 1}: ${fmt(r.msgsPerSec)} msgs/s, ${fmt(r.perCpu)} per server CPU-s\n`);
        }
      }
    }
  } finally {
    killAll();
  }
  const rows = [
    `| payload | publisher's node → subscriber's node | msgs/s | ratio to nats-server ${LEAF ? "in the same direction" : "→ nats-server"} | msgs per server CPU-s (both nodes) | per CPU-s of A / of B |`,
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const { size } of SIZES) {
    const med = (pair: string, f: (r: Result) => number): number => median(results.filter((r) => r.pair === pair && r.size === size).map(f));
    for (const pr of PAIRS) {
      const base = med(pr.base, (r) => r.msgsPerSec);
      const m = med(pr.name, (r) => r.msgsPerSec);
      rows.push(`| ${size === 1024 ? "1 KiB" : `${size} B`} | ${pr.name} | ${fmt(m)} | ${(m / base).toFixed(2)}× | ${fmt(med(pr.name, (r) => r.perCpu))} | ${fmt(med(pr.name, (r) => r.perCpuA))} / ${fmt(med(pr.name, (r) => r.perCpuB))} |`);
    }
  }
  const all = (pair: string, size: number): string => results.filter((r) => r.pair === pair && r.size === size).map((r) => fmt(r.msgsPerSec)).join(", ");
  const natsVersion = spawnSync("nats-server", ["--version"], { encoding: "utf8" }).stdout.trim();
  const header = [
    `Date: ${new Date().toISOString()}`,
    `Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; node ${process.version}; ${natsVersion}`,
    `Command: npm run bench:cluster -- ${argv.join(" ")}`.trimEnd(),
    `Rounds: ${ROUNDS} (median shown; every pair and size once per round), ${SIZES.map((s) => `${fmt(s.msgs * SCALE)} × ${s.size} B`).join(", ")} per run; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
    `Each run: one publisher connection on node A, one subscriber connection on node B, one ${LEAF ? "leafnode connection" : "route"} between them; msgs/s from the`,
    "publisher's first write to the subscriber's last byte. The servers' CPU is both nodes' user + system time over the run.",
  ].join("\n");
  const perRun = ["", "Every run (msgs/s, in round order):", ...SIZES.flatMap(({ size }) => PAIRS.map((pr) => `- ${size} B, ${pr.name}: ${all(pr.name, size)}`))].join("\n");
  const table = rows.join("\n");
  console.log(`\n${header}\n\n${table}\n${perRun}\n`);
  if (WRITE) {
    const path = join(root, "bench/RESULTS.md");
    const old = readFileSync(path, "utf8");
    const title = LEAF ? "## Leafnode links (measured)" : "## Routes";
    const section = `${title}\n\n${header}\n\n${table}\n${perRun}\n`;
    const re = LEAF ? /## Leafnode links \(measured\)\n[\s\S]*?(?=\n## |$)/ : /## Routes\n[\s\S]*?(?=\n## |$)/;
    writeFileSync(path, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`);
    console.log(`written to ${path}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  killAll();
  process.exit(1);
});
