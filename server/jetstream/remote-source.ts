// Tested by test/cluster/external-sourcing.test.ts and test/cluster/edge-to-cluster.test.ts.
// A mirror or source with `external: { api, deliver }`: its origin is another JetStream (another
// domain over a leafnode, or another account), reached only through that API prefix. As nats-server
// does it (stream.go setupMirrorConsumer / setSourceConsumer, processInboundMirrorMsg /
// processInboundSourceMsg), the link is a JetStream client of the origin: it asks for an
// ephemeral push consumer (`<api>.CONSUMER.CREATE.<stream>`, ack none, flow control, a heartbeat
// every second, `direct`) delivering under `<deliver>`, reads the origin's sequences from each
// message's `$JS.ACK…` reply subject, answers flow-control requests, and asks for a new consumer
// from where it is when a delivery sequence is missed, a heartbeat says it fell behind, or
// nothing has come for three heartbeats.
import { customAlphabet } from "nanoid";
import { decodeHeaders } from "../../protocol/headers.js";
import type { InternalClient, InternalSubscription } from "../core/internal-client.js";
import type { JsonObject } from "./decode.js";
import type { ApiError } from "./errors.js";
import { sourceFilters, sourceIndexName, type StreamSource } from "./source-config.js";
import { rfc3339ToNs, type NsClock } from "./store.js";
import { filterMatches, type SubjectTransform } from "./transform.js";

/** nats-server sourceHealthCheckInterval: the consumer's heartbeat, and the health check's tick. */
const HEARTBEAT_NS = 1_000_000_000;
/** nats-server: stalled after three intervals without a message or heartbeat. */
const STALLED_NS = 3n * BigInt(HEARTBEAT_NS);
/** nats-server sourceConsumerRetryThreshold: at most one consumer request per link this often. */
const RETRY_MS = 2000;
/** How long a consumer create request waits for its answer (nats-server: 5 s). */
const CREATE_TIMEOUT_MS = 5000;
/** nats-server's consumer AckWait for these consumers (they never ack). */
const ACK_WAIT_NS = 22 * 3600 * 1_000_000_000;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** nats-server syncSubject's suffix: 8 base-62 characters (`$JS.M.<suffix>`, `<deliver>.S.<suffix>`). */
const syncSuffix = customAlphabet(BASE62, 8);
const token = customAlphabet(BASE62, 22);

export interface RemoteLinkHost {
  readonly ic: InternalClient;
  readonly clock: NsClock;
  warn(msg: string): void;
}

/**
 * Where a copy goes (the stream): a mirror's keeps the origin's sequence `sseq` and time, a
 * source's is stored as a new message. Subjects are in wire form, buffers views of the delivery.
 * False: not stored (the store failed); the link asks again from before it.
 */
export type RemoteDeliver = (subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, sseq: number) => boolean;

/** What the stream holds, for where a consumer starts. */
export interface RemoteStart {
  readonly lastSeq: number;
  readonly msgs: number;
}

export class RemoteLink {
  /** The origin sequence handled last. */
  sseq = 0;
  /** The delivery sequence of the current consumer handled last. */
  private dseq = 0;
  private lagN = 0;
  /** When the origin was last heard from (0: never). */
  private lastActive = 0n;
  private err: ApiError | null = null;
  private cname = "";
  private sub: InternalSubscription | null = null;
  private requesting = false;
  private lastRequest = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private health: NodeJS.Timeout | null = null;
  /** Nothing copied from this origin yet: start where the config says. */
  private fresh = true;
  readonly iname: string;
  private readonly filters: string[];
  private readonly trs: Array<SubjectTransform | null>;

  constructor(readonly cfg: StreamSource, private readonly mirror: boolean, private readonly host: RemoteLinkHost,
    private readonly target: RemoteStart, private readonly deliver: RemoteDeliver) {
    this.iname = sourceIndexName(cfg);
    ({ filters: this.filters, trs: this.trs } = sourceFilters(cfg));
  }

  /** The last origin sequence this stream holds a copy of; 0: start per the options. */
  resumeAt(seq: number): void {
    this.sseq = seq;
    this.fresh = seq === 0;
  }

  start(): void {
    this.setup();
    this.health = setInterval(() => this.check(), HEARTBEAT_NS / 1e6);
    this.health.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.health !== null) clearInterval(this.health);
    this.retryTimer = this.health = null;
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private check(): void {
    if (this.stopped || this.requesting) return;
    if (this.cname === "" || this.host.clock.now() - this.lastActive > STALLED_NS) this.retry();
  }

  /** Ask for a new consumer from where the link is, no sooner than RETRY_MS after the last ask. */
  private retry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    // The old consumer's messages are not taken while waiting: the next one delivers anew.
    this.sub?.unsubscribe();
    this.sub = null;
    this.cname = "";
    const wait = Math.max(0, this.lastRequest + RETRY_MS - Date.now());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.setup();
    }, wait);
    this.retryTimer.unref();
  }

  private setup(): void {
    if (this.stopped || this.requesting) return;
    this.sub?.unsubscribe();
    this.cname = "";
    const ext = this.cfg.external!;
    const kind = this.mirror ? "M" : "S";
    const deliverSubject = ext.deliver !== "" ? `${ext.deliver}.${kind}.${syncSuffix()}`.replaceAll("..", ".") : `$JS.${kind}.${syncSuffix()}`;
    const config: JsonObject = {
      deliver_subject: deliverSubject, deliver_policy: "all", ack_policy: "none", ack_wait: ACK_WAIT_NS,
      max_deliver: 1, idle_heartbeat: HEARTBEAT_NS, flow_control: true, direct: true,
    };
    if (this.mirror) {
      // A mirror carries the origin's sequences: it goes on after its last one.
      const last = this.target.lastSeq;
      this.sseq = last;
      if (this.target.msgs === 0 && last === 0) this.startOptions(config);
      else Object.assign(config, { deliver_policy: "by_start_sequence", opt_start_seq: last + 1 });
    } else if (!this.fresh || this.sseq > 0) {
      Object.assign(config, { deliver_policy: "by_start_sequence", opt_start_seq: this.sseq + 1 });
    } else {
      this.startOptions(config);
    }
    if (this.cfg.filter_subject !== "") config.filter_subject = this.cfg.filter_subject;
    if (this.cfg.subject_transforms.length > 0) config.filter_subjects = this.cfg.subject_transforms.map((t) => t.src);
    this.dseq = 0;
    this.sub = this.host.ic.subscribeRaw(deliverSubject, this.onMsg);
    this.lastRequest = Date.now();
    // Mapped as nats-server maps it: a prefix of this server's own domain reaches its own API.
    const subject = this.host.ic.mapped(`${ext.api}.CONSUMER.CREATE.${this.cfg.name}`.replaceAll("..", "."));
    if (subject === "") {
      this.retry();
      return;
    }
    this.requesting = true;
    const req = JSON.stringify({ stream_name: this.cfg.name, config });
    // The answer is handled as it is routed (not a promise's turn later): the consumer's first
    // messages may come in the same read, right behind it.
    const inbox = `_INBOX.${token()}`;
    const timer = setTimeout(() => {
      sub.unsubscribe();
      this.requesting = false;
      this.retry();
    }, CREATE_TIMEOUT_MS);
    timer.unref();
    const sub = this.host.ic.subscribe(inbox, (m) => {
      clearTimeout(timer);
      this.requesting = false;
      if (!this.stopped) this.created(m.data, m.headers()?.code ?? 0);
    }, { max: 1 });
    this.host.ic.publish(subject, req, { reply: inbox });
  }

  /** The answer to a consumer create request. */
  private created(data: Buffer, status: number): void {
    // No responders (the link is down, the origin's JetStream is not there): ask again later.
    if (status === 503) {
      this.retry();
      return;
    }
    let r: JsonObject;
    try {
      r = JSON.parse(data.toString()) as JsonObject;
    } catch {
      this.host.warn(`JetStream bad ${this.what()} consumer create response: ${JSON.stringify(data.toString())}`);
      this.retry();
      return;
    }
    if (r.error !== undefined || typeof r.name !== "string") {
      this.err = (r.error ?? null) as ApiError | null;
      this.host.warn(`JetStream error response for create ${this.what()} consumer: ${JSON.stringify(r.error)}`);
      this.retry();
      return;
    }
    this.err = null;
    this.cname = r.name;
    this.lastActive = this.host.clock.now();
    const delivered = r.delivered as { stream_seq?: number } | undefined;
    if (this.mirror && typeof delivered?.stream_seq === "number" && delivered.stream_seq > this.sseq) this.sseq = delivered.stream_seq;
    if (typeof r.num_pending === "number" && this.dseq === 0) this.lagN = r.num_pending;
  }

  private startOptions(config: JsonObject): void {
    if (this.cfg.opt_start_seq > 0) Object.assign(config, { deliver_policy: "by_start_sequence", opt_start_seq: this.cfg.opt_start_seq });
    else if (this.cfg.opt_start_time !== "" && rfc3339ToNs(this.cfg.opt_start_time) !== null) {
      Object.assign(config, { deliver_policy: "by_start_time", opt_start_time: this.cfg.opt_start_time });
    }
  }

  private what(): string {
    return this.mirror ? "mirror" : "source";
  }

  private readonly onMsg = (subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): void => {
    if (this.stopped) return;
    const hdr = hdrLen > 0 ? buf.subarray(start, start + hdrLen) : null;
    if (hdr !== null && hdr.length >= 12 && hdr.toString("latin1", 0, 12) === "NATS/1.0 100") {
      this.control(reply, hdr);
      return;
    }
    // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>, or 2.10's form with
    // the domain and account hash after ACK and a token at the end.
    if (!reply.startsWith("$JS.ACK.")) return;
    const t = reply.split(".");
    const b = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
    if (b < 0) return;
    // Only this consumer delivers here (each request gets a new deliver subject); its name is
    // taken from its first message when that comes before the answer (nats-server does the same).
    if (this.cname === "") this.cname = t[b + 1]!;
    else if (t[b + 1] !== this.cname) return;
    const dc = Number(t[b + 2]);
    const sseq = Number(t[b + 3]);
    const dseq = Number(t[b + 4]);
    const pending = Number(t[b + 6]);
    if (dc > 1 || !Number.isSafeInteger(sseq) || !Number.isSafeInteger(dseq)) return;
    this.lastActive = this.host.clock.now();
    if (this.mirror) {
      // The next one, or a gap the origin no longer has (its delivery sequence is the next).
      if (sseq <= this.sseq) return;
      if (sseq !== this.sseq + 1 && dseq !== this.dseq + 1) {
        this.retry();
        return;
      }
    } else if (dseq !== this.dseq + 1) {
      if (dseq > this.dseq + 1) this.retry();
      return;
    }
    const data = buf.subarray(hdrLen > 0 ? start + hdrLen : start, end - 2);
    if (!this.deliver(this.transformed(subject), hdr, data, BigInt(t[b + 5]!), sseq)) {
      this.retry();
      return;
    }
    this.sseq = sseq;
    this.dseq = dseq;
    this.fresh = false;
    this.lagN = pending > 0 ? pending - 1 : 0;
  };

  /** A heartbeat or flow-control request (nats-server's isControlMsg handling). */
  private control(reply: string, hdr: Buffer): void {
    this.lastActive = this.host.clock.now();
    if (reply !== "") {
      this.host.ic.replyWire(reply, "");
      return;
    }
    const h = decodeHeaders(hdr);
    const last = Number(h?.values.get("Nats-Last-Consumer")?.[0] ?? 0);
    if (this.cname !== "" && last > 0 && last !== this.dseq) {
      this.retry();
      return;
    }
    const stalled = h?.values.get("Nats-Consumer-Stalled")?.[0];
    if (stalled !== undefined && stalled !== "") this.host.ic.publish(stalled, "");
  }

  private transformed(subject: string): string {
    if (this.trs.length === 0) return subject;
    for (let i = 0; i < this.filters.length; i++) {
      if (!filterMatches(this.filters[i]!, subject)) continue;
      const tr = this.trs[i];
      return tr === null || tr === undefined ? subject : (tr.map(subject) ?? subject);
    }
    return subject;
  }

  lag(): number {
    return this.lagN;
  }

  /** nats-server StreamSourceInfo: name, external, lag, active (-1: never heard from), error, filters. */
  infoJSON(): JsonObject {
    const ext = this.cfg.external!;
    const o: JsonObject = { name: this.cfg.name, external: { api: ext.api, deliver: ext.deliver }, lag: this.lagN };
    o.active = this.lastActive === 0n ? -1 : Number(this.host.clock.now() - this.lastActive);
    if (this.err !== null) o.error = this.err as unknown as JsonObject;
    if (this.cfg.filter_subject !== "") o.filter_subject = this.cfg.filter_subject;
    if (this.cfg.subject_transforms.length > 0) o.subject_transforms = this.cfg.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }));
    return o;
  }
}
