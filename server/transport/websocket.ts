// The WebSocket transport (nats-server's `websocket {}` listener). Adapter only: each upgraded
// WebSocket is wrapped as a ClientSocket and handed to the server, which runs the same connection
// over it as over TCP. The NATS protocol travels in binary frames as a byte stream: the parser
// does not care where frames begin or end. The HTTP side (upgrade, framing, compression) is the
// engine's: uWebSockets.js or node:http with ws (http-engine.ts).
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { ClientSocket } from "../core/connection.js";
import type { WebSocketOptions } from "../options.js";
import { httpEngine, type HttpEngineName, type WsPeer, type WsSink } from "./http-engine.js";
import { loadMaterial } from "./tls.js";

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

/**
 * A WebSocket seen as the byte stream a connection reads and writes. Reads pause where the
 * engine can (node:http with ws: the producer is slowed on the wire, as a TCP one is). On the
 * uWS engine they cannot, so while paused the frames that still arrive wait here, in order, and
 * reach the connection when it resumes: the producer is held back from the receivers either way,
 * but on uWS what it sends meanwhile costs this server memory.
 */
export class WsClientSocket extends EventEmitter implements ClientSocket, WsSink {
  readonly connectionType = "WEBSOCKET";
  bytesWritten = 0;
  destroyed = false;
  writableNeedDrain = false;
  private paused = false;
  /** Frames that came while paused on an engine that cannot stop reading. */
  private held: Buffer[] = [];
  private replaying = false;

  /** `remotePort`: 0 on an accepted WebSocket (the engines do not say), the port dialled on a leafnode remote's. */
  constructor(private readonly peer: WsPeer, readonly remoteAddress: string, readonly remotePort = 0) {
    super();
  }

  /** Bytes the engine holds for a client that is not reading fast enough. */
  get writableLength(): number {
    return this.destroyed ? 0 : this.peer.bufferedAmount;
  }

  write(bytes: Uint8Array): boolean {
    if (this.destroyed) return false;
    const ok = this.peer.send(bytes);
    // The frame header counts too, as the engines' buffered amounts include it.
    this.bytesWritten += bytes.length + frameHeaderLength(bytes.length);
    if (!ok) this.writableNeedDrain = true;
    return ok;
  }

  end(bytes?: Uint8Array): void {
    if (this.destroyed) return;
    if (bytes !== undefined) this.write(bytes);
    this.destroyed = true;
    // A close frame after what is queued; the engine reports the close at once.
    this.peer.end(1000);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.peer.terminate();
  }

  pause(): this {
    this.paused = true;
    this.peer.pause();
    return this;
  }

  resume(): this {
    this.paused = false;
    this.peer.resume();
    // What waited goes first, until the connection pauses again: on the next tick, as a TCP
    // socket's data flows again after resume(), so whatever the caller does right after resuming
    // (greeting a client it held back, say) comes before it.
    if (this.held.length > 0 && !this.replaying) {
      this.replaying = true;
      process.nextTick(() => this.replay());
    }
    return this;
  }

  private replay(): void {
    this.replaying = false;
    while (this.held.length > 0 && !this.paused && !this.destroyed) this.emit("data", this.held.shift()!);
  }

  // ---- the engine's events ------------------------------------------------------------------

  /**
   * A message from the client. Its bytes may only be valid during the call (uWS); the connection
   * parses synchronously and copies what it keeps (partial lines, payloads), as it does for TCP
   * reads into a shared buffer, so a view is enough.
   */
  message(data: Buffer): void {
    if (this.paused || this.held.length > 0) {
      // A copy: uWS's bytes are only valid during this call.
      this.held.push(Buffer.from(data));
      return;
    }
    this.emit("data", data);
  }

  drain(): void {
    if (this.destroyed || this.peer.bufferedAmount !== 0) return;
    this.writableNeedDrain = false;
    this.emit("drain");
  }

  close(): void {
    this.destroyed = true;
    this.writableNeedDrain = false;
    this.emit("close");
  }
}

function frameHeaderLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** nats-server's leafNodeWSPath: an upgrade on a path under it is a leafnode connection. */
export const LEAF_WS_PATH = "/leafnode";

/** `onSocket`'s `leaf`: the upgrade's path was /leafnode… (a leaf dialling this hub, as nats-server tells them apart). */
export async function listenWebSocket(
  o: WebSocketOptions,
  limits: Limits,
  onSocket: (s: ClientSocket, leaf: boolean) => void,
  log: Logger,
  engine?: HttpEngineName | "auto",
): Promise<WebSocketListener> {
  const host = o.host || "0.0.0.0";
  const origins = new OriginCheck(o.sameOrigin === true, o.allowedOrigins ?? [], o.tls !== undefined);
  const e = await httpEngine(engine, log);
  return e.listenWebSocket({
    host,
    port: o.port,
    compression: o.compression === true,
    ...(o.tls !== undefined ? { tls: loadMaterial(o.tls) } : {}),
    maxPayload: limits.maxPayload + limits.maxControlLine + FRAME_MARGIN,
    admit: (u) => {
      const why = origins.check(u.origin, u.host);
      if (why !== null) log.error(`${u.remoteAddress} - websocket handshake error: origin not allowed: ${why}`);
      return why;
    },
    open: (peer, remoteAddress, path) => {
      const socket = new WsClientSocket(peer, remoteAddress);
      onSocket(socket, path.startsWith(LEAF_WS_PATH));
      return socket;
    },
  }, log);
}

/** nats-server's origin check (websocket.go checkOrigin), for `same_origin` and `allowed_origins`. */
class OriginCheck {
  private readonly allowed = new Map<string, { scheme: string; port: string }>();

  constructor(private readonly same: boolean, allowedOrigins: string[], private readonly tls = false) {
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
      const r = parseUrl(`${this.tls ? "https" : "http"}://${requestHost}`);
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
