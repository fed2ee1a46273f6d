// Tested by test/cluster/leafnodes.test.ts, leaf-urls.test.ts (failover) and leaf-creds.test.ts.
// A configured remote (a hub this server dials as a leaf): its URLs, the configured ones and those
// the hub's cluster tells of (nats-server's doUpdateLNURLs), which one to try next, and the CONNECT
// it sends. The dialling itself is the leafnodes room's (leafnodes.ts).
import type { SecureContext } from "node:tls";
import { dialSecureContext } from "../transport/tls.js";
import type { LeafConn } from "./leaf.js";
import { parseLeafUrl, type LeafRemoteOptions, type LeafUrl } from "./leaf-options.js";
import { shuffle } from "./leaf-info.js";

/** A configured remote: the hub this server dials as a leaf, and the connection while it is up. */
export interface Remote {
  /** Replaced by a reload that changes its TLS (nothing else of it may change: process/reload.ts). */
  opts: LeafRemoteOptions;
  /**
   * TLS to this hub: the remote's tls block, or (a tls:// URL, a hub whose INFO asked for it)
   * the system's CAs. null: plain until a hub asks.
   */
  tls: SecureContext | null;
  /** A configured URL is tls://, or the remote has a tls block: always TLS. */
  wantsTls: boolean;
  /** The URLs the hub's INFO told of, then the configured ones; tried in turn. */
  urls: LeafUrl[];
  readonly configured: LeafUrl[];
  /** The URL being tried, or the connected one. */
  current: LeafUrl | null;
  /** Credentials of the configured URLs, for URLs learnt from INFO (which carry none). */
  user: string;
  pass: string;
  timer: NodeJS.Timeout | null;
  /** A dial under way (a TCP socket, or a WebSocket's), destroyed on close. */
  socket: { destroy(): unknown } | null;
  conn: LeafConn | null;
  attempts: number;
  /** Wait this long before the next attempt (a loop was detected, …); 0: the reconnect interval. */
  delayMs: number;
}

/** A remote's state from its options (the certificates of its tls block are read now). */
export function newRemote(r: LeafRemoteOptions): Remote {
  const configured = r.urls.map(parseLeafUrl);
  const urls = [...configured];
  if (r.noRandomize !== true) shuffle(urls);
  const withCreds = configured.find((u) => u.user !== "");
  const wantsTls = remoteWantsTls(r, configured);
  return {
    opts: r, urls, configured, current: null, user: withCreds?.user ?? "", pass: withCreds?.pass ?? "",
    timer: null, socket: null, conn: null, attempts: 0, delayMs: 0,
    tls: wantsTls ? dialSecureContext(r.tls ?? {}) : null, wantsTls,
  };
}

/** A configured URL is tls://, or the remote has a tls block (wss:// brings its own TLS, the WebSocket's: the block then only configures it). */
export function remoteWantsTls(r: LeafRemoteOptions, configured: LeafUrl[]): boolean {
  return configured.some((u) => u.tls && !u.ws) || (r.tls !== undefined && configured.some((u) => !u.ws));
}

/** The next URL to try: the one after the last tried. */
export function pickUrl(r: Remote): LeafUrl {
  if (r.current !== null && r.urls.length > 1 && r.urls[0]!.hostPort === r.current.hostPort) r.urls.push(r.urls.shift()!);
  r.current = r.urls[0]!;
  return r.current;
}

/** The hub's leafnode URLs (its cluster's), then the configured ones (nats-server's doUpdateLNURLs). */
export function learnUrls(r: Remote, urls: string[]): void {
  const next: LeafUrl[] = [];
  for (const s of urls) {
    let u: LeafUrl;
    try {
      u = parseLeafUrl(`nats-leaf://${s}`);
    } catch {
      continue;
    }
    if (r.configured.some((c) => c.hostPort === u.hostPort) || next.some((c) => c.hostPort === u.hostPort)) continue;
    next.push(u);
  }
  r.urls = [...next, ...r.configured];
}

/** What the CONNECT says of this server (the leafnodes' host gives it). */
export interface ConnectSource {
  readonly version: string;
  readonly serverId: string;
  readonly serverName: string;
  readonly jetStreamDomain: string;
}

/**
 * The CONNECT a leaf sends its hub, nats-server's fields in its order: `auth` (a creds file's JWT
 * and signature, or an nkey's) first, then the URL's user:pass (a learnt URL takes the configured
 * ones').
 */
export function connectLine(host: ConnectSource, r: Remote, auth: Record<string, string>, o: { secure: boolean; cluster: string; jetstream: boolean }): string {
  const url = r.current;
  const user = url !== null && url.user !== "" ? url.user : r.user;
  const pass = url !== null && url.user !== "" ? url.pass : r.pass;
  const connect: Record<string, unknown> = {
    version: host.version,
    ...auth,
    ...(user !== "" ? { user, pass } : {}),
    tls_required: o.secure,
    server_id: host.serverId,
    ...(host.jetStreamDomain !== "" ? { domain: host.jetStreamDomain } : {}),
    name: host.serverName,
    ...(r.opts.hub === true ? { is_hub: true } : {}),
    ...(o.cluster !== "" ? { cluster: o.cluster } : {}),
    headers: true,
    ...(o.jetstream ? { jetstream: true } : {}),
    ...(r.opts.denyImports !== undefined && r.opts.denyImports.length > 0 ? { deny_pub: r.opts.denyImports } : {}),
  };
  return `CONNECT ${JSON.stringify(connect)}\r\n`;
}
