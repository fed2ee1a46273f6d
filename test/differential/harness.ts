// Differential testing: the same raw bytes to nats-server and to gnat, outputs compared byte for
// byte after normalising INFO (its ids, ports and version differ by design).
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Parser, type ParserHandler } from "../../protocol/parser.js";
import type { Server, ServerOptionsInput } from "../../server/index.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, NATS_SERVER, spawnNatsServer } from "../kit/processes.js";
import { until } from "../kit/wait.js";

export { NATS_SERVER, freePort };
export const SKIP_REASON = "nats-server is not installed: differential tests SKIPPED (apt-get install -y nats-server; CI installs it)";
if (NATS_SERVER === null) console.warn(`\n*** ${SKIP_REASON} ***\n`);

/** Limits, in gnat's option names; the nats-server config is derived from them. */
export type Limits = Pick<ServerOptionsInput, "maxPayload" | "maxControlLine" | "maxConnections" | "maxSubscriptions" | "pingInterval" | "pingMax" | "maxPending">;

function natsConfig(port: number, l: Limits): string {
  const lines = [`listen: 127.0.0.1:${port}`];
  if (l.maxPayload !== undefined) lines.push(`max_payload: ${l.maxPayload}`);
  if (l.maxControlLine !== undefined) lines.push(`max_control_line: ${l.maxControlLine}`);
  if (l.maxConnections !== undefined) lines.push(`max_connections: ${l.maxConnections}`);
  if (l.maxSubscriptions !== undefined) lines.push(`max_subscriptions: ${l.maxSubscriptions}`);
  if (l.pingInterval !== undefined) lines.push(`ping_interval: "${l.pingInterval}ms"`);
  if (l.pingMax !== undefined) lines.push(`ping_max: ${l.pingMax}`);
  if (l.maxPending !== undefined) lines.push(`max_pending: ${l.maxPending}`);
  return lines.join("\n") + "\n";
}

export interface Pair {
  gnatPort: number;
  natsPort: number;
  close(): Promise<void>;
}

/**
 * Start gnat and nats-server with the same limits. `config` is nats-server config text (an
 * `authorization {}` block, say) given to both: gnat reads it with its own config reader.
 */
export async function startPair(limits: Limits = {}, config = ""): Promise<Pair> {
  const extra = config === "" ? {} : configToOptions(parseConfig(config)).options;
  const gnat: Server = await startGnat({ ...limits, ...extra });
  const dir = mkdtempSync(join(tmpdir(), "gnat-diff-"));
  const conf = join(dir, "nats.conf");
  // Ask the kernel for a free port, then hand it to nats-server.
  const natsPort = await freePort();
  // With a connection limit the readiness probe must be gone before a test counts on the
  // slots: nats-server may still hold it when the test connects, and then refuses the wrong
  // connection. Its monitoring port says when it no longer does.
  const monitorPort = limits.maxConnections === undefined ? 0 : await freePort();
  writeFileSync(conf, natsConfig(natsPort, limits) + (monitorPort === 0 ? "" : `http: 127.0.0.1:${monitorPort}\n`) + config);
  const nats = await spawnNatsServer(["-c", conf], natsPort);
  if (monitorPort !== 0) await untilNoConnections(monitorPort);
  return {
    gnatPort: gnat.port,
    natsPort,
    async close() {
      await nats.stop();
      await gnat.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Until nats-server's /varz counts no client connections (5 s at most). */
async function untilNoConnections(monitorPort: number): Promise<void> {
  await until(async () => {
    const varz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { connections: number };
    return varz.connections === 0;
  }, { timeout: 5000, what: "nats-server's /varz to count no connection" });
}

/** One step of a transcript: bytes to send on a connection. */
export interface Step {
  conn?: number;
  /**
   * Bytes, or a function of the connection's INFO (to sign its nonce, say) and of what it has
   * received so far (to answer a reply subject the server made up).
   */
  send: string | Buffer | ((info: Record<string, unknown>, received: string) => string);
  /**
   * Round-trip a PING on this connection after the step, so the next step (maybe on another
   * connection) happens after the server took this one. Default: on when there are several
   * connections. Never use it in the middle of an op (the PING would become payload).
   */
  sync?: boolean;
  /** Before the next step, wait until this text has arrived on this connection. */
  waitFor?: string;
}

export interface Transcript {
  /** How many connections (default 1). */
  conns?: number;
  steps: Step[];
  /**
   * How to know the output is complete: "pong" (default) sends PING on every connection at the
   * end, in connection order, and reads until its PONG or a close; "close" waits for the server
   * to close each connection; "bytes" waits for at least `bytes` on connection 0.
   */
  until?: "pong" | "close";
  /** Connections expected to be closed by the server: wait for their close, sync the rest. */
  waitClose?: number[];
  timeoutMs?: number;
}

export type Output = string[];

interface Conn {
  sock: Socket;
  out: string;
  closed: boolean;
  waiters: (() => void)[];
  /** PINGs the server has been sent as ops (counted by a parser over what we wrote). */
  pings: number;
  /** Ordinals (1-based) of the PONGs that answered our sync PINGs, to strip from the output. */
  syncPongs: Set<number>;
  parser: Parser;
}

/** Counts the PING ops in what a connection sends, so we know how many PONGs to wait for. */
function pingCounter(c: { pings: number }): ParserHandler {
  const nop = (): void => {};
  return {
    onConnect: nop, onInfo: nop, onPub: nop, onInvalidPublishSubject: nop, onSub: nop, onUnsub: nop, onPong: nop, onErr: nop, onParseError: nop,
    onPing: () => {
      c.pings++;
    },
  };
}

function send(c: Conn, bytes: Buffer): void {
  c.sock.write(bytes);
  c.parser.parse(bytes);
}

const INFO_RE = /^INFO \{.*?\} \r\n/;

/** The INFO a connection was greeted with, parsed. */
function infoOf(out: string): Record<string, unknown> {
  const end = out.indexOf("\r\n");
  return end < 0 ? {} : (JSON.parse(out.slice(5, end).trim()) as Record<string, unknown>);
}

/** Replace the INFO line (ids, ports, version legitimately differ) with a marker. */
export function normalise(out: string): string {
  return out.replace(INFO_RE, "INFO <info>\r\n");
}

/** Play a transcript against one server; the output of each connection, with `<closed>` marks. */
export async function play(port: number, t: Transcript): Promise<Output> {
  const n = t.conns ?? 1;
  const conns: Conn[] = [];
  for (let i = 0; i < n; i++) {
    const sock = connect(port, "127.0.0.1");
    const c = { sock, out: "", closed: false, waiters: [] as (() => void)[], pings: 0, syncPongs: new Set<number>() } as Conn;
    c.parser = new Parser(pingCounter(c), { maxPayload: Number.MAX_SAFE_INTEGER, maxControlLine: Number.MAX_SAFE_INTEGER });
    c.parser.headers = true;
    sock.on("data", (d) => {
      c.out += d.toString("latin1");
      for (const w of c.waiters.splice(0)) w();
    });
    sock.on("close", () => {
      c.closed = true;
      for (const w of c.waiters.splice(0)) w();
    });
    sock.on("error", () => {});
    conns.push(c);
    // Wait for INFO so sends are ordered after the server registered the connection.
    await waitFor(c, () => c.out.includes("\r\n") || c.closed, 3000);
  }
  const deadline = t.timeoutMs ?? 3000;
  for (const step of t.steps) {
    const c = conns[step.conn ?? 0]!;
    if (c.closed) continue;
    const bytes = typeof step.send === "function" ? step.send(infoOf(c.out), c.out) : step.send;
    send(c, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    if (step.sync ?? n > 1) await syncPong(c, deadline);
    const text = step.waitFor;
    if (text !== undefined) await waitFor(c, () => c.closed || c.out.includes(text), deadline);
  }
  const closing = new Set(t.until === "close" ? conns.map((_, i) => i) : t.waitClose ?? []);
  for (let i = 0; i < n; i++) {
    const c = conns[i]!;
    if (closing.has(i)) await waitFor(c, () => c.closed, deadline);
    else await syncPong(c, deadline);
  }
  const out = conns.map((c) => normalise(stripSync(c)) + (c.closed ? "<closed>" : ""));
  for (const c of conns) c.sock.destroy();
  return out;
}

const SYNC = Buffer.from("PING\r\n");

/**
 * Send a PING and wait for its PONG (or the close). Every PING sent so far is counted, so the
 * sync's PONG is exactly the last one expected, never an earlier PONG that arrived late.
 */
async function syncPong(c: Conn, ms: number): Promise<void> {
  if (c.closed) return;
  send(c, SYNC);
  const want = c.pings;
  await waitFor(c, () => c.closed || countPongs(c.out) >= want, ms);
  c.syncPongs.add(want);
}

function countPongs(s: string): number {
  let n = 0;
  let i = -1;
  while ((i = s.indexOf("PONG\r\n", i + 1)) >= 0) n++;
  return n;
}

/** The output without the PONGs our sync PINGs earned. */
function stripSync(c: Conn): string {
  const parts = c.out.split("PONG\r\n");
  let s = parts[0]!;
  for (let k = 1; k < parts.length; k++) s += (c.syncPongs.has(k) ? "" : "PONG\r\n") + parts[k]!;
  return s;
}

function waitFor(c: { waiters: (() => void)[] }, cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const timer = setTimeout(() => reject(new Error("timed out waiting for server output")), ms);
    const check = (): void => {
      if (cond()) {
        clearTimeout(timer);
        resolve();
      } else {
        c.waiters.push(check);
      }
    };
    c.waiters.push(check);
  });
}

export interface JetStreamPair {
  gnat: Server;
  /** nats-server -js, as a client URL. */
  natsUrl: string;
  /** Kill nats-server (and wait for it), close gnat, remove both store dirs. */
  stop(): Promise<void>;
}

/** gnat in-process and a nats-server child, both with JetStream on a store dir of their own. */
export async function startJetStreamPair(prefix: string): Promise<JetStreamPair> {
  const dirs = [mkdtempSync(join(tmpdir(), `gnat-${prefix}-`)), mkdtempSync(join(tmpdir(), `nats-${prefix}-`))];
  const gnat = await startGnat({ jetstream: true, storeDir: dirs[0]! });
  const port = await freePort();
  const nats = await spawnNatsServer(["-js", "-sd", dirs[1]!, "-a", "127.0.0.1", "-p", String(port)], port);
  return {
    gnat,
    natsUrl: `nats://127.0.0.1:${port}`,
    stop: async () => {
      await nats.stop();
      await gnat.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
