// Tested by test/transport/http-engine.test.ts.
// What an HTTP/WebSocket engine is (http-engine.ts picks one): the request, reply, listener and
// WebSocket peer interfaces both engine-node.ts and engine-uws.ts implement, and the bytes they share.
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
  /** `path`: the upgrade request's path ("/leafnode…" makes a leafnode connection, as in nats-server). */
  open(peer: WsPeer, remoteAddress: string, path: string): WsSink;
  /** wss://: the certificate and key (PEM), and the CA when one was given. Absent: ws://. */
  tls?: { cert: Buffer | string; key: Buffer | string; ca?: Buffer | string };
}

export interface HttpEngine {
  readonly name: HttpEngineName;
  listenHttp(host: string, port: number, handler: HttpHandler, log: Logger): Promise<Listener>;
  listenWebSocket(o: WsListenOptions, log: Logger): Promise<Listener>;
}

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
