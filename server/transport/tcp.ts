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

export function listenTcp(host: string, port: number, onSocket: (s: Socket) => void, log: Logger): Promise<TcpListener> {
  const server: NetServer = createServer({ noDelay: true }, (socket) => {
    // Small writes go out at once: protocol replies and latency matter more than packet count.
    socket.setNoDelay(true);
    onSocket(socket);
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
