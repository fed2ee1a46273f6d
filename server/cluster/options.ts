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

/**
 * A route's or leafnode remote's URL, parsed as nats-server parses it: `bare` is put in front of a
 * URL without a scheme, `kind` names it in errors ("route", "leafnode"), `shown` is the URL as
 * errors may show it (a remote's, with its password hidden), `port` the default port.
 */
export function parseLinkUrl(s: string, kind: string, bare: string, port: number, shown = s): RouteUrl & { scheme: string } {
  let u: URL;
  try {
    u = new URL(s.includes("://") ? s : `${bare}://${s}`);
  } catch {
    throw new Error(`error parsing ${kind} url [${JSON.stringify(shown)}]`);
  }
  if (u.hostname === "") throw new Error(`error parsing ${kind} url [${JSON.stringify(shown)}]: missing host`);
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const p = u.port === "" ? port : Number.parseInt(u.port, 10);
  const hp = `${host.includes(":") ? `[${host}]` : host}:${p}`;
  return {
    host,
    port: p,
    hostPort: hp,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    display: `${u.protocol}//${hp}`,
    scheme: u.protocol.slice(0, -1),
  };
}

/** nats-route://user:pass@host:port (or nats://): throws on anything else, as nats-server does. */
export function parseRouteUrl(s: string): RouteUrl {
  const { scheme: _scheme, ...url } = parseLinkUrl(s, "route", "nats-route", DEFAULT_CLUSTER_PORT);
  return url;
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
