// What the parts of a consumer share: the services of its account, what it needs of its stream,
// and the status lines and headers nats-server writes.

import type { InternalClient } from "../../core/internal-client.js";
import type { Advisories } from "../advisories.js";
import type { NsClock, StoredMsg, StreamStore } from "../store.js";

/** What a consumer needs from its account (ConsumerHost adds the one call back about itself). */
export interface ConsumerServices {
  readonly ic: InternalClient;
  readonly clock: NsClock;
  readonly advisories: Advisories;
  warn(msg: string): void;
  /** Observer of delivery-to-ack times (the /metrics histogram), or null: then nothing is timed. */
  readonly ackLatency: ((stream: string, consumer: string, seconds: number) => void) | null;
  /** sync_interval: always — state written for a confirmed ack is fsynced too. */
  readonly syncAlways: boolean;
  /** Write what connections have queued now, not at the end of this read (see deliverLoop). */
  flushOutbound(): void;
}

/**
 * What a consumer needs of its stream. Declared here and implemented by Stream (stream.ts), so
 * that the consumer does not import the stream that holds it.
 */
export interface ConsumerStream {
  readonly name: string;
  readonly config: { readonly max_msg_size: number };
  readonly store: StreamStore;
  /** Interest and work-queue retention act on acks; limits retention does not. */
  readonly removesOnAck: boolean;
  /** A consumer acked message seq (or delivered it, without acks). */
  acked(seq: number, subject: string): void;
}

/** Status lines and headers exactly as nats-server writes them. */
export const Hdr = {
  PendingMsgs: "Nats-Pending-Messages",
  PendingBytes: "Nats-Pending-Bytes",
  LastConsumer: "Nats-Last-Consumer",
  LastStream: "Nats-Last-Stream",
  MsgSize: "Nats-Msg-Size",
} as const;

/** A status message (no payload) to `reply`: "NATS/1.0 <line>" and any extra headers. */
export function sendStatus(ic: InternalClient, reply: string, line: string, extra = ""): void {
  ic.publish(reply, Buffer.alloc(0), { headers: Buffer.from(`NATS/1.0 ${line}\r\n${extra}\r\n`) });
}

/** The size rate limits, max_bytes and flow control count for a message. */
export function msgSize(sm: StoredMsg): number {
  return sm.subject.length + (sm.hdr === null ? 0 : sm.hdr.length) + sm.data.length;
}
