// Tested by test/jetstream/sourcing.test.ts (and test/jetstream/sourcing-crash.test.ts for kills).
// A stream's mirror or sources, inside one account's JetStream. nats-server runs an ordered push
// consumer on each origin and reads its ack subjects; gnat has the origin in the same process, so
// a link reads the origin's store directly, woken by the origin each time it stores a message and
// by the account when streams come and go. The state a link resumes from is in the stream's own
// store, as in nats-server: a mirror keeps the origin's sequences (its last sequence is where it
// is), and a sourced message carries `Nats-Stream-Source: <origin> <seq> <filter> <dest>`, found
// again by scanning back from the newest message after a restart.

import { decodeHeaders } from "../../protocol/headers.js";
import { apiError, JsErrors, type ApiError } from "./errors.js";
import type { JsonObject } from "./decode.js";
import { sourceFilters, sourceIndexName, sourceName, type StreamSource } from "./source-config.js";
import { RemoteLink } from "./remote-source.js";
import type { InternalClient } from "../core/internal-client.js";
import { rfc3339ToNs, type NsClock, type StoredMsg } from "./store.js";
import { filterMatches, type SubjectTransform } from "./transform.js";

export const SOURCE_HEADER = "Nats-Stream-Source";

/** Messages copied per link per turn before yielding to the event loop. */
const BATCH = 256;
/** nats-server's idle heartbeat of a mirror or source consumer (sourceHealthHB). */
const HEARTBEAT_NS = 1_000_000_000n;
/** nats-server dgetCaughtUpThresh: a mirror this close to its origin answers its direct gets. */
const MIRROR_DIRECT_LAG = 10;

/** What a sourcing stream is to its links. */
export interface SourcingTarget {
  readonly name: string;
  readonly lastSeq: number;
  readonly msgs: number;
  /**
   * A mirror's copy: stored at the origin's sequence `seq`, with the origin's time. "later": the
   * gap before it is being filled, ask again on the next turn.
   */
  storeMirrored(subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, seq: number): boolean | "later";
  /** A source's copy: stored as a new message (its own sequence and time). */
  storeSourced(subject: string, hdr: Buffer, data: Buffer): boolean;
  /** Newest first: the messages with headers, for finding where each source got to. */
  newestWithHeaders(): Iterable<StoredMsg>;
}

/** What a link needs of its origin stream. */
export interface SourceOrigin {
  readonly followers: Set<() => void>;
  readonly lastSeq: number;
  readonly store: {
    whenDurable(seq: number): Promise<void>;
    loadNextMsg(filter: string, fromSeq: number): StoredMsg | null;
    numPending(filter: string, fromSeq: number): number;
    seqFromTime(ts: bigint): number;
  };
}

export interface SourcingHost {
  readonly clock: NsClock;
  /** The account's internal client: an `external` link is a JetStream client through it. */
  readonly ic: InternalClient;
  origin(name: string): SourceOrigin | null;
  warn(msg: string): void;
}

class Link {
  origin: SourceOrigin | null = null;
  /** The origin it was last bound to: a different one later is a re-created stream. */
  private bound: SourceOrigin | null = null;
  /** The last origin sequence handled (copied or passed over). */
  sseq = 0;
  /** Where to start when the stream holds nothing from this origin yet. */
  private fresh = true;
  lastActive = 0n;
  readonly iname: string;
  readonly header: [string, string];
  private readonly filters: string[];
  private readonly trs: Array<SubjectTransform | null>;

  constructor(readonly cfg: StreamSource, readonly wake: () => void, private readonly clock: NsClock) {
    this.iname = sourceIndexName(cfg);
    const parts = this.iname.split(" ");
    this.header = [parts[1]!, parts[2]!];
    ({ filters: this.filters, trs: this.trs } = sourceFilters(cfg));
  }

  /** The last origin sequence this stream already holds a copy of; 0: start per the options. */
  resumeAt(seq: number): void {
    this.sseq = seq;
    this.fresh = seq === 0;
  }

  bind(origin: SourceOrigin | null, mirror: boolean): void {
    if (origin === this.origin) return;
    this.origin?.followers.delete(this.wake);
    this.origin = origin;
    if (origin === null) return;
    // A re-created origin numbers from the start again: a source reads it from its beginning;
    // a mirror, which must keep the origin's sequences, waits until it passes what it holds. A
    // stream's last sequence never goes down, so an origin behind what was copied from it is a
    // new one too (a memory stream re-created after a restart, say).
    if (!mirror && ((this.bound !== null && this.bound !== origin) || origin.lastSeq < this.sseq)) this.resumeAt(0);
    this.bound = origin;
    origin.followers.add(this.wake);
    this.lastActive = this.clock.now();
    if (this.fresh) {
      this.fresh = false;
      if (this.cfg.opt_start_seq > 0) this.sseq = this.cfg.opt_start_seq - 1;
      else if (this.cfg.opt_start_time !== "") this.sseq = origin.store.seqFromTime(rfc3339ToNs(this.cfg.opt_start_time) ?? 0n) - 1;
    }
  }

  unbind(): void {
    this.origin?.followers.delete(this.wake);
    this.origin = null;
  }

  /** The next message in (sseq, upto] that the filters take, and its subject after the transforms. */
  next(upto: number): { m: StoredMsg; subject: string } | null {
    const o = this.origin!;
    if (this.filters.length <= 1) {
      const m = o.store.loadNextMsg(this.filters[0] ?? "", this.sseq + 1);
      if (m === null || m.seq > upto) return null;
      const tr = this.trs[0];
      return { m, subject: tr === undefined || tr === null ? m.subject : (tr.map(m.subject) ?? m.subject) };
    }
    for (let m = o.store.loadNextMsg("", this.sseq + 1); m !== null && m.seq <= upto; m = o.store.loadNextMsg("", m.seq + 1)) {
      for (let i = 0; i < this.filters.length; i++) {
        if (!filterMatches(this.filters[i]!, m.subject)) continue;
        const tr = this.trs[i];
        return { m, subject: tr === null || tr === undefined ? m.subject : (tr.map(m.subject) ?? m.subject) };
      }
      this.sseq = m.seq;
    }
    return null;
  }

  lag(): number {
    const o = this.origin;
    if (o === null) return 0;
    if (this.filters.length === 0) return o.store.numPending("", this.sseq + 1);
    let n = 0;
    for (const f of this.filters) n += o.store.numPending(f, this.sseq + 1);
    return n;
  }

  infoJSON(clock: NsClock): JsonObject {
    const o: JsonObject = { name: this.cfg.name, lag: this.lag() };
    // nats-server: nanoseconds since the origin was last heard from (a copy, or the heartbeat its
    // consumer sends every second when idle), -1 without an origin. A link in the same process is
    // live as long as its origin exists: idle, it is reported as heard from at its last
    // whole-second "heartbeat", so tools that alarm on a stale source (`--seen-critical`) do not.
    o.active = this.origin === null ? -1 : Number((clock.now() - this.lastActive) % HEARTBEAT_NS);
    if (this.origin === null) o.error = notFound();
    if (this.cfg.filter_subject !== "") o.filter_subject = this.cfg.filter_subject;
    if (this.cfg.subject_transforms.length > 0) o.subject_transforms = this.cfg.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }));
    return o;
  }
}

function notFound(): ApiError {
  return apiError(JsErrors.StreamNotFound);
}

/** The links of one stream: its mirror, or its sources. */
export class Sourcing {
  /** The links to origins in this account. */
  private readonly links: Link[];
  /** The links through another JetStream's API (`external`). */
  private readonly remotes: RemoteLink[];
  /** Every link, in the config's order (for the info). */
  private readonly all: Array<Link | RemoteLink>;
  private scheduled = false;
  private running = false;
  private again = false;
  private stopped = false;
  private readonly wake = (): void => {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.pump);
  };

  /** Called once a mirror is within MIRROR_DIRECT_LAG of its origin (then never again). */
  onCaughtUp: (() => void) | null = null;

  constructor(private readonly host: SourcingHost, private readonly target: SourcingTarget, readonly mirror: StreamSource | null, sources: StreamSource[]) {
    const cfgs = mirror !== null ? [mirror] : sources;
    this.all = cfgs.map((c) => (c.external === null ? new Link(c, this.wake, host.clock)
      : new RemoteLink(c, mirror !== null, host, target, (subject, hdr, data, ts, sseq) => this.copyRemote(c, subject, hdr, data, ts, sseq))));
    this.links = this.all.filter((l): l is Link => l instanceof Link);
    this.remotes = this.all.filter((l): l is RemoteLink => l instanceof RemoteLink);
  }

  /** Find where each link got to (from the stream's own messages), bind the origins, catch up. */
  start(previous: Sourcing | null = null): void {
    if (this.mirror !== null) {
      this.all[0]!.resumeAt(this.target.lastSeq);
    } else {
      const before = new Map(previous?.all.map((l) => [l.iname, l.sseq]) ?? []);
      const missing = new Map<string, Link | RemoteLink>();
      for (const l of this.all) {
        const at = before.get(l.iname);
        if (at !== undefined) l.resumeAt(at);
        else missing.set(l.iname, l);
      }
      if (missing.size > 0 && this.target.msgs > 0) this.scanBack(missing);
    }
    for (const r of this.remotes) r.start();
    this.originsChanged();
  }

  /** nats-server startingSequenceForSources: the newest copy of each source names its sequence. */
  private scanBack(missing: Map<string, Link | RemoteLink>): void {
    for (const m of this.target.newestWithHeaders()) {
      const h = m.hdr === null ? null : decodeHeaders(m.hdr);
      const v = h?.values.get(SOURCE_HEADER)?.[0];
      if (v === undefined) continue;
      const t = v.split(" ");
      // 2.10: "<name> <seq> <filter> <dest>"; 2.9: "<name> <seq>" (no filters then).
      const iname = t.length >= 4 ? `${t[0]} ${t[2]} ${t[3]}` : `${t[0]} > >`;
      const l = missing.get(iname);
      const seq = Number(t[1]);
      if (l === undefined || !Number.isSafeInteger(seq)) continue;
      l.resumeAt(seq);
      missing.delete(iname);
      if (missing.size === 0) return;
    }
  }

  /** A stream was added or deleted in the account: bind each link to its origin as it is now. */
  originsChanged(): void {
    if (this.stopped) return;
    for (const l of this.links) l.bind(this.host.origin(l.cfg.name), this.mirror !== null);
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.links) l.unbind();
    for (const r of this.remotes) r.stop();
  }

  /** A copy from an `external` origin (see RemoteDeliver). */
  private copyRemote(cfg: StreamSource, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, sseq: number): boolean {
    if (this.stopped) return false;
    if (this.mirror !== null) {
      if (sseq <= this.target.lastSeq) return true;
      let done: boolean | "later";
      // A long gap is filled a slice per call; a delivery cannot wait for the next turn.
      do done = this.target.storeMirrored(subject, hdr, data, ts, sseq);
      while (done === "later");
      if (done) this.checkCaughtUp();
      return done;
    }
    const [, filter, dest] = sourceIndexName(cfg).split(" ");
    return this.target.storeSourced(subject, withHeader(hdr, SOURCE_HEADER, `${sourceName(cfg)} ${sseq} ${filter} ${dest}`), data);
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  };

  /**
   * Copy what each origin has past its link's sequence, a batch per link per turn. Only what the
   * origin has made durable is copied: after a kill the origin never lacks a message its copies
   * hold (it would number a new one the same).
   */
  private async run(): Promise<void> {
    this.running = true;
    let more = false;
    try {
      for (const l of this.links) {
        const o = l.origin;
        if (o === null) continue;
        const upto = o.lastSeq;
        if (upto <= l.sseq) continue;
        try {
          await o.store.whenDurable(upto);
        } catch {
          continue; // a failed write took those messages out of the origin: nothing to copy
        }
        if (this.stopped || l.origin !== o) continue;
        let n = 0;
        for (; n < BATCH; n++) {
          const next = l.next(upto);
          if (next === null) break;
          const { m, subject } = next;
          const done = this.copy(l, m, subject);
          if (done === "later") more = true;
          if (done !== true) break;
          l.sseq = m.seq;
        }
        if (n > 0) l.lastActive = this.host.clock.now();
        if (n === BATCH) more = true;
      }
    } finally {
      this.running = false;
    }
    this.checkCaughtUp();
    if (more || this.again) {
      this.again = false;
      this.wake();
    }
  }

  private copy(l: Link, m: StoredMsg, subject: string): boolean | "later" {
    if (this.mirror !== null) {
      // A re-created origin below what the mirror holds: passed over (see bind).
      if (m.seq <= this.target.lastSeq) return true;
      return this.target.storeMirrored(subject, m.hdr, m.data, m.ts, m.seq);
    }
    const value = `${l.cfg.name} ${m.seq} ${l.header[0]} ${l.header[1]}`;
    return this.target.storeSourced(subject, withHeader(m.hdr, SOURCE_HEADER, value), m.data);
  }

  /** nats-server starts serving a mirror's direct gets once it is "mostly caught up". */
  private checkCaughtUp(): void {
    const f = this.onCaughtUp;
    const l = this.all[0];
    if (f === null || this.stopped || this.mirror === null || l === undefined || (l instanceof Link && l.origin === null)) return;
    if (l.lag() >= MIRROR_DIRECT_LAG) return;
    this.onCaughtUp = null;
    f();
  }

  infoJSON(): { mirror?: JsonObject; sources?: JsonObject[] } {
    const clock = this.host.clock;
    const info = (l: Link | RemoteLink): JsonObject => (l instanceof Link ? l.infoJSON(clock) : l.infoJSON());
    if (this.mirror !== null) return { mirror: info(this.all[0]!) };
    return { sources: this.all.map(info) };
  }

}

/**
 * A copy's header block: the origin's, without an earlier Nats-Stream-Source (a source of a
 * source names only its own origin) or Nats-Expected-* headers (checked once, at the first
 * publish), and with `key: value` added (nats-server processInboundSourceMsg).
 */
export function withHeader(hdr: Buffer | null, key: string, value: string): Buffer {
  const line = Buffer.from(`${key}: ${value}\r\n\r\n`, "latin1");
  if (hdr === null || hdr.length < 4) return Buffer.concat([Buffer.from("NATS/1.0\r\n", "latin1"), line]);
  if (hdr.includes(key) || hdr.includes("Nats-Expected-")) {
    const lines = hdr.toString("latin1").split("\r\n");
    const kept = lines.filter((l, i) => i === 0 || (l !== "" && !l.startsWith(`${key}:`) && !l.startsWith("Nats-Expected-")));
    return Buffer.concat([Buffer.from(`${kept.join("\r\n")}\r\n`, "latin1"), line]);
  }
  return Buffer.concat([hdr.subarray(0, hdr.length - 2), line]);
}

