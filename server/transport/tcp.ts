// Tested by test/clients/clients.test.ts and test/server/robustness.test.ts.
// The TCP transport: a listener that hands each accepted socket to the server. Adapter only —
// no protocol or routing here.
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { Logger } from "pino";

export interface TcpListener {
  /** The bound port (the chosen one when asked for 0). */
  readonly port: number;
  /** Stop accepting; resolves once the listener is closed (after existing sockets end). */
  close(): Promise<void>;
}

const READ_SIZE = 64 * 1024;

/**
 * Node reads each chunk into a freshly allocated buffer. Under load that is tens of thousands of
 * 64 KiB allocations a second: garbage the GC collects late, and heap that glibc keeps long after
 * the load is gone. net.Socket can read into one buffer of ours instead (its `onread` option),
 * but only sockets it creates itself take that option, not those a server accepts; the same
 * switch exists on every socket under symbol keys. Where they are found (Node 20-22), accepted
 * sockets read into one buffer per listener and the chunk goes out as the usual "data" event (a
 * view, no copy). Reads are handled one at a time, and the connection copies whatever it keeps
 * (partial lines and payloads), so one buffer serves every socket. Elsewhere, plain reads.
 */
function readIntoShared(socket: Socket, shared: Buffer): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
  if (handle === undefined || typeof handle.useUserBuffer !== "function") return false;
  const keys = new Map<string, symbol>();
  for (const k of Object.getOwnPropertySymbols(socket)) if (k.description) keys.set(k.description, k);
  const kBuffer = keys.get("kBuffer");
  const kBufferCb = keys.get("kBufferCb");
  if (kBuffer === undefined || kBufferCb === undefined) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  s[kBuffer] = shared;
  s[kBufferCb] = (nread: number, buf: Buffer): void => {
    socket.emit("data", buf.subarray(0, nread));
  };
  handle.useUserBuffer(shared);
  return true;
}

/**
 * `plainReads: false` leaves each socket's reads alone: a TLS socket takes over the handle and
 * reads through OpenSSL, so it must not be switched to the shared buffer.
 */
export function listenTcp(host: string, port: number, onSocket: (s: Socket) => void, log: Logger, opts: { plainReads?: boolean } = {}): Promise<TcpListener> {
  const shared = Buffer.allocUnsafeSlow(READ_SIZE);
  let sharedReads = opts.plainReads !== false;
  // Paused on accept, so the read mode is set before the first read.
  const server: NetServer = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    // Small writes go out at once: protocol replies and latency matter more than packet count.
    socket.setNoDelay(true);
    if (sharedReads && !readIntoShared(socket, shared)) {
      sharedReads = false;
      log.debug("reading into fresh buffers: this Node has no user-buffer reads for accepted sockets");
    }
    onSocket(socket);
    if (opts.plainReads !== false) socket.resume();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", reject);
      server.on("error", (err) => log.error({ err }, "listener error"));
      const addr = server.address();
      const bound = typeof addr === "object" && addr !== null ? addr.port : port;
      resolve({
        port: bound,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
