// One load-generator role per worker thread: a publisher writing pre-encoded frames with
// backpressure, or a subscriber counting delivered bytes (every frame has a known size, so
// bytes / frameSize is an exact message count). Speaks NATS or Redis (RESP).
import { connect, type Socket } from "node:net";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";

export interface PubRole {
  role: "pub";
  proto: "nats" | "redis";
  port: number;
  /** One batch of frames; written `repeats` times. */
  batch: Uint8Array;
  repeats: number;
  /** Redis answers each PUBLISH with `:n\r\n`: the bytes of replies to wait for. */
  replyBytes?: number;
  /** NATS: the CONNECT line to send (credentials, say); default: no options but quiet. */
  connect?: string;
}

export interface SubRole {
  role: "sub";
  proto: "nats" | "redis";
  port: number;
  /** Connections, each set up alike; one thread serves them all. */
  conns: number;
  /** Sent after connecting (CONNECT + SUBs, or SUBSCRIBE). */
  setup: string;
  /** Bytes that mean the subscriptions are in place (PONG, or the SUBSCRIBE confirmations). */
  readyBytes: string;
  readyCount: number;
  /** Delivered bytes to wait for on each connection (0: see expectTotal). */
  expectBytes: number;
  /** Or: bytes to wait for across all connections (a queue group splits deliveries). */
  expectTotal?: number;
}

export interface LatencyRole {
  role: "latency";
  port: number;
  requests: number;
}

export type Role = PubRole | SubRole | LatencyRole;

export type WorkerMsg =
  | { type: "ready" }
  | { type: "done"; t0: number; t1: number; bytes: number; latencies?: number[] }
  | { type: "error"; message: string };

const now = (): number => performance.timeOrigin + performance.now();

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.setNoDelay(true);
      resolve(s);
    });
    s.once("error", reject);
  });
}

function waitText(s: Socket, text: string, count = 1): Promise<void> {
  return new Promise((resolve) => {
    let buf = "";
    let seen = 0;
    const onData = (d: Buffer): void => {
      buf += d.toString("latin1");
      let i;
      while ((i = buf.indexOf(text)) >= 0) {
        seen++;
        buf = buf.slice(i + text.length);
      }
      if (seen >= count) {
        s.off("data", onData);
        resolve();
      }
    };
    s.on("data", onData);
  });
}

async function publisher(r: PubRole, port: MessagePort): Promise<void> {
  const s = await open(r.port);
  if (r.proto === "nats") {
    s.write(`${r.connect ?? 'CONNECT {"verbose":false,"pedantic":false}\r\n'}PING\r\n`);
    await waitText(s, "PONG\r\n");
  }
  let replies = 0;
  const repliesDone = r.replyBytes
    ? new Promise<void>((resolve) => s.on("data", (d: Buffer) => {
      replies += d.length;
      if (replies >= r.replyBytes!) resolve();
    }))
    : null;
  if (!repliesDone) s.resume();
  port.postMessage({ type: "ready" } satisfies WorkerMsg);
  await new Promise<void>((resolve) => port.once("message", () => resolve()));
  const batch = Buffer.from(r.batch.buffer, r.batch.byteOffset, r.batch.byteLength);
  const t0 = now();
  let left = r.repeats;
  await new Promise<void>((resolve) => {
    const go = (): void => {
      while (left > 0) {
        left--;
        if (!s.write(batch)) {
          s.once("drain", go);
          return;
        }
      }
      resolve();
    };
    go();
  });
  if (r.proto === "nats") {
    s.removeAllListeners("data");
    const pong = waitText(s, "PONG\r\n");
    s.write("PING\r\n");
    await pong;
  } else {
    await repliesDone;
  }
  const t1 = now();
  s.destroy();
  port.postMessage({ type: "done", t0, t1, bytes: r.repeats * batch.length } satisfies WorkerMsg);
}

async function subscriber(r: SubRole, port: MessagePort): Promise<void> {
  const socks: Socket[] = [];
  for (let i = 0; i < r.conns; i++) {
    const sock = await open(r.port);
    const ready = waitText(sock, r.readyBytes, r.readyCount);
    sock.write(r.setup);
    await ready;
    socks.push(sock);
  }
  let bytes = 0;
  let t0 = 0;
  let t1 = 0;
  let complete = 0;
  const finished = new Promise<void>((resolve) => {
    for (const sock of socks) {
      let mine = 0;
      sock.on("data", (d: Buffer) => {
        if (bytes === 0) t0 = now();
        bytes += d.length;
        mine += d.length;
        t1 = now();
        if (r.expectBytes > 0 && mine >= r.expectBytes && mine - d.length < r.expectBytes && ++complete === socks.length) resolve();
        if (r.expectTotal !== undefined && bytes >= r.expectTotal) resolve();
      });
    }
    port.once("message", () => resolve());
  });
  port.postMessage({ type: "ready" } satisfies WorkerMsg);
  await finished;
  for (const sock of socks) sock.destroy();
  port.postMessage({ type: "done", t0, t1, bytes } satisfies WorkerMsg);
}

/** Serial request-reply: a responder and a requester on two connections, one request at a time. */
async function latency(r: LatencyRole, port: MessagePort): Promise<void> {
  const resp = await open(r.port);
  resp.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB svc 1\r\nPING\r\n');
  await waitText(resp, "PONG\r\n");
  // Each request is `MSG svc 1 inbox.x 2\r\nhi\r\n`: a fixed size, answered with a fixed reply.
  const reqFrame = Buffer.byteLength("MSG svc 1 inbox.x 2\r\nhi\r\n");
  const answer = Buffer.from("PUB inbox.x 2\r\nok\r\n");
  let pending = 0;
  resp.on("data", (d: Buffer) => {
    pending += d.length;
    while (pending >= reqFrame) {
      pending -= reqFrame;
      resp.write(answer);
    }
  });
  const req = await open(r.port);
  req.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB inbox.x 1\r\nPING\r\n');
  await waitText(req, "PONG\r\n");
  const replyFrame = Buffer.byteLength("MSG inbox.x 1 2\r\nok\r\n");
  let got = 0;
  let wake: () => void = () => {};
  req.on("data", (d: Buffer) => {
    got += d.length;
    if (got >= replyFrame) {
      got -= replyFrame;
      wake();
    }
  });
  port.postMessage({ type: "ready" } satisfies WorkerMsg);
  await new Promise<void>((resolve) => port.once("message", () => resolve()));
  const request = Buffer.from("PUB svc inbox.x 2\r\nhi\r\n");
  // Untimed warm-up, so JIT compilation (in the server and here) stays out of the percentiles.
  for (let i = 0; i < 1000; i++) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      req.write(request);
    });
  }
  const lat: number[] = [];
  const t0 = now();
  for (let i = 0; i < r.requests; i++) {
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      wake = resolve;
      req.write(request);
    });
    lat.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const t1 = now();
  req.destroy();
  resp.destroy();
  port.postMessage({ type: "done", t0, t1, bytes: 0, latencies: lat } satisfies WorkerMsg);
}

const role = workerData as Role;
const port = parentPort!;
const run = role.role === "pub" ? publisher(role, port) : role.role === "sub" ? subscriber(role, port) : latency(role, port);
run.catch((err: unknown) => port.postMessage({ type: "error", message: String(err) } satisfies WorkerMsg));
