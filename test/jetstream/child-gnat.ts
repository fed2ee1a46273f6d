// gnat as a real child process, for the kill -9 tests: started on a free loopback port, found
// through its ports file, killed for real. Seeded randomness so a failing run can be replayed.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, ensureBuilt } from "../server/process-kit.js";

export { ensureBuilt };

export interface Running { child: ChildProcess; url: string; }

/** Children still to kill when a test ends. */
export const children: ChildProcess[] = [];

export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

export async function startGnat(args: string[], portsDir: string): Promise<Running> {
  const child = spawn(process.execPath, [CLI, ...args, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", portsDir], { stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const file = join(portsDir, `gnat_${child.pid}.ports`);
  // The ports file is written (atomically) once the streams are recovered and the port is bound.
  const deadline = Date.now() + 10_000;
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`gnat exited with ${child.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`no ports file from gnat: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const { nats } = JSON.parse(readFileSync(file, "utf8")) as { nats: string[] };
  return { child, url: nats[0]! };
}

export function exited(c: ChildProcess): Promise<void> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));
}

/** mulberry32, seeded: the fuzzer's generator, to pick kill points and payload sizes. */
export { prng as rng } from "../../bench/fuzz/engine.js";
