// Tested by test/transport/websocket.test.ts (the node:http engine) and test/cluster/leaf-ws.test.ts.
// A `ws` library WebSocket as the peer (WsPeer) a WsClientSocket writes to: one the node:http
// engine accepted (engine-node.ts), or one a leafnode remote dialled (cluster/leaf-ws.ts).
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { WsPeer, WsSink } from "./engine-api.js";

/**
 * Past this many bytes queued, send() says the peer is congested, as a TCP socket's write()
 * does past its high-water mark.
 */
const HIGH_WATER = 64 * 1024;

/**
 * A `ws` WebSocket as a WsPeer. ws holds the bytes it is given until the socket has written
 * them, so what is queued is counted from each send until its callback, and the sink hears
 * "drain" when that count is back to 0: only then is the caller's buffer free again.
 */
export class WsLibPeer implements WsPeer {
  bufferedAmount = 0;
  sink: WsSink | null = null;
  private closed = false;
  private ending = false;

  /** `socket`: the connection under an accepted WebSocket, ended once the close frame is out; null on one this server dialled (ws closes it). */
  constructor(private readonly ws: WebSocket, private readonly socket: Duplex | null) {}

  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const n = bytes.length;
    this.bufferedAmount += n;
    this.ws.send(bytes, { binary: true }, () => this.written(n));
    return this.bufferedAmount < HIGH_WATER;
  }

  private written(n: number): void {
    this.bufferedAmount -= n;
    if (this.bufferedAmount !== 0) return;
    if (this.ending) this.socket?.end();
    else if (!this.closed) this.sink?.drain();
  }

  end(code: number): void {
    if (this.closed) return;
    this.closeNow();
    // The close frame goes out behind what is queued; then, as nats-server does, the TCP
    // connection is closed without waiting for the client's close frame.
    this.ws.close(code);
    this.ending = true;
    if (this.bufferedAmount === 0) this.socket?.end();
  }

  terminate(): void {
    if (this.closed) return;
    this.closeNow();
    this.ws.terminate();
  }

  pause(): boolean {
    this.ws.pause();
    return true;
  }

  resume(): void {
    this.ws.resume();
  }

  /** The sink hears "close" once, when the server or the client ends it, whichever is first. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink?.close();
  }
}
