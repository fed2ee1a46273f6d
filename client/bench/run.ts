// Tested by test/client/bench.test.ts (each mode as a child process, against gnat and nats-server).
// The clients `gnat bench` runs, each on its own connection: core publishers and subscribers,
// JetStream publishers (a window of publishes awaiting their acks) and pull consumers sharing one
// durable, requesters and repliers. Each fills a Sample; a shared Progress feeds the bar.
//
// Latencies: a publisher's is the time until the server has the message (core: the flush after
// its batch returns; JetStream: its ack; a request: its reply). A subscriber's is end to end: each
// payload of 8 bytes or more carries its send time (wall clock, sub-millisecond), so it holds
// across processes on one machine too.
import type { NatsConnection, Msg } from "@nats-io/transport-node";
import type { Consumer, JetStreamClient } from "@nats-io/jetstream";
import { Sample } from "./stats.js";

export interface Progress {
  sent: number;
  received: number;
}

const nowWall = (): number => performance.timeOrigin + performance.now();

/** A payload of `size` bytes stamped with its send time when it has room for one. */
function payload(template: Buffer): Buffer {
  const b = Buffer.allocUnsafe(template.length);
  template.copy(b);
  if (b.length >= 8) b.writeDoubleLE(nowWall(), 0);
  return b;
}

/** The end-to-end latency a stamped payload carries, else undefined. */
function stampedLatency(data: Uint8Array): number | undefined {
  if (data.length < 8) return undefined;
  const sent = Buffer.from(data.buffer, data.byteOffset, 8).readDoubleLE(0);
  const l = nowWall() - sent;
  return Number.isFinite(l) && l >= 0 && l < 3_600_000 ? l : undefined;
}

/** Split `total` over `n` clients, the remainder to the first ones (natscli's split). */
export function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** Core NATS: publish `count` messages, flushing every `batch` (the flush's return times them). */
export async function corePublisher(nc: NatsConnection, subject: string, count: number, size: number, batch: number, progress: Progress): Promise<Sample> {
  const sample = new Sample(count);
  const template = Buffer.alloc(size, 0x61);
  const times = new Float64Array(batch);
  for (let sent = 0; sent < count;) {
    const n = Math.min(batch, count - sent);
    for (let j = 0; j < n; j++) {
      times[j] = performance.now();
      nc.publish(subject, payload(template));
    }
    await nc.flush();
    const t = performance.now();
    for (let j = 0; j < n; j++) sample.record(size, times[j]!, t - times[j]!);
    sample.end = t;
    sent += n;
    progress.sent += n;
  }
  return sample;
}

/** A subscriber waiting for `count` messages; `ready` once the server has its subscription. */
export async function coreSubscriber(nc: NatsConnection, subject: string, count: number, progress: Progress, queue?: string): Promise<{ done: Promise<Sample>; sample: Sample }> {
  const sample = new Sample(count);
  let resolve!: (s: Sample) => void;
  const done = new Promise<Sample>((r) => (resolve = r));
  nc.subscribe(subject, {
    ...(queue === undefined ? {} : { queue }),
    callback: (err, m) => {
      if (err !== null) return;
      sample.record(m.data.length, performance.now(), stampedLatency(m.data));
      progress.received++;
      if (sample.msgs === count) resolve(sample);
    },
  });
  await nc.flush();
  return { done, sample };
}

/** Requests one after another, each timed to its reply. */
export async function requester(nc: NatsConnection, subject: string, count: number, size: number, timeout: number, progress: Progress): Promise<Sample> {
  const sample = new Sample(count);
  const template = Buffer.alloc(size, 0x61);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await nc.request(subject, payload(template), { timeout });
    const t = performance.now();
    sample.record(size, t0, t - t0);
    sample.end = t;
    progress.sent++;
  }
  return sample;
}

/** A replier in queue group gnat-bench echoing each request; done when `shared.left` reaches 0. */
export async function replier(nc: NatsConnection, subject: string, shared: { left: number; finish(): void }, progress: Progress): Promise<Sample> {
  const sample = new Sample(1024);
  nc.subscribe(subject, {
    queue: "gnat-bench",
    callback: (err, m: Msg) => {
      if (err !== null) return;
      sample.record(m.data.length, performance.now(), stampedLatency(m.data));
      m.respond(m.data);
      progress.received++;
      if (--shared.left === 0) shared.finish();
    },
  });
  await nc.flush();
  return sample;
}

/** JetStream: keep up to `window` publishes awaiting their acks; each latency is until its ack. */
export async function jsPublisher(js: JetStreamClient, subject: string, count: number, size: number, window: number, progress: Progress): Promise<Sample> {
  const sample = new Sample(count);
  const template = Buffer.alloc(size, 0x61);
  for (let sent = 0; sent < count;) {
    const n = Math.min(window, count - sent);
    const acks: Promise<void>[] = [];
    for (let j = 0; j < n; j++) {
      const t0 = performance.now();
      acks.push(js.publish(subject, payload(template)).then(() => {
        const t = performance.now();
        sample.record(size, t0, t - t0);
        sample.end = Math.max(sample.end, t);
        progress.sent++;
      }));
    }
    await Promise.all(acks);
    sent += n;
  }
  return sample;
}

/** A pull consumer client on the shared durable, acking each message, until `shared.left` is 0. */
export async function jsPuller(consumer: Consumer, batch: number, shared: { left: number; finish(): void }, stopped: Promise<void>, progress: Progress): Promise<Sample> {
  const sample = new Sample(1024);
  const messages = await consumer.consume({ max_messages: batch });
  void stopped.then(() => messages.stop());
  for await (const m of messages) {
    if (shared.left <= 0) break;
    sample.record(m.data.length, performance.now(), stampedLatency(m.data));
    m.ack();
    progress.received++;
    if (--shared.left === 0) {
      shared.finish();
      break;
    }
  }
  messages.stop();
  return sample;
}
