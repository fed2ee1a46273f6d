// Tested by test/server/embedding.test.ts.
// startServer(options): the one composition root. Everything a running server owns hangs off
// the Server it returns; several can run in one process. The order things start and stop in,
// the $G JetStream bootstrap, the connection registry, reload and lame duck live here; the
// public API is re-exported by index.ts.
import { join } from "node:path";
import { createCurve, createServer, type KeyPair } from "@nats-io/nkeys";
import type { Logger } from "pino";
import { errorLine, Errors } from "../protocol/errors.js";
import { InternTable } from "../protocol/intern.js";
import { ViewCache } from "../protocol/bytes.js";
import { BufferPool } from "./core/outbound.js";
import { ClientConnection, type ClientSocket, type ConnectionAccount, type ConnectionHost, type ConnectionInit } from "./core/connection.js";
import { Authenticator, authRequired, authTimeoutMs, newNonce } from "./auth/auth.js";
import { tlsTimeoutMs } from "./tls-options.js";
import { AuthThrottle } from "./auth/throttle.js";
import { peerCertIdentity, peerCertsPem } from "./auth/cert-identity.js";
import { listenTcp, type TcpListener } from "./transport/tcp.js";
import { TlsAcceptor, tlsVersionName, type TlsOptions } from "./transport/tls.js";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { SideFiles, type Ports } from "./process/side-files.js";
import { listenWebSocket, type WebSocketListener } from "./transport/websocket.js";
import { logLevel, openLog, type LogSink } from "./process/log.js";
import { applyReload, diffOptions, NO_CONFIG_FILE, resolveReloaded, ReloadError, type ReloadHost } from "./process/reload.js";
import { runLameDuck, type LameDuckHost } from "./process/lameduck.js";
import { MAX_PAYLOAD_WARN, resolveOptions, type ServerOptions, type ServerOptionsInput } from "./options.js";
import { Router, type Subscription } from "./core/router.js";
import { internalClient, InternalClient } from "./core/internal-client.js";
import { tmpdir } from "node:os";
import { JetStream, type JetStreamOptions } from "./jetstream/jetstream.js";
import { lockStoreDir, type StoreLock } from "./jetstream/store-lock.js";
import { domainMappings } from "./jetstream/api.js";
import { MonitorServer } from "./monitor/http.js";
import { Alerts } from "./monitor/alerts.js";
import { resolveAlerts } from "./alerts-options.js";
import { clientInfo, SystemEvents } from "./events.js";
import type { AuthenticatedUser } from "./auth/auth.js";
import { NoAuthUserAuthenticator } from "./accounts/auth.js";
import { buildMappings, GLOBAL_ACCOUNT, mergedAuthorization, userAccounts, type AccountsOptions, type MappingsOptions } from "./accounts/options.js";
import { accountStat, AccountRegistry, type Account } from "./accounts/accounts.js";
import { startAccountJetStream, startAccountJetStreams } from "./accounts/jetstream.js";
import { operatorMode, type OperatorMode } from "./accounts/operator-mode.js";
import { AuthCallout, type CalloutHost } from "./accounts/auth-callout.js";
import { DEFAULT_RESOLVER_INTERVAL_MS } from "./accounts/operator-options.js";
import { serveClaims } from "./accounts/claims-api.js";
import { serveSysRequests } from "./monitor/sys-requests.js";
import { serveUserInfo } from "./monitor/user-info.js";
import { ClosedConnections } from "./monitor/connz.js";
import { Cluster, type ClusterHost } from "./cluster/cluster.js";
import { LeafNodes, type LeafNodesHost } from "./cluster/leafnodes.js";
import { defaultConnectOptions } from "../protocol/connect.js";
import { networkInterfaces } from "node:os";

/** The version gnat advertises: clients gate JetStream features on it. */
export const SERVER_VERSION = "2.10.0";
export const GNAT_VERSION = "0.1.0";
export const PROTO_VERSION = 1;

/** A TLS client between accept and the end of its handshake: what its INFO already said. */
interface TlsPending {
  cid: number;
  nonce: string;
  infoSent: boolean;
}


export class Server implements ConnectionHost, ReloadHost, LameDuckHost {
  /** The options in force; a reload replaces the object (see reload()). */
  options: ServerOptions;
  readonly router = new Router();
  /** Publish subjects seen recently, shared by every connection's parser. */
  readonly intern = new InternTable(4096);
  /** Outbound buffers, lent to connections while they have bytes queued. */
  readonly buffers = new BufferPool();
  /** null when anyone may connect. Replaced by a reload that changes authorization. */
  authenticator: Authenticator | null = null;
  /** Backoff for repeated failed logins; kept across reloads while authentication stays on. */
  authThrottle: AuthThrottle | null = null;
  readonly views = new ViewCache();
  readonly log: Logger;
  /** The server's nkey, as in nats-server 2.10: its public key is the server's id, and it signs auth callout requests. */
  private readonly identity: KeyPair = createServer();
  readonly serverId = this.identity.getPublicKey();
  /** The server's curve key (auth callout xkey encryption), made when first needed. */
  private curve: KeyPair | null = null;
  /** The claims requests' timer (the directory resolver's sync), in operator mode. */
  private claims: { close(): void } | null = null;
  /** The auth callout in force, when `auth_callout` is configured. */
  private callout: AuthCallout | null = null;
  readonly clients = new Map<number, ClientConnection>();
  readonly startedAt = new Date();
  /** When the options in force were loaded: start-up, then each reload (/varz config_load_time). */
  configLoadedAt = this.startedAt;
  /** The nats-server version advertised (INFO, /varz). */
  readonly version = SERVER_VERSION;
  /** Totals, for monitoring. */
  totalConnections = 0;
  slowConsumers = 0;
  /** Times a producer was stalled by flow control (nats-server's varz stalled_clients). */
  stalledClients = 0;

  /**
   * The accounts: $G (on `router`) and the system account always, as in nats-server; the
   * configured ones beside them.
   */
  readonly accounts: AccountRegistry;
  /** Operator mode (accounts and users from JWTs), when `operator` is configured. */
  readonly operator: OperatorMode | null;
  /** The monitoring HTTP server, when a monitoring port is set. */
  monitor: MonitorServer | null = null;
  /** Threshold alerts, when any is configured. */
  alerts: Alerts | null = null;
  /** $SYS.ACCOUNT.<acc>.CONNECT / DISCONNECT events, sent while someone listens. */
  private sysEvents: SystemEvents | null = null;

  private listener: TcpListener | null = null;
  /** Runs client TLS handshakes, when TLS is configured. */
  private tlsAcceptor: TlsAcceptor<TlsPending> | null = null;
  private wsListener: WebSocketListener | null = null;
  private nextCid = 1;
  private infoPrefix = "";
  /** INFO for clients of a plain transport (WebSocket) while the client port has TLS. */
  private plainInfoPrefix = "";
  private wssInfoPrefix = "";
  /** The sockets that came over wss:// (their INFO says tls_required). */
  private readonly wssSockets = new WeakSet<ClientSocket>();
  private dirty: { dirty: boolean; flush(): void }[] = [];
  /** Routes to the other servers of the cluster, when `cluster` is configured. */
  cluster: Cluster | null = null;
  /** Leafnode connections (a listener for leafs, remotes to hubs), when `leafnodes` is configured. */
  leafnodes: LeafNodes | null = null;
  private flushScheduled = false;
  private readonly flushAll = (): void => this.flushDirty();
  private closing: Promise<void> | null = null;
  /** The pid and ports files, once written. */
  private readonly sideFiles = new SideFiles();
  private boundPort = 0;
  /** Where log lines go, when the server made its own logger (a reload may redirect it). */
  private readonly logSink: LogSink | null;
  /**
   * What reload() with no argument reads: the CLI sets it to re-read the -c file (with the
   * command-line flags over it). An embedder may set it too.
   */
  configLoader: (() => ServerOptionsInput) | null = null;
  private lameDuckRun: Promise<void> | null = null;
  private ldmInfoBuilt = false;
  private listenersStopped = false;
  private listenerClosed: Promise<void> | null = null;
  private jetstreamStopped: Promise<void> | null = null;
  private readonly sleepers = new Set<() => void>();
  /** The JetStream store dir's lock, held from start-up to close (store-lock.ts). */
  private storeLock: StoreLock | null = null;

  constructor(input: ServerOptionsInput = {}) {
    this.options = resolveOptions(input);
    const { log, sink } = openLog(this.options);
    this.log = log;
    this.logSink = sink;
    const o = this.options;
    const s = this;
    this.operator = o.operators.length === 0 ? null : operatorMode(o, this.router, {
      log: this.log,
      clients: this.clients,
      get options() { return s.options; },
      startAccountJetStream: (acc) => {
        if (s.options.jetstream) startAccountJetStream(s, acc);
        s.serveUserInfo(acc.router);
      },
    });
    this.accounts = this.operator?.registry
      ?? new AccountRegistry(this.router, o.accounts, o.systemAccount, [...userAccounts(o.authorization, null).keys()]);
    this.setAuthorization(o.authorization);
    const tls = o.tls;
    // Certificates are read now, so a bad one fails startServer, as nats-server fails to start.
    if (tls !== null) this.tlsAcceptor = new TlsAcceptor<TlsPending>(tls, this.log, (s, p) => this.acceptSecure(s, p));
    const onAutoUnsubscribe = (sub: Subscription): void => {
      if (sub.client instanceof ClientConnection) sub.client.forget(sub);
    };
    this.router.onAutoUnsubscribe = onAutoUnsubscribe;
    for (const a of this.accounts.accounts.values()) a.router.onAutoUnsubscribe = onAutoUnsubscribe;
    this.applyMappings();
  }

  /**
   * Each account's subject mappings from the options in force (at start and after a reload): the
   * top-level `mappings` are the global account's.
   */
  applyMappings(): void {
    const o = this.options;
    const cluster = (): string => this.cluster?.name ?? o.cluster?.name ?? "";
    // With a JetStream domain, each account with JetStream also maps `$JS.<domain>.API.…` onto its
    // API (nats-server's enableAllJetStreamServiceImportsAndMappings); configured mappings win.
    const domain = o.jetstream && o.jetStreamDomain !== "" ? domainMappings(o.jetStreamDomain) : null;
    const sys = this.accounts.system;
    const withDomain = (a: Account, m: MappingsOptions | undefined): MappingsOptions | undefined =>
      domain === null || a === sys || a.jetstreamLimits === null ? m : { ...domain, ...(m ?? {}) };
    const global = { ...(o.accounts?.[GLOBAL_ACCOUNT]?.mappings ?? {}), ...(o.mappings ?? {}) };
    this.router.mappings = buildMappings(withDomain(this.accounts.global, global), cluster);
    for (const a of this.accounts.accounts.values()) {
      if (a.router !== this.router) a.router.mappings = buildMappings(withDomain(a, o.accounts?.[a.name]?.mappings), cluster);
    }
    this.leafnodes?.mappingsChanged();
  }

  /** $SYS.REQ.USER.INFO in an account (each has it, as in nats-server 2.10), once events run. */
  private serveUserInfo(router: Router): void {
    const ev = this.sysEvents;
    if (ev !== null) serveUserInfo(internalClient(router), (cid) => this.clients.get(cid), () => ev.serverInfo());
  }

  /**
   * What nats-server answers over NATS: the monitoring and claims requests in the system account,
   * $SYS.REQ.USER.INFO in every account but $G.
   */
  private serveSystemRequests(ev: SystemEvents): void {
    // Not in $G: its subject space stays the clients' own (counts of its subscriptions included).
    for (const a of this.accounts.accounts.values()) if (a !== this.accounts.global) this.serveUserInfo(a.router);
    const sys = internalClient(this.accounts.system.router);
    const noneClosed = new ClosedConnections(1);
    serveSysRequests(sys, this, {
      closed: () => this.monitor?.closedConnections ?? noneClosed,
      http: () => ({ host: this.monitor?.host ?? "", port: this.monitor?.boundTo ?? 0, reqStats: {}, engine: this.monitor?.engineName ?? "" }),
      serverInfo: () => ev.serverInfo(),
    });
    if (this.operator !== null) {
      const r = this.options.resolver;
      const sync = r?.type === "full"
        ? { client: internalClient(this.accounts.system.router, { echo: false }), interval: r.interval !== undefined && r.interval > 0 ? r.interval : DEFAULT_RESOLVER_INTERVAL_MS, serverId: this.serverId }
        : null;
      this.claims = serveClaims(sys, this.operator.accounts, () => ev.serverInfo(), this.log, this.accounts.system.name, sync);
    }
  }

  /** ConnectionHost.accountFor: the account of an authenticated user. */
  accountFor(user: AuthenticatedUser): ConnectionAccount {
    return user.account === undefined ? this.accounts.forUser(user.name) : this.accounts.get(user.account) ?? this.accounts.global;
  }

  /** JetStream of the global account ($G), when it has one. */
  get jetstream(): JetStream | null {
    return this.accounts.global.jetstream;
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host;
  }

  /** A URL a local client can dial. */
  get url(): string {
    const h = this.options.host;
    return `nats://${dialHost(h)}:${this.boundPort}`;
  }

  /** The monitoring URL (http://127.0.0.1:8222), or "" without monitoring. */
  get monitorUrl(): string {
    return this.monitor === null ? "" : this.monitor.url;
  }

  /** The WebSocket URL a local client can dial (ws://127.0.0.1:8080), or "" without one. */
  get websocketUrl(): string {
    const ws = this.options.websocket;
    if (ws === null || this.wsListener === null) return "";
    return `${ws.tls !== undefined ? "wss" : "ws"}://${dialHost(ws.host || "0.0.0.0")}:${this.wsListener.port}`;
  }

  get serverName(): string {
    return this.options.serverName || this.serverId;
  }

  async listen(): Promise<void> {
    const o = this.options;
    if (o.jetstream) {
      // One server per store dir, before anything is read from it (store-lock.ts); a second
      // server throws StoreLockedError here, with nothing started.
      this.storeLock = await lockStoreDir(this.jetStreamStoreDir);
    }
    let cluster: Cluster | null = null;
    let leafnodes: LeafNodes | null = null;
    try {
      if (o.jetstream) {
        startAccountJetStreams(this, this.accounts);
      }
      const alerts = resolveAlerts(o.alerts);
      if (Object.keys(alerts.rules).length > 0) {
        this.alerts = new Alerts(this, alerts, this.internalClient(), this.log);
        this.alerts.start();
      }
      this.sysEvents = new SystemEvents(this, internalClient(this.accounts.system.router));
      this.serveSystemRequests(this.sysEvents);
      // Monitoring first, as nats-server does: it is up by the time clients can connect.
      if (o.httpPort !== null) {
        const m = new MonitorServer(this, o.httpHost || o.host, o.httpPort, this.log, o.httpEngine);
        await m.listen();
        this.monitor = m;
      }
      if (o.websocket !== null) {
        const ws = o.websocket;
        this.wsListener = await listenWebSocket(ws, o, (socket, leaf) => {
          if (!leaf) {
            if (ws.tls !== undefined) this.wssSockets.add(socket);
            return this.accept(socket);
          }
          // A leaf dialling this hub over WebSocket (path /leafnode), as nats-server takes them.
          const ln = this.leafnodes;
          if (ln === null || ln.port === 0) {
            this.log.error("Not configured to accept leaf node connections");
            socket.destroy();
            return;
          }
          ln.acceptSocket(socket);
        }, this.log, o.httpEngine);
        this.log.info(`Listening for websocket clients on ${ws.tls !== undefined ? "wss" : "ws"}://${ws.host || "0.0.0.0"}:${this.wsListener.port}`);
        if (ws.tls === undefined) this.log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
      }
      this.listener = this.tlsAcceptor === null
        ? await listenTcp(o.host, o.port, (socket) => this.accept(socket), this.log)
        : await listenTcp(o.host, o.port, (socket) => this.acceptTls(socket), this.log, { plainReads: false });
      this.boundPort = this.listener.port;
      if (o.cluster !== null) {
        cluster = new Cluster(this.linkHost(), o.cluster);
        await cluster.listen();
        this.cluster = cluster;
      }
      if (o.leafnodes !== null) {
        leafnodes = new LeafNodes(this.linkHost(), o.leafnodes);
        await leafnodes.start();
        this.leafnodes = leafnodes;
      }
    } catch (e) {
      // Nothing half started: what did start stops, and the store dir is let go.
      await leafnodes?.close();
      await cluster?.close();
      await this.listener?.close();
      this.monitor?.close();
      this.wsListener?.close();
      this.wsListener?.shutdown();
      this.alerts?.close();
      await this.stopJetStream();
      await this.storeLock?.release();
      throw e;
    }
    this.buildInfoPrefixes();
    this.writeSideFiles();
    this.log.info({ version: GNAT_VERSION, serverId: this.serverId, serverName: this.serverName }, "Starting gnat");
    this.log.info(`Listening for client connections on ${o.host}:${this.boundPort}`);
    if (this.tlsAcceptor !== null) this.log.info("TLS required for client connections");
    if (o.maxPayload > MAX_PAYLOAD_WARN) {
      this.log.warn("Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance");
    }
    this.log.info("Server is ready");
  }

  /** Where JetStream keeps its files: <storeDir>/jetstream/<account>/streams/<stream>. */
  get jetStreamStoreDir(): string {
    return this.options.storeDir || join(tmpdir(), "nats");
  }

  /** JetStream settings every account's JetStream starts from. */
  jetStreamOptions(): JetStreamOptions {
    const o = this.options;
    return {
      storeDir: this.jetStreamStoreDir,
      maxMemory: o.maxMemoryStore,
      maxStore: o.maxFileStore,
      syncIntervalMs: o.syncInterval,
      syncAlways: o.syncAlways,
      serverName: this.serverName,
      ...(o.jetStreamDomain !== "" ? { domain: o.jetStreamDomain } : {}),
      flushOutbound: this.flushAll,
      log: this.log,
      clientInfo: (cid) => {
        const c = this.clients.get(cid);
        return c === undefined ? null : clientInfo(c, null, this.serverName);
      },
    };
  }

  private buildInfoPrefixes(): void {
    // A wss:// client's INFO says TLS is required and available, as nats-server's does.
    this.wssInfoPrefix = this.options.websocket?.tls !== undefined ? this.buildInfoPrefix(true, true, false) : "";
    if (this.options.tls !== null && this.options.allowNonTls) {
      // One INFO for both: it goes out before the client shows whether it wants TLS.
      this.infoPrefix = this.plainInfoPrefix = this.buildInfoPrefix(false, true);
      return;
    }
    this.infoPrefix = this.buildInfoPrefix(this.options.tls !== null);
    this.plainInfoPrefix = this.options.tls === null ? this.infoPrefix : this.buildInfoPrefix(false);
  }

  private buildInfoPrefix(tls: boolean, tlsAvailable = false, clientPort = true): string {
    const o = this.options;
    const info = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: SERVER_VERSION,
      proto: PROTO_VERSION,
      go: `node${process.versions.node}`,
      host: o.host,
      port: this.boundPort,
      headers: true,
      ...(this.authenticator !== null && !this.authenticator.connectOptional ? { auth_required: true } : {}),
      ...(tls ? { tls_required: true } : {}),
      ...(clientPort && (tls || tlsAvailable) && this.tlsAcceptor?.verify === true ? { tls_verify: true } : {}),
      ...(tlsAvailable ? { tls_available: true } : {}),
      max_payload: o.maxPayload,
      ...(o.jetstream ? { jetstream: true } : {}),
      ...this.clusterInfo(),
      ...(o.jetStreamDomain !== "" ? { domain: o.jetStreamDomain } : {}),
    };
    const json = JSON.stringify(info);
    return json.slice(0, -1);
  }

  /** The client INFO's cluster part: the cluster's name and every server's client URLs. */
  private clusterInfo(): Record<string, unknown> {
    const c = this.cluster;
    if (c === null) return {};
    const out: Record<string, unknown> = { cluster: c.name };
    if (c.options.noAdvertise) return out;
    const peers = c.peerClientUrls();
    // In lame duck mode clients are sent elsewhere: only the other servers' URLs.
    const ldm = this.lameDuckRun !== null;
    const urls = ldm ? [] : [...this.ownClientUrls()];
    for (const u of peers.nats) if (!urls.includes(u)) urls.push(u);
    if (urls.length > 0) out.connect_urls = urls;
    const ws = ldm ? [] : [...this.ownWebSocketUrls()];
    for (const u of peers.ws) if (!ws.includes(u)) ws.push(u);
    if (ws.length > 0) out.ws_connect_urls = ws;
    return out;
  }

  /** MonitoredServer.clusterStats: the routes, for /routez and /varz. */
  readonly clusterStats = (): ReturnType<Cluster["stats"]> | null => this.cluster?.stats() ?? null;

  /** AlertedServer.downLinks: configured routes (and leafnode remotes) not connected now. */
  readonly downLinks = (): ReturnType<Cluster["stats"]>["down"] => [...(this.cluster?.stats().down ?? []), ...(this.leafnodes?.stats().down ?? [])];

  /** MonitoredServer.connectUrls: the cluster's client URLs, as clients' INFO has them. */
  readonly connectUrls = (): string[] => (this.clusterInfo().connect_urls as string[] | undefined) ?? [];

  /** This server's client URLs as other servers advertise them: every interface's, for 0.0.0.0. */
  ownClientUrls(): string[] {
    return listenUrls(this.options.host, this.boundPort);
  }

  ownWebSocketUrls(): string[] {
    const ws = this.options.websocket;
    if (ws === null || this.wsListener === null) return [];
    return listenUrls(ws.host || "0.0.0.0", this.wsListener.port);
  }

  /** The cluster's client URLs changed: every client that takes async INFO gets a new one. */
  connectUrlsChanged(): void {
    if (this.listener === null) return;
    const before = this.infoPrefix;
    this.buildInfoPrefixes();
    if (this.infoPrefix === before || this.closing !== null) return;
    for (const c of this.clients.values()) {
      if (c.connected && !c.closed && c.opts.protocol >= 1) c.queue(this.infoLine(c));
    }
  }

  /** MonitoredServer.leafStats: the leafnode connections, for /leafz and /varz. */
  readonly leafStats = (): ReturnType<LeafNodes["stats"]> | null => this.leafnodes?.stats() ?? null;

  /** What routes and leafnodes see of the server: one object serves both. */
  private linkHost(): ClusterHost & LeafNodesHost {
    const s = this;
    return {
      serverId: s.serverId,
      get serverName() { return s.serverName; },
      version: SERVER_VERSION,
      log: s.log,
      buffers: s.buffers,
      get maxPayload() { return s.options.maxPayload; },
      get maxControlLine() { return s.options.maxControlLine; },
      get maxPending() { return s.options.maxPending; },
      get pingInterval() { return s.options.pingInterval; },
      get pingMax() { return s.options.pingMax; },
      get jetstream() { return s.options.jetstream; },
      get jetStreamDomain() { return s.options.jetStreamDomain; },
      get systemAccount() { return s.accounts.system.name; },
      // nats-server: a server with remotes and no cluster goes by its server name (when it has one).
      clusterName: () => s.cluster?.name
        ?? ((s.options.leafnodes?.remotes.length ?? 0) > 0 ? s.options.serverName : ""),
      routers: () => [...s.accounts.accounts.values()].map((a) => a.router),
      routerFor: (name) => s.accounts.accounts.get(name)?.router ?? null,
      ownClientUrls: () => s.ownClientUrls(),
      ownWebSocketUrls: () => s.ownWebSocketUrls(),
      connectUrlsChanged: () => s.connectUrlsChanged(),
      authenticate: (user, pass) => {
        const auth = s.authenticator;
        if (auth === null) return { account: "$G", permissions: false };
        const o = defaultConnectOptions();
        o.user = user;
        o.pass = pass;
        const u = auth.authenticate(o, "", new Map());
        return u === null ? null : { account: s.accountFor(u).name, permissions: u.permissions !== null };
      },
      accountJetStream: (name) => (s.accounts.accounts.get(name)?.jetstream ?? null) !== null,
      nextCid: () => s.nextCid++,
      markDirty: (r) => s.markDirty(r),
    };
  }

  infoLine(c: ClientConnection, extra = ""): Buffer {
    // A TLS client's INFO went out before its handshake; one without TLS came another way.
    const prefix = c.tls !== null ? this.infoPrefix : this.wssSockets.has(c.socket) ? this.wssInfoPrefix : this.plainInfoPrefix;
    return this.infoFor(c.cid, c.nonce, c.remoteAddress, prefix, extra);
  }

  private infoFor(cid: number, nonceValue: string, remoteAddress: string, prefix: string, extra = ""): Buffer {
    const ip = JSON.stringify(remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress);
    // The nonce is base64url: nothing in it needs escaping.
    const nonce = nonceValue === "" ? "" : `,"nonce":"${nonceValue}"`;
    return Buffer.from(`INFO ${prefix}${nonce},"client_id":${cid},"client_ip":${ip}${extra}} \r\n`, "latin1");
  }

  /**
   * A client on a TLS port: INFO in plain text (unless handshake_first), then the handshake; the
   * connection begins once the handshake is done. A client that never completes it is closed
   * after the TLS timeout, without a word (as nats-server: nothing more can be said in plain).
   */
  private acceptTls(raw: Socket): void {
    const tls = this.tlsAcceptor!;
    if (this.closing !== null || this.lameDuckRun !== null) {
      raw.destroy();
      return;
    }
    const cid = this.nextCid++;
    const nonce = this.authenticator?.nonceRequired === true ? newNonce() : "";
    tls.negotiate(raw, (infoSent) => {
      if (this.closing !== null) {
        raw.destroy();
        return;
      }
      if (infoSent) raw.write(this.infoFor(cid, nonce, raw.remoteAddress ?? "", this.infoPrefix));
      const handshake = (): void => {
        this.log.debug({ cid, ip: raw.remoteAddress, port: raw.remotePort }, "starting TLS client connection handshake");
        tls.upgrade(raw, { cid, nonce, infoSent });
      };
      if (!infoSent || !this.options.allowNonTls) {
        handshake();
        return;
      }
      // allow_non_tls: the client's first byte decides (0x16 starts a TLS handshake record).
      tls.sniff(raw, (wantsTls) => {
        if (this.closing !== null) raw.destroy();
        else if (wantsTls) handshake();
        else {
          this.accept(raw, cid, { nonce, infoSent: true });
          raw.resume();
        }
      });
    });
  }

  private acceptSecure(s: TLSSocket, p: TlsPending): void {
    const init: ConnectionInit = {
      nonce: p.nonce,
      infoSent: p.infoSent,
      tls: { version: tlsVersionName(s.getProtocol()), cipher: s.getCipher().standardName, first: !p.infoSent },
    };
    if (this.authenticator?.tlsMap === true) init.cert = peerCertIdentity(s);
    init.peerCerts = () => peerCertsPem(s);
    this.accept(s, p.cid, init);
  }

  /**
   * New TLS settings (certificates, CA, verify, timeout) for connections from now on; open ones
   * keep their session. Without an argument the configured files are read again (rotation in
   * place). Throws, keeping the old settings, when the new ones do not load.
   */
  reloadTls(t?: TlsOptions): void {
    if (this.tlsAcceptor === null) throw new Error("TLS is not configured on this server: it can be rotated, not turned on");
    const next = t ?? this.tlsAcceptor.options;
    // Who a certificate names is decided by the authenticator, built once.
    if ((next.verifyAndMap === true) !== (this.tlsAcceptor.options.verifyAndMap === true)) {
      throw new Error("verify_and_map cannot change without a restart");
    }
    this.tlsAcceptor.setOptions(next);
    this.options.tls = next;
    if (this.listener !== null) this.buildInfoPrefixes();
  }

  /** Take a new client connection from any transport. */
  accept(socket: ClientSocket, assignedCid = 0, init: ConnectionInit = {}): void {
    if (this.closing !== null || this.lameDuckRun !== null) {
      socket.destroy();
      return;
    }
    const cid = assignedCid > 0 ? assignedCid : this.nextCid++;
    const c = new ClientConnection(cid, socket, this, init);
    const max = this.options.maxConnections;
    if (max > 0 && this.clients.size >= max) {
      this.log.error({ cid }, "maximum connections exceeded");
      socket.on("error", () => {});
      if (init.infoSent !== true) socket.write(this.infoLine(c));
      socket.end(errorLine(Errors.MaxConnections.text));
      c.closed = true;
      return;
    }
    this.clients.set(cid, c);
    this.totalConnections++;
    this.log.debug({ cid, ip: c.remoteAddress, port: c.remotePort }, "client connection created");
    c.begin();
  }

  markDirty(c: { dirty: boolean; flush(): void }): void {
    this.dirty.push(c);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushAll);
    }
  }

  /** Write every connection that has something queued, once each. */
  flushDirty(): void {
    this.flushScheduled = false;
    const list = this.dirty;
    if (list.length === 0) return;
    this.dirty = [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.dirty) c.flush();
    }
  }

  clientConnected(c: ClientConnection): void {
    const a = this.accounts.connected(c);
    if (a !== undefined) this.sysEvents?.accountConnections(a.name, () => accountStat(a, this.clients.values()));
    this.sysEvents?.connected(c);
  }

  removeClient(c: ClientConnection, reason: string): void {
    if (this.clients.delete(c.cid)) {
      if (reason.startsWith("Slow Consumer")) this.slowConsumers++;
      const a = c.connected ? this.accounts.closed(c, reason) : undefined;
      if (a !== undefined) this.sysEvents?.accountConnections(a.name, () => accountStat(a, this.clients.values()));
      if (c.connected) this.sysEvents?.disconnected(c, reason);
      else if (reason === Errors.AuthorizationViolation.text) this.sysEvents?.authError(c);
      this.monitor?.closedConnections.add(c, reason);
      this.log.debug({ cid: c.cid, reason }, "client connection closed");
    }
  }

  noteStall(c: ClientConnection): void {
    this.stalledClients++;
    this.log.debug({ cid: c.cid }, "producer stalled: a receiver is behind");
  }

  /** A client that lives inside the server (see internal-client.ts). */
  internalClient(opts: { echo?: boolean; noResponders?: boolean } = {}): InternalClient {
    const ic = internalClient(this.router, opts);
    return ic;
  }

  private writeSideFiles(): void {
    this.sideFiles.write(this.options, () => this.ports());
  }

  /** The ports file's content: URLs per listener, as nats-server writes them. */
  ports(): Ports {
    const h = this.options.host;
    const hosts = h === "0.0.0.0" || h === "" || h === "::" ? ["127.0.0.1"] : [h.includes(":") ? `[${h}]` : h];
    const out: Ports = { nats: hosts.map((x) => `nats://${x}:${this.boundPort}`) };
    if (this.monitor !== null) out.monitoring = [this.monitor.url];
    if (this.cluster !== null) {
      const c = this.cluster.options.host;
      out.cluster = [`nats://${c === "0.0.0.0" || c === "" || c === "::" ? "127.0.0.1" : c.includes(":") ? `[${c}]` : c}:${this.cluster.port}`];
    }
    if (this.wsListener !== null) out.websocket = [this.websocketUrl];
    return out;
  }

  // ---- config reload (reload.ts) -----------------------------------------------------------

  /**
   * Reload the configuration: `input` is a whole set of options, as startServer takes (absent
   * keys take their defaults; a port of 0 keeps the bound one; logger, noLog and programName
   * carry over). Without it, `configLoader` is read (the CLI's -c file). Throws, and changes
   * nothing, when the options are invalid or change a key that cannot change while running
   * (ReloadError: "config reload not supported for Port: old=4222, new=4333").
   */
  reload(input?: ServerOptionsInput): void {
    let src = input;
    if (src === undefined) {
      if (this.configLoader === null) throw new ReloadError(NO_CONFIG_FILE);
      src = this.configLoader();
    }
    const cur = { ...this.options, port: this.boundPort || this.options.port };
    const next = resolveReloaded(src, cur);
    const changed = diffOptions(cur, next, { tls: true, accounts: true });
    applyReload(this, next, changed);
    this.configLoadedAt = new Date();
  }

  /** See ReloadHost.prepareAccountsReload: the accounts, their exports, imports and JetStream stay. */
  prepareAccountsReload(next: ServerOptions, prev: ServerOptions): () => void {
    const reg = this.accounts;
    const refuse = (why: string): never => {
      throw new ReloadError(`config reload not supported for accounts: ${why}`);
    };
    if (next.accounts === null || prev.accounts === null) return refuse("adding or removing accounts {} needs a restart");
    const was = prev.accounts;
    const now = next.accounts;
    const names = (a: AccountsOptions): string => Object.keys(a).sort().join(",");
    if (names(was) !== names(now)) refuse("accounts can only be added or removed with a restart");
    for (const [name, a] of Object.entries(now)) {
      const b = was[name]!;
      for (const k of ["exports", "imports", "jetstream"] as const) {
        if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) refuse(`the ${k} of account ${name} can only change with a restart`);
      }
    }
    const before = userAccounts(prev.authorization, was);
    const after = userAccounts(next.authorization, now);
    for (const [user, acc] of after) {
      const old = before.get(user);
      if (old !== undefined && old !== acc) refuse(`user ${user} can only move from account ${old} to ${acc} with a restart`);
    }
    return () => reg.setUsers(after);
  }

  /** See ReloadHost.prepareClusterReload. */
  prepareClusterReload(next: ServerOptions, prev: ServerOptions): () => string[] {
    const c = this.cluster;
    if (c === null || next.cluster === null || prev.cluster === null) {
      const port = (o: ServerOptions): number => (o.cluster === null ? 0 : o === prev ? c?.port ?? o.cluster.port : o.cluster.port);
      throw new ReloadError(`config reload not supported for cluster port: old=${port(prev)}, new=${port(next)}`);
    }
    try {
      return c.prepareReload(next.cluster);
    } catch (e) {
      throw new ReloadError((e as Error).message);
    }
  }

  setAuthorization(auth: ServerOptions["authorization"]): void {
    // Users of every account authenticate through one authenticator, as in nats-server.
    const o = this.options;
    const merged = mergedAuthorization(auth, o.accounts);
    const opts = { tlsMap: o.tls?.verifyAndMap === true };
    this.authenticator = this.operator !== null ? this.operator.authenticator
      : merged === null || !authRequired(merged) ? null
        : o.noAuthUser !== "" ? new NoAuthUserAuthenticator(merged, o.noAuthUser, opts) : new Authenticator(merged, opts);
    this.callout?.close();
    this.callout = null;
    if (this.operator !== null) {
      // Operator mode: an account's JWT may name auth users; its users are then called out in it.
      this.callout = new AuthCallout(null, this.calloutHost(), this.operator.accounts);
      this.operator.authenticator.external = this.callout;
    } else if (this.authenticator !== null && auth?.callout !== undefined) {
      this.callout = new AuthCallout(auth.callout, this.calloutHost());
      this.authenticator.external = this.callout;
    }
    if (this.authenticator === null || auth?.throttle === false) this.authThrottle = null;
    else this.authThrottle ??= new AuthThrottle(auth?.throttle ?? {});
  }

  private calloutHost(): CalloutHost {
    const s = this;
    return {
      log: this.log,
      identity: this.identity,
      curveKey: () => (s.curve ??= createCurve()),
      serverId: () => ({
        name: s.serverName, host: s.options.host, id: s.serverId, version: s.version,
        ...(s.cluster?.name !== undefined ? { cluster: s.cluster.name } : {}),
      }),
      account: (name) => s.accounts.get(name),
      timeoutMs: () => authTimeoutMs(s.options.authorization, s.options.tls === null ? null : tlsTimeoutMs(s.options.tls)),
    };
  }

  applyLogging(o: ServerOptions): void {
    if (!o.noLog) this.log.level = logLevel(o);
    this.logSink?.setFile(o.logFile);
  }

  /** SIGUSR1: reopen the log file after rotation (nats-server's ReOpenLogFile). */
  reopenLogFile(): void {
    if (this.logSink?.reopen() === true) this.log.info("File log re-opened");
    else this.log.info("File log re-open ignored, not a file logger");
  }

  restartAlerts(): void {
    this.alerts?.close();
    this.alerts = null;
    const alerts = resolveAlerts(this.options.alerts);
    if (Object.keys(alerts.rules).length > 0) {
      this.alerts = new Alerts(this, alerts, this.internalClient(), this.log);
      this.alerts.start();
    }
  }

  rewriteSideFiles(prev: ServerOptions): void {
    this.sideFiles.rewrite(prev, this.options, () => this.ports());
  }

  refreshInfo(): void {
    if (this.listener !== null) this.buildInfoPrefixes();
  }

  // ---- lame duck mode (lameduck.ts) ---------------------------------------------------------

  /** In lame duck mode (or shutting down after it). */
  get inLameDuckMode(): boolean {
    return this.lameDuckRun !== null;
  }

  /**
   * Lame duck mode: stop accepting clients, send each an INFO with "ldm":true, wait
   * lameDuckGracePeriod, close them spread over lameDuckDuration, then shut down. Resolves once
   * the server is closed. Idempotent.
   */
  lameDuck(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.lameDuckRun === null) this.cluster?.enterLameDuck();
    this.lameDuckRun ??= runLameDuck(this);
    return this.lameDuckRun;
  }

  stopListening(): void {
    if (this.listenersStopped) return;
    this.listenersStopped = true;
    this.listenerClosed = this.listener ? this.listener.close() : Promise.resolve();
    this.tlsAcceptor?.close();
    this.wsListener?.close();
  }

  /** Stop every account's JetStream (lame duck mode does it before the clients go; close() after). */
  stopJetStream(): Promise<void> {
    this.jetstreamStopped ??= (async () => {
      for (const a of this.accounts.accounts.values()) {
        const js = a.jetstream;
        if (js === null) continue;
        await js.close();
        js.ic.close();
      }
    })();
    return this.jetstreamStopped;
  }

  ldmInfo(c: ClientConnection): Buffer {
    // Once: the INFO of a lame duck lists the other servers only (see clusterInfo).
    if (!this.ldmInfoBuilt) {
      this.ldmInfoBuilt = true;
      this.buildInfoPrefixes();
    }
    return this.infoLine(c, `,"ldm":true`);
  }

  sleep(ms: number): Promise<boolean> {
    if (this.closing !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve(this.closing !== null);
      };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Stop accepting, flush what is queued, close every client. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    for (const wake of [...this.sleepers]) wake();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.log.info("Initiating Shutdown...");
    this.stopListening();
    const clusterClosed = this.cluster?.close() ?? Promise.resolve();
    const leafsClosed = this.leafnodes?.close() ?? Promise.resolve();
    const closed = this.listenerClosed ?? Promise.resolve();
    this.monitor?.close();
    this.alerts?.close();
    this.flushDirty();
    const sockets: Promise<void>[] = [];
    for (const c of [...this.clients.values()]) {
      const s = c.socket;
      if (!s.destroyed) sockets.push(new Promise((resolve) => s.once("close", () => resolve())));
      c.close("Server Shutdown", true);
    }
    await Promise.race([
      Promise.all(sockets),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    for (const c of this.clients.values()) c.socket.destroy();
    this.wsListener?.shutdown();
    await closed;
    await clusterClosed;
    await leafsClosed;
    await this.stopJetStream();
    this.accounts.close();
    this.operator?.accounts.close();
    this.claims?.close();
    // After the stores are closed: another server may open the dir from now on.
    await this.storeLock?.release();
    this.sideFiles.remove();
    this.log.info("Server Exiting..");
    this.log.flush?.();
  }
}

/**
 * The "host:port" URLs other servers advertise for a listener bound to `h`: for every interface
 * (0.0.0.0, ::), each non-loopback address, as nats-server lists them.
 */
function listenUrls(h: string, port: number): string[] {
  if (h !== "0.0.0.0" && h !== "" && h !== "::") return [`${h.includes(":") ? `[${h}]` : h}:${port}`];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === "IPv4") v4.push(`${a.address}:${port}`);
      else if (!a.address.startsWith("fe80:")) v6.push(`[${a.address}]:${port}`);
    }
  }
  const all = [...v4, ...v6];
  return all.length > 0 ? all : [`127.0.0.1:${port}`];
}

/** A host a local client can dial for a listener bound to `h`. */
function dialHost(h: string): string {
  return h === "0.0.0.0" || h === "" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;
}

/** Start a server; resolves once it is listening. `port: 0` (or -1) picks a free port. */
export async function startServer(options: ServerOptionsInput = {}): Promise<Server> {
  const s = new Server(options);
  await s.listen();
  return s;
}
