// Tested by test/transport/http-engine.test.ts.
// The node:http engine, with the `ws` package for WebSockets: the path that runs wherever Node
// does. It answers as the uWS engine does (engine-uws.ts), and unlike that build it can pause a
// WebSocket's reads, so flow control slows a WebSocket producer as it does a TCP one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import {
  STATUS_TEXT, TEXT_PLAIN, listenError, notAnUpgrade,
  type HttpEngine, type HttpHandler, type HttpReply, type HttpResponder, type Listener, type WsListenOptions,
} from "./engine-api.js";
import { WsLibPeer } from "./ws-lib-peer.js";
import { WS_COMPRESS_THRESHOLD, acceptedExtensions } from "./ws-compression.js";

export function nodeEngine(): HttpEngine {
  return { name: "node", listenHttp, listenWebSocket };
}

/** Go's words for the listen errors a port can meet. */
const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "bind: address already in use",
  EADDRNOTAVAIL: "bind: cannot assign requested address",
  EACCES: "bind: permission denied",
};

function reply(res: ServerResponse, r: HttpReply): void {
  const body = typeof r.body === "string" ? Buffer.from(r.body) : r.body;
  res.writeHead(r.status, STATUS_TEXT[r.status] ?? "Error", {
    "Content-Type": r.contentType,
    "Content-Length": body.length,
    ...r.headers,
  });
  res.end(body);
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  return q < 0 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function serve(req: IncomingMessage, res: ServerResponse, handler: HttpHandler, log: Logger): void {
  let done = false;
  const responder: HttpResponder = {
    send(r) {
      if (done || res.destroyed) return;
      done = true;
      reply(res, r);
    },
    onAborted(cb) {
      res.once("close", () => {
        if (done) return;
        done = true;
        cb();
      });
    },
  };
  const { path, query } = splitUrl(req.url ?? "/");
  try {
    handler({ method: (req.method ?? "GET").toLowerCase(), path, query }, responder);
  } catch (e) {
    log.error({ err: e }, "HTTP handler failed");
    responder.send({ status: 500, body: "internal error\n", contentType: TEXT_PLAIN });
  }
}

function listenOn(server: Server, what: string, host: string, port: number, sockets: Set<Duplex>): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(listenError(what, host, port, BIND_ERRORS[e.code ?? ""] ?? e.message));
    };
    server.once("error", onError);
    // exclusive: never share the port with another process's listener (no SO_REUSEPORT).
    server.listen({ host, port: port < 0 ? 0 : port, exclusive: true }, () => {
      server.off("error", onError);
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr !== null ? addr.port : port,
        close: () => server.close(),
        shutdown: () => {
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
          sockets.clear();
        },
      });
    });
  });
}

/**
 * A server whose own errors (a bad request line, a reset) are logged and never thrown. With
 * `tls`, an HTTPS server (nats-server's floor, TLS 1.2).
 */
function httpServer(log: Logger, onRequest: (req: IncomingMessage, res: ServerResponse) => void, tls?: WsListenOptions["tls"]): Server {
  const server: Server = tls === undefined
    ? createServer({ noDelay: true }, onRequest)
    : createHttpsServer({ ...tls, minVersion: "TLSv1.2", noDelay: true }, onRequest);
  if (tls !== undefined) server.on("tlsClientError", (err: Error) => log.debug({ err }, "websocket TLS handshake error"));
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    log.debug({ err }, "HTTP client error");
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  return server;
}

function listenHttp(host: string, port: number, handler: HttpHandler, log: Logger): Promise<Listener> {
  const server = httpServer(log, (req, res) => serve(req, res, handler, log));
  return listenOn(server, "can't listen to the monitor port", host, port, new Set());
}

function listenWebSocket(o: WsListenOptions, log: Logger): Promise<Listener> {
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: o.maxPayload,
    // NATS travels in binary frames; a text frame's bytes go to the parser all the same.
    skipUTF8Validation: true,
    // nats-server's deflate: no context takeover, fastest level, nothing of 64 bytes or less.
    perMessageDeflate: o.compression
      ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: WS_COMPRESS_THRESHOLD + 1, zlibDeflateOptions: { level: 1 } }
      : false,
  });
  const sockets = new Set<Duplex>();
  const server = httpServer(log, (req, res) => reply(res, notAnUpgrade((req.method ?? "GET").toLowerCase())), o.tls);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", (err) => log.debug({ err }, "websocket socket error"));
    const remoteAddress = (socket as Socket).remoteAddress ?? "";
    let refused: string | null;
    try {
      const h = req.headers;
      const origin = String(h.origin ?? h["sec-websocket-origin"] ?? "");
      refused = o.admit({ origin, host: h.host ?? "", remoteAddress });
    } catch (e) {
      log.error({ err: e }, "websocket upgrade failed");
      socket.end(rawReply(500, "Internal Server Error\n"));
      return;
    }
    if (refused !== null) {
      socket.end(rawReply(403, "Forbidden\n"));
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // The offer as nats-server reads it (any permessage-deflate, its parameters ignored), so ws
    // answers nats-server's value, and an offer ws would refuse is no reason to fail.
    const ext = acceptedExtensions(o.compression, req.headers["sec-websocket-extensions"]);
    if (ext === "") delete req.headers["sec-websocket-extensions"];
    else req.headers["sec-websocket-extensions"] = ext;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer = new WsLibPeer(ws, socket);
      try {
        peer.sink = o.open(peer, remoteAddress, (req.url ?? "/").split("?")[0]!);
      } catch (e) {
        log.error({ err: e }, "websocket open failed");
        ws.terminate();
        return;
      }
      ws.on("message", (data: Buffer) => {
        try {
          peer.sink?.message(data);
        } catch (e) {
          log.error({ err: e }, "websocket message handler failed");
          peer.terminate();
        }
      });
      // A frame over the limit, a protocol error: ws closes the socket, and says why here.
      ws.on("error", (err) => log.debug({ err }, "websocket error"));
      ws.on("close", () => peer.closeNow());
    });
  });
  return listenOn(server, "Unable to listen for websocket connections", o.host, o.port, sockets);
}

function rawReply(status: number, body: string): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nContent-Type: ${TEXT_PLAIN}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
