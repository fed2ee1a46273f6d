// JetStream for one account: its streams, their stores, its limits and API counters. gnat has one
// account ("$G") today; each account will get its own JetStream when accounts arrive, which is why
// nothing here is global. It reaches the router only through its internal client.

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { InternalClient } from "../router.js";
import { checkStreamConfig, checkStreamUpdate, configJSON, decodeStreamConfig, sameConfig, type StreamConfig } from "./config.js";
import { JsApiError, JsErrors } from "./errors.js";
import { FileStore } from "./file-store.js";
import { MemoryStore } from "./memory-store.js";
import { NsClock, type StoreLimits, type StreamStore } from "./store.js";
import { Stream, storeLimits, type StreamHost } from "./stream.js";
import { subjectsCollide } from "./subjects.js";

export interface JetStreamOptions {
  /** Root of file storage; streams live in <storeDir>/jetstream/<account>/streams/<name>. */
  storeDir: string;
  /** Server-wide limits in bytes; ≤ 0 means unlimited. */
  maxMemory: number;
  maxStore: number;
  syncIntervalMs: number;
  syncAlways: boolean;
  /** The server's name, reported as the stream's cluster leader (nats-server does the same). */
  serverName: string;
  log: Logger;
  /** Test hook handed to every file store: fail a write(2) as a full disk would. */
  writeFault?: (bytes: number) => Error | null;
}

/** What the stream keeps beside its config in the file store's meta (FileStore `config`). */
interface PersistedMeta {
  config: unknown;
  /** Creation time, ns, as a decimal string (bigint does not survive JSON). */
  created: string;
}

export class JetStream implements StreamHost {
  readonly streams = new Map<string, Stream>();
  readonly clock = new NsClock();
  /** API requests handled and those answered with an error (nats-server's api stats). */
  apiTotal = 0;
  apiErrors = 0;

  constructor(readonly account: string, readonly ic: InternalClient, private readonly opts: JetStreamOptions) {}

  get streamsDir(): string {
    return join(this.opts.storeDir, "jetstream", this.account, "streams");
  }

  get serverName(): string {
    return this.opts.serverName;
  }

  warn(msg: string): void {
    this.opts.log.warn(msg);
  }

  /** Recreate the file streams found under the store dir (memory streams do not survive). */
  recover(): void {
    const dir = this.streamsDir;
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const sdir = join(dir, name);
      let store: FileStore | null = null;
      try {
        store = this.openFileStore(sdir);
        const meta = store.streamConfig as PersistedMeta | null | undefined;
        if (meta === null || meta === undefined || typeof meta !== "object" || !("config" in meta)) {
          throw new Error("no stream configuration in its meta file");
        }
        const cfg = checkStreamConfig(decodeStreamConfig(JSON.stringify(meta.config)));
        const created = /^\d+$/.test(meta.created) ? BigInt(meta.created) : this.clock.now();
        const stream = new Stream(this, cfg, store, created);
        this.streams.set(cfg.name, stream);
        stream.start();
        this.opts.log.info(`  Restored ${stream.store.fastState().msgs} messages for stream '${this.account} > ${cfg.name}'`);
      } catch (e) {
        this.opts.log.warn(`JetStream could not restore stream in ${sdir}: ${(e as Error).message}`);
        void store?.close();
      }
    }
  }

  private openFileStore(dir: string, config?: PersistedMeta, limits?: StoreLimits): FileStore {
    return FileStore.open({
      dir,
      ...(config !== undefined ? { config } : {}),
      ...(limits !== undefined ? { limits } : {}),
      syncIntervalMs: this.opts.syncIntervalMs,
      syncAlways: this.opts.syncAlways,
      onWarning: (m) => this.opts.log.warn(m),
      ...(this.opts.writeFault !== undefined ? { writeFault: this.opts.writeFault } : {}),
    });
  }

  lookup(name: string): Stream {
    const s = this.streams.get(name);
    if (s === undefined) throw JsApiError.of(JsErrors.StreamNotFound);
    return s;
  }

  /** nats-server addStream for a standalone server. Returns the stream (existing if identical). */
  addStream(requested: StreamConfig): Stream {
    const cfg = checkStreamConfig(requested);
    if (cfg.num_replicas > 1) throw JsApiError.of(JsErrors.StreamReplicasNotSupported);
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.config, cfg)) return existing;
      throw JsApiError.of(JsErrors.StreamNameExist);
    }
    if (this.overlaps(cfg.subjects, null)) throw JsApiError.of(JsErrors.StreamSubjectOverlap);
    this.checkReservation(cfg, null);

    const created = this.clock.now();
    let store: StreamStore;
    if (cfg.storage === "memory") {
      store = new MemoryStore(storeLimits(cfg));
    } else {
      mkdirSync(this.streamsDir, { recursive: true });
      store = this.openFileStore(join(this.streamsDir, cfg.name), { config: configJSON(cfg), created: created.toString() }, storeLimits(cfg));
    }
    if (cfg.first_seq > 1) store.compact(cfg.first_seq);
    const stream = new Stream(this, cfg, store, created);
    this.streams.set(cfg.name, stream);
    stream.start();
    return stream;
  }

  /** nats-server stream update: checked config, update rules, then applied in place. */
  updateStream(requested: StreamConfig): Stream {
    const checked = checkStreamConfig(requested);
    const stream = this.lookup(checked.name);
    const cfg = checkStreamUpdate(stream.config, checked);
    if (cfg.num_replicas !== stream.config.num_replicas && cfg.num_replicas > 1) {
      throw JsApiError.of(JsErrors.StreamReplicasNotSupported);
    }
    if (this.overlaps(cfg.subjects, stream)) throw JsApiError.of(JsErrors.StreamSubjectOverlap);
    this.checkReservation(cfg, stream);
    stream.update(cfg);
    if (stream.store instanceof FileStore) {
      stream.store.setStreamConfig({ config: configJSON(cfg), created: stream.created.toString() } satisfies PersistedMeta);
    }
    return stream;
  }

  async deleteStream(name: string): Promise<void> {
    const s = this.lookup(name);
    this.streams.delete(name);
    await s.delete();
  }

  private overlaps(subjects: string[], self: Stream | null): boolean {
    for (const s of this.streams.values()) {
      if (s === self) continue;
      for (const a of s.config.subjects) for (const b of subjects) if (subjectsCollide(a, b)) return true;
    }
    return false;
  }

  /**
   * Streams with max_bytes reserve that much of the server's memory / file budget (nats-server
   * checkBytesLimits): a new stream needs its max_bytes, or one byte without it; an update needs
   * only its growth. Over budget → insufficient storage / memory resources (10047 / 10028).
   */
  private checkReservation(cfg: StreamConfig, self: Stream | null): void {
    const max = cfg.storage === "memory" ? this.opts.maxMemory : this.opts.maxStore;
    if (max <= 0) return;
    let reserved = 0;
    for (const s of this.streams.values()) {
      if (s !== self && s.config.storage === cfg.storage && s.config.max_bytes > 0) reserved += s.config.max_bytes;
    }
    const own = Math.max(cfg.max_bytes, 0);
    const needs = self === null ? reserved + Math.max(cfg.max_bytes, 1) : own > self.config.max_bytes ? reserved + own : 0;
    if (needs > max) {
      throw JsApiError.of(cfg.storage === "memory" ? JsErrors.MemoryResourcesExceeded : JsErrors.StorageResourcesExceeded);
    }
  }

  /** nats-server js.limitsExceeded: the server's budget for this storage type is used up. */
  resourcesExceeded(stream: Stream): boolean {
    const memory = stream.config.storage === "memory";
    const max = memory ? this.opts.maxMemory : this.opts.maxStore;
    if (max <= 0) return false;
    return this.usage(memory ? "memory" : "file") > max;
  }

  usage(storage: "memory" | "file"): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.config.storage === storage) n += s.store.fastState().bytes;
    return n;
  }

  private reserved(storage: "memory" | "file"): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.config.storage === storage && s.config.max_bytes > 0) n += s.config.max_bytes;
    return n;
  }

  /** JetStreamAccountStats as nats-server 2.10 marshals it (without the envelope). */
  accountInfoJSON(): Record<string, unknown> {
    return {
      memory: this.usage("memory"),
      storage: this.usage("file"),
      reserved_memory: this.reserved("memory"),
      reserved_storage: this.reserved("file"),
      streams: this.streams.size,
      consumers: 0,
      // The global account has no JetStream limits of its own; nats-server reports -1 for each.
      limits: {
        max_memory: -1, max_storage: -1, max_streams: -1, max_consumers: -1, max_ack_pending: -1,
        memory_max_stream_bytes: -1, storage_max_stream_bytes: -1, max_bytes_required: false,
      },
      api: { total: this.apiTotal, errors: this.apiErrors },
    };
  }

  /** Stream names, sorted, optionally those whose subjects collide with `filter`. */
  filteredStreams(filter: string): Stream[] {
    const out = [...this.streams.values()].filter((s) => filter === "" || s.config.subjects.some((x) => subjectsCollide(filter, x)));
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  async close(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}
