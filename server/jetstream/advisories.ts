// JetStream advisories: the events nats-server publishes on $JS.EVENT.ADVISORY.> when streams and
// consumers come and go and when a consumer gives up on a message (jetstream_events.go). Bodies are
// marshalled as Go marshals those structs: TypedEvent's type/id/timestamp first, then the fields
// in declaration order, omitempty ones left out. Like nats-server, nothing is built or sent when
// nobody listens (a stream whose subjects cover the advisory counts as a listener: that is how a
// dead-letter stream captures MAX_DELIVERIES).

import { randomInt } from "node:crypto";
import type { InternalClient } from "../core/internal-client.js";
import { goJSON } from "./json.js";
import { tsToRFC3339, type NsClock } from "./store.js";

export const Advisory = {
  StreamCreated: "$JS.EVENT.ADVISORY.STREAM.CREATED",
  StreamDeleted: "$JS.EVENT.ADVISORY.STREAM.DELETED",
  StreamUpdated: "$JS.EVENT.ADVISORY.STREAM.UPDATED",
  ConsumerCreated: "$JS.EVENT.ADVISORY.CONSUMER.CREATED",
  ConsumerDeleted: "$JS.EVENT.ADVISORY.CONSUMER.DELETED",
  MaxDeliveries: "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES",
  MsgNaked: "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED",
  MsgTerminated: "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED",
  Api: "$JS.EVENT.ADVISORY.API",
  SnapshotCreate: "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE",
  SnapshotComplete: "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE",
  RestoreCreate: "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE",
  RestoreComplete: "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE",
  /** sample_freq's ack metrics (a metric, not an advisory, in nats-server's naming). */
  ConsumerAck: "$JS.EVENT.METRIC.CONSUMER.ACK",
} as const;

const Type = {
  StreamAction: "io.nats.jetstream.advisory.v1.stream_action",
  ConsumerAction: "io.nats.jetstream.advisory.v1.consumer_action",
  MaxDeliver: "io.nats.jetstream.advisory.v1.max_deliver",
  Nak: "io.nats.jetstream.advisory.v1.nak",
  Terminated: "io.nats.jetstream.advisory.v1.terminated",
  ApiAudit: "io.nats.jetstream.advisory.v1.api_audit",
  SnapshotCreate: "io.nats.jetstream.advisory.v1.snapshot_create",
  SnapshotComplete: "io.nats.jetstream.advisory.v1.snapshot_complete",
  RestoreCreate: "io.nats.jetstream.advisory.v1.restore_create",
  RestoreComplete: "io.nats.jetstream.advisory.v1.restore_complete",
  ConsumerAck: "io.nats.jetstream.metric.v1.consumer_ack",
} as const;

export type ActionType = "create" | "delete" | "modify";

const NUID_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A unique id of nats-server's nuid shape: 22 characters of [0-9A-Za-z]. */
export function nuid(): string {
  let s = "";
  for (let i = 0; i < 22; i++) s += NUID_DIGITS[randomInt(NUID_DIGITS.length)];
  return s;
}

/** Publishes one account's JetStream advisories through its internal client. */
export class Advisories {
  constructor(private readonly ic: InternalClient, private readonly clock: NsClock, private readonly domain = "") {}

  private send(subject: string, build: () => Record<string, unknown>): void {
    if (!this.ic.hasInterest(subject)) return;
    const body: Record<string, unknown> = build();
    if (this.domain !== "") body.domain = this.domain;
    this.ic.publish(subject, goJSON(body));
  }

  private head(type: string): Record<string, unknown> {
    // Go's time.Now().UTC() as encoding/json writes it: RFC 3339 with nanoseconds.
    return { type, id: nuid(), timestamp: tsToRFC3339(this.clock.now()) };
  }

  /**
   * nats-server's JSAPIAudit, sent after every API response: who asked (ClientInfo, when the
   * requester is a client connection), what, and the response sent.
   */
  apiAudit(server: string, client: Record<string, unknown> | null, subject: string, request: string, response: string): void {
    this.send(Advisory.Api, () => {
      const body = this.head(Type.ApiAudit);
      body.server = server;
      body.client = client;
      body.subject = subject;
      if (request !== "") body.request = request;
      body.response = response;
      return body;
    });
  }

  stream(action: ActionType, stream: string): void {
    const pre = action === "create" ? Advisory.StreamCreated : action === "delete" ? Advisory.StreamDeleted : Advisory.StreamUpdated;
    this.send(`${pre}.${stream}`, () => ({ ...this.head(Type.StreamAction), stream, action }));
  }

  consumer(action: "create" | "delete", stream: string, consumer: string): void {
    const pre = action === "create" ? Advisory.ConsumerCreated : Advisory.ConsumerDeleted;
    this.send(`${pre}.${stream}.${consumer}`, () => ({ ...this.head(Type.ConsumerAction), stream, consumer, action }));
  }

  /** A snapshot's response was sent (its state: the stream's as the response gave it). */
  snapshotCreate(stream: string, state: unknown, client: Record<string, unknown> | null): void {
    this.send(`${Advisory.SnapshotCreate}.${stream}`, () => ({ ...this.head(Type.SnapshotCreate), stream, state, client }));
  }

  /** A snapshot's last chunk was sent; start and end are ns times. */
  snapshotComplete(stream: string, start: bigint, end: bigint, client: Record<string, unknown> | null): void {
    this.send(`${Advisory.SnapshotComplete}.${stream}`, () => ({
      ...this.head(Type.SnapshotComplete), stream, start: tsToRFC3339(start), end: tsToRFC3339(end), client,
    }));
  }

  restoreCreate(stream: string, client: Record<string, unknown> | null): void {
    this.send(`${Advisory.RestoreCreate}.${stream}`, () => ({ ...this.head(Type.RestoreCreate), stream, client }));
  }

  /** A restore ended (restored or failed: nats-server sends it either way); bytes received. */
  restoreComplete(stream: string, start: bigint, end: bigint, bytes: number, client: Record<string, unknown> | null): void {
    this.send(`${Advisory.RestoreComplete}.${stream}`, () => ({
      ...this.head(Type.RestoreComplete), stream, start: tsToRFC3339(start), end: tsToRFC3339(end), bytes, client,
    }));
  }

  /** A message was delivered max_deliver times without an ack (a dead-letter candidate). */
  maxDeliveries(stream: string, consumer: string, streamSeq: number, deliveries: number): void {
    this.send(`${Advisory.MaxDeliveries}.${stream}.${consumer}`, () => ({
      ...this.head(Type.MaxDeliver), stream, consumer, stream_seq: streamSeq, deliveries,
    }));
  }

  naked(stream: string, consumer: string, consumerSeq: number, streamSeq: number, deliveries: number): void {
    this.send(`${Advisory.MsgNaked}.${stream}.${consumer}`, () => ({
      ...this.head(Type.Nak), stream, consumer, consumer_seq: consumerSeq, stream_seq: streamSeq, deliveries,
    }));
  }

  /** An ack on a consumer with sample_freq: how long the message took from delivery to ack. */
  ackMetric(stream: string, consumer: string, consumerSeq: number, streamSeq: number, delayNs: number, deliveries: number): void {
    this.send(`${Advisory.ConsumerAck}.${stream}.${consumer}`, () => ({
      ...this.head(Type.ConsumerAck), stream, consumer, consumer_seq: consumerSeq, stream_seq: streamSeq,
      ack_time: delayNs, deliveries,
    }));
  }

  terminated(stream: string, consumer: string, consumerSeq: number, streamSeq: number, deliveries: number, reason: string): void {
    this.send(`${Advisory.MsgTerminated}.${stream}.${consumer}`, () => ({
      ...this.head(Type.Terminated), stream, consumer, consumer_seq: consumerSeq, stream_seq: streamSeq, deliveries,
      ...(reason !== "" ? { reason } : {}),
    }));
  }
}
