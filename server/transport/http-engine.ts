// The HTTP and WebSocket engine behind the monitoring port and the `websocket {}` listener: one
// small interface, two implementations. uWebSockets.js is the fast path where a native build
// loads; Node's own node:http with the `ws` package serves everywhere else (Node 22 and 24 with
// the uWS build we can get, another libc, another platform). Both answer the same requests with
// the same bytes, refuse a port that is taken, and can pause a WebSocket's reads.
//
// The engine is chosen once per process, at the first listener: `GNAT_HTTP_ENGINE=uws|node` (or
// the `httpEngine` option) forces one; otherwise uWS when its binary for this Node loads.
import type { Logger } from "pino";

export type HttpEngineName = "uws" | "node";

/** What a handler may read of a request. */
export interface HttpRequest {
  /** Lower case: "get", "head", … */
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** The query string, without "?" ("" when none). */
  readonly query: string;
}

export interface HttpReply {
  status: number;
  body: string | Uint8Array;
  contentType: string;
  /** More headers (Content-Length and Date are the engine's). */
  headers?: Record<string, string>;
}

export interface HttpResponder {
  /** Answer; once only. A no-op after the client went away. */
  send(r: HttpReply): void;
  /** For an answer that comes later: called if the client goes away first. */
  onAborted(cb: () => void): void;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponder) => void;

export interface Listener {
  /** The bound port (the chosen one when asked for 0). */
  readonly port: number;
  /** Stop accepting; what is open stays open. */
  close(): void;
  /** Drop whatever is still open: the last step of a shutdown. */
  shutdown(): void;
}

/** An upgraded WebSocket, as the engine offers it to the transport. */
export interface WsPeer {
  /** Queue one binary message. false: the peer is congested and a drain will follow. */
  send(bytes: Uint8Array): boolean;
  /** Bytes queued for the client and not yet handed to the kernel (frame headers included). */
  readonly bufferedAmount: number;
  /** A close frame after what is queued. */
  end(code: number): void;
  /** Drop the connection at once. */
  terminate(): void;
  /** Stop and restart reading (flow control). false: this engine cannot. */
  pause(): boolean;
  resume(): void;
}

/** What the transport does with a peer's events. */
export interface WsSink {
  message(data: Buffer): void;
  drain(): void;
  close(): void;
}

export interface WsUpgrade {
  origin: string;
  host: string;
  remoteAddress: string;
}

export interface WsListenOptions {
  host: string;
  port: number;
  compression: boolean;
  /** The largest message accepted; a bigger one closes the socket. */
  maxPayload: number;
  /** null: upgrade; otherwise refused with 403 (the reason is the caller's to log). */
  admit(u: WsUpgrade): string | null;
  open(peer: WsPeer, remoteAddress: string): WsSink;
}

export interface HttpEngine {
  readonly name: HttpEngineName;
  listenHttp(host: string, port: number, handler: HttpHandler, log: Logger): Promise<Listener>;
  listenWebSocket(o: WsListenOptions, log: Logger): Promise<Listener>;
}

export const ENGINE_ENV = "GNAT_HTTP_ENGINE";

export const TEXT_PLAIN = "text/plain; charset=utf-8";

/** nats-server's status lines' texts, for the codes these listeners answer with. */
export const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
};

/** The answer to a plain request on the WebSocket port, as nats-server's handshake gives it. */
export function notAnUpgrade(method: string): HttpReply {
  const get = method === "get";
  return get
    ? { status: 400, body: "Bad Request\n", contentType: TEXT_PLAIN }
    : { status: 405, body: "Method Not Allowed\n", contentType: TEXT_PLAIN };
}

/** The error a listener gives for a port it cannot have, as nats-server words it. */
export function listenError(what: string, host: string, port: number, cause?: string): Error {
  return new Error(`${what}: listen tcp ${host}:${port}: ${cause ?? "bind: address already in use"}`);
}

let chosen: Promise<HttpEngine> | null = null;
let chosenName: HttpEngineName | null = null;

/** Which engine is in use, or null before the first listener. */
export function httpEngineName(): HttpEngineName | null {
  return chosenName;
}

/**
 * The process's engine. `want` (the option) wins over the environment; a forced uWS that cannot
 * load is an error rather than a silent fallback.
 */
export function httpEngine(want?: HttpEngineName | "auto", log?: Logger): Promise<HttpEngine> {
  const env = process.env[ENGINE_ENV];
  const forced = want !== undefined && want !== "auto" ? want : env === "uws" || env === "node" ? env : null;
  if (chosen !== null && (forced === null || forced === chosenName)) return chosen;
  const p = load(forced, log);
  // The first choice stays the process's default; a forced other one serves only its caller.
  if (chosen === null) {
    chosen = p;
    p.then((e) => { chosenName = e.name; }, () => { chosen = null; });
  }
  return p;
}

async function load(forced: HttpEngineName | null, log?: Logger): Promise<HttpEngine> {
  if (forced !== "node") {
    const { loadUws, uwsEngine } = await import("./engine-uws.js");
    const native = loadUws();
    if (native.ok) {
      log?.info("HTTP and WebSocket on uWebSockets.js (native)");
      return uwsEngine(native.uws);
    }
    if (forced === "uws") throw new Error(`uWebSockets.js cannot load on Node ${process.versions.node} (${process.platform}-${process.arch}): ${native.why}`);
    log?.info(`HTTP and WebSocket on node:http and ws (uWebSockets.js has no working build here: ${native.why})`);
  } else {
    log?.info(`HTTP and WebSocket on node:http and ws (${ENGINE_ENV} or httpEngine says so)`);
  }
  const { nodeEngine } = await import("./engine-node.js");
  return nodeEngine();
}
