// A stream of millions of messages, gnat beside nats-server in one run: RSS per stored message
// (after the fill and after a restart), time from process start to the first acknowledged
// publish (empty store, then full store), and publish / pull rates into and from the full
// stream against the same stream nearly empty. Each server gets its own store directory; all
// traffic goes to 127.0.0.1; every step is bounded by a count and a timeout, and the counts are
// checked (stream info) before a number is printed.
//
//   npm run bench:scale -- [--msgs 2000000] [--subjects 1000] [--size 16] [--rate-msgs 30000] [--only gnat,nats] [--keep]
//   GNAT_BASE_CLI=/other/dist/server/process/cli.js …   # also that build of gnat, as "gnat-base"
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect as tcpConnect } from "node:net";
import { cpuMs, freePort, rssKb, sleep, which } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const GNAT_CLI = process.env["GNAT_CLI"] ?? join(here, "../server/process/cli.js");
const GNAT_BASE_CLI = process.env["GNAT_BASE_CLI"] ?? "";
const argv = process.argv.slice(2);
const value = (n: string, d: string): string => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const N = Number(value("msgs", "2000000"));
const SUBJECTS = Number(value("subjects", "1000"));
const SIZE = Number(value("size", "16"));
const RATE_N = Number(value("rate-msgs", "30000"));
const ONLY = value("only", "gnat,gnat-base,nats").split(",");
/** Keep each server's store directory (printed) for a look afterwards, e.g. a profiled start. */
const KEEP = argv.includes("--keep");
const PAYLOAD = new Uint8Array(SIZE).fill(120);

type Kind = "gnat" | "gnat-base" | "nats";
const children = new Set<ChildProcess>();
process.on("exit", () => { for (const c of children) if (c.exitCode === null) c.kill("SIGKILL"); });

interface Proc { child: ChildProcess; port: number; t0: number }

async function start(kind: Kind, dir: string, natsServer: string): Promise<Proc> {
  const port = await freePort();
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  const t0 = performance.now();
  const child = kind === "nats"
    ? spawn(natsServer, args, { stdio: "ignore" })
    : spawn(process.execPath, [kind === "gnat-base" ? GNAT_BASE_CLI : GNAT_CLI, ...args], { stdio: "ignore" });
  children.add(child);
  await listening(port, child);
  return { child, port, t0 };
}

/** Like procs.waitListening, with room for a slow start (a big store on a busy machine). */
async function listening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await sleep(5);
  }
}

/** SIGTERM (a clean shutdown: stores closed) and wait for the exit. */
async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null) {
    const exited = new Promise((r) => p.child.once("exit", r));
    p.child.kill("SIGTERM");
    await Promise.race([exited, sleep(60_000)]);
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  }
  children.delete(p.child);
}

/**
 * Milliseconds from spawn to the first acknowledged publish into stream S, and the server's CPU
 * time by then (steadier than wall time on a busy machine; clock ticks of 10 ms).
 */
async function firstAck(p: Proc): Promise<{ ms: number; cpu: number; nc: NatsConnection }> {
  const nc = await connect({ servers: `127.0.0.1:${p.port}` });
  const js = jetstream(nc);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await js.publish("s.first", PAYLOAD, { timeout: 2_000 });
      return { ms: performance.now() - p.t0, cpu: cpuMs(p.child.pid!), nc };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

async function count(nc: NatsConnection): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info("S")).state.messages;
}

async function waitCount(nc: NatsConnection, n: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await count(nc)) < n) {
    if (Date.now() > deadline) throw new Error(`stream did not reach ${n} messages (has ${await count(nc)})`);
    await sleep(200);
  }
}

/** Acked publishes, 256 in flight; msgs/s. */
async function publishRate(nc: NatsConnection, n: number): Promise<number> {
  const js = jetstream(nc);
  const t0 = performance.now();
  let inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    inflight.push(js.publish(`s.${i % SUBJECTS}`, PAYLOAD));
    if (inflight.length >= 256) { await Promise.all(inflight); inflight = []; }
  }
  await Promise.all(inflight);
  return n / ((performance.now() - t0) / 1000);
}

/** A new pull consumer from sequence `from` reading n messages in batches of 500 (no acks); msgs/s. */
async function pullRate(nc: NatsConnection, name: string, from: number, n: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add("S", { name, ack_policy: AckPolicy.None, deliver_policy: "by_start_sequence" as never, opt_start_seq: from });
  const c = await jetstream(nc).consumers.get("S", name);
  const t0 = performance.now();
  let got = 0;
  while (got < n) {
    const batch = await c.fetch({ max_messages: Math.min(500, n - got), expires: 5_000 });
    for await (const m of batch) { void m; got++; }
  }
  return n / ((performance.now() - t0) / 1000);
}

interface Row {
  kind: Kind; emptyFirstAckMs: number; fullFirstAckMs: number; emptyCpuMs: number; fullCpuMs: number; idleKb: number; fullKb: number; restartKb: number;
  pubEmpty: number; pubFull: number; pullEmpty: number; pullFull: number; fillSecs: number;
}

async function run(kind: Kind, natsServer: string): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), `bench-scale-${kind}-`));
  try {
    // The stream, made once; the first timed start is the empty store's.
    let p = await start(kind, dir, natsServer);
    let nc = await connect({ servers: `127.0.0.1:${p.port}` });
    await (await jetstreamManager(nc)).streams.add({ name: "S", subjects: ["s.>"], storage: StorageType.File });
    await nc.close();
    await stop(p);

    p = await start(kind, dir, natsServer);
    let fa = await firstAck(p);
    const emptyFirstAckMs = fa.ms;
    const emptyCpuMs = fa.cpu;
    nc = fa.nc;
    await sleep(1_000);
    const idleKb = rssKb(p.child.pid!);
    // Rates on the (nearly) empty stream, after a warm-up of client and server.
    await publishRate(nc, RATE_N / 5);
    const pubEmpty = await publishRate(nc, RATE_N);
    const pullEmpty = await pullRate(nc, "pe", 1, RATE_N);
    await (await jetstreamManager(nc)).streams.purge("S");
    const base = await count(nc);

    // Fill: core publishes (no acks), flushed every 10,000, then counted.
    const tf = performance.now();
    for (let i = 0; i < N; i++) {
      nc.publish(`s.${i % SUBJECTS}`, PAYLOAD);
      if (i % 10_000 === 9_999) await nc.flush();
    }
    await nc.flush();
    await waitCount(nc, base + N, 600_000);
    const fillSecs = (performance.now() - tf) / 1000;
    await sleep(2_000);
    const fullKb = rssKb(p.child.pid!);

    // Rates on the full stream: publish on top, pull from its first sequence.
    const pubFull = await publishRate(nc, RATE_N);
    const first = (await (await jetstreamManager(nc)).streams.info("S")).state.first_seq;
    const pullFull = await pullRate(nc, "pf", first, RATE_N);
    await nc.close();
    await stop(p);

    p = await start(kind, dir, natsServer);
    fa = await firstAck(p);
    const fullFirstAckMs = fa.ms;
    const fullCpuMs = fa.cpu;
    const have = await count(fa.nc);
    if (have !== base + N + RATE_N + 1) throw new Error(`${kind}: ${have} messages after restart, expected ${base + N + RATE_N + 1}`);
    await sleep(2_000);
    const restartKb = rssKb(p.child.pid!);
    await fa.nc.close();
    await stop(p);
    return { kind, emptyFirstAckMs, fullFirstAckMs, emptyCpuMs, fullCpuMs, idleKb, fullKb, restartKb, pubEmpty, pubFull, pullEmpty, pullFull, fillSecs };
  } finally {
    if (KEEP) console.log(`${kind}: store kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const natsServer = which("nats-server");
  const kinds: Kind[] = [];
  if (ONLY.includes("gnat")) kinds.push("gnat");
  if (ONLY.includes("gnat-base") && GNAT_BASE_CLI !== "") kinds.push("gnat-base");
  if (ONLY.includes("nats") && natsServer !== null) kinds.push("nats");
  console.log(`${N} messages of ${SIZE} B on ${SUBJECTS} subjects, file stream; rates over ${RATE_N} messages`);
  const rows: Row[] = [];
  for (const k of kinds) {
    const r = await run(k, natsServer ?? "");
    rows.push(r);
    const per = (kb: number): string => (((kb - r.idleKb) * 1024) / N).toFixed(1);
    console.log([
      `${k.padEnd(9)}`,
      `RSS idle ${(r.idleKb / 1024).toFixed(0)} MB → full ${(r.fullKb / 1024).toFixed(0)} MB (${per(r.fullKb)} B/msg)`,
      `→ restarted ${(r.restartKb / 1024).toFixed(0)} MB (${per(r.restartKb)} B/msg)`,
      `| first ack: empty ${r.emptyFirstAckMs.toFixed(0)} ms, full ${r.fullFirstAckMs.toFixed(0)} ms (+${(r.fullFirstAckMs - r.emptyFirstAckMs).toFixed(0)})`,
      `CPU by then ${r.emptyCpuMs.toFixed(0)} / ${r.fullCpuMs.toFixed(0)} ms (+${(r.fullCpuMs - r.emptyCpuMs).toFixed(0)})`,
      `| publish ${r.pubEmpty.toFixed(0)} → ${r.pubFull.toFixed(0)} msgs/s (${(r.pubFull / r.pubEmpty).toFixed(2)}×)`,
      `| pull ${r.pullEmpty.toFixed(0)} → ${r.pullFull.toFixed(0)} msgs/s (${(r.pullFull / r.pullEmpty).toFixed(2)}×)`,
      `| fill ${r.fillSecs.toFixed(1)} s`,
    ].join(" "));
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
