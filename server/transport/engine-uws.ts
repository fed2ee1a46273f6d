// Tested by test/transport/http-engine.test.ts.
// The uWebSockets.js engine: the fast path, where the package ships a native binary for this
// platform and Node ABI and it loads (the build we use has them for Node ≤ 20 on glibc). The
// package's own JavaScript fallback is never used: it breaks on current Node, and node:http is
// the fallback we test (engine-node.ts).
import { createRequire } from "node:module";
import { createServer as createTcpServer } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import {
  STATUS_TEXT, listenError, notAnUpgrade,
  type HttpEngine, type HttpHandler, type HttpReply, type HttpResponder, type Listener, type WsListenOptions, type WsPeer, type WsSink,
} from "./engine-api.js";
import { WS_COMPRESS_THRESHOLD, acceptedExtensions } from "./ws-compression.js";

type Uws = typeof import("uWebSockets.js");
type UwsResponse = import("uWebSockets.js").HttpResponse;
type UwsSocket = import("uWebSockets.js").WebSocket<UserData>;
type UwsListenSocket = import("uWebSockets.js").us_listen_socket;

/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT, so a taken port is refused. */
const EXCLUSIVE_PORT = 1;

/** The native module, or why it cannot load. */
export function loadUws(): { ok: true; uws: Uws } | { ok: false; why: string } {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve("uWebSockets.js"));
  } catch {
    return { ok: false, why: "the uWebSockets.js package is not installed" };
  }
  const file = join(dir, "..", "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return { ok: true, uws: require(file) as Uws };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    return { ok: false, why: /Cannot find module/.test(msg) ? `no binary for Node ABI ${process.versions.modules}` : msg };
  }
}

export function uwsEngine(uws: Uws): HttpEngine {
  return {
    name: "uws",
    listenHttp: (host, port, handler, log) => listenHttp(uws, host, port, handler, log),
    listenWebSocket: (o, log) => listenWs(uws, o, log),
  };
}

function reply(res: UwsResponse, r: HttpReply): void {
  res.cork(() => {
    res.writeStatus(`${r.status} ${STATUS_TEXT[r.status] ?? "Error"}`).writeHeader("Content-Type", r.contentType);
    if (r.headers !== undefined) for (const k in r.headers) res.writeHeader(k, r.headers[k]!);
    res.end(r.body);
  });
}

/** A handler's request, answered through a guard: once, and never after an abort. */
function serve(res: UwsResponse, method: string, path: string, query: string, handler: HttpHandler, log: Logger): void {
  let done = false;
  let watching = false;
  const responder: HttpResponder = {
    send(r) {
      if (done) return;
      done = true;
      reply(res, r);
    },
    onAborted(cb) {
      watching = true;
      res.onAborted(() => {
        done = true;
        cb();
      });
    },
  };
  try {
    handler({ method, path, query }, responder);
  } catch (e) {
    log.error({ err: e }, "HTTP handler failed");
    responder.send({ status: 500, body: "internal error\n", contentType: "text/plain; charset=utf-8" });
  }
  // uWS aborts the process if a response left open has no abort handler.
  if (!done && !watching) res.onAborted(() => { done = true; });
}

/** A port the kernel picks as free on host (node binds port 0 and lets it go). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once("error", reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const a = probe.address();
      probe.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

/**
 * Listen on host:port; 0 (or -1): any free port. This uWS build sets no SO_REUSEADDR, and a port
 * it bound as 0 cannot be bound again, by anyone, while connections the server closed (a stop, a
 * crash) are in TIME_WAIT: a server restarted on the port it was given would fail for a minute
 * where nats-server starts. A port uWS binds by number has no such trouble, so for "any port"
 * the kernel's pick comes from a node probe and uWS binds that number (again if it was taken in
 * between).
 */
async function listenOn(uws: Uws, app: import("uWebSockets.js").TemplatedApp, what: string, host: string, port: number): Promise<Listener> {
  if (port > 0) return listenUws(uws, app, what, host, port);
  for (let attempt = 1; ; attempt++) {
    const picked = await freePort(host);
    try {
      return await listenUws(uws, app, what, host, picked);
    } catch (e) {
      if (attempt === 5) throw e;
    }
  }
}

function listenUws(uws: Uws, app: import("uWebSockets.js").TemplatedApp, what: string, host: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    // The native listen takes (host, port, options, cb); the typings know only two of the forms.
    const listen = app.listen.bind(app) as unknown as (h: string, p: number, o: number, cb: (s: UwsListenSocket | false) => void) => void;
    listen(host, port, EXCLUSIVE_PORT, (sock) => {
      if (sock === false) {
        reject(listenError(what, host, port, "bind: address already in use or unavailable"));
        return;
      }
      resolve({
        port: uws.us_socket_local_port(sock as unknown as import("uWebSockets.js").us_socket),
        close: () => uws.us_listen_socket_close(sock),
        // Keep-alive and HTTP-stage sockets would otherwise keep the process alive.
        shutdown: () => (app as { close?: () => void }).close?.(),
      });
    });
  });
}

function listenHttp(uws: Uws, host: string, port: number, handler: HttpHandler, log: Logger): Promise<Listener> {
  const app = uws.App();
  app.any("/*", (res, req) => serve(res, req.getMethod().toLowerCase(), req.getUrl(), req.getQuery() ?? "", handler, log));
  return listenOn(uws, app, "can't listen to the monitor port", host, port);
}

/** What uWS keeps per WebSocket. */
interface UserData {
  remoteAddress: string;
  /** The upgrade request's path. */
  path: string;
  sink: WsSink | null;
}

/** A uWS WebSocket as a WsPeer. Its reads cannot be paused: this build has no pause on a WebSocket. */
class UwsPeer implements WsPeer {
  constructor(private readonly ws: UwsSocket, private readonly compress: boolean) {}

  get bufferedAmount(): number {
    return this.ws.getBufferedAmount();
  }

  send(bytes: Uint8Array): boolean {
    // uWS copies the bytes into the frame it builds (or its backpressure buffer).
    // Deflated (when negotiated: uWS ignores the flag otherwise) past nats-server's threshold.
    const status = this.ws.send(bytes, true, this.compress && bytes.length > WS_COMPRESS_THRESHOLD);
    if (status === 2) {
      // Dropped: only past maxBackpressure, which is off; never lose bytes silently.
      this.ws.close();
      return false;
    }
    return status === 1;
  }

  end(code: number): void {
    this.ws.end(code);
  }

  terminate(): void {
    this.ws.close();
  }

  pause(): boolean {
    return false;
  }

  resume(): void {}
}

/**
 * uWS's SSL app reads its certificate and key from files: the PEM (which may have come as text)
 * is written to a private temporary directory, removed once the listener shuts down.
 */
function sslApp(uws: Uws, tls: NonNullable<WsListenOptions["tls"]>): { app: import("uWebSockets.js").TemplatedApp; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "gnat-wss-"));
  const put = (name: string, pem: Buffer | string): string => {
    const f = join(dir, name);
    writeFileSync(f, pem, { mode: 0o600 });
    return f;
  };
  const opts: import("uWebSockets.js").AppOptions = { cert_file_name: put("cert.pem", tls.cert), key_file_name: put("key.pem", tls.key) };
  if (tls.ca !== undefined) opts.ca_file_name = put("ca.pem", tls.ca);
  try {
    return { app: uws.SSLApp(opts), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function listenWs(uws: Uws, o: WsListenOptions, log: Logger): Promise<Listener> {
  let remove = (): void => {};
  let app: import("uWebSockets.js").TemplatedApp;
  if (o.tls === undefined) app = uws.App();
  else ({ app, remove } = sslApp(uws, o.tls));
  app.ws<UserData>("/*", {
    compression: o.compression ? uws.SHARED_COMPRESSOR : uws.DISABLED,
    maxPayloadLength: o.maxPayload,
    // Backpressure is the connection's business (max_pending, write deadline): uWS must never
    // drop a frame on its own, which it does past maxBackpressure unless that is 0.
    maxBackpressure: 0,
    // Liveness is NATS's PING/PONG, as with nats-server, which sends no WebSocket pings.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, context) => {
      // Everything is read from req now: it is only valid until this handler returns.
      const key = req.getHeader("sec-websocket-key");
      const protocol = req.getHeader("sec-websocket-protocol");
      const extensions = req.getHeader("sec-websocket-extensions");
      const origin = req.getHeader("origin") || req.getHeader("sec-websocket-origin");
      const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
      const path = req.getUrl();
      let refused: string | null;
      try {
        refused = o.admit({ origin, host: req.getHeader("host"), remoteAddress });
      } catch (e) {
        log.error({ err: e }, "websocket upgrade failed");
        reply(res, { status: 500, body: "Internal Server Error\n", contentType: "text/plain; charset=utf-8" });
        return;
      }
      if (refused !== null) {
        reply(res, { status: 403, body: "Forbidden\n", contentType: "text/plain; charset=utf-8" });
        return;
      }
      // The offer as nats-server reads it, so uWS answers nats-server's value.
      res.upgrade<UserData>({ remoteAddress, path, sink: null }, key, protocol, acceptedExtensions(o.compression, extensions), context);
    },
    open: (ws) => {
      const data = ws.getUserData();
      try {
        data.sink = o.open(new UwsPeer(ws, o.compression), data.remoteAddress, data.path);
      } catch (e) {
        log.error({ err: e }, "websocket open failed");
        ws.close();
      }
    },
    message: (ws, message) => guard(log, () => ws.getUserData().sink?.message(Buffer.from(message))),
    drain: (ws) => guard(log, () => ws.getUserData().sink?.drain()),
    close: (ws) => guard(log, () => ws.getUserData().sink?.close()),
  });
  // Not an upgrade: answer as nats-server's handshake does (http.Error: status text as body).
  app.any("/*", (res, req) => reply(res, notAnUpgrade(req.getMethod().toLowerCase())));
  let l: Listener;
  try {
    l = await listenOn(uws, app, "Unable to listen for websocket connections", o.host, o.port);
  } catch (e) {
    remove();
    throw e;
  }
  return { port: l.port, close: () => l.close(), shutdown: () => { l.shutdown(); remove(); } };
}

/** An exception thrown into uWS's native callback would end the process: log it instead. */
function guard(log: Logger, f: () => void): void {
  try {
    f();
  } catch (e) {
    log.error({ err: e }, "websocket handler failed");
  }
}
