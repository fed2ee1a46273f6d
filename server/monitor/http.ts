// Tested by test/monitor/monitor.test.ts and test/transport/http-engine.test.ts.
// The monitoring HTTP server (nats-server's -m / http_port), on the process's HTTP engine
// (uWebSockets.js or node:http, transport/http-engine.ts). Read-only: each request reads the
// server's counters and renders JSON; nothing here runs on the message path. Handlers answer
// synchronously (a uWS request is only valid until its handler returns), except /metrics, whose
// registry is async and which therefore watches for the client going away.
import type { Logger } from "pino";
import { httpEngine, httpEngineName, TEXT_PLAIN, type HttpEngineName, type HttpReply, type HttpRequest, type HttpResponder, type Listener } from "../transport/http-engine.js";
import { accountz, gatewayz, healthz, leafz, routez } from "./misc.js";
import { ClosedConnections, connz } from "./connz.js";
import { jsz } from "./jsz.js";
import { DashboardFiles, dashboardJson } from "./dashboard.js";
import { DashboardHistory } from "./history.js";
import { Metrics } from "./metrics.js";
import { BadRequest, Query, type MonitoredServer } from "./source.js";
import { subsz } from "./subsz.js";
import { CpuSampler, varz, type HttpInfo } from "./varz.js";

type Reply = HttpReply;

const JSON_TYPE = "application/json";
// nats-server allows any origin, so browser dashboards can read it.
const CORS = { "Access-Control-Allow-Origin": "*" };
const NOT_FOUND: Reply = { status: 404, body: "404 page not found\n", contentType: TEXT_PLAIN };

type JsonHandler = (q: Query) => { status: number; body: Record<string, unknown> };

const ok = (body: Record<string, unknown>): { status: number; body: Record<string, unknown> } => ({ status: 200, body });

export class MonitorServer {
  /** Closed connections for /connz?state=closed, fed by the server as clients go. */
  readonly closedConnections = new ClosedConnections();
  readonly metrics: Metrics;
  private listener: Listener | null = null;
  private boundPort = 0;
  private readonly reqStats: Record<string, number> = {};
  private readonly cpu = new CpuSampler();
  private readonly routes = new Map<string, JsonHandler>();
  private readonly healthz: JsonHandler = (q) => healthz(this.s, q);
  private readonly dashboard = new DashboardFiles();
  /** The dashboard's charts' last minutes, sampled once a second while the port is open. */
  readonly history: DashboardHistory;
  private readonly dashboardJson: JsonHandler;

  constructor(
    private readonly s: MonitoredServer,
    readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    private readonly engine?: HttpEngineName | "auto",
  ) {
    this.metrics = new Metrics(s);
    const http = (): HttpInfo => ({ host: this.host, port: this.boundPort, reqStats: this.reqStats, engine: this.engineName });
    this.routes.set("/varz", () => ok(varz(s, http(), this.cpu)));
    this.routes.set("/connz", (q) => ok(connz(s, this.closedConnections, q)));
    this.routes.set("/subsz", (q) => ok(subsz(s, q)));
    this.routes.set("/subscriptionsz", (q) => ok(subsz(s, q)));
    this.routes.set("/routez", (q) => ok(routez(s, q)));
    this.routes.set("/leafz", (q) => ok(leafz(s, q)));
    this.routes.set("/gatewayz", () => ok(gatewayz(s)));
    this.routes.set("/accountz", (q) => ok(accountz(s, q)));
    this.routes.set("/healthz", this.healthz);
    this.routes.set("/jsz", (q) => ok(jsz(s, q)));
    this.history = new DashboardHistory(s);
    this.dashboardJson = (q) => ok(dashboardJson(s, this.history, q.int("since", true)));
    this.routes.set("/dashboard.json", this.dashboardJson);
  }

  /** Which HTTP engine serves this port. */
  engineName = httpEngineName() ?? "node";

  get boundTo(): number {
    return this.boundPort;
  }

  /** A URL a local client can fetch. */
  get url(): string {
    const h = this.host;
    const dial = h === "0.0.0.0" || h === "" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;
    return `http://${dial}:${this.boundPort}`;
  }

  async listen(): Promise<void> {
    const engine = await httpEngine(this.engine, this.log);
    this.engineName = engine.name;
    this.listener = await engine.listenHttp(this.host, this.port, (req, res) => this.onRequest(req, res), this.log);
    this.boundPort = this.listener.port;
    this.history.start();
    // What is bound, in nats-server's words (`Starting http monitor on 0.0.0.0:8222`), not the URL.
    const h = this.host === "" ? "0.0.0.0" : this.host.includes(":") ? `[${this.host}]` : this.host;
    this.log.info(`Starting http monitor on ${h}:${this.boundPort}`);
  }

  close(): void {
    this.listener?.close();
    // Also drop keep-alive connections, or they would keep the process alive.
    this.listener?.shutdown();
    this.listener = null;
    this.history.stop();
    this.metrics.close();
  }

  private onRequest(req: HttpRequest, res: HttpResponder): void {
    const path = req.path;
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    if (req.method !== "get" && req.method !== "head") return this.send(res, NOT_FOUND);
    this.reqStats[trimmed] = (this.reqStats[trimmed] ?? 0) + 1;
    if (trimmed === "/metrics") return this.serveMetrics(res);
    if (trimmed === "/" || trimmed.startsWith("/dashboard/")) return this.serveStatic(res, trimmed);
    const h = this.routes.get(trimmed);
    if (h === undefined) return this.send(res, NOT_FOUND);
    let query: Query;
    try {
      query = new Query(new URLSearchParams(req.query));
    } catch {
      return this.send(res, { status: 400, body: "bad query\n", contentType: TEXT_PLAIN });
    }
    this.send(res, this.runJson(h, query));
  }

  private runJson(h: JsonHandler, q: Query): Reply {
    try {
      const { status, body } = h(q);
      // nats-server indents every endpoint's JSON except /healthz's; the dashboard's own JSON,
      // polled every second and mostly number arrays, is left compact too.
      const text = h === this.healthz || h === this.dashboardJson ? JSON.stringify(body) : JSON.stringify(body, null, 2);
      // nats-server answers JSONP when asked (?callback=fn).
      const cb = q.str("callback");
      if (cb !== "") return { status, body: `${cb}(${text})`, contentType: "application/javascript" };
      return { status, body: text, contentType: JSON_TYPE };
    } catch (e) {
      if (e instanceof BadRequest) return { status: 400, body: e.message, contentType: TEXT_PLAIN };
      this.log.error({ err: e }, "monitor request failed");
      return { status: 500, body: "internal error", contentType: TEXT_PLAIN };
    }
  }

  private serveMetrics(res: HttpResponder): void {
    // The responder ignores an answer to a client that went away.
    res.onAborted(() => {});
    this.metrics.scrape().then(
      (text) => this.send(res, { status: 200, body: text, contentType: this.metrics.contentType }),
      (e: unknown) => {
        this.log.error({ err: e }, "metrics scrape failed");
        this.send(res, { status: 500, body: "internal error", contentType: TEXT_PLAIN });
      },
    );
  }

  private send(res: HttpResponder, r: Reply): void {
    res.send({ ...r, headers: CORS });
  }

  private serveStatic(res: HttpResponder, path: string): void {
    let f;
    try {
      f = this.dashboard.get(path);
    } catch (e) {
      // A package installed without the dashboard's files (or uplot) still serves every endpoint.
      this.log.error({ err: e }, "dashboard files missing");
      return this.send(res, { status: 500, body: "dashboard files missing\n", contentType: TEXT_PLAIN });
    }
    if (f === undefined) return this.send(res, NOT_FOUND);
    this.send(res, { status: 200, body: f.body, contentType: f.contentType });
  }
}
