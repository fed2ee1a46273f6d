// The server's CPU per delivered message on the client path, with no kernel in the way: a real
// Server, its connections on in-memory sockets, PUB chunks of 1000 fed to the publisher, the
// server's flush after each chunk, CPU time (user + system) of the whole process per delivery.
// What each run delivers is checked to the byte before its time counts. With --against DIR (the
// root of another build, e.g. a copy of main's with its dist/) the two builds alternate, each
// run in a fresh process, so a change to the message path is compared on one busy machine.
//
//   npm run build && node dist/bench/deliver.js [--subs 1,8] [--iters 3000] [--rounds 5] [--against DIR]
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "../..");
const MSG = "MSG bench.one 1 16\r\nxxxxxxxxxxxxxxxx\r\n";

/** A ClientSocket that takes every write at once and counts it. */
class MemorySocket extends EventEmitter {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 1;
  readonly writableLength = 0;
  readonly writableNeedDrain = false;
  bytesWritten = 0;
  destroyed = false;
  write(b: Uint8Array): boolean {
    this.bytesWritten += b.length;
    return true;
  }
  pause(): this { return this; }
  resume(): this { return this; }
  end(): void { this.destroy(); }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit("close"));
  }
}

interface BenchServer {
  accept(s: MemorySocket): void;
  close(): Promise<void>;
}

/** One measurement in this process: ns of CPU per delivery, `subs` subscribers of one subject. */
async function measure(root: string, subs: number, iters: number): Promise<number> {
  const { startServer } = await import(pathToFileURL(join(root, "dist/server/index.js")).href) as
    { startServer(o: object): Promise<BenchServer> };
  const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true });
  const connect = (lines: string): MemorySocket => {
    const s = new MemorySocket();
    server.accept(s);
    s.emit("data", Buffer.from(`CONNECT {"verbose":false,"pedantic":false}\r\n${lines}`));
    return s;
  };
  const receivers = Array.from({ length: subs }, () => connect("SUB bench.one 1\r\n"));
  const pub = connect("");
  const chunk = Buffer.from("PUB bench.one 16\r\nxxxxxxxxxxxxxxxx\r\n".repeat(1000));
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      pub.emit("data", chunk);
      await null; // the server's flush (a microtask)
    }
  };
  await run(500);
  const before = receivers.reduce((a, s) => a + s.bytesWritten, 0);
  const cpu0 = process.cpuUsage();
  await run(iters);
  const cpu = process.cpuUsage(cpu0);
  const delivered = iters * 1000 * subs;
  const got = receivers.reduce((a, s) => a + s.bytesWritten, 0) - before;
  if (got !== delivered * MSG.length) throw new Error(`delivered ${got} bytes, expected ${delivered * MSG.length}`);
  await server.close();
  return ((cpu.user + cpu.system) * 1000) / delivered;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (argv[0] === "--child") {
  const ns = await measure(argv[1]!, Number(argv[2]), Number(argv[3]));
  process.stdout.write(`${ns}\n`);
  process.exit(0);
}

const subsList = (value("subs") ?? "1,8").split(",").map(Number);
const iters = Number(value("iters") ?? 3000);
const rounds = Number(value("rounds") ?? 5);
const against = value("against");
const builds = against !== undefined ? [["this build", ROOT], ["--against", resolve(against)]] as const : [["this build", ROOT]] as const;
const results = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const subs of subsList) {
    for (const [name, root] of builds) {
      // Fewer chunks as the fan-out grows: each run delivers about the same.
      const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", root, String(subs), String(Math.ceil(iters / subs))], { encoding: "utf8" });
      if (out.status !== 0) throw new Error(`${name}, ${subs} subscribers: ${out.stderr}`);
      const key = `${subs} subscriber${subs === 1 ? "" : "s"}, ${name}`;
      results.set(key, [...(results.get(key) ?? []), Number(out.stdout.trim())]);
    }
  }
}
console.log(`Rounds: ${rounds} (builds alternate within each), ~${iters}k deliveries a run; ns of server CPU per delivery (median, then every run):`);
for (const [key, xs] of results) console.log(`- ${key}: ${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(", ")})`);
