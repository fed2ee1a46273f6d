// Tested by test/cluster/leaf-config.test.ts.
// The `leafnodes {}` options (nats-server's LeafNodeOpts and RemoteLeafOpts, the parts gnat
// has): a listener for leafnode connections (this server as a hub) and remotes to solicit (this
// server as a leaf of another's hub), with leafnode URLs, and TLS on either side.
import type { TlsOptions } from "../tls-options.js";
import { parseLinkUrl, type RouteUrl } from "./options.js";

/** A remote's `tls {}`: this server's certificate (optional), the CA that signs the hub's, `insecure`. */
export type LeafRemoteTls = TlsOptions & { insecure?: boolean };

/** One remote (a hub this server connects to as a leaf). */
export interface LeafRemoteOptions {
  /** nats-leaf://[user:pass@]host:port (nats:// is taken too); tried in turn. */
  urls: string[];
  /** The local account the connection binds; "" is the global account ($G). */
  account: string;
  /** Take the URLs in the order given (nats-server shuffles them otherwise). */
  noRandomize?: boolean;
  /** This side acts as the hub on this connection (nats-server's `hub: true`). */
  hub?: boolean;
  /**
   * A creds file (user JWT and nkey seed) for a hub in operator mode: the JWT goes in the CONNECT,
   * the seed signs the hub's nonce. Read at each connection.
   */
  credentials?: string;
  /** A user nkey seed (SU…): its public key goes in the CONNECT, it signs the hub's nonce. */
  nkey?: string;
  /** Subjects not sent to the other side (`deny_exports`). */
  denyExports?: string[];
  /** Subjects not taken from the other side (`deny_imports`). */
  denyImports?: string[];
  /**
   * TLS to this hub (a tls:// URL without it: the system's CAs). Also used, as nats-server does,
   * when the hub's INFO asks for TLS.
   */
  tls?: LeafRemoteTls;
  /** ws:// and wss:// URLs: offer permessage-deflate (nats-server's `ws_compression`). */
  wsCompression?: boolean;
}

/** One entry of the hub's `authorization { users: [...] }`. */
export interface LeafUser {
  user: string;
  password: string;
  /** The account its leafnode connection binds; "" is $G. */
  account?: string;
}

export interface LeafNodeOptions {
  /** Where leafnode connections are accepted. */
  host: string;
  /** The leafnode listener's port, as nats-server: 0 none (remotes only), -1 any free port. */
  port: number;
  /** What an accepted leafnode's CONNECT must carry, and the account it binds. */
  authorization?: { user?: string; password?: string; timeout?: number; account?: string; users?: LeafUser[] };
  /** host:port advertised to leafs in leafnode_urls (instead of the listener's). */
  advertise: string;
  /** Do not tell the cluster's routes of this server's leafnode URL. */
  noAdvertise: boolean;
  /** Seconds between attempts to connect to a remote (nats-server's default: 1). */
  reconnect: number;
  remotes: LeafRemoteOptions[];
  /**
   * TLS on accepted leafnode connections: INFO in plain text (it says tls_required), then the
   * handshake, as nats-server; `verify` asks the leaf for a certificate the CA signed.
   */
  tls?: TlsOptions;
}

export const DEFAULT_LEAFNODE_PORT = 7422;
/** nats-server's DEFAULT_LEAF_NODE_RECONNECT, seconds. */
export const DEFAULT_LEAF_RECONNECT_S = 1;

export function leafDefaults(): LeafNodeOptions {
  return { host: "0.0.0.0", port: 0, advertise: "", noAdvertise: false, reconnect: DEFAULT_LEAF_RECONNECT_S, remotes: [] };
}

/** A remote's URL: a route's parts (the URL without credentials is for monitoring too), and how to dial it. */
export interface LeafUrl extends RouteUrl {
  /** tls:// or wss://: the connection goes over TLS. */
  tls: boolean;
  /** ws:// or wss://: over WebSocket (nats-server's websocket port, path /leafnode). */
  ws: boolean;
}

/**
 * A remote's URL, as nats-server takes it: tls:// and wss:// mean TLS, ws:// and wss:// a
 * WebSocket; any other scheme (nats-leaf://, nats://, leaf:// as nats.js's test harness writes
 * it…) or none is plain TCP. An optional user:pass@ (a WebSocket URL's default port is 80 or 443).
 */
export function parseLeafUrl(s: string): LeafUrl {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s)?.[1]?.toLowerCase() ?? "";
  const ws = scheme === "ws" || scheme === "wss";
  const dflt = scheme === "ws" ? 80 : scheme === "wss" ? 443 : DEFAULT_LEAFNODE_PORT;
  const { scheme: _scheme, ...url } = parseLinkUrl(s, "leafnode", "nats-leaf", dflt, redact(s));
  return { ...url, tls: scheme === "tls" || scheme === "wss", ws };
}

/** An account's public key: A…, 56 characters (the checksum is the resolver's to check). */
function isAccountKey(s: string): boolean {
  return /^A[A-Z2-7]{55}$/.test(s);
}

/** A URL with its password hidden, for errors. */
function redact(s: string): string {
  return s.replace(/(\/\/[^:@/]*):[^@/]*@/, "$1:xxxxx@");
}

/**
 * Check leafnode options against the accounts there are (null: only $G and $SYS); returns the
 * first problem, in nats-server's words where it has some.
 */
export function leafConfigError(l: LeafNodeOptions, accounts: readonly string[] | null, systemAccount: string, operatorMode = false): string | null {
  if (!Number.isInteger(l.port) || l.port < -1 || l.port > 65535) return `invalid leafnode port: ${l.port}`;
  if (!Number.isFinite(l.reconnect) || l.reconnect <= 0) return `invalid leafnode reconnect interval: ${l.reconnect}`;
  if (l.authorization?.users !== undefined && l.authorization.users.length > 0 && l.authorization.user !== undefined) return "can not have a single user/pass and a users array";
  for (const r of l.remotes) if (r.credentials !== undefined && r.nkey !== undefined) return "Remote leafnode can not have both creds and nkey defined";
  if (operatorMode) {
    // nats-server's validateLeafNode: accounts are public keys, no leafnode users.
    if ((l.authorization?.users?.length ?? 0) !== 0) return "operator mode does not allow specifying user in leafnode config";
    for (const r of l.remotes) {
      if (!isAccountKey(r.account)) {
        return "operator mode requires account nkeys in remotes. Please add an `account` key to each remote in your `leafnodes` section, to assign it to an account. Each account value should be a 56 character public key, starting with the letter 'A'";
      }
    }
    const acc = l.authorization?.account;
    if (l.port !== 0 && acc !== undefined && acc !== "" && !isAccountKey(acc)) return "operator mode and non account nkeys are incompatible";
  }
  const names = new Set(["", "$G", systemAccount || "$SYS", ...(accounts ?? [])]);
  // In operator mode the accounts are resolved when needed, not configured.
  const exists = (acc: string | undefined, where: string): string | null =>
    acc === undefined || names.has(acc) || operatorMode ? null : `cannot find local account ${JSON.stringify(acc)} specified in leafnode ${where}`;
  const a = l.authorization;
  if (a !== undefined) {
    const seen = new Set<string>();
    for (const u of a.users ?? []) {
      if (seen.has(u.user)) return `duplicate user ${JSON.stringify(u.user)} detected in leafnode authorization`;
      seen.add(u.user);
      const e = exists(u.account, "authorization");
      if (e !== null) return e;
    }
    const e = exists(a.account, "authorization");
    if (e !== null) return e;
    if (a.timeout !== undefined && (!Number.isFinite(a.timeout) || a.timeout <= 0)) return "leafnode authorization timeout must be positive";
  }
  for (const r of l.remotes) {
    if (r.urls.length === 0) return "leafnode remote has no url";
    for (const u of r.urls) {
      try {
        parseLeafUrl(u);
      } catch (e) {
        return (e as Error).message;
      }
    }
    const e = exists(r.account, "remote");
    if (e !== null) return e;
  }
  return null;
}
