// Tested by test/cluster/leaf-ws.test.ts.
// A leafnode remote over WebSocket (ws:// or wss:// URLs), as nats-server solicits one: an HTTP
// upgrade on the hub's websocket port at the path /leafnode, then the leafnode protocol in binary
// frames (masked, as a WebSocket client's are). The `ws` library is the client; its WebSocket is
// the peer of a WsClientSocket (transport/websocket.ts), the byte stream a LeafConn reads and
// writes, as an accepted WebSocket is an HTTP engine's peer.
import type { SecureContext } from "node:tls";
import { createRequire } from "node:module";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import { LEAF_WS_PATH, WsClientSocket } from "../transport/websocket.js";
import { WsLibPeer } from "../transport/ws-lib-peer.js";
import { WS_COMPRESS_THRESHOLD, checkAnswer } from "../transport/ws-compression.js";

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
  /** Offer permessage-deflate (`ws_compression`), as nats-server's remotes offer it. */
  compression: boolean;
  log: Logger;
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
    // nats-server's offer (no context takeover either way, no window parameter) and its deflate:
    // fastest level, nothing of 64 bytes or less.
    perMessageDeflate: o.compression
      ? { serverNoContextTakeover: true, clientNoContextTakeover: true, clientMaxWindowBits: false as unknown as number, threshold: WS_COMPRESS_THRESHOLD + 1, zlibDeflateOptions: { level: 1 } }
      : false,
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
  // The hub's answer as it wrote it (ws's `extensions` names the extensions only).
  let answered = "";
  ws.once("upgrade", (res) => { answered = String(res.headers["sec-websocket-extensions"] ?? ""); });
  ws.once("open", () => {
    if (settled) return;
    // A hub that answers permessage-deflate must have taken no context takeover both ways (else
    // nats-server's error); one that does not answer it runs uncompressed.
    const answer = checkAnswer(answered);
    if (answer.error !== null) {
      fail(new Error(answer.error));
      ws.terminate();
      return;
    }
    settled = true;
    ws.off("error", fail);
    o.log.debug(`Leafnode compression=${answer.compress} masking=true`);
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
