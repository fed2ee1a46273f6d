// Regression: two gnat servers could run on one JetStream store dir at once, and acknowledged
// messages were lost. Server A held stream S; server B started on the same -sd (another port),
// restored S, and both went on appending to the same block files, each from its own idea of the
// last sequence (both acked seqs 101–200); after a restart the messages A had acked were gone.
// Now the store dir is locked to one server: the second refuses to start, naming the dir and the
// pid of the holder, and a lock left by a killed server never blocks a restart.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";
import { ensureBuilt, spawnGnat, stopAll, type Listening } from "../kit/processes.js";
import { CLI, refused } from "../server/process-kit.js";
import { startGnat } from "../kit/gnat.js";

const cleanups: Array<() => void | Promise<void>> = [];
beforeAll(ensureBuilt, 120_000);
afterEach(async () => {
  await stopAll();
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dirs(): { store: string; ports: string } {
  const store = tempDir("gnat-lock-store-");
  const ports = tempDir("gnat-lock-ports-");
  cleanups.push(() => { store.remove(); ports.remove(); });
  return { store: store.dir, ports: ports.dir };
}

const inUse = (dir: string, pid: number): string =>
  `can't open the JetStream store ${dir}: it is in use by another gnat server (pid ${pid})`;

/** Create stream S (file storage) unless it exists, publish `n` messages "m-<i>", return the acked seqs. */
async function publish(url: string, from: number, n: number): Promise<number[]> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    if (from === 0) await jsm.streams.add({ name: "S", subjects: ["s.>"], storage: StorageType.File });
    const js = jetstream(nc);
    const acks = [];
    for (let i = from; i < from + n; i++) acks.push(js.publish("s.x", `m-${i}`));
    return (await Promise.all(acks)).map((a) => a.seq);
  } finally {
    await nc.close();
  }
}

/** Every message of stream S, in seq order, as strings. */
async function readAll(url: string): Promise<string[]> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const st = (await jsm.streams.info("S")).state;
    const out: string[] = [];
    for (let seq = st.first_seq; seq <= st.last_seq && st.messages > 0; seq++) {
      const m = await jsm.streams.getMessage("S", { seq });
      if (m !== null) out.push(m.string());
    }
    return out;
  } finally {
    await nc.close();
  }
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/**
 * Start the gnat CLI on `storeDir` expecting it to refuse: resolves with its exit code and what it
 * printed once it exits. One that comes up instead is killed and reported (the bug).
 */
async function refusedCli(storeDir: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [CLI, "-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  const ready = new Promise<"ready">((resolve) => {
    const look = (): void => {
      if (/Server is ready/.test(stderr + stdout)) resolve("ready");
    };
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); look(); });
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); look(); });
  });
  const exit = new Promise<"exit">((resolve) => child.once("close", () => resolve("exit")));
  if (await Promise.race([ready, exit]) === "ready") {
    child.kill("SIGKILL");
    await exit;
    throw new Error(`a second gnat started on the store dir in use:\n${stderr}${stdout}`);
  }
  return { code: child.exitCode, stderr, stdout };
}

/** A port nothing listens on (for a server that must not be left listening). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** What startServer throws; one that starts instead is closed, and "started" returned. */
function startError(o: ServerOptionsInput): Promise<string> {
  return startServer(o).then(async (s) => { await s.close(); return "started"; }, (e: Error) => e.message);
}

async function stopGnat(r: Listening): Promise<void> {
  r.child.kill("SIGTERM");
  await r.exited();
}

describe("one store dir, two servers", () => {
  test("a second gnat CLI on the store dir refuses to start, naming the dir and the holder's pid; the first keeps every acked message", async () => {
    const d = dirs();
    const a = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await publish(a.url, 0, 100)).toEqual(range(1, 100));

    const second = await refusedCli(d.store);
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBeNull();
    // One line, the way other start-up errors are printed.
    expect(second.stderr).toBe(`gnat: ${inUse(d.store, a.child.pid!)}\n`);

    expect(await publish(a.url, 100, 100)).toEqual(range(101, 100));
    await stopGnat(a);
    const again = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await readAll(again.url)).toEqual(range(0, 200).map((i) => `m-${i}`));
    await stopGnat(again);
  });

  test("an embedded startServer on the store dir of a running gnat throws the same error and leaves nothing listening", async () => {
    const d = dirs();
    const a = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await publish(a.url, 0, 50)).toEqual(range(1, 50));

    const port = await freePort();
    const httpPort = await freePort();
    expect(await startError({ host: "127.0.0.1", port, httpPort, noLog: true, jetstream: true, storeDir: d.store }))
      .toBe(inUse(d.store, a.child.pid!));
    expect(await refused(port)).toBe(true);
    expect(await refused(httpPort)).toBe(true);

    expect(await publish(a.url, 50, 50)).toEqual(range(51, 50));
    await stopGnat(a);
    const again = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await readAll(again.url)).toEqual(range(0, 100).map((i) => `m-${i}`));
    await stopGnat(again);
  });

  test("two embedded servers in one process: the second throws, naming this process", async () => {
    const d = dirs();
    const a = await startGnat({ jetstream: true, storeDir: d.store });
    cleanups.push(() => a.close());
    expect(await startError({ host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: d.store }))
      .toBe(inUse(d.store, process.pid));
    // With accounts, each account's JetStream is under the same root: the same lock.
    expect(await startError({
      host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: d.store,
      accounts: { A: { users: [{ user: "a", password: "a" }], jetstream: true } },
    })).toBe(inUse(d.store, process.pid));
    expect(await publish(a.url, 0, 10)).toEqual(range(1, 10));
  });
});

describe("a lock left behind never blocks a restart", () => {
  test("kill -9 the holder: a restart on the same dir starts at once and has the messages", async () => {
    const d = dirs();
    const a = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await publish(a.url, 0, 100)).toEqual(range(1, 100));
    a.child.kill("SIGKILL");
    await a.exited();
    const again = await spawnGnat(["-js", "-sd", d.store], d.ports);
    expect(await readAll(again.url)).toEqual(range(0, 100).map((i) => `m-${i}`));
    await stopGnat(again);
  });

  test("a LOCK file naming a live process that holds nothing does not block", async () => {
    const d = dirs();
    // As a killed server's LOCK file whose pid was reused by some other process.
    writeFileSync(join(d.store, "LOCK"), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
    const s = await startGnat({ jetstream: true, storeDir: d.store });
    await s.close();
  });
});

describe("in one process", () => {
  test("start on dir X, close, start on X again", async () => {
    const d = dirs();
    for (let i = 0; i < 3; i++) {
      const s = await startGnat({ jetstream: true, storeDir: d.store });
      expect(await publish(s.url, i * 10, 10)).toEqual(range(i * 10 + 1, 10));
      await s.close();
    }
  });

  test("two servers on different dirs both run", async () => {
    const x = dirs();
    const y = dirs();
    const servers: Server[] = [];
    for (const dir of [x.store, y.store]) {
      const s = await startGnat({ jetstream: true, storeDir: dir });
      cleanups.push(() => s.close());
      servers.push(s);
    }
    for (const s of servers) expect(await publish(s.url, 0, 10)).toEqual(range(1, 10));
  });

  test("a server that fails to bind its port lets go of the store dir", async () => {
    const d = dirs();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    await expect(startServer({ host: "127.0.0.1", port, noLog: true, jetstream: true, storeDir: d.store })).rejects.toThrow(/EADDRINUSE|in use/);
    const s = await startGnat({ jetstream: true, storeDir: d.store });
    expect(await publish(s.url, 0, 5)).toEqual(range(1, 5));
    await s.close();
  });
});
