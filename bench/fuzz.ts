// A long fuzzing campaign against a gnat child process on 127.0.0.1: `npm run fuzz`
// [-- --frames 10000000 --seed 1 --minutes 30]. Stops by itself; exits 1 if gnat crashed, sent an
// -ERR outside nats-server's set, stopped serving, or its RSS ran away.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "node:net";
import { fuzz } from "./fuzz/engine.js";
import { freePort, rssKb, waitListening } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const value = (n: string, d: number): number => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const FRAMES = value("frames", 10_000_000);
const SEED = value("seed", 1);
const MINUTES = value("minutes", 30);

/** A plain client still gets its own message back. */
function stillServes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 5000);
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (out.includes("MSG ok 1 2\r\nhi\r\n")) { clearTimeout(t); s.destroy(); resolve(true); }
    });
    s.on("error", () => resolve(false));
    s.write('CONNECT {"verbose":false}\r\nSUB ok 1\r\nPUB ok 2\r\nhi\r\n');
  });
}

async function main(): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, "../server/process/cli.js"), "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  process.on("exit", () => child.kill("SIGKILL"));
  await waitListening(port, child);
  const idle = rssKb(child.pid!);
  let peak = idle;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKb(child.pid!)); }, 200);
  let sent = 0;
  const deadline = Date.now() + MINUTES * 60_000;
  const errors = new Map<string, number>();
  const unexpected: string[] = [];
  let conns = 0;
  let closed = 0;
  let round = 0;
  while (sent < FRAMES && Date.now() < deadline && child.exitCode === null) {
    const r = await fuzz(port, { seed: SEED * 1000 + round++, frames: Math.min(1_000_000, FRAMES - sent), maxMs: deadline - Date.now() });
    sent += r.frames;
    conns += r.connections;
    closed += r.closedByServer;
    for (const [k, v] of r.errors) errors.set(k, (errors.get(k) ?? 0) + v);
    unexpected.push(...r.unexpected);
    process.stderr.write(`  ${sent.toLocaleString("en")} frames, ${conns.toLocaleString("en")} connections, RSS ${Math.round(rssKb(child.pid!) / 1024)} MB\n`);
  }
  clearInterval(sampler);
  const alive = child.exitCode === null;
  const serves = alive && (await stillServes(port));
  const after = rssKb(child.pid!);
  const ok = alive && serves && unexpected.length === 0 && peak < idle + 512 * 1024;
  console.log(`fuzz: ${sent.toLocaleString("en")} frames on ${conns.toLocaleString("en")} connections (seed ${SEED}); ` +
    `server ${alive ? "alive" : "DEAD"}, ${serves ? "still serving" : "NOT SERVING"}; ` +
    `${closed.toLocaleString("en")} connections closed by the server; RSS idle ${Math.round(idle / 1024)} MB, ` +
    `peak ${Math.round(peak / 1024)} MB, after ${Math.round(after / 1024)} MB; ` +
    `-ERR seen: ${[...errors].map(([k, v]) => `'${k}' ×${v}`).join(", ")}; unexpected: ${unexpected.length === 0 ? "none" : [...new Set(unexpected)].join(" | ")}`);
  child.kill("SIGKILL");
  process.exit(ok ? 0 : 1);
}

void main();
