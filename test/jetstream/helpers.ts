import { tempDir as kitTempDir } from "../kit/gnat.js";
import { FileStore, type FileStoreOptions } from "../../server/jetstream/file-store.js";
import { MemoryStore } from "../../server/jetstream/memory-store.js";
import type { StoreLimits, StreamStore } from "../../server/jetstream/store.js";

export interface StoreFactory {
  name: string;
  /** A fresh store; reopen() gives the same stream again (memory: the same instance). */
  make(limits?: StoreLimits): Promise<{ store: StreamStore; reopen: () => Promise<StreamStore>; cleanup: () => Promise<void> }>;
}

export function tempDir(prefix = "gnat-store-"): { dir: string; remove: () => void } {
  return kitTempDir(prefix);
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
  // Every read of a sealed block but the last one loaded reloads its columns (column-index.ts).
  fileFactory("file (small blocks, one block's columns cached)", { blockSize: 4096, cacheBytes: 1, cacheHoldMs: 0 }),
];

export const buf = (s: string): Buffer => Buffer.from(s);

// The JetStream suite lives in the test kit now; re-exported for the files that import it here.
export { jetStreamSuite, type JetStreamSuite } from "../kit/gnat.js";
