// The JetStream store dir is locked to one server. Two servers on one store dir append to the same
// block files, each from its own idea of the last sequence, and acknowledged messages are lost; so
// opening a store dir takes a lock a second server cannot get, and the second refuses to start.
//
// Node has no flock(2). On Linux the lock is a Unix socket in the abstract namespace, named after
// the store dir's real path: the kernel allows one listener per name and frees the name when the
// process dies (SIGKILL, OOM kill, power loss leave nothing behind), so a live server is never
// mistaken for a dead one and a dead one never blocks a restart. Abstract names are per network
// namespace: servers in two containers with their own network namespaces do not see each other's
// lock. The LOCK file in the store dir only records who holds it (pid, start time), to name the
// holder in the error; what it says is never used to decide anything.
//
// Elsewhere (macOS, the BSDs, Windows) there is no abstract namespace: the LOCK file is the lock,
// created exclusively and taken over when the pid it names is no longer running
// (process.kill(pid, 0)). A reused pid can make a dead holder look alive (the server then refuses
// until the LOCK file is removed), and two servers starting at the same instant over a dead
// holder's file can both take it: best effort, unlike the kernel lock.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { createServer, type Server as NetServer } from "node:net";
import { join, resolve } from "node:path";

/** The file in the store dir that names the holder. */
export const LOCK_FILE = "LOCK";

export type StoreLockMethod = "abstract-socket" | "pid-file";

/** A second server on a store dir in use: the message names the dir and the holder. */
export class StoreLockedError extends Error {
  constructor(readonly dir: string, readonly pid: number | null) {
    super(`can't open the JetStream store ${dir}: it is in use by another gnat server (${pid === null ? "pid unknown" : `pid ${pid}`})`);
    this.name = "StoreLockedError";
  }
}

export interface StoreLock {
  /** The store dir as given, made absolute. */
  readonly dir: string;
  readonly method: StoreLockMethod;
  /** Let go of the lock (idempotent): the dir can be opened again, by this process or another. */
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  /** When the holding process started, ISO 8601. */
  started: string;
  /** When it took the lock. */
  locked: string;
  /** Tells this process's locks on one dir apart (a server closed and another started). */
  token: string;
}

export function defaultLockMethod(): StoreLockMethod {
  return process.platform === "linux" ? "abstract-socket" : "pid-file";
}

/**
 * Lock `storeDir` (created if missing) for this server. Rejects with StoreLockedError when
 * another server holds it, in this process or another.
 */
export async function lockStoreDir(storeDir: string, method: StoreLockMethod = defaultLockMethod()): Promise<StoreLock> {
  const dir = resolve(storeDir);
  makeStoreDir(dir);
  const real = realpathSync(dir);
  return method === "abstract-socket" ? lockWithSocket(dir, real) : lockWithPidFile(dir, real);
}

/** Create the store dir if missing; refuse one that is not a directory, in nats-server's words. */
function makeStoreDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new Error(`Can't start JetStream: could not create storage directory - ${(e as Error).message}`);
    }
    return;
  }
  if (!st.isDirectory()) throw new Error("Can't start JetStream: storage directory is not a directory");
}

/** The abstract socket name for a store dir's real path (well under the 107-byte limit). */
export function lockSocketName(realDir: string): string {
  return `\0gnat-store-${createHash("sha256").update(realDir).digest("hex")}`;
}

async function lockWithSocket(dir: string, real: string): Promise<StoreLock> {
  const srv: NetServer = createServer((s) => s.destroy());
  await new Promise<void>((res, rej) => {
    srv.once("error", (e: NodeJS.ErrnoException) => {
      rej(e.code === "EADDRINUSE" ? new StoreLockedError(dir, readHolder(real)?.pid ?? null) : e);
    });
    // exclusive: in a cluster worker, listen() would otherwise share the primary's handle.
    srv.listen({ path: lockSocketName(real), exclusive: true }, () => res());
  });
  // The lock must not keep the process alive; the kernel frees it when the process ends.
  srv.unref();
  srv.on("error", () => {});
  let info: LockInfo;
  try {
    info = writeHolder(real);
  } catch (e) {
    await closeServer(srv);
    throw e;
  }
  let released: Promise<void> | null = null;
  return {
    dir,
    method: "abstract-socket",
    release: () => {
      // The LOCK file goes first, while the lock is still held: it never removes a successor's.
      released ??= (removeHolder(real, info), closeServer(srv));
      return released;
    },
  };
}

/** Store dirs this process holds by pid file (the file cannot tell two servers of one process apart). */
const heldHere = new Set<string>();

async function lockWithPidFile(dir: string, real: string): Promise<StoreLock> {
  if (heldHere.has(real)) throw new StoreLockedError(dir, process.pid);
  const path = join(real, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    const info = newInfo();
    // Written whole, then linked into place: link(2) fails if LOCK exists, so there is one
    // winner, and LOCK is never seen half written.
    const tmp = writeTemp(real, info);
    try {
      linkSync(tmp, path);
      heldHere.add(real);
      let released: Promise<void> | null = null;
      return {
        dir,
        method: "pid-file",
        release: () => {
          released ??= (heldHere.delete(real), removeHolder(real, info), Promise.resolve());
          return released;
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      unlinkSync(tmp);
    }
    const holder = readHolder(real);
    if (holder !== null && holder.pid !== process.pid && alive(holder.pid)) throw new StoreLockedError(dir, holder.pid);
    // Taken over and over by others: give up rather than spin.
    if (attempt >= 5) throw new StoreLockedError(dir, holder?.pid ?? null);
    // The holder is gone (or unreadable, or this very process's pid reused after a restart): take over.
    try {
      unlinkSync(path);
    } catch {
      // someone else took it over first; the next attempt sees theirs
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const processStarted = new Date(Date.now() - process.uptime() * 1000).toISOString();

function newInfo(): LockInfo {
  return { pid: process.pid, started: processStarted, locked: new Date().toISOString(), token: randomBytes(8).toString("hex") };
}

/** `info` in a temporary file of its own in the store dir. */
function writeTemp(real: string, info: LockInfo): string {
  const tmp = join(real, `${LOCK_FILE}.${process.pid}.${info.token}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, JSON.stringify(info));
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/** Record this process as the holder; written whole (temporary file, rename) so a reader never sees half. */
function writeHolder(real: string): LockInfo {
  const info = newInfo();
  renameSync(writeTemp(real, info), join(real, LOCK_FILE));
  return info;
}

function readHolder(real: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(join(real, LOCK_FILE), "utf8")) as Partial<LockInfo>;
    return typeof v.pid === "number" && Number.isInteger(v.pid) && v.pid > 0 ? v as LockInfo : null;
  } catch {
    return null;
  }
}

/** Remove the LOCK file if it is still the one `info` wrote. */
function removeHolder(real: string, info: LockInfo): void {
  const now = readHolder(real);
  if (now === null || now.pid !== info.pid || now.token !== info.token) return;
  try {
    unlinkSync(join(real, LOCK_FILE));
  } catch {
    // already gone
  }
}

function closeServer(srv: NetServer): Promise<void> {
  return new Promise((res) => srv.close(() => res()));
}
