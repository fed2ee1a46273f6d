// The HTTP/WebSocket engines side by side: gnat on uWebSockets.js (where it loads), gnat on
// node:http with ws, and nats-server, each a process of its own on loopback, measured in one
// interleaved run. Two things are timed: /varz round trips on one keep-alive connection (p50, p99,
// requests/s) and WebSocket 1 → 1 throughput (a ws publisher and a ws subscriber, 64 KiB frames),
// with the bytes checked so a lost message fails the run.
//
//   npm run bench:http -- [--rounds 3] [--quick]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { loadUws } from "../server/transport/engine-uws.js";
import { cpuTicks, freePort, waitListening, which } from "./procs.js";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes("--quick");
const rounds = flag("rounds", quick ? 1 : 3);
const varzRequests = flag("varz", quick ? 500 : 3000);
const SIZES: { size: number; n: number }[] = quick ? [{ size: 128, n: 50_000 }] : [{ size: 128, n: 400_000 }, { size: 16 * 1024, n: 30_000 }];
const TICKS = 100;

interface Target {
  name: string;
  pid: number;
  child: ChildProcess;
  monitor: string;
  ws: string;
}

async function start(name: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Target> {
  const [port, http, ws] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "gnat-bench-http-"));
  const conf = join(dir, "server.conf");
  writeFileSync(conf, `websocket {\n  host: "127.0.0.1"\n  port: ${ws}\n  no_tls: true\n}\n`);
  const child = spawn(cmd, [...argv, "-a", "127.0.0.1", "-p", String(port), "-m", String(http), "-c", conf],
    { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, ...env } });
  await waitListening(port, child);
  await waitListening(http, child);
  await waitListening(ws, child);
  return { name, pid: child.pid!, child, monitor: `http://127.0.0.1:${http}`, ws: `ws://127.0.0.1:${ws}` };
}

function get(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => (n += d.length));
      res.on("end", () => (res.statusCode === 200 && n > 0 ? resolve(n) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

async function varzRun(t: Target): Promise<{ p50: number; p99: number; rps: number; cpu: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 50; i++) await get(agent, `${t.monitor}/varz`);
  const lat: number[] = [];
  const c0 = cpuTicks(t.pid);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < varzRequests; i++) {
    const s = process.hrtime.bigint();
    await get(agent, `${t.monitor}/varz`);
    lat.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = (cpuTicks(t.pid) - c0) / TICKS;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, rps: varzRequests / secs, cpu };
}

function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** WebSocket 1 → 1: returns messages/s and the server's CPU seconds; throws on a lost byte. */
async function wsRun(t: Target, size: number, n: number): Promise<{ rate: number; cpu: number }> {
  const subject = "bench.ws";
  const msgLine = Buffer.byteLength(`MSG ${subject} 1 ${size}\r\n`) + size + 2;
  const sub = await openWs(t.ws);
  const pub = await openWs(t.ws);
  let synced!: () => void;
  const ready = new Promise<void>((r) => (synced = r));
  let received = 0;
  let counting = false;
  let text = "";
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  sub.on("message", (d: Buffer) => {
    if (!counting) {
      text += d.toString("latin1");
      const i = text.indexOf("PONG\r\n");
      if (i < 0) return;
      counting = true;
      received = text.length - i - 6;
      synced();
    } else {
      received += d.length;
    }
    if (received >= n * msgLine) done();
  });
  sub.send(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
  await ready;
  pub.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
  const one = Buffer.concat([Buffer.from(`PUB ${subject} ${size}\r\n`), Buffer.alloc(size, 120), Buffer.from("\r\n")]);
  const perFrame = Math.max(1, Math.floor(65536 / one.length));
  const frame = Buffer.concat(Array.from({ length: perFrame }, () => one));
  const c0 = cpuTicks(t.pid);
  const t0 = process.hrtime.bigint();
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const sent = (): void => {
    inFlight--;
    wake?.();
  };
  for (let left = n; left > 0; ) {
    const k = Math.min(left, perFrame);
    inFlight++;
    pub.send(k === perFrame ? frame : frame.subarray(0, k * one.length), { binary: true }, sent);
    left -= k;
    while (inFlight >= 8) await new Promise<void>((r) => (wake = r));
    wake = null;
  }
  await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`${t.name}: ${received} of ${n * msgLine} bytes after 120 s`)), 120_000))]);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = (cpuTicks(t.pid) - c0) / TICKS;
  if (received !== n * msgLine) throw new Error(`${t.name}: received ${received} bytes, expected ${n * msgLine}`);
  sub.terminate();
  pub.terminate();
  return { rate: n / secs, cpu };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cli = join(import.meta.dirname, "..", "server", "process", "cli.js");
  const targets: Target[] = [];
  if (loadUws().ok) targets.push(await start("gnat (uWS)", process.execPath, [cli], { GNAT_HTTP_ENGINE: "uws" }));
  else console.log(`uWebSockets.js does not load on Node ${process.versions.node}: gnat runs on node:http only`);
  targets.push(await start("gnat (node:http)", process.execPath, [cli], { GNAT_HTTP_ENGINE: "node" }));
  const ns = which("nats-server");
  if (ns !== null) targets.push(await start("nats-server", ns, []));
  else console.log("nats-server is not on the PATH: no reference column");
  const varzRes = new Map<string, { p50: number[]; p99: number[]; rps: number[]; cpu: number[] }>();
  const wsRes = new Map<string, { rate: number[]; cpu: number[] }>();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
        const v = await varzRun(t);
        const e = varzRes.get(t.name) ?? { p50: [], p99: [], rps: [], cpu: [] };
        e.p50.push(v.p50); e.p99.push(v.p99); e.rps.push(v.rps); e.cpu.push(v.cpu);
        varzRes.set(t.name, e);
        for (const { size, n } of SIZES) {
          const w = await wsRun(t, size, n);
          const key = `${t.name}|${size}`;
          const x = wsRes.get(key) ?? { rate: [], cpu: [] };
          x.rate.push(w.rate); x.cpu.push(w.cpu * (1 / n));
          wsRes.set(key, x);
        }
      }
      process.stderr.write(`round ${r + 1} of ${rounds} done\n`);
    }
  } finally {
    for (const t of targets) t.child.kill("SIGKILL");
  }
  const ref = "nats-server";
  const lines: string[] = [];
  lines.push(`Node ${process.versions.node}; ${rounds} interleaved round(s), medians; ratios are gnat / nats-server (latency: lower is better)`);
  lines.push("");
  lines.push("| server | /varz p50 | /varz p99 | /varz req/s | " + SIZES.map(({ size }) => `WS 1 → 1 ${size} B msgs/s | msgs per server CPU-s`).join(" | ") + " |");
  lines.push("|---|---:|---:|---:|" + SIZES.map(() => "---:|---:|").join(""));
  const refV = varzRes.get(ref);
  for (const t of targets) {
    const v = varzRes.get(t.name)!;
    const ratio = (x: number, y: number | undefined): string => (y === undefined || t.name === ref ? "" : ` (${(x / y).toFixed(2)}×)`);
    const cells = [
      `${median(v.p50).toFixed(0)} µs${ratio(median(v.p50), refV && median(refV.p50))}`,
      `${median(v.p99).toFixed(0)} µs${ratio(median(v.p99), refV && median(refV.p99))}`,
      `${median(v.rps).toFixed(0)}${ratio(median(v.rps), refV && median(refV.rps))}`,
    ];
    for (const { size } of SIZES) {
      const w = wsRes.get(`${t.name}|${size}`)!;
      const rw = wsRes.get(`${ref}|${size}`);
      const perCpu = 1 / median(w.cpu);
      cells.push(`${(median(w.rate) / 1000).toFixed(0)} k${ratio(median(w.rate), rw && median(rw.rate))}`);
      cells.push(`${(perCpu / 1000).toFixed(0)} k${rw === undefined || t.name === ref ? "" : ` (${(perCpu * median(rw.cpu)).toFixed(2)}×)`}`);
    }
    lines.push(`| ${t.name} | ${cells.join(" | ")} |`);
  }
  console.log(lines.join("\n"));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
