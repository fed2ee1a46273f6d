// What a leafnode room tells about itself (leafnodes.ts): the INFO it sends a leaf or a hub, and
// what /leafz and /varz show of its connections and remotes; with the small helpers both sides use.
// Tested by test/cluster/leafnodes.test.ts (INFO fields against nats-server's), test/cluster/monitor.test.ts.
import { networkInterfaces } from "node:os";
import type { LeafConn } from "./leaf.js";
import { parseLeafUrl, type LeafNodeOptions, type LeafRemoteOptions, type LeafUrl } from "./leaf-options.js";
import type { LeafStats } from "../monitor/source.js";

/** How long an accepted leaf has for its CONNECT when the block sets no timeout (seconds). */
export const DEFAULT_AUTH_TIMEOUT_S = 2;

/** A remote as /leafz sees it: its options, where it is dialling, and its bound connection. */
export interface RemoteView {
  readonly opts: LeafRemoteOptions;
  readonly configured: LeafUrl[];
  readonly current: LeafUrl | null;
  readonly conn: LeafConn | null;
}

/** What the INFO tells of the server (the leafnodes' host gives it). */
export interface InfoSource {
  readonly serverId: string;
  readonly serverName: string;
  readonly version: string;
  readonly maxPayload: number;
  readonly jetstream: boolean;
  /** The JetStream domain ("" none), told to the other side as nats-server tells it. */
  readonly jetStreamDomain: string;
  clusterName(): string;
}

/** The INFO line a leafnode connection gets: nats-server's fields, in its order. */
export function leafInfoLine(host: InfoSource, o: LeafNodeOptions, own: string, boundPort: number,
  tls: { verify: boolean } | null, extra: Record<string, unknown>, urls: string[]): string {
  const colon = own.lastIndexOf(":");
  const cluster = host.clusterName();
  const { client_id, nonce: n, ...rest } = extra;
  const info: Record<string, unknown> = {
    server_id: host.serverId,
    server_name: host.serverName,
    version: host.version,
    proto: 1,
    go: `node${process.versions.node}`,
    host: o.advertise !== "" ? own.slice(0, colon).replace(/^\[|\]$/g, "") : publicHost(o.host),
    port: o.advertise !== "" ? Number.parseInt(own.slice(colon + 1), 10) : boundPort,
    headers: true,
    auth_required: true,
    ...(tls !== null ? { tls_required: true, ...(tls.verify ? { tls_verify: true } : {}) } : {}),
    max_payload: host.maxPayload,
    ...(host.jetstream ? { jetstream: true } : {}),
    ip: own,
    client_id,
    ...(n !== undefined ? { nonce: n } : {}),
    ...(cluster !== "" ? { cluster } : {}),
    ...(host.jetStreamDomain !== "" ? { domain: host.jetStreamDomain } : {}),
    ...rest,
    leafnode_urls: urls,
  };
  if (info.remote_account !== undefined) {
    // nats-server puts it last.
    const ra = info.remote_account;
    delete info.remote_account;
    info.remote_account = ra;
  }
  return `INFO ${JSON.stringify(info)}\r\n`;
}

/** What /leafz and /varz show: copies, not the live connections. */
export function leafStats(conns: Iterable<LeafConn>, o: LeafNodeOptions, boundPort: number, remotes: readonly RemoteView[]): LeafStats {
  const leafs = [];
  for (const l of conns) {
    if (!l.registered) continue;
    const subs: string[] = [];
    for (const sub of l.subs.values()) subs.push(sub.subject);
    leafs.push({
      cid: l.cid,
      name: l.remoteServer || l.remoteId,
      id: l.remoteId,
      pendingBytes: l.pendingBytes,
      account: l.account,
      ip: l.remoteAddress,
      port: l.remotePort,
      rttMs: l.rtt,
      inMsgs: l.inMsgs,
      outMsgs: l.outMsgs,
      inBytes: l.inBytes,
      outBytes: l.outBytes,
      subscriptions: subs,
    });
  }
  leafs.sort((a, b) => a.cid - b.cid);
  return {
    host: o.port !== 0 ? o.host : "",
    port: boundPort,
    authTimeout: o.port !== 0 ? o.authorization?.timeout ?? DEFAULT_AUTH_TIMEOUT_S : 0,
    remotes: o.remotes.map((r) => ({
      localAccount: r.account === "" ? "$G" : r.account,
      urls: r.urls.map((u) => parseLeafUrl(u).hostPort),
      denyImports: r.denyImports ?? [],
      denyExports: r.denyExports ?? [],
    })),
    leafs: leafs.map(({ cid: _cid, ...rest }) => rest),
    // A remote is down while it has no bound connection to its hub.
    down: remotes.filter((r) => r.conn === null || !r.conn.registered)
      .map((r) => ({ kind: "leaf" as const, url: (r.current ?? r.configured[0])?.hostPort ?? "" })),
  };
}

/** An LS+ line: a queue group's carries its member count; a plain one, nothing. */
export function subLine(key: string, n: number): string {
  return key.includes(" ") ? `LS+ ${key} ${n}\r\n` : `LS+ ${key}\r\n`;
}

export function hostPort(h: string, port: number): string {
  return `${h.includes(":") ? `[${h}]` : h}:${port}`;
}

/** A listener on every interface is advertised by its first non-loopback address, as nats-server does. */
export function publicHost(h: string): string {
  if (h !== "0.0.0.0" && h !== "" && h !== "::") return h;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal && a.family === "IPv4") return a.address;
  }
  return "127.0.0.1";
}

export function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = (Math.random() * (i + 1)) | 0;
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

const NONCE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function nonce(): string {
  let s = "";
  for (let i = 0; i < 15; i++) s += NONCE_CHARS[(Math.random() * 64) | 0];
  return s;
}
