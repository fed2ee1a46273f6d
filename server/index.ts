// startServer(options): the one composition root. Everything a running server owns hangs off
// the Server it returns; several can run in one process.
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { customAlphabet } from "nanoid";
import type { Logger } from "pino";
import { errorLine, Errors } from "../protocol/errors.js";
import { InternTable } from "../protocol/intern.js";
import { ViewCache } from "../protocol/bytes.js";
import { BufferPool } from "./outbound.js";
import { ClientConnection, type ClientSocket, type ConnectionAccount, type ConnectionHost } from "./connection.js";
import { Authenticator, authRequired } from "./auth/auth.js";
import { listenTcp, type TcpListener } from "./transport/tcp.js";
import { listenWebSocket, type WebSocketListener } from "./transport/websocket.js";
import { createLogger } from "./log.js";
import { MAX_PAYLOAD_WARN, resolveOptions, type ServerOptions, type ServerOptionsInput } from "./options.js";
import { InternalClient, Router, type Subscription } from "./router.js";
import { tmpdir } from "node:os";
import { serveApi } from "./jetstream/api.js";
import { JetStream, type JetStreamOptions } from "./jetstream/jetstream.js";
import { MonitorServer } from "./monitor/http.js";
import { Alerts, resolveAlerts } from "./monitor/alerts.js";
import { clientInfo, SystemEvents } from "./events.js";
import type { AuthenticatedUser } from "./auth/auth.js";
import { NoAuthUserAuthenticator } from "./accounts/auth.js";
import { mergedAuthorization, userAccounts } from "./accounts/options.js";
import { accountStat, AccountRegistry } from "./accounts/accounts.js";
import { startAccountJetStreams } from "./accounts/jetstream.js";

export { type ServerOptions, type ServerOptionsInput } from "./options.js";
export type { InternalClient, InternalMsg, InternalSubscription, PublishOptions } from "./router.js";

/** The version gnat advertises: clients gate JetStream features on it. */
export const SERVER_VERSION = "2.10.0";
export const GNAT_VERSION = "0.1.0";
export const PROTO_VERSION = 1;

const serverIdGen = customAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 55);

export class Server implements ConnectionHost {
  readonly options: ServerOptions;
  readonly router = new Router();
  /** Publish subjects seen recently, shared by every connection's parser. */
  readonly intern = new InternTable(4096);
  /** Outbound buffers, lent to connections while they have bytes queued. */
  readonly buffers = new BufferPool();
  /** null when anyone may connect. */
  readonly authenticator: Authenticator | null;
  readonly views = new ViewCache();
  readonly log: Logger;
  readonly serverId = `N${serverIdGen()}`;
  readonly clients = new Map<number, ClientConnection>();
  readonly startedAt = new Date();
  /** The nats-server version advertised (INFO, /varz). */
  readonly version = SERVER_VERSION;
  /** Totals, for monitoring. */
  totalConnections = 0;
  slowConsumers = 0;
  /** Times a producer was stalled by flow control (nats-server's varz stalled_clients). */
  stalledClients = 0;

  /** The accounts, when `accounts` are configured (null: everyone is in $G, on `router`). */
  readonly accounts: AccountRegistry | null;
  /** JetStream of the global account ("$G"), when enabled (and no accounts are configured). */
  jetstream: JetStream | null = null;
  /** The monitoring HTTP server, when a monitoring port is set. */
  monitor: MonitorServer | null = null;
  /** Threshold alerts, when any is configured. */
  alerts: Alerts | null = null;
  /** $SYS.ACCOUNT.<acc>.CONNECT / DISCONNECT events, sent while someone listens. */
  private sysEvents: SystemEvents | null = null;

  private listener: TcpListener | null = null;
  private wsListener: WebSocketListener | null = null;
  private nextCid = 1;
  private infoPrefix = "";
  private dirty: ClientConnection[] = [];
  private flushScheduled = false;
  private readonly flushAll = (): void => this.flushDirty();
  private closing: Promise<void> | null = null;
  private portsFile = "";
  private pidFileWritten = "";
  private boundPort = 0;

  constructor(input: ServerOptionsInput = {}) {
    this.options = resolveOptions(input);
    this.log = createLogger(this.options);
    const o = this.options;
    const auth = mergedAuthorization(o.authorization, o.accounts);
    this.authenticator = auth === null || !authRequired(auth) ? null
      : o.noAuthUser !== "" ? new NoAuthUserAuthenticator(auth, o.noAuthUser) : new Authenticator(auth);
    this.accounts = o.accounts === null ? null
      : new AccountRegistry(this.router, o.accounts, o.systemAccount, [...userAccounts(o.authorization, null).keys()]);
    const onAutoUnsubscribe = (sub: Subscription): void => {
      if (sub.client instanceof ClientConnection) sub.client.forget(sub);
    };
    this.router.onAutoUnsubscribe = onAutoUnsubscribe;
    for (const a of this.accounts?.accounts.values() ?? []) a.router.onAutoUnsubscribe = onAutoUnsubscribe;
  }

  /** ConnectionHost.accountFor: the account of an authenticated user. */
  accountFor(user: AuthenticatedUser): ConnectionAccount {
    return this.accounts === null ? this.globalAccount : this.accounts.forUser(user.name);
  }

  private readonly globalAccount: ConnectionAccount = { name: "$G", router: this.router };

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
    return `ws://${dialHost(ws.host || "0.0.0.0")}:${this.wsListener.port}`;
  }

  get serverName(): string {
    return this.options.serverName || this.serverId;
  }

  async listen(): Promise<void> {
    const o = this.options;
    if (o.jetstream) {
      if (this.accounts === null) this.startJetStream();
      else startAccountJetStreams(this, this.accounts);
    }
    const alerts = resolveAlerts(o.alerts);
    if (Object.keys(alerts.rules).length > 0) {
      this.alerts = new Alerts(this, alerts, this.internalClient(), this.log);
      this.alerts.start();
    }
    this.sysEvents = this.accounts === null ? new SystemEvents(this, this.internalClient())
      : new SystemEvents(this, this.accounts.system.router.internalClient(), false);
    // Monitoring first, as nats-server does: it is up by the time clients can connect.
    if (o.httpPort !== null) {
      const m = new MonitorServer(this, o.httpHost || o.host, o.httpPort, this.log);
      await m.listen();
      this.monitor = m;
    }
    try {
      if (o.websocket !== null) {
        const ws = o.websocket;
        this.wsListener = await listenWebSocket(ws, o, (socket) => this.accept(socket), this.log);
        this.log.info(`Listening for websocket clients on ws://${ws.host || "0.0.0.0"}:${this.wsListener.port}`);
        this.log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
      }
      this.listener = await listenTcp(o.host, o.port, (socket) => this.accept(socket), this.log);
    } catch (e) {
      this.monitor?.close();
      this.wsListener?.close();
      this.wsListener?.shutdown();
      throw e;
    }
    this.boundPort = this.listener.port;
    this.infoPrefix = this.buildInfoPrefix();
    this.writeSideFiles();
    this.log.info({ version: GNAT_VERSION, serverId: this.serverId, serverName: this.serverName }, "Starting gnat");
    this.log.info(`Listening for client connections on ${o.host}:${this.boundPort}`);
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
      log: this.log,
      clientInfo: (cid) => {
        const c = this.clients.get(cid);
        return c === undefined ? null : clientInfo(c, null, this.serverName);
      },
    };
  }

  /** JetStream for the global account: its streams recovered from disk, then its API served. */
  private startJetStream(): void {
    const storeDir = this.jetStreamStoreDir;
    this.log.info({ storeDir }, "Starting JetStream");
    const js = new JetStream("$G", this.internalClient(), this.jetStreamOptions());
    js.recover();
    serveApi(js);
    this.jetstream = js;
  }

  private buildInfoPrefix(): string {
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
      max_payload: o.maxPayload,
      ...(o.jetstream ? { jetstream: true } : {}),
    };
    const json = JSON.stringify(info);
    return json.slice(0, -1);
  }

  infoLine(c: ClientConnection): Buffer {
    const ip = JSON.stringify(c.remoteAddress.startsWith("::ffff:") ? c.remoteAddress.slice(7) : c.remoteAddress);
    // The nonce is base64url: nothing in it needs escaping.
    const nonce = c.nonce === "" ? "" : `,"nonce":"${c.nonce}"`;
    return Buffer.from(`INFO ${this.infoPrefix}${nonce},"client_id":${c.cid},"client_ip":${ip}} \r\n`, "latin1");
  }

  /** Take a new client connection from any transport. */
  accept(socket: ClientSocket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const cid = this.nextCid++;
    const c = new ClientConnection(cid, socket, this);
    const max = this.options.maxConnections;
    if (max > 0 && this.clients.size >= max) {
      this.log.error({ cid }, "maximum connections exceeded");
      socket.on("error", () => {});
      socket.write(this.infoLine(c));
      socket.end(errorLine(Errors.MaxConnections.text));
      c.closed = true;
      return;
    }
    this.clients.set(cid, c);
    this.totalConnections++;
    this.log.debug({ cid, ip: c.remoteAddress, port: c.remotePort }, "client connection created");
    c.begin();
  }

  markDirty(c: ClientConnection): void {
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
    const a = this.accounts?.connected(c);
    if (a !== undefined) this.sysEvents?.accountConnections(a.name, () => accountStat(a, this.clients.values()));
    this.sysEvents?.connected(c);
  }

  removeClient(c: ClientConnection, reason: string): void {
    if (this.clients.delete(c.cid)) {
      if (reason.startsWith("Slow Consumer")) this.slowConsumers++;
      const a = c.connected ? this.accounts?.closed(c, reason) : undefined;
      if (a !== undefined) this.sysEvents?.accountConnections(a.name, () => accountStat(a, this.clients.values()));
      if (c.connected) this.sysEvents?.disconnected(c, reason);
      this.monitor?.closedConnections.add(c, reason);
      this.log.debug({ cid: c.cid, reason }, "client connection closed");
    }
  }

  noteStall(c: ClientConnection): void {
    this.stalledClients++;
    this.log.debug({ cid: c.cid }, "producer stalled: a receiver is behind");
  }

  /** A client that lives inside the server (see Router.internalClient). */
  internalClient(opts: { echo?: boolean; noResponders?: boolean } = {}): InternalClient {
    const ic = this.router.internalClient(opts);
    return ic;
  }

  private writeSideFiles(): void {
    const o = this.options;
    if (o.pidFile) {
      writeAtomically(o.pidFile, String(process.pid));
      this.pidFileWritten = o.pidFile;
    }
    if (o.portsFileDir) {
      mkdirSync(o.portsFileDir, { recursive: true });
      const name = basename(o.programName || "gnat").replace(/\.(c|m)?js$/, "");
      this.portsFile = join(o.portsFileDir, `${name}_${process.pid}.ports`);
      writeAtomically(this.portsFile, JSON.stringify(this.ports()));
    }
  }

  /** The ports file's content: URLs per listener, as nats-server writes them. */
  ports(): { nats: string[]; monitoring?: string[]; websocket?: string[] } {
    const h = this.options.host;
    const hosts = h === "0.0.0.0" || h === "" || h === "::" ? ["127.0.0.1"] : [h.includes(":") ? `[${h}]` : h];
    const out: { nats: string[]; monitoring?: string[]; websocket?: string[] } = { nats: hosts.map((x) => `nats://${x}:${this.boundPort}`) };
    if (this.monitor !== null) out.monitoring = [this.monitor.url];
    if (this.wsListener !== null) out.websocket = [this.websocketUrl];
    return out;
  }

  /** Stop accepting, flush what is queued, close every client. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const closed = this.listener ? this.listener.close() : Promise.resolve();
    this.wsListener?.close();
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
    if (this.jetstream !== null) {
      await this.jetstream.close();
      this.jetstream.ic.close();
    }
    if (this.accounts !== null) {
      for (const a of this.accounts.accounts.values()) {
        if (a.jetstream === null) continue;
        await a.jetstream.close();
        a.jetstream.ic.close();
      }
      this.accounts.close();
    }
    for (const f of [this.portsFile, this.pidFileWritten]) {
      if (!f) continue;
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
    this.log.info("Server Exiting..");
    this.log.flush?.();
  }
}

/** A host a local client can dial for a listener bound to `h`. */
function dialHost(h: string): string {
  return h === "0.0.0.0" || h === "" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;
}

/**
 * Test harnesses poll for the ports and pid files and read them as soon as they appear: write a
 * temporary file and rename it, so a reader never sees one half written.
 */
function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Start a server; resolves once it is listening. `port: 0` (or -1) picks a free port. */
export async function startServer(options: ServerOptionsInput = {}): Promise<Server> {
  const s = new Server(options);
  await s.listen();
  return s;
}
