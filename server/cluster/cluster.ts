// Tested by test/cluster/routes.test.ts (and the other test/cluster/ files: mesh, lame duck, reload, route authorization).
// The cluster: this server's routes to the other servers of a NATS cluster, in nats-server's own
// route protocol, so gnat and nats-server nodes mix in one full mesh. It listens for routes,
// dials the configured ones (again and again while they are down), learns the rest by gossip
// (a new route's INFO is passed on to the others, who dial it), tells every route of this
// server's interest per account (RS+/RS-, queue groups with their member counts) and keeps the
// client URLs of the whole cluster for the clients' INFO (connect_urls).
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, TLSSocket, type SecureContext } from "node:tls";
import { linkSecureContext } from "../transport/tls.js";
import { tlsTimeoutMs } from "../tls-options.js";
import type { Logger } from "pino";
import { listenTcp, type TcpListener } from "../transport/tcp.js";
import type { BufferPool } from "../core/outbound.js";
import type { LinkRoomHost } from "./link-connection.js";
import type { Router, Subscription } from "../core/router.js";
import { Route, type RouteConnect, type RouteHost, type RouteInfo } from "./route.js";
import { parseRouteUrl, type ClusterOptions, type RouteUrl } from "./options.js";
import type { ClusterStats, DownLink, RouteStat } from "../monitor/source.js";

/** What the cluster needs of the server. */
export interface ClusterHost extends LinkRoomHost {
  /** This server's own client URLs ("host:port"), as its INFO advertises them. */
  ownClientUrls(): string[];
  ownWebSocketUrls(): string[];
  /** The cluster's client URLs changed: tell the clients (an async INFO). */
  connectUrlsChanged(): void;
  /** This server's leafnode URL ("host:port"; none without a leafnode port or with no_advertise). */
  ownLeafUrls(): string[];
  /** The cluster's leafnode URLs changed (a route with one came or went): tell the leafs. */
  leafUrlsChanged(): void;
  /** A route closed (for /routez's history and the alerts). */
  routeClosed?(r: Route, reason: string): void;
}

/** nats-server's route reconnect delay (DEFAULT_ROUTE_RECONNECT). */
export const ROUTE_RECONNECT_MS = 1000;
/** How long a route's first INFO (and CONNECT, with authorization) may take. */
const DEFAULT_AUTH_TIMEOUT_S = 2;

interface Dialer {
  url: RouteUrl;
  /** Configured (dialled until it answers, and again after it goes) or learnt by gossip. */
  explicit: boolean;
  timer: NodeJS.Timeout | null;
  socket: Socket | null;
  attempts: number;
  /** The route this dialler made, while it is up. */
  route: Route | null;
  /** The URL turned out to be this server: never dialled again. */
  self: boolean;
  /** The server it reached last (its INFO's id); "" before any. */
  remoteId: string;
}

export class Cluster implements RouteHost {
  private listener: TcpListener | null = null;
  /** Registered routes by the other server's id. */
  readonly remotes = new Map<string, Route>();
  /** Every route connection, registered or not yet. */
  readonly routes = new Set<Route>();
  private readonly dialers = new Map<string, Dialer>();
  /** Per account: "subject[ queue]" → local member count, as last told to the routes. */
  private readonly interest = new Map<Router, Map<string, number>>();
  private closing = false;
  private boundPort = 0;
  /** The cluster's name; adopted from a peer when none was configured (dynamic). */
  name: string;
  readonly dynamicName: boolean;
  /** In lame duck mode: the routes were told. */
  private lameDuck = false;
  /** Accepted routes whose CONNECT passed authorization. */
  private readonly authed = new WeakSet<Route>();
  /** The options in force (a reload replaces them). */
  options: ClusterOptions;
  readonly log: Logger;

  /** The routes' TLS (both ends), when the cluster block has tls. */
  private tls: { context: SecureContext; verify: boolean; insecure: boolean; timeout: number } | null = null;

  constructor(private readonly host: ClusterHost, options: ClusterOptions) {
    this.options = options;
    this.log = host.log;
    const t = options.tls;
    // Loaded now: a bad certificate fails the start, as nats-server does.
    if (t !== undefined) {
      this.tls = { context: linkSecureContext(t).context, verify: t.verify === true, insecure: t.insecure === true, timeout: tlsTimeoutMs(t) };
    }
    this.dynamicName = options.name === "";
    this.name = options.name === "" ? host.serverId.slice(0, 22) : options.name;
  }

  // RouteHost
  get buffers(): BufferPool { return this.host.buffers; }
  get maxPayload(): number { return this.host.maxPayload; }
  get maxControlLine(): number { return this.host.maxControlLine; }
  get pingInterval(): number { return this.host.pingInterval; }
  get pingMax(): number { return this.host.pingMax; }
  routerFor(account: string): Router | null { return this.host.routerFor(account); }
  markDirty(r: { dirty: boolean; flush(): void }): void { this.host.markDirty(r); }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    const o = this.options;
    // With TLS the handshake reads the socket itself (no shared read buffer).
    this.listener = await listenTcp(o.host, o.port, (s) => this.accept(s), this.log, this.tls === null ? {} : { plainReads: false });
    this.boundPort = this.listener.port;
    for (const r of this.host.routers()) this.follow(r);
    this.log.info(`Cluster name is ${this.name}`);
    if (this.dynamicName) this.log.warn("Cluster name was dynamically generated, consider setting one");
    this.log.info(`Listening for route connections on ${o.host}:${this.boundPort}`);
    for (const u of o.routes) {
      const url = parseRouteUrl(u);
      this.dial(url, true);
    }
  }

  /** Follow an account's interest (every router, including ones that appear later). */
  follow(router: Router): void {
    if (this.interest.has(router)) return;
    this.interest.set(router, new Map());
    router.onInterest = (sub, delta) => this.localInterest(router, sub, delta);
    // Subscriptions made before the cluster started (JetStream's, system services').
    for (const sub of router.sublist.all()) this.localInterest(router, sub, sub.queue !== "" && sub.client.link !== undefined ? sub.weight : 1);
    // An account taken into use now (operator mode): the interest the routes told of it before.
    for (const r of this.remotes.values()) r.adoptHeld(router.account);
  }

  // ---- accepting and dialling ---------------------------------------------------------------

  private accept(raw: Socket): void {
    if (this.closing) {
      raw.destroy();
      return;
    }
    const tls = this.tls;
    if (tls === null) return this.accepted(raw);
    // A route's TLS handshake comes first, before INFO.
    const ts = new TLSSocket(raw, { isServer: true, secureContext: tls.context, requestCert: tls.verify, rejectUnauthorized: tls.verify });
    const timer = setTimeout(() => {
      this.log.error({ remote: `${raw.remoteAddress}:${raw.remotePort}` }, "TLS route handshake timeout");
      ts.destroy();
    }, tls.timeout);
    timer.unref();
    ts.once("secure", () => {
      clearTimeout(timer);
      this.accepted(ts);
    });
    ts.once("error", (err) => {
      clearTimeout(timer);
      this.log.error({ remote: `${raw.remoteAddress}:${raw.remotePort}`, err: err.message }, `TLS route handshake error: ${err.message}`);
      ts.destroy();
    });
    raw.resume();
  }

  private accepted(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const r = new Route(this.host.nextCid(), socket, this, false, "", this.host.maxPending);
    this.routes.add(r);
    this.log.info({ rid: r.cid, remote: `${r.remoteAddress}:${r.remotePort}` }, "Route connection created");
    r.queue(this.infoLine(true));
    r.flush();
    const auth = this.options.authorization;
    const timeout = (auth?.timeout ?? DEFAULT_AUTH_TIMEOUT_S) * 1000;
    // A route that says nothing (no CONNECT, no INFO) is dropped, as nats-server's auth timer does.
    const t = setTimeout(() => {
      if (!r.closed && !r.registered) {
        this.log.error({ rid: r.cid }, "Authentication Timeout");
        r.queue("-ERR 'Authentication Timeout'\r\n");
        r.close("Authentication Timeout", true);
      }
    }, timeout);
    t.unref();
  }

  private dial(url: RouteUrl, explicit: boolean): void {
    const key = url.hostPort;
    if (this.closing || this.dialers.has(key)) return;
    const d: Dialer = { url, explicit, timer: null, socket: null, attempts: 0, route: null, self: false, remoteId: "" };
    this.dialers.set(key, d);
    this.connect(d);
  }

  private connect(d: Dialer): void {
    if (this.closing || d.self) return;
    d.attempts++;
    const tls = this.tls;
    const socket: Socket = tls === null
      ? netConnect({ host: d.url.host, port: d.url.port, noDelay: true })
      // The handshake first; the other side's certificate is checked against the URL's host
      // (and the block's ca_file) unless `insecure`.
      : tlsConnect({
        host: d.url.host, port: d.url.port, secureContext: tls.context, rejectUnauthorized: !tls.insecure,
        ...(isIP(d.url.host) === 0 ? { servername: d.url.host } : {}),
      });
    d.socket = socket;
    const onError = (err: Error): void => {
      d.socket = null;
      this.log.debug({ url: d.url.display, err: err.message }, "Error trying to connect to route");
      if (tls !== null && !/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT/.test(err.message)) {
        this.log.error({ url: d.url.display, err: err.message }, `TLS route handshake error: ${err.message}`);
      }
      socket.destroy();
      this.retry(d);
    };
    socket.once("error", onError);
    socket.once(tls === null ? "connect" : "secureConnect", () => {
      socket.off("error", onError);
      d.socket = null;
      if (this.closing) {
        socket.destroy();
        return;
      }
      if (tls !== null) socket.setNoDelay(true);
      const r = new Route(this.host.nextCid(), socket, this, true, d.url.hostPort, this.host.maxPending);
      d.route = r;
      d.attempts = 0;
      this.routes.add(r);
      this.log.info({ rid: r.cid, remote: d.url.hostPort }, "Route connection created");
      const connect: Record<string, unknown> = {
        echo: true, verbose: false, pedantic: false,
        ...(d.url.user !== "" ? { user: d.url.user, pass: d.url.pass } : {}),
        tls_required: this.tls !== null, headers: true, name: this.host.serverId, cluster: this.name,
        ...(this.dynamicName ? { cluster_dynamic: true } : {}),
      };
      r.queue(`CONNECT ${JSON.stringify(connect)}\r\n`);
      r.queue(this.infoLine(true));
      r.flush();
    });
  }

  /** Dial again later: a configured route forever, a learnt one `connect_retries` times. */
  private retry(d: Dialer): void {
    if (this.closing || d.self) return;
    if (!d.explicit && d.attempts > this.options.connectRetries) {
      this.dialers.delete(d.url.hostPort);
      return;
    }
    d.timer = setTimeout(() => {
      d.timer = null;
      this.connect(d);
    }, ROUTE_RECONNECT_MS);
    d.timer.unref();
  }

  // ---- handshake ------------------------------------------------------------------------------

  onRouteConnect(r: Route, c: RouteConnect): void {
    if (r.solicited) return;
    const auth = this.options.authorization;
    if (auth !== undefined && auth.user !== undefined && (c.user !== auth.user || c.pass !== auth.password)) {
      this.log.error({ rid: r.cid, remote: `${r.remoteAddress}:${r.remotePort}` }, "authentication error");
      r.queue("-ERR 'Authorization Violation'\r\n");
      r.close("Authentication Failure", true);
      return;
    }
    this.authed.add(r);
    if (typeof c.cluster === "string" && c.cluster !== "" && c.cluster !== this.name && !this.adoptName(c.cluster, false)) {
      const text = `Rejecting connection, cluster name "${c.cluster}" does not match "${this.name}"`;
      this.log.error({ rid: r.cid }, text);
      r.queue(`-ERR '${text}'\r\n`);
      r.close("Cluster Name Conflict", true);
    }
  }

  onRouteInfo(r: Route, info: RouteInfo): void {
    if (r.registered) return this.infoUpdate(r, info);
    if (!r.solicited && this.options.authorization?.user !== undefined && !this.authed.has(r)) {
      this.log.error({ rid: r.cid }, "route sent INFO before CONNECT");
      r.queue("-ERR 'Authorization Violation'\r\n");
      r.close("Authentication Failure", true);
      return;
    }
    if (info.server_id === this.host.serverId) {
      // A route to ourselves (our own URL among the routes): never dialled again.
      const d = r.solicited ? this.dialers.get(r.url) : undefined;
      if (d !== undefined) d.self = true;
      this.log.debug({ rid: r.cid }, "Detected route to self, ignoring");
      r.close("Duplicate Route", false);
      return;
    }
    if (typeof info.cluster === "string" && info.cluster !== "" && info.cluster !== this.name
      && !this.adoptName(info.cluster, info.cluster_dynamic === true)) {
      this.log.error({ rid: r.cid }, `Rejecting connection, cluster name "${info.cluster}" does not match "${this.name}"`);
      r.close("Cluster Name Conflict", true);
      return;
    }
    if (!r.solicited && info.server_name !== undefined && info.server_name === this.host.serverName) {
      this.log.error({ rid: r.cid }, `Remote server has a duplicate name: "${info.server_name}"`);
      r.close("Duplicate Server Name", true);
      return;
    }
    r.info = info;
    if (Array.isArray(info.leafnode_urls) && info.leafnode_urls.length === 1 && typeof info.leafnode_urls[0] === "string") r.firstLeafUrl = info.leafnode_urls[0];
    r.headers = info.headers === true;
    if (r.solicited) {
      const d = this.dialers.get(r.url);
      if (d !== undefined) d.remoteId = info.server_id;
    }
    const existing = this.remotes.get(info.server_id);
    if (existing !== undefined) {
      // Two servers that dial each other at once end up with two routes. Both sides keep the
      // one dialled by the server with the smaller id, so they agree without a word (a
      // nats-server keeps the older one: when it and we disagree, both close and dial again).
      const mine = this.host.serverId < info.server_id;
      if (r.solicited !== mine || existing.solicited === mine) {
        this.log.debug({ rid: r.cid, remote: info.server_id }, "Detected duplicate remote route");
        r.close("Duplicate Route", false);
        return;
      }
      this.log.debug({ rid: existing.cid, remote: info.server_id }, "Detected duplicate remote route");
      this.remotes.delete(info.server_id);
      existing.close("Duplicate Route", false);
    }
    r.registered = true;
    this.remotes.set(info.server_id, r);
    this.log.debug({ rid: r.cid, remote: info.server_id }, "Registering remote route");
    this.sendInterest(r);
    if (this.remotes.size > 1) {
      // The others learn of the new server and dial it (an implicit route).
      const ip = info.ip ?? `nats-route://${hostForUrl(r.remoteAddress)}:${info.port ?? 0}/`;
      const fwd = { ...info, ip };
      delete fwd.nonce;
      const line = `INFO ${JSON.stringify(fwd)}\r\n`;
      for (const o of this.remotes.values()) if (o !== r) o.queue(line);
    }
    if (!this.options.noAdvertise) this.host.connectUrlsChanged();
    if (leafUrlOf(r) !== null) this.host.leafUrlsChanged();
  }

  /** An INFO on a registered route: a server it tells us of (gossip), or its own news. */
  private infoUpdate(r: Route, info: RouteInfo): void {
    if (info.server_id !== r.remoteId) {
      if (info.server_id === this.host.serverId || this.remotes.has(info.server_id)) return;
      if (info.ip === undefined) return;
      let url: RouteUrl;
      try {
        url = parseRouteUrl(info.ip);
      } catch {
        return;
      }
      if (this.isConfigured(url)) return;
      const auth = this.options.authorization;
      if (info.auth_required === true && auth?.user !== undefined) url = { ...url, user: auth.user, pass: auth.password ?? "" };
      this.dial(url, false);
      return;
    }
    const was = r.info;
    r.info = { ...was, ...info };
    if (!this.options.noAdvertise) this.host.connectUrlsChanged();
  }

  private isConfigured(url: RouteUrl): boolean {
    for (const u of this.options.routes) {
      try {
        if (parseRouteUrl(u).hostPort === url.hostPort) return true;
      } catch { /* validated at start */ }
    }
    return false;
  }

  private adoptName(theirs: string, theirsDynamic: boolean): boolean {
    if (!this.dynamicName || (theirsDynamic && this.name >= theirs)) return false;
    this.name = theirs;
    this.log.info(`Cluster name updated to ${theirs}`);
    return true;
  }

  onRouteClosed(r: Route, reason: string): void {
    this.routes.delete(r);
    this.authed.delete(r);
    const wasRegistered = this.remotes.get(r.remoteId) === r;
    if (wasRegistered) this.remotes.delete(r.remoteId);
    if (r.registered || reason !== "Duplicate Route") {
      this.log.info({ rid: r.cid, remote: r.remoteName(), reason }, `Router connection closed: ${reason}`);
    }
    this.host.routeClosed?.(r, reason);
    if (wasRegistered && !this.options.noAdvertise) this.host.connectUrlsChanged();
    if (wasRegistered && leafUrlOf(r) !== null && !this.closing) this.host.leafUrlsChanged();
    if (r.solicited) {
      const d = this.dialers.get(r.url);
      if (d !== undefined && d.route === r) {
        d.route = null;
        // A duplicate: the other server's route to us serves; dialled again if that one goes.
        if (reason === "Duplicate Route" && this.remotes.has(r.remoteId)) {
          if (!d.explicit) this.dialers.delete(r.url);
          else this.watchDuplicate(d, r.remoteId);
          return;
        }
        this.retry(d);
      }
    }
  }

  /** A configured route whose server we reach through its own route: dial again when that goes. */
  private watchDuplicate(d: Dialer, remoteId: string): void {
    const check = (): void => {
      if (this.closing || d.route !== null || d.socket !== null) return;
      if (this.remotes.has(remoteId)) {
        d.timer = setTimeout(check, ROUTE_RECONNECT_MS);
        d.timer.unref();
        return;
      }
      d.timer = null;
      this.connect(d);
    };
    d.timer = setTimeout(check, ROUTE_RECONNECT_MS);
    d.timer.unref();
  }

  // ---- interest -------------------------------------------------------------------------------

  /** Every account's interest, to a route that just registered. */
  private sendInterest(r: Route): void {
    let out = "";
    for (const [router, rm] of this.interest) {
      for (const [key, n] of rm) out += subLine(router.account, key, n);
      if (out.length > 32 * 1024) {
        r.queue(out);
        out = "";
      }
    }
    if (out !== "") r.queue(out);
  }

  /** A subscription here started or ended: tell the routes when the account's interest changed. */
  private localInterest(router: Router, sub: Subscription, delta: number): void {
    // Not a route's (the mesh is full), nor a hub's heard on a leafnode connection where this
    // server is the spoke (nats-server keeps those from its routes).
    const link = sub.client.link;
    if (link?.kind === "route" || link?.spoke === true || delta === 0) return;
    const rm = this.interest.get(router);
    if (rm === undefined) return;
    const key = sub.queue === "" ? sub.subject : `${sub.subject} ${sub.queue}`;
    const was = rm.get(key) ?? 0;
    const n = Math.max(0, was + delta);
    if (n === 0) rm.delete(key);
    else rm.set(key, n);
    // Plain interest is news only when it starts or ends; a queue group's count always is.
    if (sub.queue === "" && was > 0 && n > 0) return;
    if (was === 0 && n === 0) return;
    const line = n > 0 ? subLine(router.account, key, n) : `RS- ${router.account} ${key}\r\n`;
    for (const r of this.remotes.values()) r.queue(line);
  }

  // ---- INFO -----------------------------------------------------------------------------------

  /** The INFO this server sends on a route. */
  infoLine(withNonce: boolean): string {
    const o = this.options;
    // With an advertise, host and port are the advertised ones as well as ip, as in nats-server's
    // INFO: a nats-server builds the URL of a route it accepted from INFO's host:port and dials
    // it to get the route back, so the listen address would bypass what was advertised.
    const adv = o.advertise !== "" ? splitHostPort(o.advertise, this.boundPort) : null;
    const info: Record<string, unknown> = {
      server_id: this.host.serverId,
      server_name: this.host.serverName,
      version: this.host.version,
      proto: 1,
      go: `node${process.versions.node}`,
      host: adv?.host ?? o.host,
      port: adv?.port ?? this.boundPort,
      headers: true,
      ...(o.authorization?.user !== undefined ? { auth_required: true } : {}),
      ...(this.tls !== null ? { tls_required: true, tls_verify: true } : {}),
      max_payload: this.host.maxPayload,
      ...(this.host.jetstream ? { jetstream: true } : {}),
      ...(withNonce ? { nonce: nonce() } : {}),
      cluster: this.name,
      ...(this.dynamicName ? { cluster_dynamic: true } : {}),
      ...(adv !== null ? { ip: `nats-route://${hostForUrl(adv.host)}:${adv.port}/` } : {}),
    };
    if (!o.noAdvertise) {
      const urls = this.host.ownClientUrls();
      if (urls.length > 0) info.connect_urls = urls;
      const ws = this.host.ownWebSocketUrls();
      if (ws.length > 0) info.ws_connect_urls = ws;
    }
    if (this.lameDuck) info.ldm = true;
    const leafUrls = this.host.ownLeafUrls();
    if (leafUrls.length > 0) info.leafnode_urls = leafUrls;
    return `INFO ${JSON.stringify(info)}\r\n`;
  }

  /** Client URLs of the other servers (those not in lame duck mode), for connect_urls. */
  peerClientUrls(): { nats: string[]; ws: string[] } {
    const nats: string[] = [];
    const ws: string[] = [];
    if (this.options.noAdvertise) return { nats, ws };
    for (const r of this.remotes.values()) {
      if (r.info === null || r.info.ldm === true) continue;
      for (const u of r.info.connect_urls ?? []) if (!nats.includes(u)) nats.push(u);
      for (const u of r.info.ws_connect_urls ?? []) if (!ws.includes(u)) ws.push(u);
    }
    return { nats, ws };
  }

  /**
   * The other servers' leafnode URLs, for the INFO our leafs get (nats-server takes the one a
   * route's first INFO carries, and drops it when the route goes).
   */
  peerLeafUrls(): string[] {
    const urls: string[] = [];
    for (const r of this.remotes.values()) {
      const u = leafUrlOf(r);
      if (u !== null && !urls.includes(u)) urls.push(u);
    }
    return urls;
  }

  /** Our own client URLs changed (a reload): tell the routes. */
  announce(): void {
    const line = this.infoLine(false);
    for (const r of this.remotes.values()) r.queue(line);
  }

  /** Lame duck mode: the other servers stop advertising our client URLs. */
  enterLameDuck(): void {
    this.lameDuck = true;
    this.announce();
  }

  /**
   * Check a reloaded cluster block; throws (nats-server's words) what a running cluster cannot
   * take, else returns what applies it, which returns the log lines.
   */
  prepareReload(next: ClusterOptions): () => string[] {
    const cur = this.options;
    if (next.host !== cur.host) throw new Error(`config reload not supported for cluster host: old=${cur.host}, new=${next.host}`);
    if (next.port !== cur.port && next.port !== this.boundPort) throw new Error(`config reload not supported for cluster port: old=${this.boundPort}, new=${next.port}`);
    return () => {
      const notes: string[] = [];
      const was = new Set(cur.routes.map((u) => parseRouteUrl(u).hostPort));
      const now = new Map(next.routes.map((u) => [parseRouteUrl(u).hostPort, parseRouteUrl(u)] as const));
      const advertiseChanged = next.noAdvertise !== cur.noAdvertise || next.advertise !== cur.advertise;
      const otherChanged = JSON.stringify({ ...next, routes: [] }) !== JSON.stringify({ ...cur, routes: [] });
      this.options = { ...next, port: this.boundPort };
      if (next.name !== "" && next.name !== this.name) {
        this.name = next.name;
        this.log.info(`Cluster name updated to ${next.name}`);
      }
      if (otherChanged) notes.push("Reloaded: cluster");
      let routesChanged = false;
      for (const hp of was) {
        if (now.has(hp)) continue;
        routesChanged = true;
        const d = this.dialers.get(hp);
        if (d === undefined) continue;
        this.dialers.delete(hp);
        if (d.timer !== null) clearTimeout(d.timer);
        d.socket?.destroy();
        d.self = true;
        if (d.route !== null) {
          this.log.info({ rid: d.route.cid }, `Removing route ${d.url.display}`);
          d.route.close("Route Removed", true);
        }
      }
      for (const [hp, url] of now) {
        if (was.has(hp)) continue;
        routesChanged = true;
        const d = this.dialers.get(hp);
        if (d !== undefined) d.explicit = true;
        else this.dial(url, true);
      }
      if (routesChanged) notes.push("Reloaded: cluster routes");
      if (advertiseChanged) {
        this.announce();
        this.host.connectUrlsChanged();
      }
      return notes;
    };
  }

  /** What monitoring shows (/routez, /varz's cluster): copies, not the live routes. */
  stats(): ClusterStats {
    const routes: RouteStat[] = [];
    for (const r of this.remotes.values()) {
      const subs: string[] = [];
      for (const { sub } of r.subs.values()) subs.push(sub.subject);
      routes.push({
        rid: r.cid,
        remoteId: r.remoteId,
        remoteName: r.info?.server_name ?? "",
        didSolicit: r.solicited,
        isConfigured: r.solicited && this.dialers.get(r.url)?.explicit === true,
        ip: r.remoteAddress,
        port: r.remotePort,
        startMs: r.start,
        lastActivityMs: r.lastActivity,
        rttMs: r.rtt,
        pendingBytes: r.pendingBytes,
        inMsgs: r.inMsgs,
        outMsgs: r.outMsgs,
        inBytes: r.inBytes,
        outBytes: r.outBytes,
        subscriptions: subs,
      });
    }
    routes.sort((a, b) => a.rid - b.rid);
    const o = this.options;
    return {
      name: this.name,
      host: o.host,
      port: this.boundPort,
      authTimeout: o.authorization?.timeout ?? DEFAULT_AUTH_TIMEOUT_S,
      urls: o.routes.map((u) => {
        try {
          return parseRouteUrl(u).hostPort;
        } catch {
          return u;
        }
      }),
      routes,
      down: this.downRoutes(),
    };
  }

  /** Configured routes with no route up to the server they lead to. */
  private downRoutes(): DownLink[] {
    const out: DownLink[] = [];
    for (const d of this.dialers.values()) {
      if (!d.explicit || d.self) continue;
      if (d.remoteId !== "" && this.remotes.has(d.remoteId)) continue;
      out.push({ kind: "route", url: d.url.hostPort });
    }
    return out;
  }

  close(): Promise<void> {
    this.closing = true;
    for (const d of this.dialers.values()) {
      if (d.timer !== null) clearTimeout(d.timer);
      d.socket?.destroy();
    }
    this.dialers.clear();
    for (const r of [...this.routes]) r.close("Server Shutdown", true);
    for (const router of this.interest.keys()) router.onInterest = null;
    return this.listener?.close() ?? Promise.resolve();
  }
}




function subLine(account: string, key: string, n: number): string {
  // A queue group's line carries its member count; a plain one, nothing.
  return key.includes(" ") ? `RS+ ${account} ${key} ${n}\r\n` : `RS+ ${account} ${key}\r\n`;
}

/** host[:port] or [v6][:port], the port `defaultPort` when absent (nats-server's parseHostPort). */
function splitHostPort(hp: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(hp) ?? /^([^:]*)(?::(\d+))?$/.exec(hp);
  if (m === null) return { host: hp, port: defaultPort };
  return { host: m[1]!, port: m[2] !== undefined ? Number.parseInt(m[2], 10) : defaultPort };
}

function hostForUrl(h: string): string {
  return h.includes(":") ? `[${h}]` : h;
}

const NONCE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function nonce(): string {
  let s = "";
  for (let i = 0; i < 15; i++) s += NONCE_CHARS[(Math.random() * 64) | 0];
  return s;
}

/** The leafnode URL a route's first INFO carried, or null (nats-server takes a list of one only). */
function leafUrlOf(r: Route): string | null {
  const u = r.firstLeafUrl;
  return u !== undefined && u !== "" ? u : null;
}
