// Tested by test/server/embedding.test.ts.
// startServer(options): the one composition root. Everything a running server owns hangs off
// the Server it returns; several can run in one process. The order things start and stop in,
// the connection registry, reload and lame duck live here; the client INFO, TLS clients and
// what routes and leafnodes see of the server are in root/. The public API is re-exported by
// index.ts.
import type { Logger } from "pino";
import { errorLine, Errors } from "../protocol/errors.js";
import { InternTable } from "../protocol/intern.js";
import { ViewCache } from "../protocol/bytes.js";
import { BufferPool } from "./core/outbound.js";
import { ClientConnection, type ClientSocket, type ConnectionAccount, type ConnectionHost, type ConnectionInit } from "./core/connection.js";
import { authTimeoutMs, type Authenticator, type AuthenticatedUser } from "./auth/auth.js";
import { tlsTimeoutMs } from "./tls-options.js";
import { ServerIdentity } from "./auth/server-identity.js";
import { AuthThrottle } from "./auth/throttle.js";
import { listenTcp, type TcpListener } from "./transport/tcp.js";
import type { TlsOptions } from "./transport/tls.js";
import { portsOf, SideFiles, type Ports } from "./process/side-files.js";
import type { WebSocketListener } from "./transport/websocket.js";
import { logLevel, openLog, type LogSink } from "./process/log.js";
import { prepareAccountsReload, prepareClusterReload, reloadFrom, type ReloadHost } from "./process/reload.js";
import { runLameDuck, Sleepers, type LameDuckHost } from "./process/lameduck.js";
import { MAX_PAYLOAD_WARN, resolveOptions, type ServerOptions, type ServerOptionsInput } from "./options.js";
import { Router, type Subscription } from "./core/router.js";
import { internalClient, InternalClient } from "./core/internal-client.js";
import type { JetStream } from "./jetstream/jetstream.js";
import { domainMappings } from "../protocol/js-domain.js";
import type { MonitorServer } from "./monitor/http.js";
import { Alerts } from "./monitor/alerts.js";
import { resolveAlerts } from "./alerts-options.js";
import { clientInfo, SystemEvents } from "./events.js";
import { authenticatorFor } from "./accounts/auth.js";
import { applyAccountMappings, userAccounts } from "./accounts/options.js";
import { accountStat, AccountRegistry } from "./accounts/accounts.js";
import { operatorMode, type OperatorMode } from "./accounts/operator-mode.js";
import type { Cluster } from "./cluster/cluster.js";
import type { LeafNodes } from "./cluster/leafnodes.js";
import { ClientInfo, dialHost, GNAT_VERSION, infoFor, SERVER_VERSION } from "./root/info.js";
import { TlsClients } from "./root/tls-clients.js";
import { linkHost } from "./root/links.js";
import { FlushList, type Flushable } from "./root/flush.js";
import { closeClients } from "./root/shutdown.js";
import { JetStreamBoot, storeDirOf } from "./root/jetstream.js";
import { serveAccountUserInfo, serveSystemRequests } from "./root/system.js";
import { Callouts } from "./root/callout.js";

export { GNAT_VERSION, PROTO_VERSION, SERVER_VERSION } from "./root/info.js";


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
  private readonly identity = new ServerIdentity();
  readonly serverId = this.identity.publicKey;
  /** The claims requests' timer (the directory resolver's sync), in operator mode. */
  private claims: { close(): void } | null = null;
  /** The auth callout in force, when `auth_callout` is configured (or operator mode). */
  private readonly callouts: Callouts;
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
  /** The client port's TLS handshakes, when TLS is configured. */
  private tls: TlsClients | null = null;
  private wsListener: WebSocketListener | null = null;
  private nextCid = 1;
  /** The client INFO, built per listener kind. */
  private readonly info: ClientInfo;
  /** Every account's JetStream, and the store dir's lock, when JetStream is configured. */
  private readonly js = new JetStreamBoot(this);
  /** Connections with bytes queued, flushed once each a microtask later. */
  private readonly dirty = new FlushList(() => this.flushDirty());
  /** Routes to the other servers of the cluster, when `cluster` is configured. */
  cluster: Cluster | null = null;
  /** Leafnode connections (a listener for leafs, remotes to hubs), when `leafnodes` is configured. */
  leafnodes: LeafNodes | null = null;
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
  private readonly sleepers = new Sleepers();

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
      accountLeafs: (id) => s.leafnodes?.accountLeafs(id) ?? [],
      startAccountJetStream: (acc) => {
        // Before listen() has read JetStream, listen() starts every account's.
        if (s.options.jetstream) s.js.startAccount(acc);
        if (s.sysEvents !== null) serveAccountUserInfo(s, s.sysEvents, acc.router);
        // Its interest is told to the routes and leafnodes, as every account's is.
        s.cluster?.follow(acc.router);
        s.leafnodes?.follow(acc.router);
      },
      restartAccountJetStream: (acc, deleted) => {
        if (s.options.jetstream) void s.js.restartAccount(acc, deleted);
      },
    });
    this.accounts = this.operator?.registry
      ?? new AccountRegistry(this.router, o.accounts, o.systemAccount, [...userAccounts(o.authorization, null).keys()]);
    this.callouts = new Callouts({
      log: this.log,
      identity: () => this.identity.keyPair(),
      serverId: () => ({
        name: s.serverName, host: s.options.host, id: s.serverId, version: s.version,
        ...(s.cluster?.name !== undefined ? { cluster: s.cluster.name } : {}),
      }),
      account: (name) => s.accounts.get(name),
      timeoutMs: () => authTimeoutMs(s.options.authorization, s.options.tls === null ? null : tlsTimeoutMs(s.options.tls)),
    });
    this.setAuthorization(o.authorization);
    this.info = new ClientInfo(this);
    // Certificates are read now, so a bad one fails startServer, as nats-server fails to start.
    if (o.tls !== null) {
      this.tls = new TlsClients(o.tls, {
        log: this.log,
        get options() { return s.options; },
        get authenticator() { return s.authenticator; },
        get closing() { return s.closing !== null; },
        get refusing() { return s.closing !== null || s.lameDuckRun !== null; },
        nextCid: () => this.nextCid++,
        tlsInfo: (cid, nonce, ip) => infoFor(cid, nonce, ip, this.info.tlsPrefix),
        accept: (socket, cid, init) => this.accept(socket, cid, init),
      });
    }
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
    // With a JetStream domain, each account with JetStream also maps `$JS.<domain>.API.…` onto its
    // API (nats-server's enableAllJetStreamServiceImportsAndMappings); configured mappings win.
    const domain = o.jetstream && o.jetStreamDomain !== "" ? domainMappings(o.jetStreamDomain) : null;
    const sys = this.accounts.system;
    applyAccountMappings(o, this.accounts.global, this.accounts.accounts.values(), () => this.cluster?.name ?? o.cluster?.name ?? "",
      (a) => (domain === null || a === sys || a.jetstreamLimits === null ? null : domain));
    this.leafnodes?.mappingsChanged();
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

  /** The bound websocket port, or null without one. */
  get websocketPort(): number | null {
    return this.wsListener?.port ?? null;
  }

  /** Client certificates are asked for on the client port. */
  get tlsVerify(): boolean {
    return this.tls?.verify === true;
  }

  get serverName(): string {
    return this.options.serverName || this.serverId;
  }

  async listen(): Promise<void> {
    const o = this.options;
    // What a config may leave out is read when configured, side by side: a server reads only the
    // files it uses (clients' test harnesses start one per test and wait seconds at most).
    const none = Promise.resolve(null);
    const [, monitor, websocket, clusterModule, leafModule] = await Promise.all([
      o.jetstream ? this.js.open(storeDirOf(o)) : none,
      o.httpPort !== null ? import("./monitor/http.js") : none,
      o.websocket !== null ? import("./transport/websocket.js") : none,
      o.cluster !== null ? import("./cluster/cluster.js") : none,
      o.leafnodes !== null ? import("./cluster/leafnodes.js") : none,
    ]);
    let cluster: Cluster | null = null;
    let leafnodes: LeafNodes | null = null;
    try {
      this.js.startAll(this.accounts);
      this.restartAlerts();
      this.sysEvents = new SystemEvents(this, internalClient(this.accounts.system.router));
      this.claims = serveSystemRequests(this, this.sysEvents);
      // Monitoring first, as nats-server does: it is up by the time clients can connect.
      if (o.httpPort !== null && monitor !== null) {
        const m = new monitor.MonitorServer(this, o.httpHost || o.host, o.httpPort, this.log, o.httpEngine);
        await m.listen();
        this.monitor = m;
      }
      if (o.websocket !== null && websocket !== null) {
        const ws = o.websocket;
        this.wsListener = await websocket.listenWebSocket(ws, o, (socket, leaf) => {
          if (!leaf) {
            if (ws.tls !== undefined) this.info.markWss(socket);
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
      const tls = this.tls;
      this.listener = tls === null
        ? await listenTcp(o.host, o.port, (socket) => this.accept(socket), this.log)
        : await listenTcp(o.host, o.port, (socket) => tls.accept(socket), this.log, { plainReads: false });
      this.boundPort = this.listener.port;
      // As nats-server: the leafnode port first (the routes' INFO carries its URL, and peers take
      // it only from a route's first INFO), then the routes, then the remotes (their CONNECT names
      // the cluster).
      if (o.cluster !== null && clusterModule !== null) {
        cluster = new clusterModule.Cluster(this.linkHost(), o.cluster);
        this.cluster = cluster;
      }
      if (o.leafnodes !== null && leafModule !== null) {
        leafnodes = new leafModule.LeafNodes(this.linkHost(), o.leafnodes);
        await leafnodes.start();
        this.leafnodes = leafnodes;
      }
      await cluster?.listen();
      leafnodes?.startRemotes();
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
      await this.js.release();
      throw e;
    }
    this.info.build();
    this.writeSideFiles();
    this.monitor?.metrics.warm();
    this.log.info({ version: GNAT_VERSION, serverId: this.serverId, serverName: this.serverName }, "Starting gnat");
    this.log.info(`Listening for client connections on ${o.host}:${this.boundPort}`);
    if (this.tls !== null) this.log.info("TLS required for client connections");
    if (o.maxPayload > MAX_PAYLOAD_WARN) {
      this.log.warn("Maximum payloads over 8.00 MB are generally discouraged and could lead to poor performance");
    }
    this.log.info("Server is ready");
  }

  /** MonitoredServer.clusterStats: the routes, for /routez and /varz. */
  readonly clusterStats = (): ReturnType<Cluster["stats"]> | null => this.cluster?.stats() ?? null;

  /** AlertedServer.downLinks: configured routes (and leafnode remotes) not connected now. */
  readonly downLinks = (): ReturnType<Cluster["stats"]>["down"] => [...(this.cluster?.stats().down ?? []), ...(this.leafnodes?.stats().down ?? [])];

  /** MonitoredServer.connectUrls: the cluster's client URLs, as clients' INFO has them. */
  readonly connectUrls = (): string[] => this.info.clusterInfo().connect_urls ?? [];

  /** This server's client URLs as other servers advertise them: every interface's, for 0.0.0.0. */
  ownClientUrls(): string[] {
    return this.info.ownClientUrls();
  }

  /** ConnectionHost.infoGeneration: bumped by each change of the cluster's client URLs. */
  infoGeneration = 0;

  /**
   * The cluster's client URLs changed: every client that takes async INFO gets a new one. As
   * nats-server's, only clients past their first PONG; the others get it then (ClientConnection).
   */
  connectUrlsChanged(): void {
    if (this.listener === null) return;
    const before = this.info.tlsPrefix;
    this.info.build();
    if (this.info.tlsPrefix === before || this.closing !== null) return;
    this.infoGeneration++;
    for (const c of this.clients.values()) {
      if (c.takesInfoUpdates && !c.closed) c.queue(this.infoLine(c));
    }
  }

  /** MonitoredServer.leafStats: the leafnode connections, for /leafz and /varz. */
  readonly leafStats = (): ReturnType<LeafNodes["stats"]> | null => this.leafnodes?.stats() ?? null;

  /** What routes and leafnodes see of the server: one object serves both. */
  private linkHost(): ReturnType<typeof linkHost> {
    const s = this;
    return linkHost({
      serverId: s.serverId,
      get serverName() { return s.serverName; },
      version: SERVER_VERSION,
      log: s.log,
      buffers: s.buffers,
      get options() { return s.options; },
      get authenticator() { return s.authenticator; },
      clusterName: () => s.cluster?.name ?? null,
      routers: () => [...s.accounts.accounts.values()].map((a) => a.router),
      account: (name) => s.accounts.accounts.get(name),
      resolveAccount: (name) => s.operator?.accounts.lookup(name)?.account.router ?? null,
      get systemAccountName() { return s.accounts.system.name; },
      accountNameFor: (u) => s.accountFor(u).name,
      ownClientUrls: () => s.info.ownClientUrls(),
      ownWebSocketUrls: () => s.info.ownWebSocketUrls(),
      connectUrlsChanged: () => s.connectUrlsChanged(),
      // This server's leafnode URL for its routes (nats-server: unless leafnodes' no_advertise),
      // and the cluster's, for its leafs.
      ownLeafUrls: () => {
        const ln = s.leafnodes;
        return ln === null || ln.port === 0 || ln.options.noAdvertise ? [] : [ln.ownUrl()];
      },
      peerLeafUrls: () => s.cluster?.peerLeafUrls() ?? [],
      leafUrlsChanged: () => s.leafnodes?.leafUrlsChanged(),
      nextCid: () => s.nextCid++,
      markDirty: (r) => s.markDirty(r),
    });
  }

  infoLine(c: ClientConnection, extra = ""): Buffer {
    return this.info.line(c, extra);
  }

  /**
   * New TLS settings (certificates, CA, verify, timeout) for connections from now on; open ones
   * keep their session. Without an argument the configured files are read again (rotation in
   * place). Throws, keeping the old settings, when the new ones do not load.
   */
  reloadTls(t?: TlsOptions): void {
    if (this.tls === null) throw new Error("TLS is not configured on this server: it can be rotated, not turned on");
    const next = t ?? this.tls.options;
    this.tls.setOptions(next);
    this.options.tls = next;
    if (this.listener !== null) this.info.build();
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

  /** JetStreamSource.clientInfo: a client as JetStream's advisories describe it. */
  clientInfo(cid: number): Record<string, unknown> | null {
    const c = this.clients.get(cid);
    return c === undefined ? null : clientInfo(c, null, this.serverName);
  }

  /** JetStreamSource.flushOutbound: a consumer's early flush of a big batch. */
  flushOutbound(): void {
    this.flushDirty();
  }

  markDirty(c: Flushable): void {
    this.dirty.add(c);
  }

  /** Write every connection that has something queued, once each. */
  flushDirty(): void {
    this.dirty.flush();
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
    return portsOf({
      host: this.options.host,
      port: this.boundPort,
      ...(this.monitor !== null ? { monitorUrl: this.monitor.url } : {}),
      ...(this.cluster !== null ? { cluster: { host: this.cluster.options.host, port: this.cluster.port } } : {}),
      ...(this.wsListener !== null ? { websocketUrl: this.websocketUrl } : {}),
    });
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
    reloadFrom(this, input, this.configLoader);
    this.configLoadedAt = new Date();
  }

  /** See ReloadHost.prepareAccountsReload: the accounts, their exports, imports and JetStream stay. */
  prepareAccountsReload(next: ServerOptions, prev: ServerOptions): () => void {
    return prepareAccountsReload(next, prev, (users) => this.accounts.setUsers(users));
  }

  /** See ReloadHost.prepareLeafTlsReload. */
  prepareLeafTlsReload(next: NonNullable<ServerOptions["leafnodes"]>): () => void {
    return this.leafnodes?.prepareTlsReload(next) ?? (() => {});
  }

  /** See ReloadHost.prepareClusterReload. */
  prepareClusterReload(next: ServerOptions, prev: ServerOptions): () => string[] {
    return prepareClusterReload(this.cluster, next, prev);
  }

  setAuthorization(auth: ServerOptions["authorization"]): void {
    const o = this.options;
    this.authenticator = this.operator?.authenticator ?? authenticatorFor(auth, o.accounts, o.noAuthUser, o.tls?.verifyAndMap === true);
    this.callouts.install(this.authenticator, this.operator, auth?.callout);
    if (this.authenticator === null || auth?.throttle === false) this.authThrottle = null;
    else this.authThrottle ??= new AuthThrottle(auth?.throttle ?? {});
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

  /** Threshold alerts from the options in force (at start and after a reload). */
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
    if (this.listener !== null) this.info.build();
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
    this.tls?.close();
    this.wsListener?.close();
  }

  /** Stop every account's JetStream (lame duck mode does it before the clients go; close() after). */
  stopJetStream(): Promise<void> {
    return this.js.stop(this.accounts);
  }

  ldmInfo(c: ClientConnection): Buffer {
    // Once: the INFO of a lame duck lists the other servers only (see clusterInfo).
    if (!this.ldmInfoBuilt) {
      this.ldmInfoBuilt = true;
      this.info.build();
    }
    return this.info.line(c, `,"ldm":true`);
  }

  sleep(ms: number): Promise<boolean> {
    return this.sleepers.sleep(ms, () => this.closing !== null);
  }

  /** Stop accepting, flush what is queued, close every client. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    this.sleepers.wakeAll();
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
    await closeClients(this.clients);
    this.wsListener?.shutdown();
    await closed;
    await clusterClosed;
    await leafsClosed;
    await this.stopJetStream();
    this.accounts.close();
    this.operator?.accounts.close();
    this.claims?.close();
    // After the stores are closed: another server may open the dir from now on.
    await this.js.release();
    this.sideFiles.remove();
    this.log.info("Server Exiting..");
    this.log.flush?.();
  }
}

/** Start a server; resolves once it is listening. `port: 0` (or -1) picks a free port. */
export async function startServer(options: ServerOptionsInput = {}): Promise<Server> {
  const s = new Server(options);
  await s.listen();
  return s;
}
