// A gnat (or nats-server) child process with a config file it can be told to re-read, and raw
// protocol clients that wait on what arrives: for reload and lame duck tests.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterEach, beforeAll } from "vitest";
import { RawClient } from "../kit/clients.js";
import { CLI, ensureBuilt, launch } from "../kit/processes.js";

export { CLI, ensureBuilt, RawClient };

/**
 * For a test file of processes and raw clients: gnat is built once, and after each test the
 * clients pushed onto `clients` are closed and the processes pushed onto `procs` stopped.
 */
export function processSuite(): { procs: ServerProcess[]; clients: RawClient[] } {
  const procs: ServerProcess[] = [];
  const clients: RawClient[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of procs.splice(0)) await p.stop();
  });
  return { procs, clients };
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  dir: string;
  conf: string;
  pidFile: string;
  /** Everything it logged so far. */
  log(): string;
  /** Resolves once the log has `count` lines matching `re` (counting from the start). */
  waitLog(re: RegExp, count?: number, ms?: number): Promise<void>;
  /** Rewrite the config file (the port line is kept). */
  rewrite(config: string): void;
  /** Send a signal; resolves at once. */
  signal(sig: NodeJS.Signals): void;
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Start `cmd` (gnat by default) with `-c <file>` holding `listen` plus `config`. */
export async function startProcess(config: string, opts: { port: number; nats?: string; args?: string[]; logsToFile?: boolean }): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "gnat-reload-"));
  const conf = join(dir, "server.conf");
  const pidFile = join(dir, "server.pid");
  const head = `listen: 127.0.0.1:${opts.port}\npid_file: "${pidFile}"\n`;
  writeFileSync(conf, head + config);
  const args = ["-c", conf, ...(opts.args ?? [])];
  const l = opts.nats !== undefined ? launch(opts.nats, args) : launch(process.execPath, [CLI, ...args]);
  const child = l.child;
  const p: ServerProcess = {
    child,
    port: opts.port,
    dir,
    conf,
    pidFile,
    log: l.log,
    waitLog: l.waitLog,
    rewrite: (c) => writeFileSync(conf, head + c),
    signal: (sig) => child.kill(sig),
    exited: l.exited,
    stop: async () => {
      await l.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A process that logs to a file: the caller waits on the file.
  if (opts.logsToFile !== true) await l.waitLog(/Server is ready/);
  return p;
}

/** Whether a TCP connection to `port` is refused (nothing listens). */
export function refused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      res(false);
    });
    s.once("error", () => res(true));
  });
}
