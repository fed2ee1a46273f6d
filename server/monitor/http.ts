// The monitoring HTTP server (nats-server's -m / http_port), on uWebSockets.js. Read-only: each
// request reads the server's counters and renders JSON; nothing here runs on the message path.
// Handlers are synchronous (a uWS request is only valid until its handler returns), except
// /metrics, whose registry is async and which therefore watches for the client going away.
import type { Logger } from "pino";
import uWS from "uWebSockets.js";
import { accountz, gatewayz, healthz, leafz, routez } from "./misc.js";
import { ClosedConnections, connz } from "./connz.js";
import { jsz } from "./jsz.js";
import { DashboardFiles, dashboardJson } from "./dashboard.js";
import { Metrics } from "./metrics.js";
import { BadRequest, Query, type MonitoredServer } from "./source.js";
import { subsz } from "./subsz.js";
import { CpuSampler, varz } from "./varz.js";

interface Reply {
  status: number;
  body: string | Buffer;
  contentType: string;
}

const JSON_TYPE = "application/json";
const STATUS_TEXT: Record<number, string> = { 200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 500: "500 Internal Server Error" };

type JsonHandler = (q: Query) => { status: number; body: Record<string, unknown> };

const ok = (body: Record<string, unknown>): { status: number; body: Record<string, unknown> } => ({ status: 200, body });

export class MonitorServer {
  /** Closed connections for /connz?state=closed, fed by the server as clients go. */
  readonly closedConnections = new ClosedConnections();
  readonly metrics: Metrics;
  private readonly app: uWS.TemplatedApp = uWS.App();
  private listenSocket: uWS.us_listen_socket | null = null;
  private boundPort = 0;
  private readonly reqStats: Record<string, number> = {};
  private readonly cpu = new CpuSampler();
  private readonly routes = new Map<string, JsonHandler>();
  private readonly healthz: JsonHandler = (q) => healthz(this.s, q);
  private readonly dashboard = new DashboardFiles();

  constructor(private readonly s: MonitoredServer, readonly host: string, private readonly port: number, private readonly log: Logger) {
    this.metrics = new Metrics(s);
    const http = (): { host: string; port: number; reqStats: Record<string, number> } => ({ host: this.host, port: this.boundPort, reqStats: this.reqStats });
    this.routes.set("/varz", () => ok(varz(s, http(), this.cpu)));
    this.routes.set("/connz", (q) => ok(connz(s, this.closedConnections, q)));
    this.routes.set("/subsz", (q) => ok(subsz(s, q)));
    this.routes.set("/subscriptionsz", (q) => ok(subsz(s, q)));
    this.routes.set("/routez", () => ok(routez(s)));
    this.routes.set("/leafz", () => ok(leafz(s)));
    this.routes.set("/gatewayz", () => ok(gatewayz(s)));
    this.routes.set("/accountz", (q) => ok(accountz(s, q)));
    this.routes.set("/healthz", this.healthz);
    this.routes.set("/jsz", (q) => ok(jsz(s, q)));
    this.routes.set("/dashboard.json", () => ok(dashboardJson(s)));
    this.app.any("/*", (res, req) => this.onRequest(res, req));
  }

  get boundTo(): number {
    return this.boundPort;
  }

  /** A URL a local client can fetch. */
  get url(): string {
    const h = this.host;
    const dial = h === "0.0.0.0" || h === "" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;
    return `http://${dial}:${this.boundPort}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.host, this.port, (sock) => {
        if (sock === false) {
          reject(new Error(`can't listen to the monitor port: listen tcp ${this.host}:${this.port}: address unavailable or in use`));
          return;
        }
        this.listenSocket = sock;
        this.boundPort = uWS.us_socket_local_port(sock as unknown as uWS.us_socket);
        this.log.info(`Starting http monitor on ${this.url}`);
        resolve();
      });
    });
  }

  close(): void {
    if (this.listenSocket !== null) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    // Also drop keep-alive connections, or they would keep the process alive.
    (this.app as { close?: () => void }).close?.();
    this.metrics.close();
  }

  private onRequest(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    const method = req.getMethod();
    const path = req.getUrl();
    const query = new Query(new URLSearchParams(req.getQuery() ?? ""));
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    if (method !== "get" && method !== "head") return this.send(res, { status: 404, body: "404 page not found\n", contentType: "text/plain; charset=utf-8" });
    this.reqStats[trimmed] = (this.reqStats[trimmed] ?? 0) + 1;
    if (trimmed === "/metrics") return this.serveMetrics(res);
    if (trimmed === "/" || trimmed.startsWith("/dashboard/")) return this.serveStatic(res, trimmed);
    const h = this.routes.get(trimmed);
    if (h === undefined) return this.send(res, { status: 404, body: "404 page not found\n", contentType: "text/plain; charset=utf-8" });
    this.send(res, this.runJson(h, query));
  }

  private runJson(h: JsonHandler, q: Query): Reply {
    try {
      const { status, body } = h(q);
      // nats-server indents every endpoint's JSON except /healthz's.
      const text = h === this.healthz ? JSON.stringify(body) : JSON.stringify(body, null, 2);
      // nats-server answers JSONP when asked (?callback=fn).
      const cb = q.str("callback");
      if (cb !== "") return { status, body: `${cb}(${text})`, contentType: "application/javascript" };
      return { status, body: text, contentType: JSON_TYPE };
    } catch (e) {
      if (e instanceof BadRequest) return { status: 400, body: e.message, contentType: "text/plain; charset=utf-8" };
      this.log.error({ err: e }, "monitor request failed");
      return { status: 500, body: "internal error", contentType: "text/plain; charset=utf-8" };
    }
  }

  private serveMetrics(res: uWS.HttpResponse): void {
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    this.metrics.scrape().then(
      (text) => { if (!aborted) this.send(res, { status: 200, body: text, contentType: this.metrics.contentType }); },
      (e: unknown) => {
        this.log.error({ err: e }, "metrics scrape failed");
        if (!aborted) this.send(res, { status: 500, body: "internal error", contentType: "text/plain; charset=utf-8" });
      },
    );
  }

  private send(res: uWS.HttpResponse, r: Reply): void {
    res.cork(() => {
      res.writeStatus(STATUS_TEXT[r.status] ?? `${r.status} Error`)
        .writeHeader("Content-Type", r.contentType)
        // nats-server allows any origin, so browser dashboards can read it.
        .writeHeader("Access-Control-Allow-Origin", "*")
        .end(r.body);
    });
  }

  private serveStatic(res: uWS.HttpResponse, path: string): void {
    let f;
    try {
      f = this.dashboard.get(path);
    } catch (e) {
      // A package installed without the dashboard's files (or uplot) still serves every endpoint.
      this.log.error({ err: e }, "dashboard files missing");
      return this.send(res, { status: 500, body: "dashboard files missing\n", contentType: "text/plain; charset=utf-8" });
    }
    if (f === undefined) return this.send(res, { status: 404, body: "404 page not found\n", contentType: "text/plain; charset=utf-8" });
    this.send(res, { status: 200, body: f.body, contentType: f.contentType });
  }
}
