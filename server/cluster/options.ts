// Tested by test/cluster/config.test.ts.
import type { TlsOptions } from "../tls-options.js";

// The `cluster {}` options (nats-server's ClusterOpts, the parts gnat has) and route URLs.

export interface ClusterOptions {
  /** The cluster's name; "" picks one and takes a peer's (nats-server's dynamic name). */
  name: string;
  /** Where routes are accepted. */
  host: string;
  /** 0: a free port. */
  port: number;
  /** Routes to dial: nats-route://[user:pass@]host:port (nats:// is taken too). */
  routes: string[];
  /** What an accepting route requires of the other side's CONNECT. */
  authorization?: { user?: string; password?: string; timeout?: number };
  /** Do not advertise this cluster's client URLs to clients (no connect_urls). */
  noAdvertise: boolean;
  /** How many times a route learnt by gossip is dialled again before it is given up. */
  connectRetries: number;
  /** host:port other servers are to dial for this one (advertised as the route INFO's ip). */
  advertise: string;
  /**
   * TLS on every route, both ways (the handshake comes first, as nats-server's routes do): the
   * certificate is shown when accepting and when dialling; `verify` asks the other side for its
   * certificate; `insecure` dials without checking the other side's.
   */
  tls?: TlsOptions & { insecure?: boolean };
}

export const DEFAULT_CLUSTER_PORT = 6222;

export function clusterDefaults(): ClusterOptions {
  return { name: "", host: "0.0.0.0", port: DEFAULT_CLUSTER_PORT, routes: [], noAdvertise: false, connectRetries: 0, advertise: "" };
}

export interface RouteUrl {
  host: string;
  port: number;
  /** host:port, the key a route is known by. */
  hostPort: string;
  user: string;
  pass: string;
  /** The URL without credentials, for logs. */
  display: string;
}

/** nats-route://user:pass@host:port (or nats://): throws on anything else, as nats-server does. */
export function parseRouteUrl(s: string): RouteUrl {
  let u: URL;
  try {
    u = new URL(s.includes("://") ? s : `nats-route://${s}`);
  } catch {
    throw new Error(`error parsing route url [${JSON.stringify(s)}]`);
  }
  if (u.hostname === "") throw new Error(`error parsing route url [${JSON.stringify(s)}]: missing host`);
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === "" ? DEFAULT_CLUSTER_PORT : Number.parseInt(u.port, 10);
  const hp = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    host,
    port,
    hostPort: hp,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    display: `${u.protocol}//${hp}`,
  };
}

/** Check cluster options; throws the first problem. */
export function clusterConfigError(c: ClusterOptions): string | null {
  if (!Number.isInteger(c.port) || c.port < -1 || c.port > 65535) return `invalid cluster port: ${c.port}`;
  for (const r of c.routes) {
    try {
      parseRouteUrl(r);
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (c.name.includes(" ")) return `cluster name cannot contain spaces or new lines`;
  return null;
}
