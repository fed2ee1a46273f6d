// JetStream for one account: its streams, their stores, its limits and API counters. gnat has one
// account ("$G") today; each account will get its own JetStream when accounts arrive, which is why
// nothing here is global. It reaches the router only through its internal client.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { InternalClient, InternalSubscription } from "../core/internal-client.js";
import { fromWire } from "../../protocol/subject.js";
import { Advisories } from "./advisories.js";
import { checkStreamConfig, checkStreamUpdate, configJSON, decodeStreamConfig, sameConfig, type StreamConfig } from "./config.js";
import { Consumer, type ConsumerHost } from "./consumer/index.js";
import {
  checkConsumerConfig, decodeConsumerConfig, ephemeralName, filtersOf, isDurable, sameConsumerConfig,
  setConsumerDefaults, type ConsumerAction, type ConsumerConfig,
} from "./consumer/config.js";
import { JS_MAX_NAME_LEN, isValidName } from "./config.js";
import { JsApiError, JsErrors } from "./errors.js";
import { FileStore } from "./file-store.js";
import { fsyncDir } from "./file-store-block.js";
import { ConsumerPersistence, type PersistedConsumer } from "./consumer/persistence.js";
import { MemoryStore } from "./memory-store.js";
import { NsClock, type StoreLimits, type StreamStore } from "./store.js";
import { checkAgainstStreams, subjectTransformError, type OtherStream } from "./source-config.js";
import type { SourceOrigin } from "./sourcing.js";
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
  /** The JetStream domain ("" none): in acks, infos and advisories, as nats-server reports it. */
  domain?: string;
  log: Logger;
  /** nats-server's ClientInfo of a client connection, by cid (for the API audit advisory). */
  clientInfo?: (cid: number) => Record<string, unknown> | null;
  /**
   * The account's own JetStream limits (accounts config); ≤ 0 is unlimited. Absent: the global
   * account, which has none (reported as -1). maxMemory / maxStore above already include them.
   */
  accountLimits?: {
    maxMemory: number; maxStore: number; maxStreams: number; maxConsumers: number; maxAckPending?: number;
    /** The most max_bytes one stream may have, by storage (> 0), and whether a stream must set max_bytes. */
    memoryMaxStreamBytes?: number; storageMaxStreamBytes?: number; maxBytesRequired?: boolean;
    tier?: string;
  };
  /**
   * Hand what connections have queued to their sockets now (the server's end-of-read flush, run
   * early). A consumer calls it a few messages into a long delivery run so the receiver starts
   * on the batch while the rest is built.
   */
  flushOutbound?: () => void;
  /** Test hook handed to every file store: fail a write(2) as a full disk would. */
  writeFault?: (bytes: number) => Error | null;
}

/** A durable as a snapshot carries it: its name and its persisted state. */
export interface RestoredConsumer {
  name: string;
  state: PersistedConsumer;
}

/** What the stream keeps beside its config in the file store's meta (FileStore `config`). */
interface PersistedMeta {
  config: unknown;
  /** Creation time, ns, as a decimal string (bigint does not survive JSON). */
  created: string;
}

export class JetStream implements StreamHost, ConsumerHost {
  readonly streams = new Map<string, Stream>();
  readonly clock = new NsClock();
  /** API requests handled and those answered with an error (nats-server's api stats). */
  apiTotal = 0;
  apiErrors = 0;
  /**
   * See StreamHost.storeLatency: null unless someone observes (the /metrics histogram, the
   * latency alert), so a server that watches nothing does not even read the clock per message.
   */
  storeLatency: ((seconds: number) => void) | null = null;
  private readonly latencyObservers = new Set<(seconds: number) => void>();

  /** One subscription for every consumer's acks. */
  private readonly ackSub: InternalSubscription;
  readonly advisories: Advisories;

  constructor(readonly account: string, readonly ic: InternalClient, readonly opts: JetStreamOptions) {
    this.advisories = new Advisories(ic, this.clock, opts.domain ?? "");
    this.ackSub = ic.subscribeRaw("$JS.ACK.>", (subject, reply, hdrLen, buf, start, end) =>
      this.onAck(subject, reply, buf.subarray(hdrLen >= 0 ? start + hdrLen : start, end - 2)));
    // Every ack subject names one delivery: caching its match would only evict useful entries.
    ic.matchUncachedUnder("$JS.ACK.");
  }

  /**
   * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`, or the 2.10 form with
   * domain and account hash in front and a random token at the end. Subjects are in wire form;
   * the body is a view of the publisher's buffer (used before this returns).
   */
  private onAck(subject: string, reply: string, body: Buffer): void {
    // Token boundaries without splitting: one ack per delivered message makes this hot.
    const dots = this.ackDots;
    let n = 0;
    for (let i = 0; i < subject.length && n < 12; i++) if (subject.charCodeAt(i) === 46) dots[n++] = i;
    // 9 tokens have 8 dots; the 2.10 form (11 or 12 tokens) 10 or 11.
    let i: number;
    if (n === 8) i = 1;
    else if (n >= 10) i = 3;
    else return;
    let c: Consumer | undefined;
    const last = this.lastAck;
    if (n === 8 && last !== null && !last.isClosed && subject.startsWith(this.lastAckPrefix)) {
      // The same consumer as the ack before (a busy consumer's acks come in runs): no slices.
      c = last;
    } else {
      const stream = fromWire(subject.slice(dots[i]! + 1, dots[i + 1]!));
      c = this.streams.get(stream)?.consumers.get(fromWire(subject.slice(dots[i + 1]! + 1, dots[i + 2]!)));
      if (c === undefined) return;
      if (n === 8) {
        this.lastAck = c;
        this.lastAckPrefix = subject.slice(0, dots[i + 2]! + 1);
      }
    }
    const dc = decimalAt(subject, dots[i + 2]! + 1, dots[i + 3]!);
    const sseq = decimalAt(subject, dots[i + 3]! + 1, dots[i + 4]!);
    const dseq = decimalAt(subject, dots[i + 4]! + 1, dots[i + 5]!);
    if (dc < 0 || sseq < 0 || dseq < 0) return;
    c.onAck(sseq, dseq, dc, body, reply === "" ? "" : fromWire(reply));
  }

  private readonly ackDots = new Int32Array(12);
  /** The consumer the last 9-token ack named, and that ack's `$JS.ACK.<stream>.<consumer>.`. */
  private lastAck: Consumer | null = null;
  private lastAckPrefix = "";

  get streamsDir(): string {
    return join(this.opts.storeDir, "jetstream", this.account, "streams");
  }

  get serverName(): string {
    return this.opts.serverName;
  }

  get domain(): string {
    return this.opts.domain ?? "";
  }

  flushOutbound(): void {
    this.opts.flushOutbound?.();
  }

  get syncAlways(): boolean {
    return this.opts.syncAlways;
  }

  /** The options it runs with, read by monitoring (/jsz, /varz). */
  /** See ConsumerHost.ackLatency: set while /metrics observes it. */
  ackLatency: ((stream: string, consumer: string, seconds: number) => void) | null = null;

  /** Observe the store latency of each message stored; returns the call that stops it. */
  observeStoreLatency(fn: (seconds: number) => void): () => void {
    this.latencyObservers.add(fn);
    this.composeLatency();
    return () => {
      this.latencyObservers.delete(fn);
      this.composeLatency();
    };
  }

  /** One function for the stream to call: the observer itself when there is only one. */
  private composeLatency(): void {
    const list = [...this.latencyObservers];
    const one = list[0];
    this.storeLatency = one === undefined ? null : list.length === 1 ? one : (s) => { for (const f of list) f(s); };
  }

  get settings(): Readonly<JetStreamOptions> {
    return this.opts;
  }

  warn(msg: string): void {
    this.opts.log.warn(msg);
  }

  /** A mirror's or source's origin in this account (SourcingHost). */
  origin(name: string): SourceOrigin | null {
    return this.streams.get(name) ?? null;
  }

  /** Streams came or went: every mirror and source binds to its origin as things are now. */
  private originsChanged(): void {
    for (const s of this.streams.values()) s.sourcing?.originsChanged();
  }

  /**
   * The checks of a config against the account's other streams (origins' max_msg_size, source
   * cycles, the mirror taking its origin's allow_direct) and of its own subject transform.
   */
  private checkWithOthers(cfg: StreamConfig, update: boolean): StreamConfig {
    // nats-server checkStreamCfg: the account's max_bytes_required and max stream bytes.
    const al = this.opts.accountLimits;
    if (al !== undefined) {
      const most = (cfg.storage === "memory" ? al.memoryMaxStreamBytes : al.storageMaxStreamBytes) ?? 0;
      if (al.maxBytesRequired === true && cfg.max_bytes <= 0) throw JsApiError.of(JsErrors.StreamMaxBytesRequired);
      if (most > 0 && cfg.max_bytes > most) throw JsApiError.of(JsErrors.StreamMaxStreamBytesExceeded);
    }
    const lookup = (name: string): OtherStream | null => {
      const s = name === cfg.name ? undefined : this.streams.get(name);
      return s === undefined ? null : s.config;
    };
    const mirrorDirect = checkAgainstStreams(cfg, lookup, subjectsCollide);
    const trErr = subjectTransformError(cfg.subject_transform);
    if (trErr !== null) throw JsApiError.of(update ? JsErrors.StreamUpdate : JsErrors.StreamCreate, { err: trErr });
    return mirrorDirect === cfg.mirror_direct ? cfg : { ...cfg, mirror_direct: mirrorDirect };
  }

  /** Recreate the file streams found under the store dir (memory streams do not survive). */
  recover(): void {
    // A restore that was under way when the server stopped is abandoned (backup.ts stages there).
    rmSync(this.restoreStagingDir, { recursive: true, force: true });
    const dir = this.streamsDir;
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const sdir = join(dir, name);
      try {
        const stream = this.openStreamDir(sdir);
        this.opts.log.info(`  Restored ${stream.store.fastState().msgs} messages for stream '${this.account} > ${stream.name}'`);
      } catch (e) {
        this.opts.log.warn(`JetStream could not restore stream in ${sdir}: ${(e as Error).message}`);
      }
    }
    // Origins restored after the streams that read them.
    this.originsChanged();
  }

  /** The file stream kept in `sdir` (meta, messages, durables), running. */
  private openStreamDir(sdir: string): Stream {
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
      this.recoverConsumers(stream, sdir);
      return stream;
    } catch (e) {
      void store?.close();
      throw e;
    }
  }

  /** Where restores stage a stream before it is moved into the streams directory. */
  get restoreStagingDir(): string {
    return join(this.opts.storeDir, "jetstream", this.account, "__restore__");
  }

  /** A file store for a stream being restored, in `dir` (under restoreStagingDir). */
  openStagingStore(dir: string, cfg: StreamConfig, created: bigint): FileStore {
    mkdirSync(dir, { recursive: true });
    return this.openFileStore(dir, { config: configJSON(cfg), created: created.toString() }, storeLimits(cfg));
  }

  /**
   * Put a restored stream in place and start it (nats-server RestoreStream's end): a file
   * stream's staged directory is closed (flushed, fsynced), its durables' states written beside
   * it, and the directory moved into the streams directory, then opened as at start-up; a
   * memory stream starts from the store it was filled into.
   */
  async installRestored(cfg: StreamConfig, created: bigint, store: StreamStore, consumers: RestoredConsumer[], staged: string | null): Promise<Stream> {
    // What nats-server's addStream checks at the end of its restore.
    this.checkWithOthers(cfg, false);
    if (cfg.num_replicas > 1) throw JsApiError.of(JsErrors.StreamReplicasNotSupported);
    this.checkNewStream(cfg);
    let stream: Stream;
    if (staged !== null) {
      await store.close();
      for (const { name, state } of consumers) ConsumerPersistence.writeTo(join(staged, "obj", name), state);
      this.checkNewStream(cfg);
      mkdirSync(this.streamsDir, { recursive: true });
      const final = join(this.streamsDir, cfg.name);
      rmSync(final, { recursive: true, force: true });
      renameSync(staged, final);
      fsyncDir(this.streamsDir);
      try {
        stream = this.openStreamDir(final);
      } catch (e) {
        rmSync(final, { recursive: true, force: true });
        throw e;
      }
    } else {
      stream = new Stream(this, cfg, store, created);
      this.streams.set(cfg.name, stream);
      stream.start();
      for (const { name, state } of consumers) {
        const c = new Consumer(this, stream, name, decodeConsumerConfig(state.config), BigInt(state.created), null);
        stream.consumers.set(name, c);
        c.start(state);
      }
    }
    this.originsChanged();
    this.advisories.stream("create", cfg.name);
    return stream;
  }

  private recoverConsumers(stream: Stream, sdir: string): void {
    const odir = join(sdir, "obj");
    if (!existsSync(odir)) return;
    for (const name of readdirSync(odir).sort()) {
      const cdir = join(odir, name);
      try {
        const st = Consumer.readState(cdir);
        const cfg = decodeConsumerConfig(st.config);
        const created = /^\d+$/.test(st.created) ? BigInt(st.created) : this.clock.now();
        const c = new Consumer(this, stream, name, cfg, created, cdir);
        stream.consumers.set(name, c);
        c.start(st);
      } catch (e) {
        this.opts.log.warn(`JetStream could not restore consumer in ${cdir}: ${(e as Error).message}`);
      }
    }
  }

  // ---- consumers ---------------------------------------------------------------------------------

  /**
   * nats-server addConsumerWithAction for a standalone server. `name` is the consumer name the
   * request's subject gave ("" for the legacy ephemeral create).
   */
  addConsumer(stream: Stream, requested: ConsumerConfig, action: ConsumerAction): Consumer {
    const scfg = stream.config;
    const accountMaxAckPending = this.opts.accountLimits?.maxAckPending ?? 0;
    const cfg = setConsumerDefaults(requested, scfg, accountMaxAckPending);
    checkConsumerConfig(cfg, scfg, accountMaxAckPending);
    const cname = isDurable(cfg) ? cfg.durable_name : cfg.name;
    const filters = filtersOf(cfg);
    if (cname !== "") {
      const existing = stream.consumers.get(cname);
      if (existing !== undefined) {
        if (action === "create" && !sameConsumerConfig(cfg, existing.config)) throw JsApiError.of(JsErrors.ConsumerAlreadyExists);
        if (scfg.retention === "workqueue" && !this.partitionUnique(stream, cname, filters)) throw JsApiError.of(JsErrors.ConsumerWQConsumerNotUnique);
        existing.update(checkConsumerUpdate(existing.config, cfg));
        return existing;
      }
    }
    if (action === "update") throw JsApiError.of(JsErrors.ConsumerDoesNotExist);
    const maxConsumers = this.opts.accountLimits?.maxConsumers ?? 0;
    if (maxConsumers > 0 && this.consumerCount() >= maxConsumers) throw JsApiError.of(JsErrors.MaximumConsumersLimit);
    if (scfg.max_consumers > 0 && stream.consumers.size >= scfg.max_consumers) throw JsApiError.of(JsErrors.MaximumConsumersLimit);
    if (scfg.retention === "workqueue" && !cfg.direct) {
      if (cfg.ack_policy !== "explicit") throw JsApiError.of(JsErrors.ConsumerWQRequiresExplicitAck);
      if (stream.consumers.size > 0) {
        if (filters.length === 0) throw JsApiError.of(JsErrors.ConsumerWQMultipleUnfiltered);
        if (!this.partitionUnique(stream, cname, filters)) throw JsApiError.of(JsErrors.ConsumerWQConsumerNotUnique);
      }
      if (cfg.deliver_policy !== "all") throw JsApiError.of(JsErrors.ConsumerWQConsumerNotDeliverAll);
    }
    let name = cname;
    if (isDurable(cfg) && name.length > JS_MAX_NAME_LEN) throw JsApiError.of(JsErrors.ConsumerNameTooLong, { max: JS_MAX_NAME_LEN });
    if (name === "") {
      do name = ephemeralName(); while (stream.consumers.has(name));
      cfg.name = name;
    }
    if (!isValidName(name)) throw JsApiError.of(JsErrors.ConsumerBadDurableName);
    const dir = stream.config.storage === "file" && isDurable(cfg) && !cfg.mem_storage ? join(this.streamsDir, stream.name, "obj", name) : null;
    const c = new Consumer(this, stream, name, cfg, this.clock.now(), dir);
    stream.consumers.set(name, c);
    c.start();
    this.advisories.consumer("create", stream.name, name);
    return c;
  }

  /** nats-server partitionUnique: no other consumer's filters overlap these. */
  private partitionUnique(stream: Stream, name: string, filters: string[]): boolean {
    for (const [n, c] of stream.consumers) {
      if (n === name) continue;
      const other = filtersOf(c.config);
      if (other.length === 0) return false;
      for (const a of filters) for (const b of other) if (subjectsCollide(a, b)) return false;
    }
    return true;
  }

  deleteConsumer(stream: Stream, name: string): boolean {
    const c = stream.consumers.get(name);
    if (c === undefined) return false;
    stream.consumers.delete(name);
    c.delete();
    stream.dropUninterested();
    this.advisories.consumer("delete", stream.name, name);
    return true;
  }

  consumerGone(c: Consumer): void {
    const stream = this.streams.get(c.stream.name);
    if (stream !== undefined && stream.consumers.get(c.name) === c) this.deleteConsumer(stream, c.name);
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
    const cfg = this.checkWithOthers(checkStreamConfig(requested), false);
    if (cfg.num_replicas > 1) throw JsApiError.of(JsErrors.StreamReplicasNotSupported);
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.config, cfg)) return existing;
      throw JsApiError.of(JsErrors.StreamNameExist);
    }
    this.checkNewStream(cfg);

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
    this.originsChanged();
    this.advisories.stream("create", cfg.name);
    return stream;
  }

  /** nats-server stream update: checked config, update rules, then applied in place. */
  updateStream(requested: StreamConfig): Stream {
    const stream = this.lookup(checkStreamConfig(requested).name);
    const checked = this.checkWithOthers(checkStreamConfig(requested), true);
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
    this.advisories.stream("modify", cfg.name);
    return stream;
  }

  async deleteStream(name: string): Promise<void> {
    const s = this.lookup(name);
    this.streams.delete(name);
    this.originsChanged();
    const consumers = [...s.consumers.keys()];
    await s.delete();
    // As nats-server: the consumers' advisories, then the stream's.
    for (const c of consumers) this.advisories.consumer("delete", name, c);
    this.advisories.stream("delete", name);
  }

  /**
   * What a new stream of this config needs from the account: a free name, room under max
   * streams, subjects no other stream has (unless `subjects` is false: a restore's request, as
   * nats-server checks them only when the restored stream is added), its storage reservation.
   */
  checkNewStream(cfg: StreamConfig, subjects = true): void {
    if (this.streams.has(cfg.name)) throw JsApiError.of(JsErrors.StreamNameExistRestoreFailed);
    const maxStreams = this.opts.accountLimits?.maxStreams ?? 0;
    if (maxStreams > 0 && this.streams.size >= maxStreams) throw JsApiError.of(JsErrors.MaximumStreamsLimit);
    if (subjects && this.overlaps(cfg.subjects, null)) throw JsApiError.of(JsErrors.StreamSubjectOverlap);
    this.checkReservation(cfg, null);
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

  /** nats-server jsa.wouldExceedLimits: the account's usage plus `size` past its own limit (≥ 0). */
  accountLimitExceeded(stream: Stream, size: number): boolean {
    const al = this.opts.accountLimits;
    if (al === undefined) return false;
    const memory = stream.config.storage === "memory";
    const max = memory ? al.maxMemory : al.maxStore;
    return max >= 0 && this.usage(memory ? "memory" : "file") + size > max;
  }

  usage(storage: "memory" | "file"): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.config.storage === storage) n += s.store.fastState().bytes;
    return n;
  }

  reserved(storage: "memory" | "file"): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.config.storage === storage && s.config.max_bytes > 0) n += s.config.max_bytes;
    return n;
  }

  consumerCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.consumers.size;
    return n;
  }

  /** JetStreamAccountStats as nats-server 2.10 marshals it (without the envelope). */
  accountInfoJSON(): Record<string, unknown> {
    const al = this.opts.accountLimits;
    const lim = (n: number | undefined): number => (n === undefined || n <= 0 ? -1 : n);
    return {
      memory: this.usage("memory"),
      storage: this.usage("file"),
      reserved_memory: this.reserved("memory"),
      reserved_storage: this.reserved("file"),
      streams: this.streams.size,
      consumers: this.consumerCount(),
      // The global account has no JetStream limits of its own; nats-server reports -1 for each.
      limits: {
        max_memory: lim(al?.maxMemory), max_storage: lim(al?.maxStore), max_streams: lim(al?.maxStreams),
        max_consumers: lim(al?.maxConsumers), max_ack_pending: lim(al?.maxAckPending),
        memory_max_stream_bytes: lim(al?.memoryMaxStreamBytes), storage_max_stream_bytes: lim(al?.storageMaxStreamBytes),
        max_bytes_required: al?.maxBytesRequired === true,
      },
      ...(this.domain !== "" ? { domain: this.domain } : {}),
      api: { total: this.apiTotal, errors: this.apiErrors },
      ...this.tiersJSON(),
    };
  }

  /**
   * An account whose limits are a tier (an operator-mode JWT's `tiered_limits`): nats-server
   * reports them under `tiers.<tier>` (as the JWT has them, 0 included) and zeroes the top-level ones.
   */
  private tiersJSON(): Record<string, unknown> {
    const al = this.opts.accountLimits;
    if (al?.tier === undefined) return {};
    const lim = (n: number | undefined): number => (n === undefined || n <= 0 ? -1 : n);
    return {
      limits: {
        max_memory: 0, max_storage: 0, max_streams: 0, max_consumers: 0, max_ack_pending: 0,
        memory_max_stream_bytes: 0, storage_max_stream_bytes: 0, max_bytes_required: false,
      },
      tiers: {
        [al.tier]: {
          memory: this.usage("memory"), storage: this.usage("file"), streams: this.streams.size, consumers: this.consumerCount(),
          limits: {
            max_memory: al.maxMemory, max_storage: al.maxStore, max_streams: al.maxStreams, max_consumers: al.maxConsumers,
            max_ack_pending: lim(al.maxAckPending), memory_max_stream_bytes: lim(al.memoryMaxStreamBytes),
            storage_max_stream_bytes: lim(al.storageMaxStreamBytes), max_bytes_required: al.maxBytesRequired === true,
          },
        },
      },
    };
  }

  /** Stream names, sorted, optionally those whose subjects collide with `filter`. */
  filteredStreams(filter: string): Stream[] {
    const out = [...this.streams.values()].filter((s) => filter === "" || s.config.subjects.some((x) => subjectsCollide(filter, x)));
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  async close(): Promise<void> {
    this.ackSub.unsubscribe();
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/** nats-server updateConfig: what may change on an existing consumer. */
function checkConsumerUpdate(old: ConsumerConfig, next: ConsumerConfig): ConsumerConfig {
  const bad = (what: string): JsApiError => JsApiError.of(JsErrors.ConsumerCreate, { err: what });
  if (old.deliver_policy !== next.deliver_policy) throw bad("deliver policy can not be updated");
  if (old.opt_start_seq !== next.opt_start_seq) throw bad("start sequence can not be updated");
  if (old.opt_start_time !== next.opt_start_time) throw bad("start time can not be updated");
  if (old.ack_policy !== next.ack_policy) throw bad("ack policy can not be updated");
  if (old.replay_policy !== next.replay_policy) throw bad("replay policy can not be updated");
  if (old.idle_heartbeat !== next.idle_heartbeat) throw bad("heart beats can not be updated");
  if (old.flow_control !== next.flow_control) throw bad("flow control can not be updated");
  if (old.max_waiting !== next.max_waiting) throw bad("max waiting can not be updated");
  if (old.deliver_subject === "" && next.deliver_subject !== "") throw bad("can not update pull consumer to push based");
  if (old.deliver_subject !== "" && next.deliver_subject === "") throw bad("can not update push consumer to pull based");
  return next;
}

/** The decimal number in s[start, end), or -1 when it is not one (or not a safe integer). */
function decimalAt(s: string, start: number, end: number): number {
  if (end <= start || end - start > 16) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return Number.isSafeInteger(v) ? v : -1;
}
