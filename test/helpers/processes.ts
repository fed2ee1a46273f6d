// Processes as /proc shows them (Linux): a started process's whole tree, to stop it all, and the
// gnat processes a test run leaves behind (see leftovers.ts).
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot (tells a reused pid apart). */
  started: string;
  state: string;
  cmdline: string;
}

export const hasProc = ((): boolean => {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
})();

/** One process, or null when it is gone (or a zombie: dead, only waiting to be reaped). */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = rest[0]!;
    if (state === "Z" || state === "X") return null;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return { pid, ppid: Number(rest[1]), started: rest[19]!, state, cmdline };
  } catch {
    return null;
  }
}

export function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (p !== null) out.push(p);
  }
  return out;
}

/** The live descendants of pid, children before grandchildren. */
export function descendants(pid: number): ProcInfo[] {
  const procs = allProcs();
  const out: ProcInfo[] = [];
  const parents = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

/** Resolves once pid is gone (polled: a process that is not our child sends us no event). */
export async function gone(pid: number, started?: string, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = procInfo(pid);
    if (p === null || (started !== undefined && p.started !== started)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Stop a started process and everything it started, and wait until all of it has exited. A
 * process group is not enough: script(1) runs its command in a new session on a pty, and that
 * command outlives a killed script (gnat takes the pty's SIGHUP as "reload").
 */
export async function killTree(c: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  const exited = c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once("exit", () => r()));
  const tree = c.pid !== undefined && hasProc ? descendants(c.pid) : [];
  for (const p of tree) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // already gone
    }
  }
  if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  await exited;
  for (const p of tree) {
    if (!(await gone(p.pid, p.started))) throw new Error(`process ${p.pid} (${p.cmdline}) outlived ${signal}`);
  }
}
