// Stream snapshot and restore throughput: gnat and nats-server side by side (a fresh server per
// run, servers taking turns each round), through the API as natscli drives it: a file stream of
// N messages is snapshotted to the client (every chunk answered, chunk_size 128 KB), deleted, and
// restored from those bytes (512 KB chunks, each a request, as jsm.go sends them). Checked: the
// restored stream holds N messages. Each server restores its own snapshot (the formats differ).
// Everything goes to 127.0.0.1, every run is bounded by its message count and a timeout.
//
//   npm run bench:backup -- [--quick] [--rounds N] [--messages N] [--size BYTES]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInbox } from "@nats-io/transport-node";
import { cpuTicks, flag, value } from "./procs.js";
import { startJs, stopJs, type Kind, type Running } from "./js-server.js";

const QUICK = flag("quick");
const ROUNDS = Number(value("rounds") ?? (QUICK ? 1 : 3));
const N = Number(value("messages") ?? (QUICK ? 20_000 : 100_000));
const SIZE = Number(value("size") ?? 1024);
const TIMEOUT_MS = 300_000;

interface Result { snapshotMs: number; restoreMs: number; bytes: number; snapshotCpuMs: number; restoreCpuMs: number }

async function fill(s: Running): Promise<void> {
  await s.jsm.streams.add({ name: "B", subjects: ["b.>"], storage: "file" as never });
  // Half random (a different slice of a random megabyte each), half repeated: neither
  // all-compressible nor incompressible.
  const pool = randomBytes(1 << 20);
  const half = Math.floor(SIZE / 2);
  const fixed = Buffer.alloc(SIZE - half, 120);
  for (let i = 0; i < N; i++) {
    const o = (i * 7919) % (pool.length - half);
    s.nc.publish(`b.${i % 16}`, Buffer.concat([pool.subarray(o, o + half), fixed]));
    if (i % 1000 === 999) await s.nc.flush();
  }
  await s.nc.flush();
  const deadline = Date.now() + TIMEOUT_MS;
  while ((await s.jsm.streams.info("B")).state.messages < N) {
    if (Date.now() > deadline) throw new Error(`${s.kind}: fewer than ${N} stored`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function snapshot(s: Running): Promise<{ data: Buffer; config: unknown; state: unknown }> {
  const inbox = createInbox();
  const sub = s.nc.subscribe(inbox);
  const resp = (await s.nc.request("$JS.API.STREAM.SNAPSHOT.B", JSON.stringify({ deliver_subject: inbox, chunk_size: 128 * 1024 }), { timeout: 10_000 })).json<Record<string, unknown>>();
  if (resp.error !== undefined) throw new Error(`${s.kind} snapshot: ${JSON.stringify(resp.error)}`);
  const parts: Buffer[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), TIMEOUT_MS);
  for await (const m of sub) {
    if (m.data.length === 0) break;
    parts.push(Buffer.from(m.data));
    if (m.reply) m.respond();
  }
  clearTimeout(timer);
  return { data: Buffer.concat(parts), config: resp.config, state: resp.state };
}

async function restore(s: Running, snap: { data: Buffer; config: unknown; state: unknown }): Promise<void> {
  const r = (await s.nc.request("$JS.API.STREAM.RESTORE.B", JSON.stringify({ config: snap.config, state: snap.state }), { timeout: 10_000 })).json<Record<string, unknown>>();
  if (r.error !== undefined) throw new Error(`${s.kind} restore: ${JSON.stringify(r.error)}`);
  const deliver = r.deliver_subject as string;
  for (let o = 0; o < snap.data.length; o += 512 * 1024) await s.nc.request(deliver, snap.data.subarray(o, o + 512 * 1024), { timeout: 30_000 });
  const final = (await s.nc.request(deliver, new Uint8Array(0), { timeout: TIMEOUT_MS })).json<Record<string, unknown>>();
  if (final.error !== undefined) throw new Error(`${s.kind} restore end: ${JSON.stringify(final.error)}`);
  const held = (await s.jsm.streams.info("B")).state.messages;
  if (held !== N) throw new Error(`${s.kind}: the restored stream holds ${held}, not ${N}`);
}

async function run(s: Running): Promise<Result> {
  await fill(s);
  let cpu0 = cpuTicks(s.pid);
  let t0 = performance.now();
  const snap = await snapshot(s);
  const snapshotMs = performance.now() - t0;
  const snapshotCpuMs = (cpuTicks(s.pid) - cpu0) * 10;
  await s.jsm.streams.delete("B");
  cpu0 = cpuTicks(s.pid);
  t0 = performance.now();
  await restore(s, snap);
  return { snapshotMs, restoreMs: performance.now() - t0, bytes: snap.data.length, snapshotCpuMs, restoreCpuMs: (cpuTicks(s.pid) - cpu0) * 10 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const natsServer = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!natsServer) throw new Error("nats-server is not installed");
  const version = spawnSync(natsServer, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`${N} messages of ${SIZE} B (${((N * SIZE) / 1e6).toFixed(0)} MB of payload), ${ROUNDS} round(s), gnat vs ${version}`);
  const got: Record<Kind, Result[]> = { gnat: [], nats: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Kind[] = r % 2 === 0 ? ["gnat", "nats"] : ["nats", "gnat"];
    for (const kind of order) {
      const s = await startJs(kind, natsServer, "bench-backup");
      try {
        got[kind].push(await run(s));
      } finally {
        await stopJs(s);
      }
    }
  }
  console.log("| server | snapshot msgs/s | snapshot size | restore msgs/s | snapshot CPU ms | restore CPU ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const kind of ["gnat", "nats"] as Kind[]) {
    const rs = got[kind];
    const snap = median(rs.map((x) => N / (x.snapshotMs / 1000)));
    const rest = median(rs.map((x) => N / (x.restoreMs / 1000)));
    console.log(`| ${kind === "gnat" ? "gnat" : "nats-server"} | ${Math.round(snap).toLocaleString("en")} | ${(median(rs.map((x) => x.bytes)) / 1e6).toFixed(1)} MB | ${Math.round(rest).toLocaleString("en")} | ${Math.round(median(rs.map((x) => x.snapshotCpuMs)))} | ${Math.round(median(rs.map((x) => x.restoreCpuMs)))} |`);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
