// Mirror and source throughput on one server: gnat and nats-server side by side (a fresh server
// per run, servers taking turns each round), driven by the official @nats-io/jetstream client.
// Scenarios, each until the copy reports lag 0 and holds every message (checked):
//   catch-up  an origin file stream holding N messages gets a mirror; messages copied per second
//   source    the same with a stream sourcing the origin (each copy gets Nats-Stream-Source)
//   live      a mirror exists; N publishes go to the origin (flushed every 1,000); messages per
//             second from the first publish until the mirror holds them all
// Everything goes to 127.0.0.1, every run is bounded by its message count and a timeout.
//
//   npm run bench:mirrors -- [--quick] [--rounds N] [--messages N]
import { spawnSync } from "node:child_process";
import { cpuTicks, flag, value } from "./procs.js";
import { startJs, stopJs, type Kind, type Running } from "./js-server.js";

const QUICK = flag("quick");
const ROUNDS = Number(value("rounds") ?? (QUICK ? 1 : 3));
const N = Number(value("messages") ?? (QUICK ? 20_000 : 100_000));
const PAYLOAD = new Uint8Array(128).fill(120);
const TIMEOUT_MS = 120_000;

interface Result { rate: number; cpuMs: number }

/** N publishes (no reply: stored all the same), flushed every 1,000; then until the origin holds N. */
async function publishAll(s: Running): Promise<void> {
  for (let i = 0; i < N; i++) {
    s.nc.publish(`o.${i % 16}`, PAYLOAD);
    if (i % 1000 === 999) await s.nc.flush();
  }
  await s.nc.flush();
  await holds(s, "O");
}

async function holds(s: Running, name: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while ((await s.jsm.streams.info(name)).state.messages < N) {
    if (Date.now() > deadline) throw new Error(`${s.kind} ${name}: fewer than ${N} after ${TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Until `name` holds N messages with lag 0: polled every 5 ms, bounded. */
async function caughtUp(s: Running, name: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const si = await s.jsm.streams.info(name);
    const lag = si.mirror?.lag ?? si.sources?.[0]?.lag ?? -1;
    if (si.state.messages === N && lag === 0) return;
    if (si.state.messages > N) throw new Error(`${s.kind} ${name}: ${si.state.messages} messages, more than the ${N} published`);
    if (Date.now() > deadline) throw new Error(`${s.kind} ${name}: only ${si.state.messages} of ${N} after ${TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ORIGIN = { name: "O", subjects: ["o.>"] };

const SCENARIOS: Record<string, (s: Running) => Promise<Result>> = {
  "catch-up": async (s) => {
    await s.jsm.streams.add(ORIGIN);
    await publishAll(s);
    const cpu0 = cpuTicks(s.pid);
    const t0 = performance.now();
    await s.jsm.streams.add({ name: "M", mirror: { name: "O" } });
    await caughtUp(s, "M");
    const ms = performance.now() - t0;
    return { rate: N / (ms / 1000), cpuMs: (cpuTicks(s.pid) - cpu0) * 10 };
  },
  source: async (s) => {
    await s.jsm.streams.add(ORIGIN);
    await publishAll(s);
    const cpu0 = cpuTicks(s.pid);
    const t0 = performance.now();
    await s.jsm.streams.add({ name: "S", sources: [{ name: "O" }] });
    await caughtUp(s, "S");
    const ms = performance.now() - t0;
    return { rate: N / (ms / 1000), cpuMs: (cpuTicks(s.pid) - cpu0) * 10 };
  },
  live: async (s) => {
    await s.jsm.streams.add(ORIGIN);
    await s.jsm.streams.add({ name: "M", mirror: { name: "O" } });
    const cpu0 = cpuTicks(s.pid);
    const t0 = performance.now();
    await publishAll(s);
    await caughtUp(s, "M");
    const ms = performance.now() - t0;
    return { rate: N / (ms / 1000), cpuMs: (cpuTicks(s.pid) - cpu0) * 10 };
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const natsServer = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!natsServer) throw new Error("nats-server is not installed");
  const version = spawnSync(natsServer, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`${N} messages of ${PAYLOAD.length} B, ${ROUNDS} round(s), gnat vs ${version}`);
  console.log("| scenario | gnat msgs/s | nats-server msgs/s | ratio | gnat CPU ms | nats-server CPU ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, run] of Object.entries(SCENARIOS)) {
    const got: Record<Kind, Result[]> = { gnat: [], nats: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order: Kind[] = r % 2 === 0 ? ["gnat", "nats"] : ["nats", "gnat"];
      for (const kind of order) {
        const s = await startJs(kind, natsServer, "bench-mirrors");
        try {
          got[kind].push(await run(s));
        } finally {
          await stopJs(s);
        }
      }
    }
    const g = median(got.gnat.map((x) => x.rate));
    const n = median(got.nats.map((x) => x.rate));
    const gc = median(got.gnat.map((x) => x.cpuMs));
    const nc = median(got.nats.map((x) => x.cpuMs));
    console.log(`| ${name} | ${Math.round(g).toLocaleString("en")} | ${Math.round(n).toLocaleString("en")} | ${(g / n).toFixed(2)}× | ${Math.round(gc)} | ${Math.round(nc)} |`);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
