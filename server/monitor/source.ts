// What the monitor reads from a running server. An interface rather than the Server class, so
// monitor/ depends on no composition root and a test can hand it a stand-in.
import type { ClientConnection } from "../core/connection.js";
import type { JetStream } from "../jetstream/jetstream.js";
import type { ServerOptions } from "../options.js";
import type { Router } from "../core/router.js";
import type { Alerts, DownLink } from "./alerts.js";
export type { DownLink } from "./alerts.js";
import type { AccountRegistry } from "../accounts/accounts.js";

export interface MonitoredServer {
  readonly serverId: string;
  readonly serverName: string;
  /** The nats-server version gnat advertises. */
  readonly version: string;
  readonly options: ServerOptions;
  readonly port: number;
  readonly startedAt: Date;
  /** When the configuration in force was loaded (start-up, or the last reload). */
  readonly configLoadedAt?: Date;
  readonly clients: ReadonlyMap<number, ClientConnection>;
  readonly router: Router;
  readonly totalConnections: number;
  readonly slowConsumers: number;
  readonly stalledClients: number;
  readonly jetstream: JetStream | null;
  readonly alerts: Alerts | null;
  /** The accounts: $G, the system account, and the configured ones. */
  readonly accounts: AccountRegistry;
  /** The cluster's routes, when `cluster` is configured (a read-only view). */
  readonly clusterStats?: (() => ClusterStats | null) | undefined;
  /** The cluster's client URLs (every server's), as clients' INFO carries them. */
  readonly connectUrls?: (() => string[]) | undefined;
  /** The leafnode connections and options, when `leafnodes` is configured. */
  readonly leafStats?: (() => LeafStats | null) | undefined;
}

/** What monitoring reads of the leafnodes (/leafz, /varz's leaf). */
export interface LeafStats {
  /** The leafnode listener, when there is one. */
  host: string;
  port: number;
  /** Seconds; 0 without a listener. */
  authTimeout: number;
  remotes: { localAccount: string; urls: string[]; denyImports: string[]; denyExports: string[] }[];
  leafs: LeafStat[];
  /** Configured remotes that are not connected now. */
  down: DownLink[];
}

/** One leafnode connection, as /leafz shows it. */
export interface LeafStat {
  /** The other server's name (or id) and id. */
  name: string;
  id: string;
  pendingBytes: number;
  account: string;
  ip: string;
  port: number;
  rttMs: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  /** The other side's interest here: subjects. */
  subscriptions: string[];
}

/** What monitoring reads of the cluster. */
export interface ClusterStats {
  name: string;
  host: string;
  port: number;
  /** Seconds. */
  authTimeout: number;
  /** The configured route URLs (credentials removed). */
  urls: string[];
  /** Configured routes that are not connected now. */
  down: DownLink[];
  routes: RouteStat[];
}

/** One route, as /routez shows it. */
export interface RouteStat {
  rid: number;
  remoteId: string;
  remoteName: string;
  didSolicit: boolean;
  isConfigured: boolean;
  ip: string;
  port: number;
  startMs: number;
  lastActivityMs: number;
  rttMs: number;
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  /** The other side's interest here: subjects. */
  subscriptions: string[];
}

/** A query parameter nats-server would reject: answered 400 with nats-server's text. */
export class BadRequest extends Error {}

/** Query decoding with nats-server's error texts (decodeBool / decodeInt / decodeUint64). */
export class Query {
  constructor(readonly params: URLSearchParams) {}

  str(name: string): string {
    return this.params.get(name) ?? "";
  }

  bool(name: string): boolean {
    const s = this.str(name);
    if (s === "") return false;
    if (/^(1|t|T|TRUE|true|True)$/.test(s)) return true;
    if (/^(0|f|F|FALSE|false|False)$/.test(s)) return false;
    throw new BadRequest(`Error decoding boolean for '${name}': strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
  }

  int(name: string, unsigned = false): number {
    const s = this.str(name);
    if (s === "") return 0;
    const ok = unsigned ? /^\+?\d+$/.test(s) : /^[-+]?\d+$/.test(s);
    const n = Number(s);
    if (!ok || !Number.isSafeInteger(n)) {
      const fn = unsigned ? "ParseUint" : "Atoi";
      throw new BadRequest(`Error decoding ${unsigned ? "uint64" : "int"} for '${name}': strconv.${fn}: parsing ${JSON.stringify(s)}: invalid syntax`);
    }
    return n;
  }
}
