// The gnat client against a gnat started in this process or a nats-server child, waiting on what
// it prints. A client command runs in this process (start, gnat): a Node start and module load per
// command was most of test/client's time in CI. The bin as users run it, a child process of
// dist/server/process/cli.js, is startProcess and gnatProcess, kept for what only a process shows
// (the bin's exit codes, signals; the terminal tests run it in tmux).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterEach, beforeAll } from "vitest";
import type { ClientIO } from "../../client/io.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { isClientCommand } from "../../server/process/client-commands.js";
import { startGnat } from "../kit/gnat.js";
import { CLI, ensureBuilt, freePort, NATS_SERVER, spawnNatsServer } from "../kit/processes.js";

export interface Target {
  url: string;
  close(): Promise<void>;
}

export type TargetKind = "gnat" | "nats-server";
export const KINDS: TargetKind[] = ["gnat", "nats-server"];
export const HAS_NATS_SERVER = NATS_SERVER !== null;

/** A server to talk to; `config` is nats-server config text (an authorization block, say). */
export async function startTarget(kind: TargetKind, config = ""): Promise<Target> {
  if (kind === "gnat") {
    const extra = config === "" ? {} : configToOptions(parseConfig(config)).options;
    const s = await startGnat(extra);
    return { url: `nats://127.0.0.1:${s.port}`, close: () => s.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), "gnat-client-ns-"));
  const port = await freePort();
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `listen: 127.0.0.1:${port}\n${config}`);
  const nats = await spawnNatsServer(["-c", conf], port);
  return {
    url: nats.url,
    async close() {
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A target with JetStream on a store in a new temporary folder, which close() removes. */
export async function startJetStreamTarget(kind: TargetKind, prefix: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const target = await startTarget(kind, `jetstream { store_dir: "${dir}" }\n`);
  return {
    url: target.url,
    close: async () => {
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A long-running gnat (sub, reply): what it printed so far, and waits on it. */
export interface Running {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout+stderr match `re` `count` times; rejects if it exits first. */
  wait(re: RegExp, count?: number, ms?: number): Promise<void>;
  exited(): Promise<Run>;
  /** A signal: SIGINT and SIGTERM are the interrupt a command stops on; SIGKILL, to a process, ends it. */
  kill(signal: NodeJS.Signals): void;
  /** Whether it has ended. */
  done(): boolean;
}

/** A per-file environment: no NATS_URL from the outside, contexts in a temp folder. */
export function clientSuite(): { env: NodeJS.ProcessEnv; running: Running[] } {
  const configHome = mkdtempSync(join(tmpdir(), "gnat-client-cfg-"));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome };
  delete env.NATS_URL;
  const running: Running[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(() => {
    for (const r of running.splice(0)) if (!r.done()) r.kill("SIGKILL");
  });
  return { env, running };
}

/** Output gathered as it comes, and waits on it. */
function watched(args: string[], ended: () => boolean, exitCode: () => number | null): {
  out(d: Buffer | string): void; err(d: Buffer | string): void; wake(): void; stdout(): string; stderr(): string; wait: Running["wait"];
} {
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  return {
    out: (d) => { out += d.toString(); wake(); },
    err: (d) => { err += d.toString(); wake(); },
    wake,
    stdout: () => out,
    stderr: () => err,
    wait: (re, count = 1, ms = 10_000) => new Promise((res, rej) => {
      const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
      const timer = setTimeout(() => rej(new Error(`timed out waiting for ${re} x${count}; stdout:\n${out}\nstderr:\n${err}`)), ms);
      const check = (): void => {
        if (((out + err).match(g)?.length ?? 0) >= count) {
          clearTimeout(timer);
          res();
        } else if (ended()) {
          clearTimeout(timer);
          rej(new Error(`gnat ${args.join(" ")} exited (${exitCode()}) before ${re}; stdout:\n${out}\nstderr:\n${err}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    }),
  };
}

/** gnat as a child process of the bin (dist/server/process/cli.js): what users run. */
export function startProcess(args: string[], env: NodeJS.ProcessEnv, input?: string): Running & { child: ChildProcess } {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (input !== undefined) child.stdin!.end(input);
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const w = watched(args, ended, () => child.exitCode);
  child.stdout!.on("data", w.out);
  child.stderr!.on("data", w.err);
  const exit = new Promise<Run>((r) => child.once("close", (code) => {
    w.wake();
    r({ code, stdout: w.stdout(), stderr: w.stderr() });
  }));
  return { child, stdout: w.stdout, stderr: w.stderr, wait: w.wait, exited: () => exit, kill: (s) => void child.kill(s), done: ended };
}

/**
 * A client command run in this process (client/main.ts's runClient) on streams of its own: the
 * same code as the bin runs after it has loaded, without a Node start and module load per
 * command. SIGINT and SIGTERM reach the command's interrupt handlers, as the bin's signals do;
 * SIGKILL (a test's cleanup) does the same, there being no process to end.
 */
export function startInProcess(args: string[], env: NodeJS.ProcessEnv, input?: string): Running {
  let code: number | null = null;
  let ended = false;
  const w = watched(args, () => ended, () => code);
  const sink = (write: (d: Buffer | string) => void): Writable => new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      write(chunk);
      cb();
    },
  });
  const interrupts = new Set<() => void>();
  // A signal sent before the command listens still stops it (as it would end a process).
  let interrupted = false;
  const cio: ClientIO = {
    stdout: sink(w.out),
    stderr: sink(w.err),
    stdin: Readable.from(input === undefined ? [] : [Buffer.from(input)]),
    env: { ...env },
    exitCode: undefined,
    onInterrupt(stop) {
      if (interrupted) queueMicrotask(stop);
      interrupts.add(stop);
      return () => void interrupts.delete(stop);
    },
  };
  const exit = import("../../client/main.js").then((m) => m.runClient(args, cio)).then((c) => {
    code = c;
    ended = true;
    w.wake();
    return { code: c, stdout: w.stdout(), stderr: w.stderr() };
  });
  return {
    stdout: w.stdout,
    stderr: w.stderr,
    wait: w.wait,
    exited: () => exit,
    kill: () => {
      interrupted = true;
      for (const stop of [...interrupts]) stop();
    },
    done: () => ended,
  };
}

/** A client command in this process; anything else (the server) as a process. */
export function start(args: string[], env: NodeJS.ProcessEnv, input?: string): Running {
  return isClientCommand(args[0]) ? startInProcess(args, env, input) : startProcess(args, env, input);
}

/** Run gnat to the end (asynchronously: an in-process server must keep serving meanwhile). */
export function gnat(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return start(args, env, input).exited();
}

/** Run gnat's bin as a child process to the end: for what only a process shows (exit codes, signals, the bin). */
export function gnatProcess(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return startProcess(args, env, input).exited();
}
