// Child processes for tests: gnat's CLI (found through its ports file) and nats-server (found
// by its port), output captured, the whole process tree killed on stop.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { killTree } from "../helpers/processes.js";
import { until, waitForPort } from "./wait.js";

const root = resolve(import.meta.dirname, "../..");
/** gnat's command line, as built by `npm run build`. */
export const CLI = join(root, "dist/server/process/cli.js");

/** npm test builds first; a lone `vitest run` may not have. */
export function ensureBuilt(): void {
  // npm run build, not a bare tsc: it also makes cli.js executable (the nats-server symlink test
  // runs it directly) and copies the dashboard.
  // The client commands (`gnat pub`, …) are dist/client/main.js, which cli.js hands over to.
  if (!existsSync(CLI) || !existsSync(join(root, "dist/client/main.js"))) spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
}

/** Path of nats-server on PATH, or null. */
export const NATS_SERVER: string | null = ((): string | null => {
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
})();

/** A free loopback port (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export interface Launched {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  log(): string;
  /** Resolves once the log has `count` matches of `re`; rejects if it exits first. */
  waitLog(re: RegExp, count?: number, ms?: number): Promise<void>;
  /** Resolves with the exit code once it has exited. */
  exited(): Promise<number | null>;
  /** Kill it and everything it started (SIGKILL by default), and wait until all are gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<Launched>();

/** Spawn `cmd args`, stdout and stderr captured into log(); tracked until stopped. */
export function launch(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Launched {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  let out = "";
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const onData = (d: Buffer): void => {
    out += d.toString();
    wake();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => {
    wake();
    r(code);
  }));
  const waitLog = (re: RegExp, count = 1, ms = 8000): Promise<void> => new Promise((res, rej) => {
    const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${re} x${count} in:\n${out}`)), ms);
    const check = (): void => {
      if ((out.match(g)?.length ?? 0) >= count) {
        clearTimeout(timer);
        res();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        rej(new Error(`process exited (${child.exitCode}) before ${re}:\n${out}`));
      } else {
        waiters.push(check);
      }
    };
    check();
  });
  const p: Launched = {
    child,
    log: () => out,
    waitLog,
    exited: () => exit,
    stop: async (signal = "SIGKILL") => {
      running.delete(p);
      // Exited already: nothing of it is left to find (its pid may even be someone else's now).
      if (child.exitCode !== null || child.signalCode !== null) return;
      await killTree(child, signal);
    },
  };
  running.add(p);
  return p;
}

/** Stop every launched process not stopped yet (for an afterEach/afterAll). */
export async function stopAll(): Promise<void> {
  for (const p of [...running]) await p.stop();
}

export interface Listening extends Launched {
  port: number;
  url: string;
}

export interface GnatProcess extends Listening {
  /** The ports file: "nats", and "monitoring", "websocket"… where those listen. */
  ports: Record<string, string[]>;
}

/**
 * gnat's CLI with `args`, on 127.0.0.1 and a port of its choosing, found through the ports
 * file it writes to `portsDir` once it is ready (streams recovered, port bound).
 */
export async function spawnGnat(args: string[], portsDir: string, opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<GnatProcess> {
  const p = launch(process.execPath, [CLI, ...args, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir], opts.env === undefined ? {} : { env: opts.env });
  const file = join(portsDir, `gnat_${p.child.pid}.ports`);
  try {
    await until(() => p.child.exitCode !== null || existsSync(file), { timeout: opts.timeout ?? 10_000, what: `gnat's ports file ${file}` });
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${p.log()}`);
  }
  if (p.child.exitCode !== null) throw new Error(`gnat exited with ${p.child.exitCode}: ${p.log()}`);
  const ports = JSON.parse(readFileSync(file, "utf8")) as Record<string, string[]>;
  const url = ports["nats"]![0]!;
  return { ...p, url, port: Number(new URL(url).port), ports };
}

/**
 * nats-server with `args`, which must make it listen on 127.0.0.1:`port` (`-p`, or a config's
 * `listen`); resolves once that port greets.
 */
export async function spawnNatsServer(args: string[], port: number, ms = 5000): Promise<Listening> {
  if (NATS_SERVER === null) throw new Error("nats-server is not installed");
  const p = launch(NATS_SERVER, args);
  // One that never greets is not left running.
  await waitForPort(port, { timeout: ms, child: p.child, stderr: p.log, name: "nats-server" }).catch(async (e: unknown) => {
    await p.stop();
    throw e;
  });
  return { ...p, port, url: `nats://127.0.0.1:${port}` };
}
