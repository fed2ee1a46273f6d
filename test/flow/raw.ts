// Raw-protocol peers for flow-control tests: a publisher that writes PUB frames as fast as the
// kernel takes them, and subscribers that check every message arrives once, in order.
import { connect, type Socket } from "node:net";

const SEQ_DIGITS = 10;

/** A payload of `size` bytes that starts with its sequence number (zero-padded decimal). */
export function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(size, SEQ_DIGITS), 120);
  b.write(String(seq).padStart(SEQ_DIGITS, "0"), 0, "latin1");
  return b;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Wait for the PONG that answers everything written so far. */
function synced(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer): void => {
      seen += d.toString("latin1");
      if (seen.includes("PONG\r\n")) {
        s.off("data", onData);
        resolve();
      }
    };
    s.on("data", onData);
    s.once("close", () => reject(new Error("closed before PONG")));
    s.write("PING\r\n");
  });
}

export interface RawSubscriber {
  readonly socket: Socket;
  /** Messages received in order so far. */
  received(): number;
  /** Resolves once `n` messages arrived in order; rejects on a gap, a duplicate or a close. */
  done: Promise<void>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
}

/**
 * Subscribe to `subject` and count MSG frames. `slowMs` makes a slow but steady reader: it pauses
 * after every chunk and reads again `slowMs` later.
 */
export async function rawSubscriber(port: number, subject: string, expect: number,
  opts: { slowMs?: number; queue?: string; connect?: Record<string, unknown> } = {}): Promise<RawSubscriber> {
  const s = await open(port);
  s.on("error", () => {});
  s.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...opts.connect })}\r\nSUB ${subject} ${opts.queue ?? ""} 1\r\n`.replace("  ", " "));
  await synced(s);
  let next = 1;
  let count = 0;
  let rest: Buffer | null = null;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {}); // a subscriber expected to be cut off need not be awaited
  const closed = new Promise<void>((res) => s.once("close", () => res()));
  void closed.then(() => rejectDone(new Error(`connection closed after ${count} of ${expect} messages`)));
  let failed = false;
  const onChunk = (chunk: Buffer): void => {
    if (failed) return;
    let buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
    rest = null;
    let off = 0;
    for (;;) {
      const eol = buf.indexOf("\r\n", off, "latin1");
      if (eol < 0) break;
      const line = buf.toString("latin1", off, eol);
      if (line.startsWith("PING")) {
        s.write("PONG\r\n");
        off = eol + 2;
        continue;
      }
      if (!line.startsWith("MSG ")) {
        failed = true;
        rejectDone(new Error(`unexpected line: ${line}`));
        return;
      }
      const size = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (buf.length < eol + 2 + size + 2) break;
      const seq = Number(buf.toString("latin1", eol + 2, eol + 2 + SEQ_DIGITS));
      if (seq !== next) {
        failed = true;
        rejectDone(new Error(`expected message ${next}, got ${seq}`));
        return;
      }
      next++;
      count++;
      off = eol + 2 + size + 2;
    }
    if (off < buf.length) rest = buf.subarray(off);
    if (count === expect) resolveDone();
  };
  s.on("data", (chunk: Buffer) => {
    onChunk(chunk);
    if (opts.slowMs !== undefined) {
      s.pause();
      setTimeout(() => s.resume(), opts.slowMs);
    }
  });
  return { socket: s, received: () => count, done, closed };
}

/**
 * Publish `n` messages of `size` bytes to `subject` as raw PUB frames, writing whenever the
 * socket accepts more (as fast as the kernel takes them). Resolves once the server has read them
 * all (a PONG after the last frame).
 */
export async function rawPublish(port: number, subject: string, n: number, size: number,
  connect: Record<string, unknown> = {}): Promise<Socket> {
  const s = await open(port);
  s.on("error", () => {});
  s.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connect })}\r\n`);
  const perBatch = Math.max(1, Math.floor(65536 / (size + 32)));
  for (let seq = 1; seq <= n; ) {
    const parts: Buffer[] = [];
    for (let k = 0; k < perBatch && seq <= n; k++, seq++) {
      parts.push(Buffer.from(`PUB ${subject} ${Math.max(size, SEQ_DIGITS)}\r\n`, "latin1"), payload(seq, size), Buffer.from("\r\n"));
    }
    if (!s.write(Buffer.concat(parts))) {
      await new Promise<void>((resolve, reject) => {
        const onClose = (): void => reject(new Error("publisher connection closed"));
        s.once("close", onClose);
        s.once("drain", () => {
          s.off("close", onClose);
          resolve();
        });
      });
    }
  }
  await synced(s);
  return s;
}
