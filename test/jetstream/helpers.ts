import { mkdtempSync, rmSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { afterAll, afterEach, beforeAll } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, type FileStoreOptions } from "../../server/jetstream/file-store.js";
import { MemoryStore } from "../../server/jetstream/memory-store.js";
import type { StoreLimits, StreamStore } from "../../server/jetstream/store.js";

export interface StoreFactory {
  name: string;
  /** A fresh store; reopen() gives the same stream again (memory: the same instance). */
  make(limits?: StoreLimits): Promise<{ store: StreamStore; reopen: () => Promise<StreamStore>; cleanup: () => Promise<void> }>;
}

export function tempDir(prefix = "gnat-store-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const memoryFactory: StoreFactory = {
  name: "memory",
  async make(limits) {
    const store = new MemoryStore(limits);
    return { store, reopen: async () => store, cleanup: () => store.close() };
  },
};

export function fileFactory(name: string, extra: Partial<FileStoreOptions> = {}): StoreFactory {
  return {
    name,
    async make(limits) {
      const { dir, remove } = tempDir();
      let current: StreamStore = FileStore.open({ dir, ...(limits ? { limits } : {}), ...extra });
      return {
        store: current,
        reopen: async () => {
          await current.close();
          current = FileStore.open({ dir, ...extra });
          return current;
        },
        cleanup: async () => { await current.close(); remove(); },
      };
    },
  };
}

export const factories: StoreFactory[] = [
  memoryFactory,
  fileFactory("file"),
  fileFactory("file (small blocks, syncAlways)", { blockSize: 4096, syncAlways: true }),
];

export const buf = (s: string): Buffer => Buffer.from(s);

export interface JetStreamSuite {
  server: Server;
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/**
 * The setup a JetStream test file shares: a JetStream server on port 0 with a store dir of its
 * own, one connection and its manager (handed to `ready` before the tests), every stream deleted
 * after each test, all of it closed and removed after the file.
 */
export function jetStreamSuite(prefix: string, ready: (t: JetStreamSuite) => void): void {
  const store = tempDir(prefix);
  let t: JetStreamSuite | null = null;
  beforeAll(async () => {
    const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: store.dir });
    const nc = await connect({ servers: server.url });
    t = { server, nc, jsm: await jetstreamManager(nc) };
    ready(t);
  });
  afterAll(async () => {
    await t?.nc.close();
    await t?.server.close();
    store.remove();
  });
  afterEach(async () => {
    if (t === null) return;
    for await (const name of t.jsm.streams.names()) await t.jsm.streams.delete(name);
  });
}
