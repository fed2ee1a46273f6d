// vitest globalSetup: a test run must not leave servers behind. Every process the run starts
// inherits GNAT_TEST_RUN (set here, before any worker forks); when the run ends, any gnat (or
// nats-server) still carrying this run's mark is killed and the run fails, naming it. Only this
// run's processes are touched: other runs, in this checkout or another, carry other marks.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { allProcs, gone, hasProc, type ProcInfo } from "./processes.js";

export const MARK = "GNAT_TEST_RUN";

/** Servers alive now that carry `mark` in their environment. */
export function leftovers(mark: string): ProcInfo[] {
  if (!hasProc) return [];
  const out: ProcInfo[] = [];
  for (const p of allProcs()) {
    if (p.pid === process.pid) continue;
    const argv = p.cmdline.split(" ");
    const isServer = /dist\/server\/(process\/)?cli\.js/.test(p.cmdline) || argv.slice(0, 2).some((a) => ["nats-server", "gnat"].includes(basename(a)));
    if (!isServer) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${p.pid}/environ`, "utf8");
    } catch {
      continue;
    }
    if (env.split("\0").includes(`${MARK}=${mark}`)) out.push(p);
  }
  return out;
}

/** Kill them and wait until they are gone; returns what was found. */
export async function killLeftovers(mark: string): Promise<ProcInfo[]> {
  const found = leftovers(mark);
  for (const p of found) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  for (const p of found) await gone(p.pid, p.started);
  return found;
}

export default function setup(): () => Promise<void> {
  // Each project runs this; one mark for the whole run.
  const mark = (process.env[MARK] ??= randomUUID());
  return async () => {
    const found = await killLeftovers(mark);
    if (found.length === 0) return;
    const list = found.map((p) => `  ${p.pid}: ${p.cmdline}`).join("\n");
    process.stderr.write(`\n*** the tests left ${found.length} server process(es) running; killed:\n${list}\n`);
    throw new Error(`the tests left ${found.length} server process(es) running (killed): ${found.map((p) => p.pid).join(", ")}`);
  };
}
