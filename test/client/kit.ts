// The gnat client as users run it: a child process of dist/server/cli.js (the `gnat` bin), against
// a gnat started in this process or a nats-server child, waiting on what it prints.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll } from "vitest";
import { configToOptions, parseConfig } from "../../server/config/index.js";
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
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout+stderr match `re` `count` times; rejects if it exits first. */
  wait(re: RegExp, count?: number, ms?: number): Promise<void>;
  exited(): Promise<Run>;
}

/** A per-file environment: no NATS_URL from the outside, contexts in a temp folder. */
export function clientSuite(): { env: NodeJS.ProcessEnv; running: Running[] } {
  const configHome = mkdtempSync(join(tmpdir(), "gnat-client-cfg-"));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome };
  delete env.NATS_URL;
  const running: Running[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(() => {
    for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
  });
  return { env, running };
}

export function start(args: string[], env: NodeJS.ProcessEnv, input?: string): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (input !== undefined) child.stdin!.end(input);
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", (d: Buffer) => { out += d.toString(); wake(); });
  child.stderr!.on("data", (d: Buffer) => { err += d.toString(); wake(); });
  const exit = new Promise<Run>((r) => child.once("close", (code) => {
    wake();
    r({ code, stdout: out, stderr: err });
  }));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    wait: (re, count = 1, ms = 10_000) => new Promise((res, rej) => {
      const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
      const timer = setTimeout(() => rej(new Error(`timed out waiting for ${re} x${count}; stdout:\n${out}\nstderr:\n${err}`)), ms);
      const check = (): void => {
        if (((out + err).match(g)?.length ?? 0) >= count) {
          clearTimeout(timer);
          res();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          rej(new Error(`gnat ${args.join(" ")} exited (${child.exitCode}) before ${re}; stdout:\n${out}\nstderr:\n${err}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    }),
  };
}

/** Run gnat to the end (asynchronously: an in-process server must keep serving meanwhile). */
export function gnat(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return start(args, env, input).exited();
}
