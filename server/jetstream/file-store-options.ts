// Tested with file-store.ts (test/jetstream/file-store.test.ts). What a file store is opened with
// and what it reports of its I/O: the types apart from the store, so readers of them need not
// load it.
import type { StoreLimits } from "./store.js";

export interface FileStoreOptions {
  /** The stream's directory (created if missing). */
  dir: string;
  /** Limits to apply; when absent, those in meta.json (or none). */
  limits?: StoreLimits;
  /** Opaque stream configuration to keep in meta.json for the stream layer. */
  config?: unknown;
  /** Block (segment) size in bytes; nats-server uses 8 MiB for limits streams. */
  blockSize?: number;
  /** fsync before whenDurable resolves (group commit). Default false. */
  syncAlways?: boolean;
  /** fsync interval for the default policy, ms. Default 2 minutes, as nats-server. */
  syncIntervalMs?: number;
  /** Recovery and I/O warnings (corrupt records, torn tails, failed writes). */
  onWarning?: (message: string) => void;
  /** Bytes of sealed blocks' index columns kept loaded (LRU); default 8 MiB (column-index.ts). */
  cacheBytes?: number;
  /** Columns used this recently (ms) stay loaded over cacheBytes; default 1000 (column-index.ts). */
  cacheHoldMs?: number;
  /** Test hook: called before each write(2) of buffered records; an Error fails that write. */
  writeFault?: (bytes: number) => Error | null;
}

export interface IoStats {
  /** write(2) calls of appended records. */
  writes: number;
  fsyncs: number;
  /** Reads of message records from sealed blocks (one serves READ_AHEAD bytes of them). */
  reads: number;
  /** Blocks read whole at start-up because their index file was missing or stale. */
  scanned: number;
  /** The last start-up took the index from a clean close's snapshot (file-store-snapshot.ts). */
  snapshot: boolean;
  blocks: number;
  /** Blocks' index columns loaded since open (start-up loads none but the last block's). */
  loads: number;
  /** Bytes of sealed blocks' columns loaded now (bounded by cacheBytes). */
  cachedBytes: number;
}
