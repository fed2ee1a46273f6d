// Leafnodes: this server as a leaf of other servers' hubs (remotes it dials, and dials again
// while they are down) and as a hub for leafs that dial its leafnode port, in nats-server 2.9's
// leafnode protocol, so gnat and nats-server mix on either side. Each connection is bound to one
// account. The interest told across (LS+/LS-, queue groups with their member counts) follows
// nats-server's rules: a hub tells a leaf of the whole account (its clients, its routes' and its
// other leafs' interest); a leaf tells its hub of its own clients and of the leafs it is a hub
// for, never of what it heard from a hub or a route. A loop (a leaf that hears its own loop
// detection subject, `$LDS.…`, come back) is broken with nats-server's "Loop detected" error, and
// the soliciting side waits 30 s before it tries again.
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { customAlphabet } from "nanoid";
import type { Logger } from "pino";
import { listenTcp, type TcpListener } from "../transport/tcp.js";
import type { BufferPool } from "../core/outbound.js";
import type { LinkRoomHost } from "./link-connection.js";
import type { Router, Subscription } from "../core/router.js";
import { LeafConn, type LeafConnect, type LeafConnHost, type LeafInfo } from "./leaf.js";
import type { LeafNodeOptions, LeafUrl } from "./leaf-options.js";
import type { LeafStats } from "../monitor/source.js";
import { LeafPerms, permFromInfo, permJson, userSides } from "./leaf-perms.js";
import type { SubjectPermission } from "../auth/permissions.js";
import { checkCredentialsFile, connectCredentials, isUserSeed } from "./leaf-creds.js";
import { authorizeLeaf, leafJsDeny, type LeafCredentials, type LeafIdentity } from "./leaf-auth.js";
import { dialSecureContext } from "../transport/tls.js";
import type { ClientSocket } from "../core/connection-types.js";
import { dialLeafWs } from "./leaf-ws.js";
import { connectLine, learnUrls, newRemote, pickUrl, remoteWantsTls, type Remote } from "./leaf-remote.js";
import { acceptLeafTls, dialLeaf, hubTls } from "./leaf-dial.js";
import { DEFAULT_AUTH_TIMEOUT_S, hostPort, leafInfoLine, leafStats, nonce, publicHost, subLine } from "./leaf-info.js";

/** What the leafnodes need of the server. */
export interface LeafNodesHost extends LinkRoomHost {
  readonly systemAccount: string;
  /** The name this server's cluster goes by on leafnode connections ("" none). */
  clusterName(): string;
  /**
   * A leaf's CONNECT credentials checked as a client's (no leafnode authorization configured):
   * the account they bind and the user's permissions, or null when refused.
   */
  authenticate(c: LeafCredentials): LeafIdentity | null;
  /** The JetStream domain ("" none). */
  readonly jetStreamDomain: string;
  /** The leafnode URLs of the other servers of our cluster. */
  peerLeafUrls(): string[];
  /** Whether `account` has JetStream (a leaf's CONNECT says so). */
  accountJetStream(account: string): boolean;
}

/** What a connection may carry before JetStream's rules: permissions (either side may be open) and deny lists. */
interface LeafSide {
  pub: SubjectPermission | undefined;
  sub: SubjectPermission | undefined;
  pubDeny: readonly string[];
  subDeny: readonly string[];
}

/** nats-server's delays before a solicited leafnode tries again after a loop or a cluster name clash. */
export const LEAF_LOOP_DELAY_MS = 30_000;
/** How long a solicited connection waits for the hub's first INFO (DEFAULT_LEAFNODE_INFO_WAIT). */
const INFO_WAIT_MS = 1000;
/** How long it waits for the hub's answer to its CONNECT (connectProcessTimeout). */
const CONNECT_PROCESS_MS = 2000;
const LDS_PREFIX = "$LDS.";

const ldsToken = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 22);

/** nats-server's DEFAULT_LEAF_TLS_TIMEOUT. */
const LEAF_TLS_TIMEOUT_MS = 2000;

export class LeafNodes implements LeafConnHost {
  private listener: TcpListener | null = null;
  private boundPort = 0;
  /** Every leafnode connection, bound or not yet. */
  readonly conns = new Set<LeafConn>();
  /** Bound connections by account router. */
  private readonly byRouter = new Map<Router, Set<LeafConn>>();
  private readonly remotes: Remote[] = [];
  private readonly remoteOf = new Map<LeafConn, Remote>();
  /** Each account's loop detection subject ($LDS.<random>). */
  private readonly lds = new Map<Router, string>();
  private readonly unfollow: (() => void)[] = [];
  private readonly followed = new WeakSet<Router>();
  /** Timers of connections in their handshake (auth timeout, INFO wait, CONNECT answer). */
  private readonly handshakeTimers = new Map<LeafConn, NodeJS.Timeout>();
  private readonly infoReceived = new WeakSet<LeafConn>();
  private closing = false;
  readonly log: Logger;
  /** TLS on accepted connections (the hub side), when the block has tls. */
  private tls: { context: SecureContext; verify: boolean; timeout: number } | null;

  constructor(private readonly host: LeafNodesHost, public options: LeafNodeOptions) {
    this.log = host.log;
    // Certificates are read now, so a bad one fails the start.
    this.tls = hubTls(options);
    for (const r of options.remotes) {
      // An embedder's seed is checked as the config's is (nats-server's words).
      if (r.nkey !== undefined && !isUserSeed(r.nkey)) throw new Error(`Remote leafnode nkey is not a valid seed: ${JSON.stringify(r.nkey)}`);
      this.remotes.push(newRemote(r));
    }
  }

  /**
   * A reload that changed TLS only (process/reload.ts checked): returns what makes connections
   * from then on, accepted and dialled, use the new certificates and CAs (those up keep theirs,
   * as in nats-server). Throws, changing nothing, when a certificate does not load.
   */
  prepareTlsReload(next: LeafNodeOptions): () => void {
    const tls = hubTls(next);
    const remotes = this.remotes.map((r, i) => {
      const opts = next.remotes[i] ?? r.opts;
      const wantsTls = remoteWantsTls(opts, r.configured);
      return { opts, wantsTls, tls: wantsTls ? dialSecureContext(opts.tls ?? {}) : null };
    });
    return () => {
      this.tls = tls;
      this.options = next;
      for (const [i, r] of this.remotes.entries()) Object.assign(r, remotes[i]);
    };
  }

  // LeafConnHost
  get buffers(): BufferPool { return this.host.buffers; }
  get maxPayload(): number { return this.host.maxPayload; }
  get maxControlLine(): number { return this.host.maxControlLine; }
  get pingInterval(): number { return this.host.pingInterval; }
  get pingMax(): number { return this.host.pingMax; }
  markDirty(r: { dirty: boolean; flush(): void }): void { this.host.markDirty(r); }

  /** The leafnode listener's port (0: none). */
  get port(): number {
    return this.boundPort;
  }

  /** Follow the accounts' interest and listen for leafs; the remotes are dialled by startRemotes(). */
  async start(): Promise<void> {
    for (const router of this.host.routers()) this.follow(router);
    const o = this.options;
    if (o.port !== 0) {
      // With TLS the handshake reads the socket itself (no shared read buffer).
      this.listener = await listenTcp(o.host, o.port === -1 ? 0 : o.port, (s) => this.accept(s), this.log, this.tls === null ? {} : { plainReads: false });
      this.boundPort = this.listener.port;
      this.log.info(`Listening for leafnode connections on ${hostPort(o.host, this.boundPort)}`);
      if (o.advertise !== "") this.log.info(`Advertise address for leafnode is set to ${this.ownUrl()}`);
    }
  }

  /** Dial the remotes (after the cluster is up: the CONNECT names it). */
  startRemotes(): void {
    const sys = this.host.systemAccount || "$SYS";
    for (const r of this.remotes) {
      const c = r.opts.credentials;
      if (c !== undefined) checkCredentialsFile(c, r.opts.account === "" ? "$G" : r.opts.account, r.opts.account === sys, this.log);
      this.connect(r);
    }
  }

  /** Follow an account's interest (every router, including one that appears later: operator mode). */
  follow(router: Router): void {
    if (this.followed.has(router)) return;
    this.followed.add(router);
    if (!this.lds.has(router)) this.lds.set(router, LDS_PREFIX + ldsToken());
    this.unfollow.push(router.addInterestListener((sub, delta) => this.interestChanged(router, sub, delta)));
  }

  // ---- the hub side: accepting ------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const cid = this.host.nextCid();
    const n = nonce();
    const info = this.infoLine({ client_id: cid, nonce: n, info_on_connect: true });
    const tls = this.tls;
    if (tls === null) {
      this.accepted(socket, cid, info, n);
      return;
    }
    // As nats-server: INFO in plain text (it says tls_required), then the leaf starts the handshake.
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    acceptLeafTls(socket, info, tls, (ts) => this.accepted(ts, cid, null, n, true), (why) => {
      if (why === "timeout") this.log.error({ remote }, "TLS leafnode handshake timeout");
      else this.log.error({ remote, err: why }, `TLS leafnode handshake error: ${why}`);
    });
  }

  /**
   * A leaf that dialled the websocket port (path /leafnode): the same handshake inside frames (the
   * WebSocket's own TLS, if any, is the transport's; the leafnode tls block is not applied again).
   */
  acceptSocket(socket: ClientSocket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const cid = this.host.nextCid();
    const n = nonce();
    this.accepted(socket, cid, this.infoLine({ client_id: cid, nonce: n, info_on_connect: true }), n, false, true);
  }

  /**
   * A leafnode connection accepted (over TLS: handshake done; `info` already sent then, null);
   * `n` is the nonce its INFO carried.
   */
  private accepted(socket: ClientSocket, cid: number, info: string | null, n: string, secure = false, ws = false): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const l = new LeafConn(cid, socket, this, false, "", this.host.maxPending);
    l.secure = secure;
    l.nonce = n;
    l.ws = ws;
    this.conns.add(l);
    this.log.info({ lid: l.cid, remote: `${l.remoteAddress}:${l.remotePort}`, tls: secure }, "Leafnode connection created");
    if (info !== null) {
      l.queue(info);
      l.flush();
    }
    const timeout = (this.options.authorization?.timeout ?? DEFAULT_AUTH_TIMEOUT_S) * 1000;
    this.handshakeTimer(l, timeout, () => {
      this.log.error({ lid: l.cid }, "Authentication Timeout");
      l.sendErrAndClose("Authentication Timeout", "Authentication Timeout");
    });
  }

  onLeafConnect(l: LeafConn, c: LeafConnect): void {
    if (l.solicited || l.registered || l.closed) return;
    const bound = authorizeLeaf(this.host, this.options, this.log, l, c, l.ws ? "LEAFNODE_WS" : "LEAFNODE", (account) => {
      let n = 0;
      for (const o of this.conns) if (o.registered && !o.closed && o.account === account) n++;
      return n;
    });
    if (bound === null) return;
    if (typeof c.lang === "string" && c.lang !== "") {
      this.log.error({ lid: l.cid }, "attempted to connect to leaf node port");
      l.sendErrAndClose("attempted to connect to leaf node port", "Incorrect Port");
      return;
    }
    const cn = this.host.clusterName();
    if (cn !== "" && typeof c.cluster === "string" && c.cluster === cn) {
      this.log.error({ lid: l.cid }, "remote leafnode has same cluster name");
      l.sendErrAndClose("remote leafnode has same cluster name", "Cluster Names Identical");
      return;
    }
    if (typeof c.gateway === "string" && c.gateway !== "") {
      const text = `Rejecting connection from gateway ${JSON.stringify(c.gateway)} on the leafnode port`;
      this.log.error({ lid: l.cid }, text);
      l.sendErrAndClose(text, "Wrong Gateway");
      return;
    }
    this.clearHandshake(l);
    l.headers = c.headers === true;
    l.remoteServer = typeof c.name === "string" ? c.name : "";
    l.remoteId = typeof c.server_id === "string" ? c.server_id : "";
    if (c.is_hub === true) l.spoke = true;
    if (typeof c.cluster === "string") l.remoteCluster = c.cluster;
    const denyPub = Array.isArray(c.deny_pub) ? c.deny_pub.filter((x): x is string => typeof x === "string") : [];
    // A leaf reconnecting before we saw its old connection go: the new one replaces it.
    if (l.remoteServer !== "") {
      for (const o of this.conns) {
        if (o !== l && !o.solicited && o.registered && o.remoteServer === l.remoteServer
          && o.remoteCluster === l.remoteCluster && o.account === bound.account) {
          o.sendErrAndClose("Duplicate Remote LeafNode Connection", "Duplicate Remote LeafNode Connection");
          this.log.warn({ lid: l.cid }, "Replacing connection from same server");
          break;
        }
      }
    }
    // The user's permissions, the other way round (what it may subscribe to is what we send it),
    // and told to the leaf in the INFO (import, export) for it to apply on its side.
    const { pub, sub } = userSides(bound.permissions);
    this.register(l, bound.account, bound.router, { pub: sub, sub: pub, pubDeny: denyPub, subDeny: [] }, typeof c.domain === "string" ? c.domain : "");
    const perms = bound.permissions === null ? {} : { import: permJson(sub), export: permJson(pub) };
    l.queue(this.infoLine({ client_id: l.cid, ...perms, info_on_connect: true, connect_info: true, remote_account: bound.account }));
    if (bound.expiresAt !== undefined) l.expireAt(bound.expiresAt);
    if (typeof c.jwt === "string") l.userJwt = c.jwt;
    if (bound.maxSubscriptions !== undefined) l.maxSubs = bound.maxSubscriptions;
    this.sendInitialInterest(l);
  }

  // ---- the leaf side: soliciting ----------------------------------------------------------

  private connect(r: Remote): void {
    if (this.closing) return;
    const url = pickUrl(r);
    r.attempts++;
    if (url.ws) {
      this.connectWs(r, url);
      return;
    }
    this.log.debug({ url: url.display }, `Trying to connect as leafnode to remote server on ${JSON.stringify(url.hostPort)}`);
    const tlsOpts = r.opts.tls;
    r.socket = dialLeaf({
      host: url.host, port: url.port, wantsTls: r.wantsTls, insecure: tlsOpts?.insecure === true,
      // A hub that asks for TLS without our tls block: the system's CAs (nats-server does the same).
      tlsContext: () => (r.tls ??= dialSecureContext({})),
      tlsTimeoutMs: tlsOpts?.timeout !== undefined && tlsOpts.timeout > 0 ? tlsOpts.timeout : LEAF_TLS_TIMEOUT_MS,
      infoWaitMs: INFO_WAIT_MS,
    }, (fail, ok) => {
      r.socket = null;
      if (ok !== null && !this.closing) {
        this.solicited(r, url, ok.socket, ok.info, ok.secure);
        return;
      }
      if (ok !== null) ok.socket.destroy();
      if (fail !== null) {
        const { stage, err } = fail;
        if (stage === "tls") {
          if (err.message === "timeout") this.log.error({ url: url.display }, "TLS leafnode handshake timeout");
          else this.log.error({ url: url.display, err: err.message }, `TLS leafnode handshake error: ${err.message}`);
        } else if (stage === "info") {
          this.log.error({ url: url.display }, err.message);
        } else {
          const text = `Error trying to connect as leafnode to remote server ${JSON.stringify(url.hostPort)} (attempt ${r.attempts}): ${err.message}`;
          if (r.attempts === 1) this.log.error(text);
          else this.log.debug(text);
        }
      }
      this.retry(r);
    });
  }

  /**
   * A remote over WebSocket (ws://, wss://): the upgrade at /leafnode on the hub's websocket port,
   * then the same handshake inside binary frames (over wss the TLS is the WebSocket's).
   */
  private connectWs(r: Remote, url: LeafUrl): void {
    this.log.debug({ url: url.display }, `Trying to connect as leafnode to remote server on ${JSON.stringify(url.hostPort)}`);
    const tlsOpts = r.opts.tls;
    if (url.tls) r.tls ??= dialSecureContext(tlsOpts ?? {});
    const ws = dialLeafWs({
      host: url.host, port: url.port, secure: url.tls, rejectUnauthorized: tlsOpts?.insecure !== true,
      ...(r.tls !== null ? { secureContext: r.tls } : {}),
      timeoutMs: tlsOpts?.timeout !== undefined && tlsOpts.timeout > 0 ? tlsOpts.timeout : LEAF_TLS_TIMEOUT_MS,
      compression: r.opts.wsCompression === true, log: this.log,
    }, (err, socket) => {
      r.socket = null;
      if (err !== null || socket === null) {
        const text = `Error trying to connect as leafnode to remote server ${JSON.stringify(url.hostPort)} (attempt ${r.attempts}): ${err?.message ?? "closed"}`;
        if (r.attempts === 1) this.log.error(text);
        else this.log.debug(text);
        this.retry(r);
        return;
      }
      this.solicited(r, url, socket, null, url.tls);
    });
    r.socket = { destroy: () => ws.terminate() };
  }

  /**
   * A solicited connection is up (over TLS: handshake done); `info` is the hub's INFO line, read
   * already (null over WebSocket: it is the first message still to come).
   */
  private solicited(r: Remote, url: LeafUrl, socket: ClientSocket, info: Buffer | null, secure: boolean): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const account = r.opts.account === "" ? "$G" : r.opts.account;
    const l = new LeafConn(this.host.nextCid(), socket, this, true, url.hostPort, this.host.maxPending);
    l.secure = secure;
    if (r.opts.hub === true) l.spoke = false;
    r.conn = l;
    this.conns.add(l);
    this.remoteOf.set(l, r);
    this.log.info({ lid: l.cid, remote: url.hostPort, tls: secure }, `Leafnode connection created for account: ${account}`);
    this.handshakeTimer(l, INFO_WAIT_MS, () => {
      this.log.error({ lid: l.cid }, "leafnode: no INFO from the remote server in time");
      l.close("Read Error", false);
    });
    if (info !== null) l.receive(info);
    socket.resume();
  }

  private retry(r: Remote): void {
    if (this.closing || r.timer !== null) return;
    const delay = r.delayMs > 0 ? r.delayMs : this.options.reconnect * 1000;
    r.delayMs = 0;
    r.timer = setTimeout(() => {
      r.timer = null;
      this.connect(r);
    }, delay);
    r.timer.unref();
  }

  onLeafInfo(l: LeafConn, info: LeafInfo): void {
    if (!l.solicited) return;
    const r = this.remoteOf.get(l);
    if (r === undefined) return;
    const first = !this.infoReceived.has(l);
    if (first) {
      this.infoReceived.add(l);
      // The INFO of a leafnode port has our client id and the hub's leafnode URLs; a client or
      // route port's has not.
      if (typeof info.client_id !== "number" || info.client_id === 0 || !Array.isArray(info.leafnode_urls)) {
        this.log.error({ lid: l.cid }, "attempted to connect to wrong port");
        l.close("Incorrect Port", false);
        return;
      }
      l.info = info;
      l.headers = info.headers === true;
      l.remoteServer = info.server_name !== undefined && info.server_name !== "" ? info.server_name : info.server_id;
      l.remoteId = info.server_id;
      l.remoteCluster = typeof info.cluster === "string" ? info.cluster : "";
    }
    // Our user's permissions, as the hub tells them (with the CONNECT's answer, or later).
    if (info.import !== undefined || info.export !== undefined) {
      l.hubPerms = { import: permFromInfo(info.import), export: permFromInfo(info.export) };
      if (l.registered) l.perms = this.permsOf(l.account, this.spokeSide(l, r), l.remoteDomain);
    }
    // A WebSocket remote keeps its URLs: the hub's leafnode_urls are of its leafnode port.
    if (Array.isArray(info.leafnode_urls) && info.leafnode_urls.length > 0 && !r.configured.some((u) => u.ws)) learnUrls(r, info.leafnode_urls);
    if (first) {
      if (!this.sendConnect(l, r)) return;
      if (info.info_on_connect === true) {
        // A 2.9 hub answers the CONNECT with a second INFO (connect_info): then we are bound.
        this.handshakeTimer(l, CONNECT_PROCESS_MS, () => {
          l.sendErrAndClose("Stale Leaf Node Connection - Closing", "Stale Connection");
        });
        return;
      }
    } else if (info.connect_info !== true || l.registered) {
      return;
    }
    this.finishSolicited(l, r);
  }

  /** Our CONNECT to the hub; false when it could not be made (the credentials file: logged, closed). */
  private sendConnect(l: LeafConn, r: Remote): boolean {
    // A creds file or an nkey signs the hub's nonce; user:pass@ of the URL goes too.
    const creds = connectCredentials(r.opts, typeof l.info?.nonce === "string" ? l.info.nonce : "");
    if ("error" in creds) {
      this.log.error({ lid: l.cid }, creds.error);
      l.close("Write Error", false);
      return false;
    }
    if (r.opts.credentials !== undefined) this.log.debug({ lid: l.cid }, `Authenticating with credentials file ${JSON.stringify(r.opts.credentials)}`);
    const account = r.opts.account === "" ? "$G" : r.opts.account;
    l.queue(connectLine(this.host, r, creds.fields, { secure: l.secure, cluster: this.host.clusterName(), jetstream: this.host.accountJetStream(account) }));
    l.flush();
    return true;
  }

  private finishSolicited(l: LeafConn, r: Remote): void {
    this.clearHandshake(l);
    const account = r.opts.account === "" ? "$G" : r.opts.account;
    const router = this.host.routerFor(account);
    if (router === null) {
      this.log.error({ lid: l.cid }, `Unable to lookup account ${account} for solicited leafnode connection`);
      l.close("Missing Account", false);
      return;
    }
    r.attempts = 0;
    this.register(l, account, router, this.spokeSide(l, r), typeof l.info?.domain === "string" ? l.info.domain : "");
    this.sendInitialInterest(l);
  }

  /** What the hub's INFO says of our user's permissions, with the remote's own deny lists. */
  private spokeSide(l: LeafConn, r: Remote): LeafSide {
    return { pub: l.hubPerms?.export, sub: l.hubPerms?.import, pubDeny: r.opts.denyExports ?? [], subDeny: r.opts.denyImports ?? [] };
  }

  // ---- both sides -------------------------------------------------------------------------

  /** Bind `l` to an account with what it may carry (`side`: permissions and deny lists, before JetStream's). */
  private register(l: LeafConn, account: string, router: Router, side: LeafSide, remoteDomain: string): void {
    if (leafJsDeny(this.host, account, remoteDomain).domains) {
      this.log.info(`JetStream using domains: local ${JSON.stringify(this.host.jetStreamDomain)}, remote ${JSON.stringify(remoteDomain)}`);
    }
    l.remoteDomain = remoteDomain;
    l.perms = this.permsOf(account, side, remoteDomain);
    l.bind(account, router);
    let set = this.byRouter.get(router);
    if (set === undefined) this.byRouter.set(router, (set = new Set()));
    set.add(l);
    const who = l.remoteCluster !== "" ? `${l.remoteServer}/${l.remoteCluster}` : l.remoteServer;
    this.log.info({ lid: l.cid, account, remote: who, hub: !l.spoke }, `Leafnode connection registered for account ${account} (${l.spoke ? "to hub" : "from leaf"} ${who})`);
  }

  /** `side` with what of JetStream may not cross the link (leaf-auth.ts). */
  private permsOf(account: string, side: LeafSide, remoteDomain: string): LeafPerms {
    const { both, out } = leafJsDeny(this.host, account, remoteDomain);
    return new LeafPerms(side.pub, side.sub, { pubDeny: [...both, ...out, ...side.pubDeny], subDeny: [...both, ...side.subDeny] });
  }

  onLeafError(l: LeafConn, text: string): void {
    this.log.error({ lid: l.cid, remote: l.remoteName() }, `Leafnode Error ${text}`);
    const r = this.remoteOf.get(l);
    if (text.includes("remote leafnode has same cluster name")) {
      if (r !== undefined) r.delayMs = LEAF_LOOP_DELAY_MS;
      this.log.error({ lid: l.cid }, `Leafnode connection dropped with same cluster name error. Delaying attempt to reconnect for ${LEAF_LOOP_DELAY_MS / 1000}s`);
      return;
    }
    if (text.includes("Loop detected")) this.loopDetected(l, false);
  }

  /** nats-server's handleLeafNodeLoop: tell the other side (when we found it), and wait before dialling again. */
  private loopDetected(l: LeafConn, sendErr: boolean): void {
    const r = this.remoteOf.get(l);
    if (r !== undefined) r.delayMs = LEAF_LOOP_DELAY_MS;
    const text = `Loop detected for leafnode account=${JSON.stringify(l.account)}. Delaying attempt to reconnect for ${LEAF_LOOP_DELAY_MS / 1000}s`;
    if (sendErr) l.queue(`-ERR '${text}'\r\n`);
    this.log.error({ lid: l.cid }, text);
    l.close("Protocol Violation", true);
  }

  acceptSub(l: LeafConn, subject: string): boolean {
    const router = l.router;
    if (router === null) return false;
    const lds = subject.startsWith(LDS_PREFIX);
    if (lds && subject === this.lds.get(router)) {
      this.loopDetected(l, true);
      return false;
    }
    if (lds || subject.startsWith("$GR.") || subject.startsWith("_GR_.")) return true;
    // Interest in what may not be sent there: a hub refuses the leaf (nats-server's leafSubPermViolation).
    if (!subject.includes("*") && !subject.includes(">") && !l.canPublish(subject)) {
      if (l.spoke) return false;
      l.queue(`-ERR 'Permissions Violation for Subscription to ${JSON.stringify(subject)}'\r\n`);
      this.log.error({ lid: l.cid }, `Subscription Violation on ${JSON.stringify(subject)} - Check other side configuration`);
      l.close("Protocol Violation", true);
      return false;
    }
    return true;
  }

  onLeafClosed(l: LeafConn, reason: string): void {
    this.conns.delete(l);
    this.clearHandshake(l);
    if (l.router !== null) this.byRouter.get(l.router)?.delete(l);
    this.log.info({ lid: l.cid, remote: l.remoteName(), reason }, `Leafnode connection closed: ${reason}`);
    const r = this.remoteOf.get(l);
    if (r !== undefined) {
      this.remoteOf.delete(l);
      if (r.conn === l) r.conn = null;
      this.retry(r);
    }
  }

  private handshakeTimer(l: LeafConn, ms: number, fire: () => void): void {
    this.clearHandshake(l);
    const t = setTimeout(() => {
      this.handshakeTimers.delete(l);
      if (!l.closed && !l.registered) fire();
    }, ms);
    t.unref();
    this.handshakeTimers.set(l, t);
  }

  private clearHandshake(l: LeafConn): void {
    const t = this.handshakeTimers.get(l);
    if (t !== undefined) clearTimeout(t);
    this.handshakeTimers.delete(l);
  }

  // ---- interest ---------------------------------------------------------------------------

  /**
   * Whether `sub` is interest to tell `l` of (nats-server's updateLeafNodes and updateSmap): not
   * its own; not a leaf's of the same cluster as `l`'s other side; not what `l` may not carry;
   * and to a hub, only our clients' and the leafs' we are a hub for. The loop detection
   * subjects always pass.
   */
  private tells(l: LeafConn, sub: Subscription): boolean {
    const c = sub.client;
    if (c === l) return false;
    const link = c.link;
    if (!sub.subject.startsWith(LDS_PREFIX)) {
      if (link?.kind === "leaf" && (link.remoteCluster ?? "") !== "" && link.remoteCluster === l.remoteCluster) return false;
      if (!l.canSubscribe(sub.subject)) return false;
    }
    if (l.spoke && link !== undefined && !(link.kind === "leaf" && link.spoke !== true)) return false;
    return true;
  }

  /** A just-bound connection: everything there is to tell it, and our loop detection subject. */
  private sendInitialInterest(l: LeafConn): void {
    const router = l.router!;
    const smap = l.smap!;
    for (const sub of router.sublist.all()) {
      if (sub.closed || !this.tells(l, sub)) continue;
      const key = sub.queue === "" ? sub.subject : `${sub.subject} ${sub.queue}`;
      const n = sub.queue !== "" && sub.client.link !== undefined ? sub.weight : 1;
      smap.set(key, (smap.get(key) ?? 0) + n);
    }
    const lds = this.lds.get(router);
    if (lds !== undefined) smap.set(lds, (smap.get(lds) ?? 0) + 1);
    // The account's mapping sources, so what the other side publishes on them comes here to be
    // mapped (nats-server's initLeafNodeSmapAndSendSubs).
    for (const src of router.mappings?.sources() ?? []) {
      if (!l.spoke || l.canSubscribe(src)) smap.set(src, (smap.get(src) ?? 0) + 1);
    }
    let out = "";
    for (const [key, n] of smap) {
      out += subLine(key, n);
      if (out.length > 32 * 1024) {
        l.queue(out);
        out = "";
      }
    }
    if (out !== "") l.queue(out);
  }

  /**
   * Mappings changed (a reload): each connection is told of the sources it does not know yet
   * (nats-server's forceAddToSmap). A source no longer mapped is not taken back, as in nats-server.
   */
  mappingsChanged(): void {
    for (const [router, set] of this.byRouter) {
      const sources = router.mappings?.sources() ?? [];
      if (sources.length === 0) continue;
      for (const l of set) {
        if (!l.registered || l.closed || l.smap === null) continue;
        for (const src of sources) {
          if ((l.smap.get(src) ?? 0) !== 0 || (l.spoke && !l.canSubscribe(src))) continue;
          l.smap.set(src, 1);
          l.queue(subLine(src, 1));
        }
        l.flush();
      }
    }
  }

  /** A subscription of the account started or ended: tell each of its leafnode connections that should know. */
  private interestChanged(router: Router, sub: Subscription, delta: number): void {
    if (delta === 0) return;
    const set = this.byRouter.get(router);
    if (set === undefined || set.size === 0) return;
    const key = sub.queue === "" ? sub.subject : `${sub.subject} ${sub.queue}`;
    for (const l of set) {
      if (!l.registered || l.closed || l.smap === null || !this.tells(l, sub)) continue;
      const smap = l.smap;
      const was = smap.get(key) ?? 0;
      if (was === 0 && delta < 0) continue;
      const n = Math.max(0, was + delta);
      if (n > 0) smap.set(key, n);
      else smap.delete(key);
      // Plain interest is news when it starts or ends; a queue group's count always is.
      if (sub.queue === "" && was > 0 && n > 0) continue;
      l.queue(n > 0 ? subLine(key, n) : `LS- ${key}\r\n`);
    }
  }

  // ---- INFO -------------------------------------------------------------------------------

  /** This server's leafnode URL (host:port), as its INFO's leafnode_urls carry it. */
  ownUrl(): string {
    const o = this.options;
    if (o.advertise !== "") return o.advertise;
    return hostPort(publicHost(o.host), this.boundPort);
  }

  private infoLine(extra: Record<string, unknown>): string {
    return leafInfoLine(this.host, this.options, this.ownUrl(), this.boundPort, this.tls, extra, this.leafUrls());
  }

  /** The leafnode URLs of the whole cluster, ours first: where our leafs may reconnect to. */
  private leafUrls(): string[] {
    const urls = [this.ownUrl()];
    for (const u of this.host.peerLeafUrls()) if (!urls.includes(u)) urls.push(u);
    return urls;
  }

  /** The leafnode connections accepted into `account` with a user JWT (operator mode's expiry and revocations). */
  accountLeafs(account: string): LeafConn[] {
    return [...this.conns].filter((l) => !l.solicited && l.registered && !l.closed && l.account === account && l.userJwt !== "");
  }

  /** A route with a leafnode URL came or went: our leafs get the cluster's URLs again (an async INFO). */
  leafUrlsChanged(): void {
    if (this.closing || this.boundPort === 0) return;
    const line = this.infoLine({ info_on_connect: true });
    for (const l of this.conns) {
      if (l.solicited || !l.registered || l.closed) continue;
      l.queue(line);
      l.flush();
    }
  }

  // ---- monitoring and closing -------------------------------------------------------------

  /** What /leafz and /varz show: copies, not the live connections. */
  stats(): LeafStats {
    return leafStats(this.conns, this.options, this.boundPort, this.remotes);
  }

  close(): Promise<void> {
    this.closing = true;
    for (const r of this.remotes) {
      if (r.timer !== null) clearTimeout(r.timer);
      r.timer = null;
      r.socket?.destroy();
    }
    for (const l of [...this.conns]) l.close("Server Shutdown", true);
    for (const stop of this.unfollow) stop();
    this.unfollow.length = 0;
    return this.listener?.close() ?? Promise.resolve();
  }
}
