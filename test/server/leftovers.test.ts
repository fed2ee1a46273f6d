// The leftover guard (leftovers.ts, run as vitest's globalSetup) finds a gnat this run started
// and left running, and only that.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { expect, test } from "vitest";
import { killLeftovers, leftovers, MARK } from "../helpers/leftovers.js";
import { hasProc, procInfo } from "../helpers/processes.js";
import { ensureBuilt } from "./process-kit.js";

const CLI = join(resolve(import.meta.dirname, "../.."), "dist/server/process/cli.js");

test.skipIf(!hasProc)("finds and kills a gnat carrying the run's mark, not one carrying another", async () => {
  ensureBuilt();
  expect(process.env[MARK], "globalSetup sets the mark for every process of the run").toBeTruthy();
  const mark = randomUUID();
  const started = (m: string) => {
    const c = spawn(process.execPath, [CLI, "-a", "127.0.0.1", "-p", "-1"], { env: { ...process.env, [MARK]: m }, stdio: ["ignore", "ignore", "pipe"] });
    return new Promise<typeof c>((res) => c.stderr.on("data", (d: Buffer) => d.toString().includes("Server is ready") && res(c)));
  };
  const mine = await started(mark);
  const other = await started(randomUUID());
  try {
    expect(leftovers(mark).map((p) => p.pid)).toEqual([mine.pid]);
    const exited = new Promise((r) => mine.once("exit", r));
    expect((await killLeftovers(mark)).map((p) => p.pid)).toEqual([mine.pid]);
    await exited;
    expect(procInfo(other.pid!)).not.toBeNull();
    expect(leftovers(mark)).toEqual([]);
  } finally {
    mine.kill("SIGKILL");
    other.kill("SIGKILL");
  }
});
