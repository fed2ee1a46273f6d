// A seeded protocol fuzzer: many loopback connections send valid, mutated and random client
// frames, split at random places, at a live server; everything the server sends back is scanned
// for -ERR texts outside nats-server's set. Used by the CI test (bounded, about half a minute)
// and by `npm run fuzz` (a long campaign). Only ever dials 127.0.0.1, and stops by itself.
import { connect, type Socket } from "node:net";
import { Errors } from "../../protocol/errors.js";

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every -ERR text nats-server sends to a client (gnat's table is a subset, checked elsewhere). */
export const ALLOWED_ERRORS = new Set<string>([
  ...Object.values(Errors).map((e) => e.text),
  "Authorization Violation",
  "Authentication Timeout",
  "Slow Consumer",
]);

const SUBJECTS = ["foo", "foo.bar", "foo.*", "foo.>", ">", "*", "a.b.c.d", "_INBOX.x.y", "$JS.API.INFO", "", "foo..bar", ".foo", "foo.", "fo o", "x\tz"];
const OPS = ["PUB", "HPUB", "SUB", "UNSUB", "PING", "PONG", "CONNECT", "INFO", "MSG", "+OK", "-ERR", "pub", "Sub", "PIN", "P"];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function num(r: () => number): string {
  const k = r();
  if (k < 0.6) return String(Math.floor(r() * 40));
  if (k < 0.7) return "-1";
  if (k < 0.8) return String(Math.floor(r() * 5_000_000));
  if (k < 0.9) return "99999999999999999999";
  return pick(r, ["", "x", "1x", "0", " 5"]);
}

/** One client frame: valid most of the time, then mutated or random. */
export function frame(r: () => number, token = ""): Buffer {
  const k = r();
  let s: string;
  if (k < 0.25) {
    const body = "x".repeat(Math.floor(r() * 64));
    s = `PUB ${pick(r, SUBJECTS)} ${r() < 0.3 ? pick(r, SUBJECTS) + " " : ""}${body.length}\r\n${body}\r\n`;
  } else if (k < 0.35) {
    const hdr = `NATS/1.0\r\nK: ${"v".repeat(Math.floor(r() * 20))}\r\n\r\n`;
    const body = "y".repeat(Math.floor(r() * 32));
    s = `HPUB ${pick(r, SUBJECTS)} ${hdr.length} ${hdr.length + body.length}\r\n${hdr}${body}\r\n`;
  } else if (k < 0.5) {
    s = `SUB ${pick(r, SUBJECTS)} ${r() < 0.3 ? "q " : ""}${Math.floor(r() * 100)}\r\n`;
  } else if (k < 0.58) {
    s = `UNSUB ${Math.floor(r() * 100)}${r() < 0.5 ? " " + num(r) : ""}\r\n`;
  } else if (k < 0.66) {
    s = pick(r, ["PING\r\n", "PONG\r\n", "ping\n", "PING\n"]);
  } else if (k < 0.72) {
    const opts = [`"verbose":${r() < 0.3}`, `"pedantic":${r() < 0.5}`, `"headers":${r() < 0.7}`, `"no_responders":${r() < 0.3}`,
      `"protocol":${Math.floor(r() * 3)}`, `"echo":${r() < 0.8}`, `"name":"f${Math.floor(r() * 9)}"`,
      ...(token !== "" ? [`"auth_token":"${r() < 0.8 ? token : "wrong"}"`, `"auth_token":"${token}"`] : [])];
    s = `CONNECT {${opts.filter(() => r() < 0.6).join(",")}}\r\n`;
  } else if (k < 0.85) {
    // A valid-looking line with wrong argument counts and numbers.
    const n = Math.floor(r() * 5);
    const args: string[] = [];
    for (let i = 0; i < n; i++) args.push(r() < 0.5 ? pick(r, SUBJECTS) : num(r));
    s = `${pick(r, OPS)} ${args.join(pick(r, [" ", "  ", "\t"]))}${pick(r, ["\r\n", "\n", "\r", ""])}`;
  } else {
    // Random bytes.
    const b = Buffer.alloc(1 + Math.floor(r() * 40));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  const b = Buffer.from(s, "latin1");
  // Mutate some valid frames: flip, drop or duplicate a byte.
  if (r() < 0.1 && b.length > 0) {
    const i = Math.floor(r() * b.length);
    const m = r();
    if (m < 0.4) b[i] = Math.floor(r() * 256);
    else if (m < 0.7) return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    else return Buffer.concat([b.subarray(0, i + 1), b.subarray(i)]);
  }
  return b;
}

export interface FuzzResult {
  frames: number;
  bytes: number;
  connections: number;
  /** -ERR texts seen, with counts. */
  errors: Map<string, number>;
  /** -ERR texts outside nats-server's set. */
  unexpected: string[];
  /** Connections the server closed. */
  closedByServer: number;
  ms: number;
}

/**
 * Run `connections` at a time until `frames` frames were sent or `maxMs` passed. Each connection
 * sends up to `perConnection` frames, in chunks cut at random places, then ends with a PING and
 * waits (bounded) for the server's answer or close.
 */
export async function fuzz(port: number, opts: { seed: number; frames: number; maxMs: number; connections?: number; perConnection?: number; token?: string }): Promise<FuzzResult> {
  const r = prng(opts.seed);
  const started = Date.now();
  const res: FuzzResult = { frames: 0, bytes: 0, connections: 0, errors: new Map(), unexpected: [], closedByServer: 0, ms: 0 };
  const parallel = opts.connections ?? 16;
  const per = opts.perConnection ?? 40;
  const more = (): boolean => res.frames < opts.frames && Date.now() - started < opts.maxMs;

  const one = async (): Promise<void> => {
    res.connections++;
    const chunks: Buffer[] = [];
    const token = opts.token ?? "";
    // With auth on, most connections start by authenticating, so the fuzz reaches past CONNECT.
    if (token !== "" && r() < 0.8) chunks.push(Buffer.from(`CONNECT {"auth_token":"${token}","verbose":${r() < 0.3}}\r\n`));
    for (let i = 0; i < per && more(); i++) {
      const f = frame(r, token);
      chunks.push(f);
      res.frames++;
      res.bytes += f.length;
    }
    chunks.push(Buffer.from("PING\r\n"));
    const all = Buffer.concat(chunks);
    // Cut the byte stream anywhere: the parser must not care where reads split.
    const cuts: number[] = [0];
    while (cuts[cuts.length - 1]! < all.length) cuts.push(Math.min(all.length, cuts[cuts.length - 1]! + 1 + Math.floor(r() * 700)));
    const seed = Math.floor(r() * 2 ** 31);
    await new Promise<void>((resolve) => {
      const sock: Socket = connect(port, "127.0.0.1");
      // Only the tail of the output is kept: -ERR lines are counted as they arrive.
      let tail = "";
      let pongs = 0;
      let pongsAtEnd = -1;
      let done = false;
      const finish = (closedByServer: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (closedByServer) res.closedByServer++;
        sock.destroy();
        resolve();
      };
      const timer = setTimeout(() => finish(false), 5_000);
      sock.on("data", (d: Buffer) => {
        const text = tail + d.toString("latin1");
        let cut = 0;
        for (const m of text.matchAll(/-ERR '([^'\r\n]*)'\r\n|PONG\r\n/g)) {
          cut = m.index + m[0].length;
          if (m[1] === undefined) {
            pongs++;
            continue;
          }
          const e = m[1];
          res.errors.set(e, (res.errors.get(e) ?? 0) + 1);
          if (!ALLOWED_ERRORS.has(e) && !e.startsWith("Permissions Violation for ")) res.unexpected.push(e);
        }
        tail = text.slice(Math.max(cut, text.length - 256));
        // The last PING was sent: one more PONG than there were then answers it.
        if (pongsAtEnd >= 0 && pongs > pongsAtEnd) finish(false);
      });
      sock.on("close", () => finish(true));
      sock.on("error", () => {});
      sock.on("connect", () => {
        const w = prng(seed);
        let i = 1;
        const writeSome = (): void => {
          while (i < cuts.length && !sock.destroyed) {
            sock.write(all.subarray(cuts[i - 1]!, cuts[i]!));
            i++;
            if (w() < 0.2) {
              setImmediate(writeSome);
              return;
            }
          }
          pongsAtEnd = pongs;
        };
        writeSome();
      });
    });
  };

  const workers: Promise<void>[] = [];
  for (let k = 0; k < parallel; k++) {
    workers.push((async () => {
      while (more()) await one();
    })());
  }
  await Promise.all(workers);
  res.ms = Date.now() - started;
  return res;
}
