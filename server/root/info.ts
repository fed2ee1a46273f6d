// Tested by test/server/embedding.test.ts and test/cluster/*.test.ts (connect_urls).
// The client INFO: the JSON a client is greeted with, built once per listener kind (plain, TLS,
// wss://) and again when something in it changes (a reload, the cluster's URLs, lame duck mode),
// then finished per client with its cid, nonce and address. Part of the composition root.
import { networkInterfaces } from "node:os";
import type { ClientConnection, ClientSocket } from "../core/connection.js";
import type { ServerOptions } from "../options.js";

/** The version gnat advertises: clients gate JetStream features on it. */
export const SERVER_VERSION = "2.10.0";
export const GNAT_VERSION = "0.1.0";
export const PROTO_VERSION = 1;

/** What the INFO says of a cluster: its name and the other servers' client URLs. */
export interface InfoCluster {
  readonly name: string;
  readonly options: { noAdvertise: boolean };
  peerClientUrls(): { nats: string[]; ws: string[] };
}

/** What the INFO is made of. */
export interface InfoHost {
  readonly serverId: string;
  readonly serverName: string;
  readonly options: ServerOptions;
  /** The client port as bound. */
  readonly port: number;
  /** The websocket port as bound, or null without one. */
  readonly websocketPort: number | null;
  readonly authenticator: { readonly connectOptional?: boolean } | null;
  /** Client certificates are asked for (TLS verify). */
  readonly tlsVerify: boolean;
  readonly cluster: InfoCluster | null;
  readonly inLameDuckMode: boolean;
}

export class ClientInfo {
  private prefix = "";
  /** INFO for clients of a plain transport (WebSocket) while the client port has TLS. */
  private plainPrefix = "";
  private wssPrefix = "";
  /** Whether a route ever brought other servers' client (websocket) URLs: see clusterInfo. */
  private peerUrlsSeen = false;
  private peerWsUrlsSeen = false;
  /** The sockets that came over wss:// (their INFO says tls_required). */
  private readonly wssSockets = new WeakSet<ClientSocket>();

  constructor(private readonly host: InfoHost) {}

  /** The INFO of a TLS client's port (what goes out before its handshake). */
  get tlsPrefix(): string {
    return this.prefix;
  }

  /** A socket that came over wss://. */
  markWss(socket: ClientSocket): void {
    this.wssSockets.add(socket);
  }

  /** Build the INFO again from the host as it is now. */
  build(): void {
    const o = this.host.options;
    // A wss:// client's INFO says TLS is required and available, as nats-server's does.
    this.wssPrefix = o.websocket?.tls !== undefined ? this.buildPrefix(true, true, false) : "";
    if (o.tls !== null && o.allowNonTls) {
      // One INFO for both: it goes out before the client shows whether it wants TLS.
      this.prefix = this.plainPrefix = this.buildPrefix(false, true);
      return;
    }
    this.prefix = this.buildPrefix(o.tls !== null);
    this.plainPrefix = o.tls === null ? this.prefix : this.buildPrefix(false);
  }

  private buildPrefix(tls: boolean, tlsAvailable = false, clientPort = true): string {
    const h = this.host;
    const o = h.options;
    const auth = h.authenticator;
    const info = {
      server_id: h.serverId,
      server_name: h.serverName,
      version: SERVER_VERSION,
      proto: PROTO_VERSION,
      go: `node${process.versions.node}`,
      host: o.host,
      port: h.port,
      headers: true,
      ...(auth !== null && auth.connectOptional !== true ? { auth_required: true } : {}),
      ...(tls ? { tls_required: true } : {}),
      ...(clientPort && (tls || tlsAvailable) && h.tlsVerify ? { tls_verify: true } : {}),
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
  clusterInfo(): { cluster?: string; connect_urls?: string[]; ws_connect_urls?: string[] } {
    const c = this.host.cluster;
    if (c === null) return {};
    const out: { cluster?: string; connect_urls?: string[]; ws_connect_urls?: string[] } = { cluster: c.name };
    if (c.options.noAdvertise) return out;
    const peers = c.peerClientUrls();
    // As nats-server's, the list starts with the first route that brings another server's
    // URLs: a lone node's INFO has none, and one whose routes all went keeps its own.
    if (peers.nats.length > 0) this.peerUrlsSeen = true;
    if (peers.ws.length > 0) this.peerWsUrlsSeen = true;
    // In lame duck mode clients are sent elsewhere: only the other servers' URLs.
    const ldm = this.host.inLameDuckMode;
    const urls = ldm || !this.peerUrlsSeen ? [] : [...this.ownClientUrls()];
    for (const u of peers.nats) if (!urls.includes(u)) urls.push(u);
    if (urls.length > 0) out.connect_urls = urls;
    const ws = ldm || !this.peerWsUrlsSeen ? [] : [...this.ownWebSocketUrls()];
    for (const u of peers.ws) if (!ws.includes(u)) ws.push(u);
    if (ws.length > 0) out.ws_connect_urls = ws;
    return out;
  }

  /** This server's client URLs as other servers advertise them: every interface's, for 0.0.0.0. */
  ownClientUrls(): string[] {
    return listenUrls(this.host.options.host, this.host.port);
  }

  ownWebSocketUrls(): string[] {
    const ws = this.host.options.websocket;
    const port = this.host.websocketPort;
    if (ws === null || port === null) return [];
    return listenUrls(ws.host || "0.0.0.0", port);
  }

  /** A connected client's INFO line (`extra`: more JSON fields, with their leading comma). */
  line(c: ClientConnection, extra = ""): Buffer {
    // A TLS client's INFO went out before its handshake; one without TLS came another way.
    const prefix = c.tls !== null ? this.prefix : this.wssSockets.has(c.socket) ? this.wssPrefix : this.plainPrefix;
    return infoFor(c.cid, c.nonce, c.remoteAddress, prefix, extra);
  }
}

/** An INFO line from a prefix built by ClientInfo and what is the client's own. */
export function infoFor(cid: number, nonceValue: string, remoteAddress: string, prefix: string, extra = ""): Buffer {
  const ip = JSON.stringify(remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress);
  // The nonce is base64url: nothing in it needs escaping.
  const nonce = nonceValue === "" ? "" : `,"nonce":"${nonceValue}"`;
  return Buffer.from(`INFO ${prefix}${nonce},"client_id":${cid},"client_ip":${ip}${extra}} \r\n`, "latin1");
}

/**
 * The "host:port" URLs other servers advertise for a listener bound to `h`: for every interface
 * (0.0.0.0, ::), each non-loopback address, as nats-server lists them.
 */
export function listenUrls(h: string, port: number): string[] {
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
export function dialHost(h: string): string {
  return h === "0.0.0.0" || h === "" ? "127.0.0.1" : h === "::" ? "[::1]" : h.includes(":") ? `[${h}]` : h;
}
