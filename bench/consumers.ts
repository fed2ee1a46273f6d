// JetStream consumer benchmark: gnat and nats-server side by side (fresh servers per scenario,
// rounds interleaved), driven by the official @nats-io/jetstream client. Scenarios: a durable pull
// consumer fetching batches of 500 and acking each message, a push consumer's throughput, and
// redelivery under load (every message NAKed once, then acked); plus the memory that 1,000
// durable consumers on one stream cost each server. Everything goes to 127.0.0.1, every run is
// bounded by a message count and a timeout, and every message is checked to arrive.
//
//   npm run bench:consumers -- [--quick] [--rounds N] [--messages N] [--scenarios pull,workqueue,push,…] [--no-warmup] [--write]
//   GNAT_CLI=/other/dist/server/process/cli.js …       # measure that build of gnat instead of this one
//   GNAT_BASE_CLI=/base/dist/server/process/cli.js …  # and that one too ("gnat-base"), interleaved: before/after in one session
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { cpuTicks, freePort, rssKb, waitListening, flag, value } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
/** The gnat to run: this build's, or another's (GNAT_CLI=/path/to/dist/server/process/cli.js, to compare builds). */
const GNAT_CLI = process.env["GNAT_CLI"] ?? join(root, "dist/server/process/cli.js");
/** A second build run alongside, as "gnat-base": a before/after in one interleaved session. */
const GNAT_BASE_CLI = process.env["GNAT_BASE_CLI"] ?? "";
const QUICK = flag("quick");
const ROUNDS = Number(value("rounds") ?? (QUICK ? 1 : 3));
const WARMUP = !flag("no-warmup");
const N = Number(value("messages") ?? (QUICK ? 20_000 : 100_000));
const CONSUMERS = 1_000;
const PAYLOAD = new Uint8Array(128).fill(120);

type Kind = "gnat" | "gnat-base" | "nats";
interface Running { kind: Kind; port: number; pid: number; child: ChildProcess; dir: string }

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

async function start(kind: Kind, natsServer: string): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-consumers-${kind}-`));
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  const child = kind === "nats"
    ? spawn(natsServer, args, { stdio: "ignore" })
    : spawn(process.execPath, [kind === "gnat-base" ? GNAT_BASE_CLI : GNAT_CLI, ...args], { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  return { kind, port, pid: child.pid!, child, dir };
}

function stop(s: Running): void {
  if (s.child.exitCode === null) s.child.kill("SIGKILL");
  children.delete(s.child);
  rmSync(s.dir, { recursive: true, force: true });
}

/** One run of a scenario on a fresh server of `kind`, stopped after. */
async function runOn(kind: Kind, natsServer: string, run: (s: Running) => Promise<Result>): Promise<Result> {
  const s = await start(kind, natsServer);
  try {
    return await run(s);
  } finally {
    stop(s);
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** A file stream holding `n` messages (published without acks, then counted). */
async function fill(nc: NatsConnection, n: number, retention: RetentionPolicy = RetentionPolicy.Limits): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "B", subjects: ["b.>"], storage: StorageType.File, retention });
  for (let i = 0; i < n; i++) {
    nc.publish(`b.${i % 16}`, PAYLOAD);
    if (i % 10_000 === 9_999) await nc.flush();
  }
  await nc.flush();
  const deadline = Date.now() + 30_000;
  while ((await jsm.streams.info("B")).state.messages < n) {
    if (Date.now() > deadline) throw new Error("stream did not fill");
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Result { scenario: string; kind: Kind; msgsPerSec: number; cpuTicks: number; note: string; round?: number }

async function pullFetchAck(s: Running, retention: RetentionPolicy = RetentionPolicy.Limits): Promise<Result> {
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  await fill(nc, N, retention);
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add("B", { durable_name: "pull", ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
  const c = await jetstream(nc).consumers.get("B", "pull");
  const t0 = performance.now();
  const c0 = cpuTicks(s.pid);
  let got = 0;
  await withTimeout((async () => {
    while (got < N) {
      const batch = await c.fetch({ max_messages: 500, expires: 5_000 });
      for await (const m of batch) {
        m.ack();
        got++;
      }
    }
    await nc.flush();
  })(), 120_000, "pull fetch + ack");
  const secs = (performance.now() - t0) / 1000;
  const info = await jsm.consumers.info("B", "pull");
  const ticks = cpuTicks(s.pid) - c0;
  const left = retention === RetentionPolicy.Limits ? 0 : (await jsm.streams.info("B")).state.messages;
  await nc.close();
  return {
    scenario: `pull fetch (batches of 500) + ack${retention === RetentionPolicy.Limits ? "" : `, ${retention} stream`}`, kind: s.kind, msgsPerSec: got / secs, cpuTicks: ticks,
    note: [info.num_ack_pending === 0 && info.num_pending === 0 ? "" : `ack pending ${info.num_ack_pending}`, left === 0 ? "" : `${left} left in the stream`].filter((x) => x !== "").join("; "),
  };
}

async function pushThroughput(s: Running): Promise<Result> {
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  await fill(nc, N);
  const jsm = await jetstreamManager(nc);
  let got = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = nc.subscribe("push.deliver", { callback: () => {
    if (++got === N) done();
  } });
  await nc.flush();
  const t0 = performance.now();
  const c0 = cpuTicks(s.pid);
  await jsm.consumers.add("B", { durable_name: "push", deliver_subject: "push.deliver", ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All });
  await withTimeout(all, 120_000, "push consumer");
  const secs = (performance.now() - t0) / 1000;
  const ticks = cpuTicks(s.pid) - c0;
  sub.unsubscribe();
  await nc.close();
  return { scenario: "push consumer (ack none)", kind: s.kind, msgsPerSec: got / secs, cpuTicks: ticks, note: "" };
}

async function redelivery(s: Running): Promise<Result> {
  const n = Math.round(N / 4);
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  await fill(nc, n);
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add("B", { durable_name: "redo", ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000, ack_wait: 30_000_000_000 });
  const c = await jetstream(nc).consumers.get("B", "redo");
  const acked = new Set<number>();
  let deliveries = 0;
  const t0 = performance.now();
  const c0 = cpuTicks(s.pid);
  await withTimeout((async () => {
    while (acked.size < n) {
      const batch = await c.fetch({ max_messages: 500, expires: 5_000 });
      for await (const m of batch) {
        deliveries++;
        // First delivery: NAK (redeliver now); second: ack.
        if (m.info.deliveryCount === 1) m.nak();
        else {
          m.ack();
          acked.add(m.seq);
        }
      }
    }
    await nc.flush();
  })(), 120_000, "redelivery");
  const secs = (performance.now() - t0) / 1000;
  const ticks = cpuTicks(s.pid) - c0;
  await nc.close();
  return { scenario: "redelivery: each message NAKed once, then acked (deliveries/s)", kind: s.kind,
    msgsPerSec: deliveries / secs, cpuTicks: ticks, note: deliveries === 2 * n ? "" : `${deliveries} deliveries for ${n}` };
}

async function thousandConsumers(s: Running): Promise<Result> {
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  await fill(nc, 10_000);
  const jsm = await jetstreamManager(nc);
  await nc.flush();
  const before = rssKb(s.pid);
  const t0 = performance.now();
  for (let i = 0; i < CONSUMERS; i++) {
    await jsm.consumers.add("B", { durable_name: `c${i}`, ack_policy: AckPolicy.Explicit, filter_subject: `b.${i % 16}` });
  }
  const secs = (performance.now() - t0) / 1000;
  const info = await jsm.streams.info("B");
  const after = rssKb(s.pid);
  await nc.close();
  return { scenario: `memory: ${CONSUMERS} durable consumers on one stream`, kind: s.kind, msgsPerSec: CONSUMERS / secs,
    cpuTicks: 0, note: `${((after - before) / CONSUMERS).toFixed(1)} KB per consumer (RSS ${Math.round(before / 1024)} → ${Math.round(after / 1024)} MB)${info.state.consumer_count === CONSUMERS ? "" : `, consumer_count ${info.state.consumer_count}`}` };
}

const SCENARIOS: { name: string; run: (s: Running) => Promise<Result> }[] = [
  { name: "pull", run: (s) => pullFetchAck(s) },
  // Every ack removes the message: the stream learns the acked message's subject per ack.
  { name: "workqueue", run: (s) => pullFetchAck(s, RetentionPolicy.Workqueue) },
  { name: "push", run: pushThroughput },
  { name: "redelivery", run: redelivery },
  { name: "memory", run: thousandConsumers },
];

async function main(): Promise<void> {
  const natsServer = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!natsServer) {
    console.error("*** nats-server not found: nothing to compare with (apt-get install nats-server) ***");
    return;
  }
  const version = spawnSync(natsServer, ["--version"], { encoding: "utf8" }).stdout.trim();
  if (GNAT_BASE_CLI !== "" && !existsSync(GNAT_BASE_CLI)) throw new Error(`GNAT_BASE_CLI: no ${GNAT_BASE_CLI}`);
  // --write keeps this build's section: a comparison with another build is written up by hand.
  if (flag("write") && (process.env["GNAT_CLI"] !== undefined || GNAT_BASE_CLI !== "")) throw new Error("--write with GNAT_CLI or GNAT_BASE_CLI: not this build's numbers");
  const kinds: Kind[] = GNAT_BASE_CLI !== "" ? ["gnat", "gnat-base", "nats"] : ["gnat", "nats"];
  const only = value("scenarios")?.split(",");
  const results: Result[] = [];
  for (const sc of SCENARIOS.filter((x) => !only || only.some((o) => x.name.includes(o)))) {
    // One untimed run against each server first: this client's own JIT warm-up would otherwise
    // land on whichever server is measured first (each measured run gets a fresh server anyway).
    if (WARMUP) for (const kind of [...kinds].reverse()) await runOn(kind, natsServer, sc.run);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with the next server (two servers: gnat first, then nats-server first, …).
      for (const kind of kinds.map((_, i) => kinds[(i + round) % kinds.length]!)) {
        const r = await runOn(kind, natsServer, sc.run);
        results.push({ ...r, round });
        process.stderr.write(`  ${r.scenario} ${kind}: ${Math.round(r.msgsPerSec)}/s ${r.note}\n`);
      }
    }
  }
  const median = (xs: number[]): number => {
    const a = [...xs].sort((x, y) => x - y);
    return a[Math.floor(a.length / 2)] ?? 0;
  };
  // With a base build: each run over the base build's run of the same round (median of those).
  const withBase = kinds.includes("gnat-base");
  const rows = [
    `Date: ${new Date().toISOString()}; ${version}; node ${process.version}; ${ROUNDS} round(s), ${N} messages of 128 B per run (redelivery: ${N / 4})`,
    `Command: npm run bench:consumers --${QUICK ? " --quick" : ""} --rounds ${ROUNDS}${value("messages") !== undefined ? ` --messages ${N}` : ""}${WARMUP ? "" : " --no-warmup"}${only ? ` --scenarios ${only.join(",")}` : ""}`,
    ...(GNAT_BASE_CLI !== "" || process.env["GNAT_CLI"] !== undefined ? [`Builds: gnat = ${GNAT_CLI}${GNAT_BASE_CLI !== "" ? `; gnat-base = ${GNAT_BASE_CLI}` : ""}`] : []),
    WARMUP ? "Each scenario starts with one untimed run against each server (it warms the client, not the servers: every run gets a fresh server)." : "No warm-up runs.",
    "",
    `| scenario | server | msgs/s (median) | ratio to nats-server |${withBase ? " ratio to gnat-base (same round, median) |" : ""} server CPU ticks | notes |`,
    `|---|---|---:|---:|${withBase ? "---:|" : ""}---:|---|`,
  ];
  for (const name of [...new Set(results.map((r) => r.scenario))]) {
    const of = (k: Kind): Result[] => results.filter((r) => r.scenario === name && r.kind === k);
    const base = median(of("nats").map((r) => r.msgsPerSec));
    const baseIn = (round: number | undefined): number => of("gnat-base").find((r) => r.round === round)?.msgsPerSec ?? 0;
    for (const k of kinds) {
      const rs = of(k);
      const m = median(rs.map((r) => r.msgsPerSec));
      const vsBase = median(rs.filter((r) => baseIn(r.round) > 0).map((r) => r.msgsPerSec / baseIn(r.round)));
      const label = k === "nats" ? "nats-server" : k === "gnat-base" ? "gnat, base build (GNAT_BASE_CLI)" : "gnat";
      rows.push(`| ${name} | ${label} | ${Math.round(m).toLocaleString("en")} | ${base ? (m / base).toFixed(2) + "×" : ""} |${withBase ? ` ${vsBase > 0 ? vsBase.toFixed(2) + "×" : ""} |` : ""} ${median(rs.map((r) => r.cpuTicks))} | ${rs.map((r) => r.note).filter(Boolean).join("; ")} |`);
    }
  }
  const table = rows.join("\n");
  console.log(table);
  if (flag("write")) {
    const path = join(root, "bench/RESULTS.md");
    const text = readFileSync(path, "utf8");
    const head = "## JetStream consumers";
    const intro = `${head}\n\nThe official @nats-io/jetstream client drives gnat and nats-server (fresh servers per run, rounds\ninterleaved; \`bench/consumers.ts\`). The client is the same for both, and it is the busier\nprocess here, so ratios understate differences between the servers.\n\n`;
    const at = text.indexOf(head);
    const next = at >= 0 ? text.indexOf("\n## ", at + head.length) : -1;
    const updated = at >= 0 ? text.slice(0, at) + intro + table + "\n" + (next >= 0 ? text.slice(next) : "") : text + "\n" + intro + table + "\n";
    writeFileSync(path, updated);
    console.log("written to bench/RESULTS.md");
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
