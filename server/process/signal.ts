// Tested by test/server/cli.test.ts and test/server/reload-embedding.test.ts.
// `--signal <command>[=<pid|pid file>]` (nats-server's -sl): send a running gnat the signal for a
// command and exit. Without a pid, the gnat processes on this machine are looked up (nats-server
// asks pgrep for "nats-server"; a gnat is a node process running the same script as this one).
import { readdirSync, readFileSync, realpathSync } from "node:fs";

/** nats-server's commands and the signals they send. */
export const SIGNAL_COMMANDS = {
  stop: "SIGKILL",
  quit: "SIGINT",
  reopen: "SIGUSR1",
  reload: "SIGHUP",
  ldm: "SIGUSR2",
  term: "SIGTERM",
} as const satisfies Record<string, NodeJS.Signals>;

export interface SignalDeps {
  /** Pids of the other running gnat processes. */
  findPids: () => number[];
  kill: (pid: number, signal: NodeJS.Signals) => void;
  readFile: (path: string) => string | null;
}

/** Go's %v of a []string. */
const goList = (xs: string[]): string => `[${xs.join(" ")}]`;

/**
 * Send the signal `expr` asks for (nats-server's processSignal / ProcessSignal, same texts).
 * Throws an Error whose message is what to print.
 */
export function processSignal(expr: string, program: string, deps: SignalDeps = defaultDeps()): void {
  const parts = expr.split("=");
  if (parts.length > 2) throw new Error(`invalid signal parameters: ${goList(parts.slice(2))}`);
  const command = parts[0]!;
  // A pid, or the pid file that holds one (a name that is no readable file is taken as a pid).
  const pidExpr = parts.length === 2 ? (deps.readFile(parts[1]!)?.trim() ?? parts[1]!) : "";
  const isGlob = pidExpr.endsWith("*");
  const pidStr = isGlob ? pidExpr.slice(0, -1) : pidExpr;
  let pids: number[] = [];
  if (pidStr !== "") {
    if (!/^[-+]?\d+$/.test(pidStr)) throw new Error(`invalid pid: ${pidStr}`);
    pids = [Number.parseInt(pidStr, 10)];
  }
  if (pidStr === "" || isGlob) {
    pids = deps.findPids();
    if (isGlob) pids = pids.filter((p) => String(p).startsWith(pidStr));
  }
  if (pids.length > 1 && !isGlob) throw new Error(`multiple ${program} processes running:${pids.map((p) => `\n${p}`).join("")}`);
  if (pids.length === 0) throw new Error(`no ${program} processes running`);
  const signal = (SIGNAL_COMMANDS as Record<string, NodeJS.Signals>)[command];
  if (signal === undefined) throw new Error(`unknown signal ${JSON.stringify(command)}`);
  let errs = "";
  for (const pid of pids) {
    try {
      deps.kill(pid, signal);
    } catch (err) {
      errs += `\nsignal ${JSON.stringify(command)} ${pid}: ${killError(err)}`;
    }
  }
  if (errs !== "") throw new Error(errs);
}

/** Go's syscall error texts for what kill(2) says. */
function killError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ESRCH") return "no such process";
  if (code === "EPERM") return "operation not permitted";
  return (err as Error).message;
}

export function defaultDeps(): SignalDeps {
  return {
    findPids: () => findGnatPids(process.argv[1] ?? ""),
    kill: (pid, signal) => process.kill(pid, signal),
    readFile: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return null;
      }
    },
  };
}

/** Node processes (other than this one) running the script `script`, from /proc. */
export function findGnatPids(script: string): number[] {
  const mine = realpathOrSelf(script);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    throw new Error("unable to resolve pid, try providing one");
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const exe = argv[0] ?? "";
    if (!/(^|\/)node[\d.]*$/.test(exe)) continue;
    const target = argv.slice(1).find((a) => !a.startsWith("-"));
    if (target !== undefined && realpathOrSelf(target, `/proc/${e}/cwd`) === mine) out.push(pid);
  }
  return out.sort((a, b) => a - b);
}

function realpathOrSelf(path: string, cwd?: string): string {
  const p = cwd !== undefined && !path.startsWith("/") ? `${cwd}/${path}` : path;
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
