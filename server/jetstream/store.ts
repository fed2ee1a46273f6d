// Tested by test/jetstream/store-contract.test.ts.
// The stream storage contract: what the JetStream stream layer may ask of a store, and nothing
// about how it is kept. Modelled on nats-server's server/store.go (StreamStore); memory-store.ts
// and file-store.ts implement it and pass one shared contract suite
// (test/jetstream/store-contract.test.ts).
//
// Conventions, fixed for every implementation:
// - Sequences are JS numbers (safe to 2^53), start at 1, and are never reused: removing,
//   purging or compacting never lowers last_seq.
// - Timestamps are Unix nanoseconds as bigint (Go's time.UnixNano()); the API layer formats them
//   as RFC3339 with nanoseconds (tsToRFC3339). 0n means "no time" (Go's zero time).
// - Subjects are gnat's latin1 wire strings (see protocol/subject.ts): length is byte length.
// - A filter is a subject that may contain `*` / `>`; "" and ">" match every subject.
// - Reads return null for "no such message"; errors are StoreError (below), never strings.

export const StorageType = { Memory: "memory", File: "file" } as const;
export type StorageType = (typeof StorageType)[keyof typeof StorageType];

export const DiscardPolicy = { Old: "old", New: "new" } as const;
export type DiscardPolicy = (typeof DiscardPolicy)[keyof typeof DiscardPolicy];

/**
 * The limits a store enforces itself on every store (and at once on updateConfig), as
 * nats-server's stores do. Zero or negative means unlimited (nats-server uses -1).
 * With discard "old" the oldest messages are removed to get back under max_msgs / max_bytes.
 * With discard "new" the store does NOT reject: the stream layer decides before calling
 * storeMsg (from state() / subjectsState() / msgSize()), exactly as nats-server's stream does
 * when clustered. max_msgs_per_subject and max_age are enforced under either policy.
 */
export interface StoreLimits {
  maxMsgs: number;
  maxBytes: number;
  /** max_age in milliseconds (the JSON API carries nanoseconds: divide by 1e6). */
  maxAgeMs: number;
  maxMsgsPerSubject: number;
  discard: DiscardPolicy;
}

export const NO_LIMITS: StoreLimits = Object.freeze({
  maxMsgs: 0, maxBytes: 0, maxAgeMs: 0, maxMsgsPerSubject: 0, discard: DiscardPolicy.Old,
});

/** A message as read back. Buffers may be shared with the store's cache: do not mutate. */
export interface StoredMsg {
  readonly subject: string;
  readonly seq: number;
  readonly ts: bigint;
  /** The NATS/1.0 header block, or null when the message had none (an empty hdr is null). */
  readonly hdr: Buffer | null;
  readonly data: Buffer;
}

export interface StoreResult {
  readonly seq: number;
  readonly ts: bigint;
}

/** Field names follow nats-server's StreamState JSON (messages → msgs). */
export interface StreamState {
  msgs: number;
  /** Sum of msgSize() over stored messages: the store's own accounting, as nats-server reports. */
  bytes: number;
  first_seq: number;
  first_ts: bigint;
  last_seq: number;
  last_ts: bigint;
  /** Sequences in [first_seq, last_seq] that hold no message (removed or skipped). */
  num_deleted: number;
  /** The interior deleted sequences, ascending. Only state() fills it; fastState() leaves it []. */
  deleted: number[];
  num_subjects: number;
}

export interface SubjectState {
  msgs: number;
  first_seq: number;
  last_seq: number;
}

/**
 * Purge request with nats-server's PurgeEx semantics:
 * - nothing set: remove every message (first_seq becomes last_seq + 1);
 * - seq: remove messages below seq ("up to but not including"); seq = 1 removes nothing;
 * - keep: keep the newest `keep` messages matching the filter (counted across the whole
 *   filter, not per subject), remove the older ones;
 * - filter: restrict any of the above to matching subjects.
 * seq and keep together: remove matching messages below seq, stopping once only `keep` remain.
 */
export interface PurgeRequest {
  filter?: string;
  seq?: number;
  keep?: number;
}

/** Why a message left the store; lets consumers / KV watchers react to removals. */
export type RemoveCallback = (seq: number, subject: string) => void;

export const StoreErrorCode = {
  Closed: "closed",
  /** skipMsg(seq) with seq ≠ last_seq + 1. */
  SequenceMismatch: "sequence_mismatch",
  /** Subject, header or record does not fit the store's format. */
  MsgTooLarge: "msg_too_large",
  /** The write to disk failed (ENOSPC, EIO …): the message was not stored. */
  WriteFailed: "write_failed",
  InvalidArgument: "invalid_argument",
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
  }
}

export interface StreamStore {
  readonly type: StorageType;

  /**
   * Append a message; returns its sequence and timestamp at once (ts defaults to now).
   * Reads see the message immediately. It is *acknowledgeable* only once whenDurable(seq)
   * resolves: the memory store resolves at once; the file store resolves once the record has
   * been handed to the OS (default) or fsynced (syncAlways). If the write fails, whenDurable
   * rejects with StoreError(WriteFailed), the failed messages vanish from the store, and
   * everything acknowledged before is kept (so do removals made in the failed batch: they are
   * undone, without onRemove). Limits are applied before storeMsg returns, so onRemove may
   * fire from inside it. An empty hdr is stored as null.
   * Throws StoreError(Closed | MsgTooLarge | InvalidArgument for an empty subject).
   */
  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts?: bigint): StoreResult;

  /**
   * Consume the next sequence without a message (nats-server SkipMsg). If seq is given it must
   * equal last_seq + 1. Returns the sequence skipped.
   */
  skipMsg(seq?: number): number;

  /**
   * Resolves when every message up to seq is as durable as the sync policy promises (see
   * storeMsg). Cheap: call it once for the last seq of a batch. Seqs already durable resolve
   * immediately. It also covers every removal made before the call, so a delete API reply can
   * wait on whenDurable(state.last_seq). Rejects with StoreError(WriteFailed).
   */
  whenDurable(seq: number): Promise<void>;

  loadMsg(seq: number): StoredMsg | null;
  /** The subject (wire form) of message seq from the index, no read; null when it is not stored. */
  subjectOf(seq: number): string | null;
  /** The message with the highest sequence whose subject matches filter. */
  loadLastMsg(filter: string): StoredMsg | null;
  /** The first message with seq ≥ fromSeq (and ≤ toSeq when given) whose subject matches filter. */
  loadNextMsg(filter: string, fromSeq: number, toSeq?: number): StoredMsg | null;

  /** Remove one message; false when there was none. Fires onRemove. */
  removeMsg(seq: number): boolean;
  /** Remove one message and overwrite its payload where it was stored (disk / memory). */
  eraseMsg(seq: number): boolean;
  /** See PurgeRequest. Returns how many messages were removed. */
  purge(req?: PurgeRequest): number;
  /** Remove every message below seq; a seq past last_seq makes the next message get seq. */
  compact(seq: number): number;

  state(): StreamState;
  /** state() without the deleted list: O(1), for the hot path (discard-new checks). */
  fastState(): StreamState;
  /** Per matching subject: count, first and last sequence. */
  subjectsState(filter: string): Map<string, SubjectState>;
  /**
   * Messages with seq ≥ fromSeq matching filter (valid through state().last_seq). May walk every
   * subject or sequence: a consumer counts once and then keeps its own count (see generation).
   */
  numPending(filter: string, fromSeq: number): number;
  /** state().last_seq without building a state. */
  readonly lastSeq: number;
  /**
   * Changes whenever messages leave the store without onRemove (the index rebuilt after a failed
   * write): a count kept from onRemove and lastSeq must then be recounted.
   */
  readonly generation: number;
  /** Highest sequence stored for this literal subject, 0 when none. */
  lastSeqForSubject(subject: string): number;
  /**
   * The first sequence stored at or after ts (ns), last_seq + 1 when none (nats-server
   * GetSeqFromTime). Found in the index without reading messages; stored times rise with the
   * sequence (the stream's clock is monotonic), which the search relies on.
   */
  seqFromTime(ts: bigint): number;
  /** The first sequence ≥ fromSeq whose message has headers, 0 when none; from the index. */
  nextSeqWithHeaders(fromSeq: number): number;
  /** The bytes one message adds to state().bytes in this store (memory and file differ). */
  msgSize(subject: string, hdr: Buffer | null, data: Buffer): number;

  /** Apply new limits now: messages beyond them are removed before this returns. */
  updateConfig(limits: StoreLimits): void;
  /** Called once for every message that leaves the store, whatever the reason. */
  onRemove: RemoveCallback | null;

  /** Write everything buffered and fsync it (file store); resolves when done. */
  flush(): Promise<void>;
  /** Flush, stop timers and release files. Further calls throw StoreError(Closed). */
  close(): Promise<void>;
  /** Close and remove everything the store kept (its directory for the file store). */
  delete(): Promise<void>;
}

/** nats-server memStoreMsgSize: subject + header + payload + 16 (seq and timestamp). */
export function memStoreMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  return subject.length + (hdr === null ? 0 : hdr.length) + data.length + 16;
}

/**
 * nats-server fileStoreMsgSize, what its file store reports in state bytes: the length of its
 * on-disk record (4 len + 8 seq + 8 ts + 2 subject len + subject [+ 4 hdr len + hdr] + msg + 8
 * hash). gnat's own record layout differs, but bytes are reported the nats-server way so limits
 * (max_bytes) and stream info agree with nats-server for the same messages.
 */
export function fileStoreMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  const hl = hdr === null ? 0 : hdr.length;
  return hl === 0 ? 22 + subject.length + data.length + 8 : 22 + subject.length + 4 + hl + data.length + 8;
}

/**
 * Wall-clock nanoseconds. Date.now() alone has ms resolution; adding hrtime's progress since an
 * anchor gives ns resolution and never goes backwards within a process. Re-anchored every
 * minute so a drifting monotonic clock cannot move far from wall time, when the wall clock went
 * back, and when it has got ahead of where the monotonic clock puts it (a system clock stepped
 * forward: a stamp behind the wall clock could come before a client's "now" taken earlier).
 */
export class NsClock {
  private wallNs = 0n;
  private hrAnchor = 0n;
  private anchoredAt = 0;
  /** performance.now() at the anchor: the monotonic progress since, cheaply, as a number. */
  private perfAnchor = 0;
  private last = 0n;

  now(): bigint {
    const ms = Date.now();
    const since = ms - this.anchoredAt;
    if (since > 60_000 || since < 0 || since > performance.now() - this.perfAnchor + 1) {
      this.anchoredAt = ms;
      this.perfAnchor = performance.now();
      this.hrAnchor = process.hrtime.bigint();
      // Date.now() is truncated to the ms, which left every timestamp up to 1 ms behind the
      // wall clock: a client's "now" (a by_start_time consumer's start, say) could come after
      // a message stored later. performance's clock has µs resolution; kept inside the ms
      // Date.now() says, so a stepped wall clock still wins.
      const fineMs = Math.min(Math.max(performance.timeOrigin + performance.now(), ms), ms + 0.999);
      this.wallNs = BigInt(Math.round(fineMs * 1000)) * 1000n;
    }
    let t = this.wallNs + (process.hrtime.bigint() - this.hrAnchor);
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    return t;
  }
}

/**
 * Nanoseconds since the epoch of an RFC3339 time with up to 9 fractional digits (Date.parse
 * alone drops everything past the ms); NaN-parsing input gives null.
 */
export function rfc3339ToNs(s: string): bigint | null {
  const m = /^([^.]*)\.(\d+)(.*)$/.exec(s);
  const ms = Date.parse(m === null ? s : m[1]! + m[3]!);
  if (Number.isNaN(ms)) return null;
  const frac = m === null ? 0n : BigInt((m[2]! + "000000000").slice(0, 9));
  return BigInt(ms) * 1_000_000n + frac;
}

/** RFC3339 with nanoseconds, as Go's time.Time marshals to JSON; 0n is Go's zero time. */
export function tsToRFC3339(ns: bigint): string {
  if (ns === 0n) return "0001-01-01T00:00:00Z";
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  let frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac !== "") frac = "." + frac;
  return iso.slice(0, 19) + frac + "Z";
}
