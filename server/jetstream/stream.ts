// Tested by test/jetstream/api.test.ts.
// One stream: its checked config, its store, the subscription on its subjects, and the publish
// path of nats-server's processJetStreamMsg (expected-* headers, dedupe, rollup, discard new,
// size limits, the ack once the store says the message is durable). Talks to the router only
// through the account's internal client.

import { decodeHeaders, type MsgHeaders } from "../../protocol/headers.js";
import { fromWire, toWire } from "../../protocol/subject.js";
import type { InternalClient, InternalSubscription, RawInternalHandler } from "../core/internal-client.js";
import { configJSON, type JsonObject, type StreamConfig } from "./config.js";
import type { Consumer, ConsumerStream } from "./consumer/index.js";
import { apiError, JsApiError, JsErrors, type ApiError } from "./errors.js";
import { goJSON } from "./json.js";
import { serveDirectGet } from "./direct-get.js";
import { republishHeaders } from "./republish.js";
import { Sourcing, type SourcingHost, type SourcingTarget } from "./sourcing.js";
import { compileTransform, type SubjectTransform } from "./transform.js";
import {
  NsClock, StoreError, tsToRFC3339, type PurgeRequest, type StoredMsg, type StoreLimits, type StreamStore,
} from "./store.js";

/** Headers nats-server reads on the publish path (exact case, as its getHeader matches). */
export const JsHeaders = {
  MsgId: "Nats-Msg-Id",
  ExpectedStream: "Nats-Expected-Stream",
  ExpectedLastSeq: "Nats-Expected-Last-Sequence",
  ExpectedLastSubjSeq: "Nats-Expected-Last-Subject-Sequence",
  ExpectedLastMsgId: "Nats-Expected-Last-Msg-Id",
  Rollup: "Nats-Rollup",
} as const;

const MAX_HEADER_LEN = 0xffff;
const MAX_SKIPS_PER_TURN = 16_384;
const ROLLUP_SUBJECT = "sub";
const ROLLUP_ALL = "all";

/** What a stream needs from its account. */
export interface StreamHost extends SourcingHost {
  readonly ic: InternalClient;
  readonly clock: NsClock;
  /** The JetStream domain ("" none): acks and infos carry it. */
  readonly domain?: string;
  /** Account-wide resource check before storing (nats-server js.limitsExceeded). */
  resourcesExceeded(stream: Stream): boolean;
  /** Storing `size` more bytes would take the account past its own limits (accounts config). */
  accountLimitExceeded?(stream: Stream, size: number): boolean;
  warn(msg: string): void;
  /**
   * Set by monitoring: told how long each stored message took from arrival to durable (seconds).
   * Null when nobody measures, so the publish path then reads no clock.
   */
  readonly storeLatency: ((seconds: number) => void) | null;
}

export function storeLimits(c: StreamConfig): StoreLimits {
  return {
    maxMsgs: c.max_msgs,
    maxBytes: c.max_bytes,
    maxAgeMs: c.max_age > 0 ? Math.max(1, Math.floor(c.max_age / 1_000_000)) : 0,
    maxMsgsPerSubject: c.max_msgs_per_subject,
    discard: c.discard,
  };
}

interface PendingReply {
  durable: Promise<void>;
  /** Wire form, as the publisher sent it. */
  reply: string;
  body: string;
}

const RESOLVED: Promise<void> = Promise.resolve();
const DONE: PendingReply = { durable: RESOLVED, reply: "", body: "" };

interface DedupeEntry {
  seq: number;
  ts: bigint;
}

export class Stream implements ConsumerStream, SourcingTarget {
  private subs: InternalSubscription[] = [];
  /** Told after each message this stream stores: the mirrors and sources reading it. */
  readonly followers = new Set<() => void>();
  /** The stream's mirror or sources, when it has them. */
  sourcing: Sourcing | null = null;
  /** The stream's subject_transform and republish, compiled (wire-form subjects). */
  private subjectTr: SubjectTransform | null = null;
  private republishTr: SubjectTransform | null = null;
  /** Msg-Id → where it was stored; insertion order is time order, so expiry pops the front. */
  private readonly dedupe = new Map<string, DedupeEntry>();
  private lastMsgId = "";
  /**
   * Replies waiting for their message to be durable, in arrival order. A store hands out one
   * promise per write batch, so the replies of one socket read are published together, in one
   * synchronous loop: one write(2) to the publisher, not one per ack.
   */
  private replies: PendingReply[] = [];
  private repliesHead = 0;
  private draining = false;
  private ackPrefixFor = "";
  private ackPrefixText = "";
  /** The durability promise already watched for a failed write (one per store batch). */
  private watched: Promise<void> | null = null;
  private closed = false;
  /** Consumers by name; the account's JetStream adds and removes them. */
  readonly consumers = new Map<string, Consumer>();

  constructor(
    private readonly host: StreamHost,
    public config: StreamConfig,
    readonly store: StreamStore,
    /** Creation time, ns. */
    readonly created: bigint,
  ) {
    this.rebuildDedupe();
    // Consumers keep their num_pending themselves: they hear of every message that leaves.
    store.onRemove = (seq, subject) => {
      for (const c of this.consumers.values()) c.removed(seq, subject);
    };
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * `{"stream":"NAME", "seq":` (with a domain: `{"stream":"NAME", "domain":"D", "seq":`) —
   * nats-server writes its acks by hand, spaces included.
   */
  private get ackPrefix(): string {
    if (this.ackPrefixFor !== this.config.name) {
      this.ackPrefixFor = this.config.name;
      const d = this.host.domain ?? "";
      this.ackPrefixText = `{"stream":${goJSON(this.config.name)}, ${d !== "" ? `"domain":${goJSON(d)}, ` : ""}"seq":`;
    }
    return this.ackPrefixText;
  }

  /**
   * The publish path's one handler: the router's delivery as it is (subject and reply in wire
   * form, headers and payload a view of the publisher's buffer), copied once, by the store.
   */
  private readonly onPublished: RawInternalHandler = (subject, reply, hdrLen, buf, start, end) => {
    if (this.closed) return;
    const hdr = hdrLen > 0 ? buf.subarray(start, start + hdrLen) : null;
    const data = buf.subarray(hdrLen >= 0 ? start + hdrLen : start, end - 2);
    if (this.config.no_ack) reply = "";
    const err = this.process(subject, reply, hdr, data);
    if (err === null || reply === "") return;
    this.sendAfterDurable(this.store.fastState().last_seq, reply, err);
  };

  /** Start capturing the stream's subjects (and serving direct gets when allowed). */
  start(previous: Sourcing | null = null): void {
    const ic = this.host.ic;
    const c = this.config;
    this.subjectTr = c.subject_transform === null ? null : compileTransform(toWire(c.subject_transform.src), toWire(c.subject_transform.dest));
    this.republishTr = c.republish === null ? null : compileTransform(toWire(c.republish.src), toWire(c.republish.dest));
    for (const s of this.config.subjects) this.subs.push(ic.subscribeRaw(s, this.onPublished));
    if (c.mirror !== null || (c.sources !== null && c.sources.length > 0)) {
      const sourcing = new Sourcing(this.host, this, c.mirror, c.sources ?? []);
      this.sourcing = sourcing;
      if (c.mirror !== null && c.mirror_direct) {
        // nats-server: a mirror close to its origin answers direct gets for it too, from the same
        // queue group as the origin.
        const base = `$JS.API.DIRECT.GET.${c.mirror.name}`;
        sourcing.onCaughtUp = () => {
          if (this.sourcing === sourcing) this.subs.push(...serveDirectGet(ic, base, this.name, (seq, lastFor, nextFor) => this.getMsg(seq, lastFor, nextFor)));
        };
      }
      sourcing.start(previous);
    }
    if (this.config.allow_direct) {
      const base = `$JS.API.DIRECT.GET.${this.name}`;
      // nats-server serves direct gets from a queue group so that replicas and mirrors share them.
      this.subs.push(...serveDirectGet(ic, base, this.name, (seq, lastFor, nextFor) => this.getMsg(seq, lastFor, nextFor)));
    }
  }

  stop(): Sourcing | null {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    const was = this.sourcing;
    was?.stop();
    this.sourcing = null;
    return was;
  }

  /** Replace the config (already checked by checkStreamUpdate) and re-subscribe. */
  update(cfg: StreamConfig): void {
    const sourcing = this.stop();
    this.config = cfg;
    this.store.updateConfig(storeLimits(cfg));
    // Sources kept across the update carry on from where they were.
    this.start(sourcing);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    for (const c of this.consumers.values()) c.close();
    await this.store.close();
  }

  async delete(): Promise<void> {
    this.closed = true;
    this.stop();
    for (const c of this.consumers.values()) c.delete();
    this.consumers.clear();
    await this.store.delete();
  }

  // ---- publish path ---------------------------------------------------------------------------

  /**
   * Returns an error reply, or null when the message was handled (its ack is queued). `subject`
   * and `reply` are wire strings; `hdr` and `data` may be views of a read buffer: only the store
   * keeps them (it copies), nothing else holds them past this call.
   */
  private process(subject: string, reply: string, hdr: Buffer | null, data: Buffer): string | null {
    const observe = this.host.storeLatency;
    const t0 = observe !== null ? performance.now() : 0;
    const cfg = this.config;
    const name = cfg.name;
    if (cfg.sealed) return errAck(name, apiError(JsErrors.StreamSealed));
    if (this.subjectTr !== null) subject = this.subjectTr.map(subject) ?? subject;

    let msgId = "";
    let rollup = "";
    let h: MsgHeaders | null = null;
    if (hdr !== null) {
      h = decodeHeaders(hdr);
    }
    if (h !== null) {
      const expStream = header(h, JsHeaders.ExpectedStream);
      if (expStream !== "" && expStream !== name) return errAck(name, apiError(JsErrors.StreamNotMatch));

      msgId = header(h, JsHeaders.MsgId);
      if (msgId !== "") {
        const dde = this.checkMsgId(msgId);
        if (dde !== null) {
          // nats-server writes this reply by hand, space included.
          if (reply !== "") this.sendAfterDurable(dde.seq, reply, `${this.ackPrefix}${dde.seq},"duplicate": true}`);
          return null;
        }
      }

      const expSubjSeq = header(h, JsHeaders.ExpectedLastSubjSeq);
      if (expSubjSeq !== "") {
        const want = parseSeq(expSubjSeq);
        const have = this.store.lastSeqForSubject(subject);
        if (have !== want) return errAck(name, apiError(JsErrors.StreamWrongLastSequence, { seq: have }));
      }

      const expLast = header(h, JsHeaders.ExpectedLastSeq);
      if (expLast !== "") {
        const last = this.store.fastState().last_seq;
        if (parseSeq(expLast) !== last) return errAck(name, apiError(JsErrors.StreamWrongLastSequence, { seq: last }));
      }

      const expLastId = header(h, JsHeaders.ExpectedLastMsgId);
      if (expLastId !== "" && expLastId !== this.lastMsgId) {
        return errAck(name, apiError(JsErrors.StreamWrongLastMsgID, { id: this.lastMsgId }));
      }

      rollup = header(h, JsHeaders.Rollup);
      if (rollup !== "") {
        if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
          return errAck(name, apiError(JsErrors.StreamRollupFailed, { err: "rollup not permitted" }));
        }
        // nats-server drops a message with an unknown rollup value without a reply.
        if (rollup !== ROLLUP_SUBJECT && rollup !== ROLLUP_ALL) return null;
      }
    }

    const hl = hdr === null ? 0 : hdr.length;
    if (cfg.max_msg_size >= 0 && hl + data.length > cfg.max_msg_size) {
      return errAck(name, apiError(JsErrors.StreamMessageExceedsMaximum));
    }
    if (hl > MAX_HEADER_LEN) return errAck(name, apiError(JsErrors.StreamHeaderExceedsMaximum));
    if (this.host.resourcesExceeded(this)) return errAck(name, apiError(JsErrors.InsufficientResources));

    if (cfg.retention === "interest" && !this.hasInterest(subject)) {
      // Nobody will ever consume it: nats-server burns the sequence instead of storing, and acks.
      const seq = this.store.skipMsg();
      this.lastMsgId = msgId;
      if (msgId !== "") this.dedupe.set(msgId, { seq, ts: this.host.clock.now() });
      if (reply !== "") this.sendAfterDurable(seq, reply, `${this.ackPrefix}${seq}}`);
      return null;
    }
    // An account's own JetStream limits (accounts config): nats-server's wouldExceedLimits.
    if (this.host.accountLimitExceeded?.(this, this.store.msgSize(subject, hdr, data)) === true) {
      return errAck(name, apiError(JsErrors.AccountResourcesExceeded));
    }
    if (cfg.discard === "new") {
      const why = this.discardNewReason(subject, hdr, data);
      if (why !== "") return errAck(name, apiError(JsErrors.StreamStoreFailed, { err: why }));
    }

    const rpLast = this.republishTr === null ? 0 : this.store.lastSeqForSubject(subject);
    let seq: number;
    let ts: bigint;
    try {
      ({ seq, ts } = this.store.storeMsg(subject, hdr, data, this.host.clock.now()));
    } catch (e) {
      const text = e instanceof StoreError ? e.message : String(e);
      this.host.warn(`JetStream failed to store a msg on stream '${name}': ${text}`);
      return errAck(name, apiError(JsErrors.StreamStoreFailed, { err: text }));
    }
    if (observe !== null) {
      this.store.whenDurable(seq).then(() => observe((performance.now() - t0) / 1000), () => {});
    }
    this.lastMsgId = msgId;
    if (msgId !== "") this.dedupe.set(msgId, { seq, ts });
    this.watchWrite(seq);
    if (rollup === ROLLUP_SUBJECT) this.store.purge({ filter: subject, keep: 1 });
    else if (rollup === ROLLUP_ALL) this.store.purge({ keep: 1 });

    if (reply !== "") this.sendAfterDurable(seq, reply, `${this.ackPrefix}${seq}}`);
    this.stored(subject, hdr, data, seq, ts, rpLast);
    return null;
  }

  /** After a message is stored: republish it, wake consumers and whoever mirrors or sources us. */
  private stored(subject: string, hdr: Buffer | null, data: Buffer, seq: number, ts: bigint, rpLast: number): void {
    const rp = this.republishTr;
    if (rp !== null) {
      const dest = rp.map(subject);
      if (dest !== null) {
        const headersOnly = this.config.republish?.headers_only === true;
        const h = republishHeaders(hdr, this.name, fromWire(subject), seq, tsToRFC3339(ts), rpLast, headersOnly ? data.length : -1);
        this.host.ic.publish(fromWire(dest), headersOnly ? Buffer.alloc(0) : Buffer.from(data), { headers: h });
      }
    }
    for (const c of this.consumers.values()) c.signalNew();
    for (const f of this.followers) f();
  }

  // ---- mirrors and sources (SourcingTarget) -----------------------------------------------------

  get lastSeq(): number {
    return this.store.fastState().last_seq;
  }

  get msgs(): number {
    return this.store.fastState().msgs;
  }

  storeMirrored(subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, seq: number): boolean | "later" {
    if (this.closed) return false;
    const st = this.store.fastState();
    // Sequences the origin no longer has (purged, expired, filtered out) stay empty here.
    if (st.last_seq < seq - 1) {
      if (st.msgs === 0) this.store.compact(seq);
      else {
        // One record per skipped sequence: a long gap is filled a slice per turn of the event loop.
        const until = Math.min(seq - 1, st.last_seq + MAX_SKIPS_PER_TURN);
        for (let s = st.last_seq + 1; s <= until; s++) this.store.skipMsg(s);
        if (until < seq - 1) return "later";
      }
    }
    return this.storeCopy(subject, hdr, data, ts);
  }

  storeSourced(subject: string, hdr: Buffer, data: Buffer): boolean {
    if (this.closed) return false;
    // Most copies carry no Msg-Id: look for the name before parsing the whole header block.
    const h = hdr.includes(JsHeaders.MsgId) ? decodeHeaders(hdr) : null;
    const msgId = h === null ? "" : header(h, JsHeaders.MsgId);
    // Sourced messages dedupe on Nats-Msg-Id, as published ones do (nats-server processJetStreamMsg).
    if (msgId !== "" && this.checkMsgId(msgId) !== null) return true;
    const ts = this.host.clock.now();
    const ok = this.storeCopy(subject, hdr, data, ts);
    if (ok && msgId !== "") {
      this.lastMsgId = msgId;
      this.dedupe.set(msgId, { seq: this.lastSeq, ts });
    }
    return true;
  }

  /** Store a copied message under this stream's own limits; a refused one is logged and passed. */
  private storeCopy(subject: string, hdr: Buffer | null, data: Buffer, ts: bigint): boolean {
    const cfg = this.config;
    // A sealed stream takes nothing more, copies included.
    if (cfg.sealed) return true;
    const hl = hdr === null ? 0 : hdr.length;
    if (cfg.max_msg_size >= 0 && hl + data.length > cfg.max_msg_size) {
      this.host.warn(`JetStream stream '${this.name}' dropped a copied message of ${hl + data.length} bytes: larger than its max_msg_size`);
      return true;
    }
    if (cfg.discard === "new" && this.discardNewReason(subject, hdr, data) !== "") {
      this.host.warn(`JetStream stream '${this.name}' dropped a copied message: discard new and the stream is full`);
      return true;
    }
    const rpLast = this.republishTr === null ? 0 : this.store.lastSeqForSubject(subject);
    let seq: number;
    try {
      ({ seq, ts } = this.store.storeMsg(subject, hdr, data, ts));
    } catch (e) {
      this.host.warn(`JetStream failed to store a copied msg on stream '${this.name}': ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
    this.watchWrite(seq);
    this.stored(subject, hdr, data, seq, ts, rpLast);
    return true;
  }

  *newestWithHeaders(): Iterable<StoredMsg> {
    const st = this.store.fastState();
    for (let seq = st.last_seq; seq >= st.first_seq && seq > 0; seq--) {
      const m = this.store.loadMsg(seq);
      if (m !== null && m.hdr !== null) yield m;
    }
  }

  /** Whether a consumer will take this subject (wire form): interest retention keeps it then. */
  hasInterest(subject: string): boolean {
    for (const c of this.consumers.values()) if (c.wants(subject)) return true;
    return false;
  }

  /**
   * A consumer acked message seq (or delivered it, without acks). Work-queue retention removes it
   * at once; interest retention once no consumer still needs it (nats-server's ackMsg).
   */
  /** Whether acks can remove messages (interest and workqueue retention). */
  get removesOnAck(): boolean {
    return this.config.retention !== "limits";
  }

  acked(seq: number, subject: string): void {
    if (this.closed) return;
    const retention = this.config.retention;
    if (retention === "limits") return;
    if (retention === "interest") {
      for (const c of this.consumers.values()) if (c.needsAck(seq, subject)) return;
    }
    this.store.removeMsg(seq);
  }

  /** Interest retention after a consumer left: drop the messages nobody needs any more. */
  dropUninterested(): void {
    if (this.config.retention !== "interest") return;
    const st = this.store.fastState();
    for (let m = this.store.loadNextMsg("", st.first_seq); m !== null; m = this.store.loadNextMsg("", m.seq + 1)) {
      let needed = false;
      for (const c of this.consumers.values()) if (c.needsAck(m.seq, m.subject)) { needed = true; break; }
      if (!needed) this.store.removeMsg(m.seq);
    }
  }

  /**
   * Discard new: the store never rejects, so the stream decides, with nats-server's store
   * rules (a message that replaces one at its per-subject limit is let through).
   */
  private discardNewReason(subject: string, hdr: Buffer | null, data: Buffer): string {
    const cfg = this.config;
    let atSubjectLimit = false;
    let subjectFirst = 0;
    if (cfg.max_msgs_per_subject > 0) {
      const ss = this.store.subjectsState(subject).get(subject);
      atSubjectLimit = ss !== undefined && ss.msgs >= cfg.max_msgs_per_subject;
      subjectFirst = ss?.first_seq ?? 0;
    }
    if (atSubjectLimit && cfg.discard_new_per_subject) return "maximum messages per subject exceeded";
    const st = this.store.fastState();
    if (cfg.max_msgs > 0 && st.msgs >= cfg.max_msgs && !atSubjectLimit) return "maximum messages exceeded";
    if (cfg.max_bytes > 0) {
      const size = this.store.msgSize(subject, hdr, data);
      if (st.bytes + size >= cfg.max_bytes) {
        if (!atSubjectLimit) return "maximum bytes exceeded";
        // Replacing the oldest message of this subject must free enough room.
        const first = this.store.loadMsg(subjectFirst);
        if (first === null || this.store.msgSize(first.subject, first.hdr, first.data) < size) return "maximum bytes exceeded";
      }
    }
    return "";
  }

  private sendAfterDurable(seq: number, reply: string, body: string): void {
    const durable = seq > 0 ? this.store.whenDurable(seq) : RESOLVED;
    this.replies.push({ durable, reply, body });
    if (!this.draining) void this.drainReplies();
  }

  /** Publish each reply once its message is durable, in order, a write batch at a time. */
  private async drainReplies(): Promise<void> {
    this.draining = true;
    const ic = this.host.ic;
    while (this.repliesHead < this.replies.length) {
      const p = this.replies[this.repliesHead]!.durable;
      let failure: string | null = null;
      try {
        await p;
      } catch (e) {
        // The write failed: those messages are gone from the store, so they must not be acked.
        failure = errAck(this.name, apiError(JsErrors.StreamStoreFailed, { err: e instanceof Error ? e.message : String(e) }));
      }
      // Everything queued behind on the same promise is settled too.
      while (this.repliesHead < this.replies.length && this.replies[this.repliesHead]!.durable === p) {
        const r = this.replies[this.repliesHead]!;
        this.replies[this.repliesHead++] = DONE;
        try {
          ic.replyWire(r.reply, failure ?? r.body);
        } catch {
          // A reply subject no one could subscribe to: nobody to answer, the others still are.
        }
      }
      if (this.repliesHead > 1024 && this.repliesHead * 2 > this.replies.length) {
        this.replies = this.replies.slice(this.repliesHead);
        this.repliesHead = 0;
      }
    }
    this.replies = [];
    this.repliesHead = 0;
    this.draining = false;
  }

  /**
   * A write that fails takes its messages out of the store after storeMsg returned: their
   * Msg-Ids must leave the dedupe window too, or a retry would be acked as a duplicate of
   * nothing. Watched once per store batch (whenDurable hands out one promise per batch).
   */
  private watchWrite(seq: number): void {
    const p = this.store.whenDurable(seq);
    if (p === this.watched) return;
    this.watched = p;
    p.catch(() => this.forgetFailedWrites());
  }

  /** The failed messages (the newest) no longer load: forget their Msg-Ids; find the last stored one's. */
  private forgetFailedWrites(): void {
    const st = this.store.fastState();
    let lastGood = 0;
    this.lastMsgId = "";
    for (let seq = st.last_seq; seq >= st.first_seq && seq > 0; seq--) {
      const m = this.store.loadMsg(seq);
      if (m === null) continue;
      lastGood = seq;
      const h = m.hdr === null ? null : decodeHeaders(m.hdr);
      if (h !== null) this.lastMsgId = header(h, JsHeaders.MsgId);
      break;
    }
    for (const [id, e] of this.dedupe) if (e.seq > lastGood) this.dedupe.delete(id);
  }

  /** The dedupe entry for msgId inside the duplicate window; expired entries are dropped. */
  private checkMsgId(msgId: string): DedupeEntry | null {
    const windowNs = BigInt(this.config.duplicate_window);
    if (windowNs <= 0n) return null;
    const cutoff = this.host.clock.now() - windowNs;
    for (const [id, e] of this.dedupe) {
      if (e.ts >= cutoff) break;
      this.dedupe.delete(id);
    }
    return this.dedupe.get(msgId) ?? null;
  }

  /** After a restart, the Msg-Ids stored inside the window still dedupe (nats-server rebuildDedupe). */
  private rebuildDedupe(): void {
    const windowNs = BigInt(this.config.duplicate_window);
    if (windowNs <= 0n) return;
    const st = this.store.fastState();
    if (st.msgs === 0) return;
    // The window's first message and those with headers are found in the index; only they are
    // read, oldest first, so the file store's read-ahead serves many per read (newest first,
    // each cost a read of its own).
    const store = this.store;
    for (let seq = store.nextSeqWithHeaders(store.seqFromTime(this.host.clock.now() - windowNs)); seq !== 0; seq = store.nextSeqWithHeaders(seq + 1)) {
      const m = store.loadMsg(seq);
      if (m === null || m.hdr === null) continue;
      const h = decodeHeaders(m.hdr);
      const id = h === null ? "" : header(h, JsHeaders.MsgId);
      if (id !== "") this.dedupe.set(id, { seq: m.seq, ts: m.ts });
      if (m.seq === st.last_seq) this.lastMsgId = id;
    }
  }

  // ---- reads and admin ------------------------------------------------------------------------

  /** nats-server StreamState JSON; deleted details only when asked. */
  stateJSON(details: boolean, subjectsFilter = ""): JsonObject {
    const st = details ? this.store.state() : this.store.fastState();
    const o: JsonObject = {
      messages: st.msgs,
      bytes: st.bytes,
      first_seq: st.first_seq,
      first_ts: tsToRFC3339(st.first_ts),
      last_seq: st.last_seq,
      last_ts: tsToRFC3339(st.last_ts),
    };
    if (st.num_subjects > 0) o.num_subjects = st.num_subjects;
    if (subjectsFilter !== "") {
      const per = this.store.subjectsState(toWire(subjectsFilter));
      if (per.size > 0) {
        const subjects: Record<string, number> = {};
        for (const [s, ss] of per) subjects[fromWire(s)] = ss.msgs;
        o.subjects = subjects;
      }
    }
    if (st.num_deleted > 0) o.num_deleted = st.num_deleted;
    if (details && st.deleted.length > 0) o.deleted = st.deleted;
    o.consumer_count = this.consumers.size;
    return o;
  }

  /** Number of subjects a subjects_filter selects (for the paged stream info reply). */
  subjectsCount(filter: string): number {
    return this.store.subjectsState(toWire(filter)).size;
  }

  /** StreamInfo JSON without the envelope (config, created, state, ts). */
  infoJSON(details = false, subjectsFilter = "", cluster: JsonObject | null = null, domain = ""): JsonObject {
    const o: JsonObject = {
      config: configJSON(this.config),
      created: tsToRFC3339(this.created),
      state: this.stateJSON(details, subjectsFilter),
    };
    if (domain !== "") o.domain = domain;
    if (cluster !== null) o.cluster = cluster;
    if (this.sourcing !== null) Object.assign(o, this.sourcing.infoJSON());
    o.ts = tsToRFC3339(this.host.clock.now());
    return o;
  }

  purge(req: PurgeRequest | undefined): number {
    if (req !== undefined && req.filter !== undefined) req = { ...req, filter: toWire(req.filter) };
    // Msg-Ids stay in the dedupe window after a purge, as in nats-server (its purge leaves ddmap alone).
    return this.store.purge(req);
  }

  removeMsg(seq: number, erase: boolean): boolean {
    return erase ? this.store.eraseMsg(seq) : this.store.removeMsg(seq);
  }

  /** STREAM.MSG.GET semantics: seq, last_by_subj or next_by_subj (from seq). */
  getMsg(seq: number, lastFor: string, nextFor: string): StoredMsg | null {
    if (nextFor !== "") return this.store.loadNextMsg(toWire(nextFor), seq);
    if (seq > 0) return this.store.loadMsg(seq);
    return this.store.loadLastMsg(toWire(lastFor));
  }
}

function header(h: MsgHeaders, key: string): string {
  const v = h.values.get(key);
  return v === undefined || v.length === 0 ? "" : v[0]!;
}

/** nats-server parseInt64 then uint64: anything unparsable never equals a real sequence. */
function parseSeq(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : -1;
}

/** A failed publish's reply: JSPubAckResponse with the error and the stream, seq 0. */
function errAck(stream: string, err: ApiError): string {
  return goJSON({ error: err, stream, seq: 0 });
}

export { JsApiError };
