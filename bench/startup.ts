// Start-up time of the gnat command against nats-server: spawn → ports file, and spawn → first
// INFO on the client port, with the config the nats.js test harness writes (client, monitoring,
// leafnode and websocket ports, JetStream on a fresh store dir). Each start is a fresh process;
// the servers take turns. `--load` runs two busy loops (one per core here) for the length of the
// run, as a loaded CI machine would. On a shared machine the wall times follow the other tenants;
// the CPU time the server had used when its ports file appeared does much less so.
//   npm run bench:startup -- [--runs 10] [--servers gnat,nats] [--node /path/to/node,...]
//                            [--load] [--config harness|bare] [--cli dist/server/process/cli.js]
//   GNAT_BASE_CLI=/path/to/other/dist/server/process/cli.js and --servers gnat,gnat-base,nats:
//   another build of gnat (a change's before) in the same interleaved run.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuTicks, which } from "./procs.js";

interface Args {
  runs: number;
  servers: string[];
  nodes: string[];
  load: boolean;
  config: "harness" | "bare";
  cli: string;
}

function parse(argv: string[]): Args {
  const a: Args = {
    runs: 10,
    servers: ["gnat", "nats"],
    nodes: [process.execPath],
    load: false,
    config: "harness",
    cli: resolve(new URL("../server/process/cli.js", import.meta.url).pathname),
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--runs") a.runs = Math.max(1, Number(v()));
    else if (k === "--servers") a.servers = v().split(",");
    else if (k === "--node") a.nodes = v().split(",");
    else if (k === "--load") a.load = true;
    else if (k === "--config") a.config = v() === "bare" ? "bare" : "harness";
    else if (k === "--cli") a.cli = resolve(v());
    else throw new Error(`unknown flag ${k}`);
  }
  return a;
}

/** The nats.js harness's config (nst's confDefaults + jetstreamServerConf). */
function configText(kind: Args["config"], portsDir: string, storeDir: string): string {
  if (kind === "bare") return `host: 127.0.0.1\nport: -1\nports_file_dir: "${portsDir}"\n`;
  return [
    `jetstream {\n  max_file_store: 1048576\n  max_mem_store: 1048576\n  store_dir: "${storeDir}"\n}`,
    `host: 127.0.0.1`,
    `port: -1`,
    `http: "127.0.0.1:-1"`,
    `leafnodes {\n  listen: "127.0.0.1:-1"\n}`,
    `server_tags: ["id:bench"]`,
    `websocket {\n  port: -1\n  no_tls: true\n}`,
    `ports_file_dir: "${portsDir}"`,
    "",
  ].join("\n");
}

interface Sample {
  ports: number;
  info: number;
  /** CPU time (user + system) the server had used when its ports file appeared, ms. */
  cpu: number;
}

/** Clock ticks per second for /proc's CPU times (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One start: milliseconds from spawn to the ports file, and to the first INFO line. */
async function startOnce(cmd: string, args: string[], kind: Args["config"]): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "gnat-startup-"));
  const store = join(dir, "store");
  const conf = join(dir, "server.conf");
  writeFileSync(conf, configText(kind, dir, store));
  const t0 = performance.now();
  const child = spawn(cmd, [...args, "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    let port = 0;
    let ports = 0;
    let cpu = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}: ${stderr}`);
      const f = readdirSync(dir).find((n) => n.endsWith(`_${child.pid}.ports`));
      if (f !== undefined) {
        try {
          const p = JSON.parse(readFileSync(join(dir, f), "utf8")) as { nats: string[] };
          ports = performance.now() - t0;
          cpu = cpuTicks(child.pid!) * TICK_MS;
          port = Number(new URL(p.nats[0]!).port);
          break;
        } catch {
          // written in place by a server that does not rename: read it again
        }
      }
      if (performance.now() - t0 > 30_000) throw new Error(`no ports file after 30 s: ${stderr}`);
      await sleep(2);
    }
    const info = await firstInfo(port);
    return { ports, info: info - t0, cpu };
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** When the first INFO line arrived from 127.0.0.1:port (performance.now()). */
function firstInfo(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n")) {
        const at = performance.now();
        s.destroy();
        if (buf.startsWith("INFO ")) resolve(at);
        else reject(new Error(`not INFO: ${buf.slice(0, 80)}`));
      }
    });
    s.on("error", reject);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Two busy loops (children, so they die with us), stopped by the returned function. */
function startLoad(): () => void {
  const kids = [0, 1].map(() => spawn(process.execPath, ["-e", "const end = Date.now() + 600000; while (Date.now() < end);"], { stdio: "ignore" }));
  return () => {
    for (const k of kids) k.kill("SIGKILL");
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const targets: { name: string; cmd: string; args: string[] }[] = [];
  for (const s of a.servers) {
    if (s === "gnat" || s === "gnat-base") {
      const cli = s === "gnat" ? a.cli : process.env.GNAT_BASE_CLI;
      if (cli === undefined) throw new Error("gnat-base needs GNAT_BASE_CLI");
      for (const n of a.nodes) {
        const version = n === process.execPath ? process.version : (await new Promise<string>((r) => {
          const c = spawn(n, ["--version"]);
          let out = "";
          c.stdout.on("data", (d: Buffer) => (out += d.toString()));
          c.on("exit", () => r(out.trim()));
        }));
        targets.push({ name: `${s} (node ${version})`, cmd: n, args: [cli] });
      }
    } else if (s === "nats") {
      const ns = which("nats-server");
      if (ns === null) throw new Error("nats-server is not on the PATH");
      targets.push({ name: "nats-server", cmd: ns, args: [] });
    } else throw new Error(`unknown server ${s}`);
  }
  const loadBefore = loadavg();
  const stopLoad = a.load ? startLoad() : () => {};
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  try {
    // One start of each first, not counted: the OS's file cache is warm for every target alike.
    for (const t of targets) await startOnce(t.cmd, t.args, a.config);
    for (let i = 0; i < a.runs; i++) {
      for (const t of targets) samples.get(t.name)!.push(await startOnce(t.cmd, t.args, a.config));
    }
  } finally {
    stopLoad();
  }
  const fmt = (x: number): string => `${Math.round(x)} ms`;
  console.log(`start-up, ${a.config} config, ${a.runs} starts each${a.load ? ", two busy loops running" : ", no busy loops added"}`);
  console.log(`load average before: ${loadBefore.map((x) => x.toFixed(1)).join(", ")}; after: ${loadavg().map((x) => x.toFixed(1)).join(", ")}`);
  console.log("| server | ports file (median) | first INFO (median) | ports file min–max | CPU used by then (median) |");
  console.log("|---|---|---|---|---|");
  for (const t of targets) {
    const xs = samples.get(t.name)!;
    const p = xs.map((x) => x.ports);
    console.log(`| ${t.name} | ${fmt(median(p))} | ${fmt(median(xs.map((x) => x.info)))} | ${fmt(Math.min(...p))}–${fmt(Math.max(...p))} | ${fmt(median(xs.map((x) => x.cpu)))} |`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
