// The WebSocket transport (nats-server's `websocket {}` listener), on uWebSockets.js. Adapter
// only: each upgraded WebSocket is wrapped as a ClientSocket and handed to the server, which runs
// the same connection over it as over TCP. The NATS protocol travels in binary frames as a byte
// stream: the parser does not care where frames begin or end.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import uWS from "uWebSockets.js";
import type { ClientSocket } from "../connection.js";
import type { WebSocketOptions } from "../options.js";

export interface WebSocketListener {
  /** The bound port (the chosen one when asked for 0). */
  readonly port: number;
  /** Stop accepting. Open WebSockets are the server's to close (gracefully, flushed first). */
  close(): void;
  /** Drop whatever is still open, HTTP-stage sockets included: the last step of a shutdown. */
  shutdown(): void;
}

interface Limits {
  maxPayload: number;
  maxControlLine: number;
}

/**
 * Room in one frame beyond a maximal PUB (payload plus control line): clients join what they
 * have buffered into one frame (nats.js flushes at 32 KiB), so a frame may carry a maximal
 * message behind smaller ones. Anything bigger is no client's doing and closes the socket.
 */
const FRAME_MARGIN = 64 * 1024;

/** What uWS keeps per WebSocket: the adapter, set once the socket opens. */
interface UserData {
  remoteAddress: string;
  socket: WsClientSocket | null;
}

/**
 * A uWS WebSocket seen as the byte stream a connection reads and writes.
 *
 * Reads cannot be paused: this uWS build has no pause()/resume() on a WebSocket (only on HTTP
 * responses), so flow control cannot stall a WebSocket producer; it keeps reading, and what
 * bounds a receiver behind it is max_pending (slow consumer), as for any receiver.
 */
export class WsClientSocket extends EventEmitter implements ClientSocket {
  readonly remoteAddress: string;
  readonly remotePort = 0;
  bytesWritten = 0;
  destroyed = false;
  writableNeedDrain = false;

  constructor(private readonly ws: uWS.WebSocket<UserData>, remoteAddress: string) {
    super();
    this.remoteAddress = remoteAddress;
  }

  /** Bytes uWS holds for a client that is not reading fast enough (its backpressure). */
  get writableLength(): number {
    return this.destroyed ? 0 : this.ws.getBufferedAmount();
  }

  write(bytes: Uint8Array): boolean {
    if (this.destroyed) return false;
    // uWS copies the bytes into the frame it builds (or its backpressure buffer), so the
    // caller's buffer is free again on return.
    const status = this.ws.send(bytes, true);
    // The frame header counts too, as getBufferedAmount() includes it.
    this.bytesWritten += bytes.length + frameHeaderLength(bytes.length);
    if (status === 1) return true;
    if (status === 2) {
      // Dropped: only happens past maxBackpressure, which is disabled; never lose bytes silently.
      this.destroy();
      return false;
    }
    this.writableNeedDrain = true;
    return false;
  }

  end(bytes?: Uint8Array): void {
    if (this.destroyed) return;
    if (bytes !== undefined) this.write(bytes);
    this.destroyed = true;
    // A close frame after what is queued; uWS calls the close handler at once.
    this.ws.end(1000);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ws.close();
  }

  /** No read pause for WebSockets in this uWS build: see the class comment. */
  pause(): this {
    return this;
  }

  resume(): this {
    return this;
  }

  // ---- called by the listener ---------------------------------------------------------------

  /**
   * A message from the client. Its ArrayBuffer is only valid during uWS's callback; the
   * connection parses synchronously and copies what it keeps (partial lines, payloads), as it
   * does for TCP reads into a shared buffer, so a view is enough.
   */
  onMessage(message: ArrayBuffer): void {
    this.emit("data", Buffer.from(message));
  }

  onDrain(): void {
    if (this.destroyed || this.ws.getBufferedAmount() !== 0) return;
    this.writableNeedDrain = false;
    this.emit("drain");
  }

  onClose(): void {
    this.destroyed = true;
    this.writableNeedDrain = false;
    this.emit("close");
  }
}

function frameHeaderLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

export function listenWebSocket(
  o: WebSocketOptions,
  limits: Limits,
  onSocket: (s: ClientSocket) => void,
  log: Logger,
): Promise<WebSocketListener> {
  const host = o.host || "0.0.0.0";
  const origins = new OriginCheck(o.sameOrigin === true, o.allowedOrigins ?? []);
  const app = uWS.App();
  app.ws<UserData>("/*", {
    compression: o.compression === true ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
    maxPayloadLength: limits.maxPayload + limits.maxControlLine + FRAME_MARGIN,
    // Backpressure is the connection's business (max_pending, write deadline): uWS must never
    // drop a frame on its own, which it does past maxBackpressure unless that is 0.
    maxBackpressure: 0,
    // Liveness is NATS's PING/PONG, as with nats-server, which sends no WebSocket pings. (uWS
    // still answers the client's WebSocket pings.)
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, context) => {
      // Everything is read from req now: it is only valid until this handler returns.
      const key = req.getHeader("sec-websocket-key");
      const protocol = req.getHeader("sec-websocket-protocol");
      const extensions = req.getHeader("sec-websocket-extensions");
      const origin = req.getHeader("origin") || req.getHeader("sec-websocket-origin");
      const why = origins.check(origin, req.getHeader("host"));
      const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
      if (why !== null) {
        log.error(`${remoteAddress} - websocket handshake error: origin not allowed: ${why}`);
        res.writeStatus("403 Forbidden").end("Forbidden\n");
        return;
      }
      const data: UserData = { remoteAddress, socket: null };
      res.upgrade(data, key, protocol, extensions, context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      const socket = new WsClientSocket(ws, data.remoteAddress);
      data.socket = socket;
      onSocket(socket);
    },
    message: (ws, message) => ws.getUserData().socket?.onMessage(message),
    drain: (ws) => ws.getUserData().socket?.onDrain(),
    close: (ws) => ws.getUserData().socket?.onClose(),
  });
  // Not an upgrade: answer as nats-server's handshake does (http.Error: status text as body).
  app.any("/*", (res, req) => {
    const get = req.getMethod().toLowerCase() === "get";
    res.writeStatus(get ? "400 Bad Request" : "405 Method Not Allowed").end(get ? "Bad Request\n" : "Method Not Allowed\n");
  });
  return new Promise((resolve, reject) => {
    app.listen(host, o.port, (sock) => {
      if (sock === false) {
        reject(new Error(`Unable to listen for websocket connections: listen tcp ${host}:${o.port}: address unavailable or in use`));
        return;
      }
      const port = uWS.us_socket_local_port(sock as unknown as uWS.us_socket);
      resolve({
        port,
        close: () => uWS.us_listen_socket_close(sock),
        // Sockets still in the HTTP stage would otherwise keep the process alive.
        shutdown: () => (app as { close?: () => void }).close?.(),
      });
    });
  });
}

/** nats-server's origin check (websocket.go checkOrigin), for `same_origin` and `allowed_origins`. */
class OriginCheck {
  private readonly allowed = new Map<string, { scheme: string; port: string }>();

  constructor(private readonly same: boolean, allowedOrigins: string[]) {
    for (const ao of allowedOrigins) {
      const u = parseUrl(ao);
      if (u !== null) this.allowed.set(u.host, { scheme: u.scheme, port: u.port });
    }
  }

  /** null when the upgrade may go on, else why not (nats-server's words). */
  check(origin: string, requestHost: string): string | null {
    if (!this.same && this.allowed.size === 0) return null;
    // No Origin: not a browser, and any origin a non-browser sends could be made up anyway.
    if (origin === "") return null;
    const o = parseUrl(origin);
    if (o === null) return `parse "${origin}": invalid URI for request`;
    if (this.same) {
      const r = parseUrl(`http://${requestHost}`);
      if (r === null || r.host !== o.host || r.port !== o.port) return "not same origin";
    }
    if (this.allowed.size > 0) {
      const a = this.allowed.get(o.host);
      if (a === undefined || a.scheme !== o.scheme || a.port !== o.port) return "not in the allowed list";
    }
    return null;
  }
}

/** scheme, host and port (the scheme's default when absent), as nats-server compares them. */
function parseUrl(s: string): { scheme: string; host: string; port: string } | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  const scheme = u.protocol.replace(/:$/, "");
  const port = u.port || (scheme === "https" ? "443" : "80");
  return { scheme, host: u.hostname.toLowerCase(), port };
}
