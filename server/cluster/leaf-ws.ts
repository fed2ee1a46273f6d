// Tested by test/cluster/leaf-ws.test.ts.
// A leafnode remote over WebSocket (ws:// or wss:// URLs), as nats-server solicits one: an HTTP
// upgrade on the hub's websocket port at the path /leafnode, then the leafnode protocol in binary
// frames (masked, as a WebSocket client's are). The `ws` library is the client; this file makes its
// WebSocket the byte stream (ClientSocket) a LeafConn reads and writes, as transport/websocket.ts
// does for the server side.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import type { SecureContext } from "node:tls";
import type { WebSocket } from "ws";
import type { ClientSocket } from "../core/connection-types.js";

// `ws` is read at the first dial: only a remote with a ws:// URL needs it, and every file read
// at start-up delays the server's readiness.
let wsClass: typeof WebSocket | null = null;
const webSocketClass = (): typeof WebSocket => (wsClass ??= (createRequire(import.meta.url)("ws") as { WebSocket: typeof WebSocket }).WebSocket);

/** nats-server's leafNodeWSPath: the upgrade path that makes a leafnode connection, not a client's. */
export const LEAF_WS_PATH = "/leafnode";

export class WsLeafSocket extends EventEmitter implements ClientSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  bytesWritten = 0;
  destroyed = false;
  writableNeedDrain = false;
  private paused = false;
  private held: Buffer[] = [];

  constructor(private readonly ws: WebSocket, host: string, port: number) {
    super();
    this.remoteAddress = host;
    this.remotePort = port;
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const b = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (this.paused) this.held.push(b);
      else this.emit("data", b);
    });
    ws.on("close", () => {
      this.destroyed = true;
      this.emit("close");
    });
    ws.on("error", (err: Error) => this.emit("error", err));
  }

  get writableLength(): number {
    return this.destroyed ? 0 : this.ws.bufferedAmount;
  }

  write(bytes: Uint8Array): boolean {
    if (this.destroyed) return false;
    this.bytesWritten += bytes.length;
    // ws queues what the socket does not take yet; it reports no back-pressure of its own, so
    // the buffered amount is checked after the send and a drain is emitted once it empties.
    this.ws.send(bytes, { binary: true }, () => {
      if (this.writableNeedDrain && this.ws.bufferedAmount === 0) {
        this.writableNeedDrain = false;
        this.emit("drain");
      }
    });
    if (this.ws.bufferedAmount > 1024 * 1024) this.writableNeedDrain = true;
    return !this.writableNeedDrain;
  }

  pause(): this {
    this.paused = true;
    this.ws.pause();
    return this;
  }

  resume(): this {
    this.paused = false;
    this.ws.resume();
    while (this.held.length > 0 && !this.paused && !this.destroyed) this.emit("data", this.held.shift()!);
    return this;
  }

  end(bytes?: Uint8Array): void {
    if (this.destroyed) return;
    if (bytes !== undefined) this.write(bytes);
    this.destroyed = true;
    this.ws.close(1000);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ws.terminate();
  }
}

export interface WsDialOptions {
  host: string;
  port: number;
  /** wss:// */
  secure: boolean;
  /** TLS for wss:// (the remote's tls block; the system's CAs without it). */
  secureContext?: SecureContext;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
}

/**
 * Open the WebSocket; `done` gets the socket once the upgrade succeeded (the hub's INFO is the
 * first message after it), or the error (a refused upgrade names the HTTP status).
 */
export function dialLeafWs(o: WsDialOptions, done: (err: Error | null, socket: WsLeafSocket | null) => void): WebSocket {
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  const url = `${o.secure ? "wss" : "ws"}://${host}:${o.port}${LEAF_WS_PATH}`;
  const ws = new (webSocketClass())(url, {
    handshakeTimeout: o.timeoutMs,
    perMessageDeflate: false,
    ...(o.secure ? {
      ...(o.secureContext !== undefined ? { secureContext: o.secureContext } : {}),
      rejectUnauthorized: o.rejectUnauthorized !== false,
    } : {}),
  });
  let settled = false;
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    done(err, null);
  };
  ws.once("error", fail);
  ws.once("unexpected-response", (_req, res) => {
    fail(new Error(`websocket handshake error: ${res.statusCode ?? 0} ${res.statusMessage ?? ""}`.trimEnd()));
    ws.terminate();
  });
  ws.once("open", () => {
    if (settled) return;
    settled = true;
    ws.off("error", fail);
    const s = new WsLeafSocket(ws, o.host, o.port);
    // Held until the connection is made: the first frames (the INFO) wait for its listeners.
    s.pause();
    done(null, s);
  });
  return ws;
}
