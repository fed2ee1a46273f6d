// The store dir lock (store-lock.ts), both ways it is taken: the kernel-held abstract socket
// (Linux) and the pid file used elsewhere. Two servers in processes of their own are in
// test/regressions/two-servers-on-one-store-dir.test.ts.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { LOCK_FILE, lockStoreDir, StoreLockedError, type StoreLockMethod } from "../../server/jetstream/store-lock.js";
import { tempDir } from "./helpers.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dir(): string {
  const d = tempDir("gnat-lock-unit-");
  cleanups.push(d.remove);
  return d.dir;
}

async function lockedError(p: Promise<unknown>): Promise<StoreLockedError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(StoreLockedError);
  return e as StoreLockedError;
}

/** A process that runs until killed, and resolves once it is running. */
async function liveProcess(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "process.stdout.write('up'); setInterval(() => {}, 1000)"], { stdio: ["ignore", "pipe", "ignore"] });
  cleanups.push(() => child.kill("SIGKILL"));
  await new Promise((r) => child.stdout.once("data", r));
  return child.pid!;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

const methods: StoreLockMethod[] = process.platform === "linux" ? ["abstract-socket", "pid-file"] : ["pid-file"];

describe.each(methods)("%s", (method) => {
  test("one holder at a time; released, it can be taken again", async () => {
    const d = dir();
    const a = await lockStoreDir(d, method);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
    const e = await lockedError(lockStoreDir(d, method));
    expect(e.message).toBe(`can't open the JetStream store ${d}: it is in use by another gnat server (pid ${process.pid})`);
    await a.release();
    await a.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    const b = await lockStoreDir(d, method);
    await b.release();
  });

  test("the lock is the directory's, whatever path names it; other dirs are independent", async () => {
    const d = dir();
    const other = dir();
    const link = join(dir(), "link");
    symlinkSync(d, link);
    const a = await lockStoreDir(d, method);
    cleanups.push(() => a.release());
    await lockedError(lockStoreDir(link, method));
    await lockedError(lockStoreDir(join(d, "."), method));
    const b = await lockStoreDir(other, method);
    await b.release();
  });

  test("a missing store dir is created", async () => {
    const d = join(dir(), "a", "b");
    const a = await lockStoreDir(d, method);
    expect(existsSync(d)).toBe(true);
    await a.release();
  });

  test("a store dir that is a file, or cannot be made, is refused with nats-server's words", async () => {
    const d = dir();
    const file = join(d, "not-a-dir");
    writeFileSync(file, "x");
    await expect(lockStoreDir(file, method)).rejects.toThrow(/^Can't start JetStream: storage directory is not a directory$/);
    await expect(lockStoreDir(join(file, "below"), method)).rejects.toThrow(/^Can't start JetStream: could not create storage directory - ENOTDIR/);
  });

  test("a LOCK file left by a dead process does not block", async () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: await deadPid(), started: "", locked: "", token: "x" }));
    const a = await lockStoreDir(d, method);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid });
    await a.release();
  });

  test("nor does a LOCK file cut short (power loss) or garbled", async () => {
    const d = dir();
    for (const text of ["", "{\"pid\": 12", "not json"]) {
      writeFileSync(join(d, LOCK_FILE), text);
      const a = await lockStoreDir(d, method);
      await a.release();
    }
  });

  test("releasing does not remove the LOCK file of the holder after it", async () => {
    const d = dir();
    const a = await lockStoreDir(d, method);
    await a.release();
    const b = await lockStoreDir(d, method);
    await a.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
    await b.release();
  });
});

describe("pid-file", () => {
  test("a LOCK file naming a live process is that process's lock", async () => {
    const d = dir();
    const pid = await liveProcess();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, started: "", locked: "", token: "x" }));
    expect((await lockedError(lockStoreDir(d, "pid-file"))).pid).toBe(pid);
  });
});

describe.runIf(process.platform === "linux")("abstract-socket", () => {
  test("the kernel lock decides, not the LOCK file: one naming a live process does not block", async () => {
    const d = dir();
    const pid = await liveProcess();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, started: "", locked: "", token: "x" }));
    const a = await lockStoreDir(d, "abstract-socket");
    await a.release();
  });

  test("a holder whose LOCK file is gone is still the holder (pid unknown)", async () => {
    const d = dir();
    const a = await lockStoreDir(d, "abstract-socket");
    cleanups.push(() => a.release());
    writeFileSync(join(d, LOCK_FILE), "");
    expect((await lockedError(lockStoreDir(d, "abstract-socket"))).message).toMatch(/in use by another gnat server \(pid unknown\)$/);
  });
});
