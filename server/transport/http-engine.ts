// The HTTP and WebSocket engine behind the monitoring port and the `websocket {}` listener: one
// small interface, two implementations. uWebSockets.js is the fast path where a native build
// loads; Node's own node:http with the `ws` package serves everywhere else (Node 22 and 24 with
// the uWS build we can get, another libc, another platform). Both answer the same requests with
// the same bytes, refuse a port that is taken, and can pause a WebSocket's reads.
//
// The engine is chosen once per process, at the first listener: `GNAT_HTTP_ENGINE=uws|node` (or
// the `httpEngine` option) forces one; otherwise uWS when its binary for this Node loads.
import type { Logger } from "pino";
import type { HttpEngine, HttpEngineName } from "./engine-api.js";

export { TEXT_PLAIN, STATUS_TEXT, notAnUpgrade, listenError, type HttpEngineName, type HttpRequest, type HttpReply, type HttpResponder, type HttpHandler, type Listener, type WsPeer, type WsSink, type WsUpgrade, type WsListenOptions, type HttpEngine } from "./engine-api.js";

export const ENGINE_ENV = "GNAT_HTTP_ENGINE";

let chosen: Promise<HttpEngine> | null = null;
let chosenName: HttpEngineName | null = null;

/** Which engine is in use, or null before the first listener. */
export function httpEngineName(): HttpEngineName | null {
  return chosenName;
}

/**
 * The process's engine. `want` (the option) wins over the environment; a forced uWS that cannot
 * load is an error rather than a silent fallback.
 */
export function httpEngine(want?: HttpEngineName | "auto", log?: Logger): Promise<HttpEngine> {
  const env = process.env[ENGINE_ENV];
  const forced = want !== undefined && want !== "auto" ? want : env === "uws" || env === "node" ? env : null;
  if (chosen !== null && (forced === null || forced === chosenName)) return chosen;
  const p = load(forced, log);
  // The first choice stays the process's default; a forced other one serves only its caller.
  if (chosen === null) {
    chosen = p;
    p.then((e) => { chosenName = e.name; }, () => { chosen = null; });
  }
  return p;
}

async function load(forced: HttpEngineName | null, log?: Logger): Promise<HttpEngine> {
  if (forced !== "node") {
    const { loadUws, uwsEngine } = await import("./engine-uws.js");
    const native = loadUws();
    if (native.ok) {
      log?.info("HTTP and WebSocket on uWebSockets.js (native)");
      return uwsEngine(native.uws);
    }
    if (forced === "uws") throw new Error(`uWebSockets.js cannot load on Node ${process.versions.node} (${process.platform}-${process.arch}): ${native.why}`);
    log?.info(`HTTP and WebSocket on node:http and ws (uWebSockets.js has no working build here: ${native.why})`);
  } else {
    log?.info(`HTTP and WebSocket on node:http and ws (${ENGINE_ENV} or httpEngine says so)`);
  }
  const { nodeEngine } = await import("./engine-node.js");
  return nodeEngine();
}
