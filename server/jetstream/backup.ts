// Tested by test/jetstream/backup.test.ts and test/differential/backup.test.ts.
// Stream backup and restore over the API, as nats-server does them (jetstream_api.go
// jsStreamSnapshotRequest / streamSnapshot, jsStreamRestoreRequest / processStreamRestore):
//
// Snapshot: `$JS.API.STREAM.SNAPSHOT.<stream>` {deliver_subject, no_consumers, chunk_size, jsck}
// is answered with {config, state}; then the snapshot goes to deliver_subject in chunks, each
// with a reply subject `$JS.SNAPSHOT.ACK.<stream>.<id>.<chunk bytes>.<index>` the receiver
// answers, at most WINDOW bytes unanswered; an empty message ends it.
//
// Restore: `$JS.API.STREAM.RESTORE.<stream>` {config, state} is answered with a deliver_subject
// `$JS.SNAPSHOT.RESTORE.<stream>.<id>`; each chunk sent there (with a reply subject) is
// answered empty once taken; an empty message ends it and is answered with a stream create
// response: the stream's info, or the error.
//
// The snapshot's bytes are gnat's own (backup-format.ts): a restore reads them as they come
// into a store staged beside the streams, moved into place only when complete.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createGunzip, gzip, type Gunzip } from "node:zlib";
import { isValidSubject } from "../../protocol/subject.js";
import type { InternalMsg, InternalSubscription } from "../core/internal-client.js";
import { err, INVALID_JSON, isEmptyRequest, ok, type Reply } from "./api-reply.js";
import { nuid } from "./advisories.js";
import {
  consumerEntry, MSGS_ENTRY_BYTES, MsgRecords, msgsEntry, readMsgRecords, SnapshotFormatError, STREAM_ENTRY,
  TAR_END, TarReader, tarEntry,
} from "./backup-format.js";
import { checkStreamConfig, decodeStreamConfig, isValidName, type StreamConfig } from "./config.js";
import { isDurable } from "./consumer/config.js";
import type { PersistedConsumer } from "./consumer/persistence.js";
import { boolField, decodeObject, intField, isObject, strField } from "./decode.js";
import { apiError, JsApiError, JsErrors, type ApiError } from "./errors.js";
import type { JetStream, RestoredConsumer } from "./jetstream.js";
import { goJSON } from "./json.js";
import { MemoryStore } from "./memory-store.js";
import { rfc3339ToNs, tsToRFC3339, type StreamStore } from "./store.js";
import { storeLimits, type Stream } from "./stream.js";

const T = {
  Snapshot: "io.nats.jetstream.api.v1.stream_snapshot_response",
  Restore: "io.nats.jetstream.api.v1.stream_restore_response",
  Create: "io.nats.jetstream.api.v1.stream_create_response",
} as const;

/** nats-server defaultSnapshotChunkSize / defaultSnapshotWindowSize. */
const DEFAULT_CHUNK = 128 * 1024;
const WINDOW = 8 * 1024 * 1024;
/** A snapshot whose receiver answers nothing for this long (and still listens) is ended. */
const SNAPSHOT_STALL_MS = 30_000;
/** nats-server: a restore that receives nothing for 5 s is abandoned. */
const RESTORE_STALL_MS = 5_000;
/** How long a snapshot waits for someone to subscribe to its deliver subject (nats-server: 2 s). */
const INTEREST_WAIT_MS = 2_000;

const gzipAsync = promisify(gzip);

// ---- snapshot -----------------------------------------------------------------------------------

/**
 * nats-server's `jsck`: the messages the store's index holds but cannot read back intact (a
 * record whose checksum fails). Yields to the event loop every 10,000 messages.
 */
export async function badMessages(store: StreamStore): Promise<number> {
  const st = store.fastState();
  let bad = 0;
  for (let seq = st.first_seq, n = 0; seq <= st.last_seq; seq++, n++) {
    if (n % 10_000 === 9_999) await new Promise((r) => setImmediate(r));
    if (store.subjectOf(seq) !== null && store.loadMsg(seq) === null) bad++;
  }
  return bad;
}

export function streamSnapshot(js: JetStream, tokens: string[], m: InternalMsg): Reply | Promise<Reply> {
  const name = tokens[2]!;
  if (isEmptyRequest(m.data)) return err(T.Snapshot, apiError(JsErrors.BadRequest));
  const stream = js.streams.get(name);
  if (stream === undefined) return err(T.Snapshot, apiError(JsErrors.StreamNotFound));
  const o = decodeObject(m.data);
  const deliver = o === null ? null : strField(o, "deliver_subject");
  const noConsumers = o === null ? null : boolField(o, "no_consumers");
  const chunkSize = o === null ? null : intField(o, "chunk_size");
  const jsck = o === null ? null : boolField(o, "jsck");
  if (deliver === null || noConsumers === null || chunkSize === null || jsck === null) return err(T.Snapshot, INVALID_JSON());
  if (!isValidSubject(deliver)) return err(T.Snapshot, apiError(JsErrors.SnapshotDeliverSubjectInvalid));
  // nats-server's memory store has no snapshot ("no impl"): the same answer here.
  if (stream.config.storage === "memory") return err(T.Snapshot, apiError(JsErrors.StreamSnapshot, { err: "no impl" }));
  const client = js.opts.clientInfo?.(m.fromCid) ?? null;
  if (!jsck) return startSnapshot(js, stream, deliver, chunkSize, noConsumers, client);
  // Checked first, as nats-server does (its file store's Snapshot with checkMsgs).
  return badMessages(stream.store).then((bad) => bad > 0
    ? err(T.Snapshot, apiError(JsErrors.StreamSnapshot, { err: `snapshot check detected ${bad} bad messages` }))
    : startSnapshot(js, stream, deliver, chunkSize, noConsumers, client));
}

function startSnapshot(js: JetStream, stream: Stream, deliver: string, chunkSize: number, noConsumers: boolean, client: Record<string, unknown> | null): Reply {
  const name = stream.name;
  // The stream's state, its durables' and the response's are of one moment (single-threaded here).
  const sender = new SnapshotSender(js, stream, deliver, chunkSize > 0 ? Math.min(chunkSize, WINDOW) : DEFAULT_CHUNK, snapshotStart(stream, !noConsumers));
  const info = stream.infoJSON();
  const start = js.clock.now();
  // The advisory and the chunks follow the response (the API sends it as this returns).
  setImmediate(() => {
    js.advisories.snapshotCreate(name, info.state, client);
    void sender.run()
      .catch((e: unknown) => js.warn(`Snapshot of stream '${js.account} > ${name}' failed: ${(e as Error).message}`))
      .then(() => js.advisories.snapshotComplete(name, start, js.clock.now(), client));
  });
  return ok({ type: T.Snapshot, config: info.config, state: info.state });
}

/**
 * The snapshot as of now, as the response states it: the tar's first piece (the stream and its
 * durables), taken at once, and the range of sequences its messages come from.
 */
interface SnapshotStart {
  head: Buffer;
  first: number;
  last: number;
  msgs: number;
}

function snapshotStart(stream: Stream, withConsumers: boolean): SnapshotStart {
  const mtime = Math.floor(Date.now() / 1000);
  const st = stream.store.fastState();
  const header = { config: stream.infoJSON().config, created: stream.created.toString(), first_seq: st.first_seq, last_seq: st.last_seq, msgs: st.msgs };
  const parts = [tarEntry(STREAM_ENTRY, Buffer.from(goJSON(header)), mtime)];
  if (withConsumers) {
    let n = 0;
    for (const c of stream.consumers.values()) {
      if (!isDurable(c.config)) continue;
      parts.push(tarEntry(consumerEntry(++n), Buffer.from(JSON.stringify({ name: c.name, state: c.persistedState() })), mtime));
    }
  }
  return { head: Buffer.concat(parts), first: st.first_seq, last: st.last_seq, msgs: st.msgs };
}

/** The snapshot's tar, in pieces: the start, then the messages read as the chunks go. */
function* snapshotPieces(stream: Stream, start: SnapshotStart): Generator<Buffer> {
  const mtime = Math.floor(Date.now() / 1000);
  const st = { first_seq: start.first, last_seq: start.last, msgs: start.msgs };
  yield start.head;
  // Messages up to the last one when the snapshot began; one removed meanwhile is left out.
  const recs = new MsgRecords();
  let entries = 0;
  let seq = st.first_seq;
  while (seq <= st.last_seq && st.msgs > 0) {
    const m = stream.store.loadNextMsg("", seq);
    if (m === null || m.seq > st.last_seq) break;
    recs.add(m);
    seq = m.seq + 1;
    if (recs.bytes >= MSGS_ENTRY_BYTES) yield tarEntry(msgsEntry(++entries), recs.take(), mtime);
  }
  if (recs.bytes > 0) yield tarEntry(msgsEntry(++entries), recs.take(), mtime);
  yield TAR_END;
}

class SnapshotSender {
  private outstanding = 0;
  private wake: (() => void) | null = null;
  private readonly ackPrefix: string;

  constructor(
    private readonly js: JetStream,
    private readonly stream: Stream,
    private readonly deliver: string,
    private readonly chunkSize: number,
    private readonly start: SnapshotStart,
  ) {
    this.ackPrefix = `$JS.SNAPSHOT.ACK.${stream.name}.${nuid()}`;
  }

  async run(): Promise<void> {
    const ic = this.js.ic;
    if (!ic.hasInterest(this.deliver)) await this.interest();
    const ackSub = ic.subscribe(`${this.ackPrefix}.>`, (m) => {
      const n = Number(m.subject.slice(this.ackPrefix.length + 1).split(".")[0]);
      if (Number.isSafeInteger(n)) this.outstanding -= n;
      this.wake?.();
    });
    let next: Promise<Buffer> | null = null;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let index = 0;
      const sendChunk = async (chunk: Buffer): Promise<boolean> => {
        if (!(await this.window())) return false;
        if (ic.stalled) await ic.drained();
        ic.publish(this.deliver, chunk, { reply: `${this.ackPrefix}.${chunk.length}.${++index}` });
        this.outstanding += chunk.length;
        return true;
      };
      // Level 1: most of what gzip saves at its default, at a fraction of the CPU. The next
      // piece is read and compressing (off the event loop) while this one's chunks go out.
      const pieces = snapshotPieces(this.stream, this.start);
      const compressNext = (): Promise<Buffer> | null => {
        const r = pieces.next();
        return r.done === true ? null : gzipAsync(r.value, { level: 1 });
      };
      next = compressNext();
      while (next !== null) {
        const z = await next;
        next = compressNext();
        pending.push(z);
        pendingBytes += z.length;
        if (pendingBytes < this.chunkSize) continue;
        // Whole chunks out of what is there, each a view of it; the rest waits for the next piece.
        const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        let o = 0;
        for (; all.length - o >= this.chunkSize; o += this.chunkSize) {
          if (!(await sendChunk(all.subarray(o, o + this.chunkSize)))) return;
        }
        pending = o < all.length ? [all.subarray(o)] : [];
        pendingBytes = all.length - o;
      }
      if (pendingBytes > 0 && !(await sendChunk(Buffer.concat(pending, pendingBytes)))) return;
    } finally {
      // A piece still compressing when the snapshot was cut short is not waited for.
      void next?.catch(() => undefined);
      ackSub.unsubscribe();
      // The end, also of a snapshot cut short (as nats-server: its receiver finds the tar incomplete).
      ic.publish(this.deliver, Buffer.alloc(0));
    }
  }

  /** Wait up to INTEREST_WAIT_MS for a subscriber on the deliver subject. */
  private interest(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        stop();
        resolve();
      };
      const stop = this.js.ic.watchInterest(this.deliver, done);
      const t = setTimeout(done, INTEREST_WAIT_MS);
    });
  }

  /** Wait until the unanswered bytes are under the window; false when the receiver went away or stalled. */
  private async window(): Promise<boolean> {
    let waited = 0;
    while (this.outstanding > WINDOW) {
      if (!this.js.ic.hasInterest(this.deliver)) return false;
      const step = 250;
      const acked = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), step);
        this.wake = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      this.wake = null;
      waited = acked ? 0 : waited + step;
      if (waited >= SNAPSHOT_STALL_MS) {
        this.js.warn(`Snapshot of stream '${this.js.account} > ${this.stream.name}' stalled: no chunk answered in ${SNAPSHOT_STALL_MS / 1000}s`);
        return false;
      }
    }
    return true;
  }
}

// ---- restore ------------------------------------------------------------------------------------

export function streamRestore(js: JetStream, tokens: string[], m: InternalMsg): Reply {
  const name = tokens[2]!;
  const fail = (e: ApiError): Reply => err(T.Restore, e, { deliver_subject: "" });
  if (isEmptyRequest(m.data)) return fail(apiError(JsErrors.BadRequest));
  let raw: unknown;
  try {
    raw = JSON.parse(m.data.toString("utf8"));
  } catch {
    return fail(INVALID_JSON());
  }
  if (!isObject(raw) || (raw.config !== undefined && raw.config !== null && !isObject(raw.config)) || !stateDecodes(raw.state)) return fail(INVALID_JSON());
  const rawCfg = isObject(raw.config) ? { ...raw.config } : {};
  if (rawCfg.name === undefined || rawCfg.name === "") rawCfg.name = name;
  let cfg: StreamConfig;
  try {
    cfg = checkStreamConfig(decodeStreamConfig(JSON.stringify(rawCfg)));
    // The name becomes a directory: nats-server 2.9/2.10 do not check it here, gnat does (as its create does).
    if (/[\\/]/.test(cfg.name)) throw JsApiError.of(JsErrors.StreamNameContainsPathSeparators);
    // nats-server's request checks: the config, the account's limits, the name (the subject's) in
    // use. Overlapping subjects and replicas are found when the stream is added, at the end.
    js.checkNewStream(cfg, false);
    if (js.streams.has(name)) throw JsApiError.of(JsErrors.StreamNameExistRestoreFailed);
  } catch (e) {
    return fail(e instanceof JsApiError ? e.api : apiError(JsErrors.StreamRestore, { err: (e as Error).message }));
  }
  const client = js.opts.clientInfo?.(m.fromCid) ?? null;
  js.advisories.restoreCreate(cfg.name, client);
  const receiver = new RestoreReceiver(js, cfg, client);
  return ok({ type: T.Restore, deliver_subject: receiver.subject });
}

/** Whether Go would unmarshal `v` into nats-server's StreamState (the restore request's `state`). */
function stateDecodes(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (!isObject(v)) return false;
  const uint = (x: unknown): boolean => x === undefined || x === null || (typeof x === "number" && Number.isInteger(x) && x >= 0);
  const int = (x: unknown): boolean => x === undefined || x === null || (typeof x === "number" && Number.isInteger(x));
  const time = (x: unknown): boolean => x === undefined || x === null || (typeof x === "string" && rfc3339ToNs(x) !== null);
  const uints = (x: unknown): boolean => x === undefined || x === null || (Array.isArray(x) && x.every((y) => typeof y === "number" && uint(y)));
  const counts = (x: unknown): boolean => x === undefined || x === null || (isObject(x) && Object.values(x).every(uint));
  return ["messages", "bytes", "first_seq", "last_seq"].every((k) => uint(v[k]))
    && ["num_subjects", "num_deleted", "consumer_count"].every((k) => int(v[k]))
    && time(v.first_ts) && time(v.last_ts) && uints(v.deleted) && counts(v.subjects);
}

interface SnapshotHeader {
  config: StreamConfig;
  created: bigint;
  first: number;
  last: number;
}

/** One restore under way: chunks in, gunzipped, untarred and stored as they come. */
class RestoreReceiver {
  readonly subject: string;
  private readonly sub: InternalSubscription;
  private readonly gunzip: Gunzip;
  private readonly tar: TarReader;
  private failure: Error | null = null;
  private header: SnapshotHeader | null = null;
  private store: StreamStore | null = null;
  private staged: string | null = null;
  private readonly consumers: RestoredConsumer[] = [];
  private next = 1;
  private total = 0;
  private stall: NodeJS.Timeout;
  private finished = false;

  private readonly start: bigint;

  constructor(private readonly js: JetStream, private readonly cfg: StreamConfig, private readonly client: Record<string, unknown> | null) {
    this.start = js.clock.now();
    this.subject = `$JS.SNAPSHOT.RESTORE.${cfg.name}.${nuid()}`;
    this.tar = new TarReader((entry, content) => this.onEntry(entry, content));
    // Output in large pieces: fewer callbacks and joins per restored megabyte.
    this.gunzip = createGunzip({ chunkSize: 256 * 1024 });
    this.gunzip.on("data", (b: Buffer) => {
      if (this.failure !== null) return;
      try {
        this.tar.push(b);
      } catch (e) {
        this.fail(e);
      }
    });
    // Not gzip at all: most likely another server's snapshot (nats-server's is s2-compressed).
    this.gunzip.on("error", (e) => {
      this.fail(new SnapshotFormatError(`not a gnat snapshot (${e.message})`));
      for (const ack of [...this.unanswered]) this.answer(ack);
    });
    this.sub = js.ic.subscribe(this.subject, (msg) => this.onChunk(msg));
    this.stall = setTimeout(() => this.abandon(), RESTORE_STALL_MS);
    // A server shutting down does not wait for a restore its clients left.
    this.stall.unref();
    js.opts.log.info(`Starting restore for stream '${js.account} > ${cfg.name}'`);
  }

  private fail(e: unknown): void {
    if (this.failure === null) this.failure = e instanceof Error ? e : new Error(String(e));
  }

  private onChunk(m: InternalMsg): void {
    if (this.finished) return;
    this.stall.refresh();
    if (m.reply === "") {
      this.js.warn(`restore for stream '${this.js.account} > ${this.cfg.name}' requires reply subject for each chunk`);
      this.abandon();
      return;
    }
    if (m.data.length === 0) {
      void this.finish(m.reply);
      return;
    }
    this.total += m.data.length;
    const max = this.js.opts.maxStore;
    if (this.cfg.storage === "file" && max > 0 && this.js.usage("file") + this.total > max) {
      this.fail(JsApiError.of(JsErrors.InsufficientResources));
      void this.finish(m.reply);
      return;
    }
    // The chunk is answered once gunzip has taken it (the restore's flow control); after a
    // failure at once, as nats-server answers every chunk: the failure is told at the end.
    if (this.failure !== null) {
      this.js.ic.publish(m.reply, Buffer.alloc(0));
      return;
    }
    const ack = { reply: m.reply };
    this.unanswered.add(ack);
    this.gunzip.write(Buffer.from(m.data), () => this.answer(ack));
  }

  private readonly unanswered = new Set<{ reply: string }>();

  private answer(ack: { reply: string }): void {
    if (this.unanswered.delete(ack)) this.js.ic.publish(ack.reply, Buffer.alloc(0));
  }

  private onEntry(name: string, content: Buffer): void {
    if (name === STREAM_ENTRY) {
      if (this.header !== null) throw new SnapshotFormatError("unexpected content");
      this.header = parseHeader(content);
      this.open(this.header);
      return;
    }
    if (this.header === null || this.store === null) throw new SnapshotFormatError("unexpected content");
    if (name.startsWith("consumers/")) {
      const c = JSON.parse(content.toString("utf8")) as { name?: unknown; state?: unknown };
      // The name becomes a directory: only a name a consumer can have.
      if (typeof c.name !== "string" || !isValidName(c.name) || /[\\/]/.test(c.name) || !isObject(c.state)) throw new SnapshotFormatError("unexpected content");
      this.consumers.push({ name: c.name, state: c.state as unknown as PersistedConsumer });
      return;
    }
    if (!name.startsWith("msgs/")) throw new SnapshotFormatError("unexpected content");
    const store = this.store;
    for (const msg of readMsgRecords(content)) {
      if (msg.seq < this.next || msg.seq > this.header.last) throw new SnapshotFormatError("unexpected content");
      this.skipTo(msg.seq);
      // The store copies what it keeps: the record's views of the entry are enough.
      const r = store.storeMsg(msg.subject, msg.hdr, msg.data, msg.ts);
      if (r.seq !== msg.seq) throw new SnapshotFormatError(`message ${msg.seq} stored as ${r.seq}`);
      this.next = msg.seq + 1;
    }
  }

  /** The store the messages go into: a file store staged beside the streams, or memory. */
  private open(h: SnapshotHeader): void {
    const created = h.created;
    if (this.cfg.storage === "file") {
      this.staged = join(this.js.restoreStagingDir, nuid());
      this.store = this.js.openStagingStore(this.staged, this.cfg, created);
    } else {
      this.store = new MemoryStore(storeLimits(this.cfg));
    }
    this.next = 1;
    if (h.first > 1) this.skipTo(h.first);
  }

  /** Sequences up to (not including) seq hold nothing: as they were in the snapshotted stream. */
  private skipTo(seq: number): void {
    const store = this.store!;
    if (seq <= this.next) return;
    // An empty store jumps (compact); one with messages skips each sequence (interior deletes).
    if (store.fastState().msgs === 0) store.compact(seq);
    else for (let s = this.next; s < seq; s++) store.skipMsg();
    this.next = seq;
  }

  private async finish(reply: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stall);
    this.sub.unsubscribe();
    const started = Date.now();
    let response: Record<string, unknown>;
    try {
      if (this.failure === null) {
        await new Promise<void>((resolve) => {
          this.gunzip.once("end", resolve);
          this.gunzip.once("error", () => resolve());
          this.gunzip.end();
          this.gunzip.resume();
        });
      }
      if (this.failure !== null) throw this.failure;
      if (!this.tar.complete || this.header === null || this.store === null) throw new SnapshotFormatError("unexpected end of snapshot");
      if (this.header.config.name !== this.cfg.name) throw new Error("stream names do not match");
      this.skipTo(this.header.last + 1);
      const stream = await this.js.installRestored(this.cfg, this.header.created, this.store, this.consumers, this.staged);
      this.store = null;
      this.staged = null;
      const info = stream.infoJSON();
      response = { type: T.Create, config: info.config, created: tsToRFC3339(stream.created), state: info.state };
      this.js.opts.log.info(`Completed restore of ${this.total} bytes for stream '${this.js.account} > ${this.cfg.name}' in ${Date.now() - started}ms`);
    } catch (e) {
      await this.cleanup();
      const api = e instanceof JsApiError ? e.api : apiError(JsErrors.StreamRestore, { err: (e as Error).message });
      response = { type: T.Create, error: api };
      this.js.warn(`Restore failed for stream '${this.js.account} > ${this.cfg.name}': ${api.description}`);
    }
    this.js.advisories.restoreComplete(this.cfg.name, this.start, this.js.clock.now(), this.total, this.client);
    this.js.ic.publish(reply, goJSON(response));
  }

  /** Nothing came for RESTORE_STALL_MS (or a chunk without a reply): given up, nothing answered. */
  private abandon(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stall);
    this.sub.unsubscribe();
    this.gunzip.destroy();
    this.js.warn(`restore for stream '${this.js.account} > ${this.cfg.name}' is stalled`);
    void this.cleanup();
  }

  private async cleanup(): Promise<void> {
    const store = this.store;
    this.store = null;
    if (store !== null) await store.delete().catch(() => undefined);
    if (this.staged !== null) {
      rmSync(this.staged, { recursive: true, force: true });
      this.staged = null;
    }
  }
}

function parseHeader(content: Buffer): SnapshotHeader {
  const h = JSON.parse(content.toString("utf8")) as Record<string, unknown>;
  const first = h.first_seq;
  const last = h.last_seq;
  const created = h.created;
  if (!isObject(h.config) || typeof first !== "number" || typeof last !== "number" || typeof created !== "string" || !/^\d+$/.test(created)) {
    throw new SnapshotFormatError("unexpected content");
  }
  return { config: decodeStreamConfig(JSON.stringify(h.config)), created: BigInt(created), first, last };
}
