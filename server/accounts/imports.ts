// Tested by test/server/accounts.test.ts (and test/differential/accounts.test.ts).
// The import bridges between accounts' routers (see accounts.ts): a stream import's subscription
// in the exporter, a service import's in the importer, and the exporter's `_R_.` reply route.
import type { Client, Router, Subscription } from "../core/router.js";
import type { BridgedAccount, ImportDepth } from "./bridged.js";
import type { ResponseType } from "./options.js";

/** Imports feeding imports: deeper than this is a loop in the configuration; the message stops. */
const MAX_IMPORT_DEPTH = 8;
/** nats-server's ClientInfoHdr, added to requests crossing a service import. */
export const REQUEST_INFO_HDR = "Nats-Request-Info";
const HDR_START = Buffer.from("NATS/1.0\r\n");
const CRLF = Buffer.from("\r\n");

/**
 * What the bridges share: a Client that is never congested itself, and passes a congested
 * receiver on to whoever is publishing into its source router (that producer waits, as it
 * would for a receiver in its own account).
 */
abstract class Bridge implements Client {
  /** Negative, as every server-internal client's: monitoring lists no connection for it. */
  readonly cid = -1;
  echo = true;
  noResponders = false;
  readonly congested = false;

  constructor(protected readonly source: Router, protected readonly registry: ImportDepth) {}

  abstract deliver(sub: Subscription, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean;

  holdProducer(): void {
    // Never congested, so never asked to hold anyone.
  }

  stallTtl(): number {
    return 0;
  }

  stallOn(receiver: Client): void {
    const p = this.source.publisher;
    if (p !== null && p !== this) p.stallOn(receiver);
  }

  release(): void {
    // Producers are released by the receiver they waited on, not by the bridge.
  }

  /** `fn`, unless imports are already nested too deep (a loop in the configuration): then false. */
  protected nested(fn: () => boolean): boolean {
    const reg = this.registry;
    if (reg.depth >= MAX_IMPORT_DEPTH) return false;
    reg.depth++;
    try {
      return fn();
    } finally {
      reg.depth--;
    }
  }

  /**
   * Publish into `into` on `subject`; whether anyone there received it. A message shown with a
   * subject of its own (a JetStream delivery) keeps it; any other is shown as published.
   */
  protected forward(into: Router, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number,
    routed: string, shown: string): boolean {
    const reg = this.registry;
    if (reg.depth >= MAX_IMPORT_DEPTH) return false;
    reg.depth++;
    try {
      return into.publish(this, subject, reply, hdrLen, buf, start, end, shown === routed ? subject : shown);
    } finally {
      reg.depth--;
    }
  }
}

/** Exporter's messages on the imported subject → the importer, under the mapped subject. */
export class StreamImportBridge extends Bridge {
  constructor(source: Router, private readonly into: Router, private readonly map: ((s: string) => string) | null,
    registry: ImportDepth) {
    super(source, registry);
  }

  /**
   * Interest in the exporter stands for the importer's subscribers (nats-server's shadow
   * subscriptions): a JetStream push consumer delivering there is bound only while someone in
   * the importing account listens. What came through another stream import does not count.
   */
  wants(subject: string): boolean {
    return this.nested(() => {
      const local = this.map === null ? subject : this.map(subject);
      const r = this.into.sublist.match(local);
      const counts = (s: Subscription): boolean => !(s.client instanceof StreamImportBridge) && (s.client.wants === undefined || s.client.wants(local));
      return r.psubs.some(counts) || r.qsubs.some((g) => g.some(counts));
    });
  }

  deliver(_sub: Subscription, shown: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean {
    const subject = this.source.routing ?? shown;
    // As nats-server: what arrived through a stream import is not passed on by another (stream
    // imports do not chain; service imports do).
    if (this.source.publisher instanceof StreamImportBridge) return false;
    // Delivered only if someone in the importer took it: a request nobody anywhere receives
    // still gets its 503 (nats-server's import subscriptions exist only for subscribers).
    return this.forward(this.into, this.map === null ? subject : this.map(subject), reply, hdrLen, buf, start, end, subject, shown);
  }
}

/** Importer's requests on the local subject → the exporter, with a reply routed back. */
export class ServiceImportBridge extends Bridge {
  constructor(private readonly importer: BridgedAccount, private readonly exporter: BridgedAccount,
    private readonly map: (s: string) => string, private readonly responseType: ResponseType,
    private readonly thresholdMs: number, registry: ImportDepth) {
    super(importer.router, registry);
  }

  deliver(_sub: Subscription, shown: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean {
    const subject = this.source.routing ?? shown;
    const mapped = reply === "" ? "" : this.exporter.addResponse(this.importer, reply, this.responseType, this.thresholdMs, this.registry);
    // As nats-server: the request carries who asked (Nats-Request-Info: the account, the
    // requester's RTT in ns); a request passing through a second import keeps the first
    // account's info and names the importing account in between as "svc".
    let prior: Record<string, unknown> | null = null;
    let priorAt = -1;
    let priorEnd = -1;
    if (hdrLen >= 0) {
      const hdr = buf.toString("latin1", start, start + hdrLen);
      priorAt = hdr.indexOf(`\r\n${REQUEST_INFO_HDR}: `);
      if (priorAt >= 0) {
        priorEnd = hdr.indexOf("\r\n", priorAt + 2);
        try {
          prior = JSON.parse(hdr.slice(priorAt + REQUEST_INFO_HDR.length + 4, priorEnd)) as Record<string, unknown>;
        } catch {
          prior = null;
        }
      }
    }
    let info: string;
    if (prior !== null && typeof prior.acc === "string") {
      info = JSON.stringify({ acc: prior.acc, svc: this.importer.name, ...(typeof prior.rtt === "number" ? { rtt: prior.rtt } : {}) });
    } else {
      const rttMs = (this.source.publisher as { roundTripMs?: number } | null)?.roundTripMs ?? 0;
      info = JSON.stringify({ acc: this.importer.name, ...(rttMs > 0 ? { rtt: Math.round(rttMs * 1e6) } : {}) });
    }
    const line = Buffer.from(`${REQUEST_INFO_HDR}: ${info}\r\n`, "utf8");
    let msg: Buffer;
    let hl: number;
    if (hdrLen < 0) {
      msg = Buffer.concat([HDR_START, line, CRLF, buf.subarray(start, end)]);
      hl = HDR_START.length + line.length + 2;
    } else if (prior !== null) {
      // In place of the one it had.
      const from = start + priorAt + 2;
      const to = start + priorEnd + 2;
      msg = Buffer.concat([buf.subarray(start, from), line, buf.subarray(to, end)]);
      hl = hdrLen - (to - from) + line.length;
    } else {
      // Before the blank line that ends the header block.
      msg = Buffer.concat([buf.subarray(start, start + hdrLen - 2), line, buf.subarray(start + hdrLen - 2, end)]);
      hl = hdrLen + line.length;
    }
    // The exporter's own subject mappings apply to the request, as nats-server's processServiceImport does.
    const to = this.exporter.router.mapped(this.map(subject));
    if (to === "") return false;
    this.forward(this.exporter.router, to, mapped, hl, msg, 0, msg.length, subject, shown);
    // As nats-server 2.9: a request that reached the import counts as delivered (no 503).
    return true;
  }
}

/** Responses on an exporter's `_R_.<prefix>.<token>` → the requester in the importing account. */
export class ResponseBridge extends Bridge {
  constructor(private readonly exporter: BridgedAccount, registry: ImportDepth) {
    super(exporter.router, registry);
  }

  /** A response is wanted while its route lasts and the requester's account listens on the reply. */
  wants(subject: string): boolean {
    const route = this.exporter.responses.get(subject.slice(this.exporter.replyPrefix.length));
    if (route === undefined || route.expires <= Date.now()) return false;
    return this.nested(() => route.importer.router.interested(route.reply).yes);
  }

  deliver(_sub: Subscription, shown: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean {
    const subject = this.source.routing ?? shown;
    const token = subject.slice(this.exporter.replyPrefix.length);
    const route = this.exporter.responses.get(token);
    if (route === undefined) return false;
    if (route.expires <= Date.now()) {
      this.exporter.responses.delete(token);
      return false;
    }
    if (route.type === "singleton") this.exporter.responses.delete(token);
    this.forward(route.importer.router, route.reply, reply, hdrLen, buf, start, end, subject, shown);
    return true;
  }
}

