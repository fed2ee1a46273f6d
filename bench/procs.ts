// What the load benchmarks share about server processes: a free loopback port, waiting for a
// child to listen, finding a program, and reading a process's CPU time and RSS from /proc.
import { spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/** The bench's command-line arguments. */
const benchArgv = process.argv.slice(2);
/** Whether `--name` was given. */
export const flag = (n: string): boolean => benchArgv.includes(`--${n}`);
/** The word after `--name`, or undefined. */
export const value = (n: string): string | undefined => {
  const i = benchArgv.indexOf(`--${n}`);
  return i >= 0 ? benchArgv[i + 1] : undefined;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const p = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

/** Resolves once something accepts on 127.0.0.1:port; rejects if the child exits or 10 s pass. */
export async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await sleep(25);
  }
}

/** The path of a program on the PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** User + system CPU time of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of the whole line; after "pid (comm) " they are 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process in KiB; 0 once it is gone. */
/** CPU time (user + system) a process has used, ms, from /proc (Linux; NaN elsewhere). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command's closing paren.
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
