// Tested by test/cluster/leaf-ws.test.ts.
// A leafnode remote over WebSocket (ws:// or wss:// URLs), as nats-server solicits one: an HTTP
// upgrade on the hub's websocket port at the path /leafnode, then the leafnode protocol in binary
// frames (masked, as a WebSocket client's are). The `ws` library is the client; its WebSocket is
// the peer of a WsClientSocket (transport/websocket.ts), the byte stream a LeafConn reads and
// writes, as an accepted WebSocket is an HTTP engine's peer.
import type { SecureContext } from "node:tls";
import { createRequire } from "node:module";
import type { WebSocket } from "ws";
import { LEAF_WS_PATH, WsClientSocket } from "../transport/websocket.js";
import { WsLibPeer } from "../transport/ws-lib-peer.js";

// `ws` is read at the first dial: only a remote with a ws:// URL needs it, and every file read
// at start-up delays the server's readiness.
let wsClass: typeof WebSocket | null = null;
const webSocketClass = (): typeof WebSocket => (wsClass ??= (createRequire(import.meta.url)("ws") as { WebSocket: typeof WebSocket }).WebSocket);

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
export function dialLeafWs(o: WsDialOptions, done: (err: Error | null, socket: WsClientSocket | null) => void): WebSocket {
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
    const peer = new WsLibPeer(ws, null);
    const s = new WsClientSocket(peer, o.host, o.port);
    peer.sink = s;
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      s.message(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    });
    ws.on("close", () => peer.closeNow());
    ws.on("error", (err: Error) => s.emit("error", err));
    // Held until the connection is made: the first frames (the INFO) wait for its listeners.
    s.pause();
    done(null, s);
  });
  return ws;
}
