// nats-server's account connect / disconnect events ($SYS.ACCOUNT.<acc>.CONNECT / .DISCONNECT,
// ConnectEventMsg / DisconnectEventMsg in its server/events.go), published through an internal
// client. The JSON is built only when a subscription would receive it: connects and closes pay
// one subject-index match otherwise.
//
// nats-server sends these for accounts other than the global one, and only inside the system
// account (the internal client is the system account's), with or without `accounts` configured.
import { customAlphabet } from "nanoid";
import type { ClientConnection } from "./core/connection.js";
import type { JetStream } from "./jetstream/jetstream.js";
import type { ServerOptions } from "./options.js";
import type { InternalClient } from "./core/internal-client.js";

export const CONNECT_EVENT_TYPE = "io.nats.server.advisory.v1.client_connect";
export const DISCONNECT_EVENT_TYPE = "io.nats.server.advisory.v1.client_disconnect";
export const ACCOUNT_CONNECTIONS_EVENT_TYPE = "io.nats.server.advisory.v1.account_connections";
const GLOBAL = "$G";

// nats-server's event ids are NUIDs: 22 characters of base 62.
const eventId = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 22);

export interface EventSource {
  readonly serverId: string;
  readonly serverName: string;
  readonly version: string;
  readonly options: ServerOptions;
  readonly jetstream: JetStream | null;
}

export class SystemEvents {
  private seq = 0;
  /** `ic` publishes where the events are seen: the system account. */
  constructor(private readonly s: EventSource, private readonly ic: InternalClient) {}

  /**
   * nats-server's account_connections event, on `$SYS.ACCOUNT.<acc>.SERVER.CONNS` and (as 2.10
   * keeps it for compatibility) `$SYS.SERVER.ACCOUNT.<acc>.CONNS`; `stat` is built only when heard.
   */
  accountConnections(account: string, stat: () => Record<string, unknown>): void {
    if (account === GLOBAL) return;
    const subjects = [`$SYS.SERVER.ACCOUNT.${account}.CONNS`, `$SYS.ACCOUNT.${account}.SERVER.CONNS`].filter((s) => this.ic.hasInterest(s));
    if (subjects.length === 0) return;
    const now = new Date();
    const body = JSON.stringify({
      type: ACCOUNT_CONNECTIONS_EVENT_TYPE, id: eventId(), timestamp: now.toISOString(),
      server: this.serverInfo(now),
      ...stat(),
    });
    for (const s of subjects) this.ic.publish(s, body);
  }

  connected(c: ClientConnection): void {
    if (c.account === GLOBAL) return;
    this.publish(`$SYS.ACCOUNT.${c.account}.CONNECT`, CONNECT_EVENT_TYPE, () => ({ client: clientInfo(c, null) }));
  }

  disconnected(c: ClientConnection, reason: string): void {
    if (c.account === GLOBAL) return;
    this.publish(`$SYS.ACCOUNT.${c.account}.DISCONNECT`, DISCONNECT_EVENT_TYPE, (now) => disconnect(c, clientInfo(c, now), reason));
  }

  /**
   * nats-server's auth error event, on `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`: a client_disconnect
   * advisory (reason "Authentication Failure") for a client whose CONNECT was refused, in the
   * system account.
   */
  authError(c: ClientConnection): void {
    this.publish(`$SYS.SERVER.${this.s.serverId}.CLIENT.AUTH.ERR`, DISCONNECT_EVENT_TYPE, (now) => {
      const client = clientInfo(c, now);
      if (c.opts.jwt !== "") client.jwt = c.opts.jwt;
      return disconnect(c, client, "Authentication Failure");
    });
  }

  /** An event on `subject`, built only when heard: type, id, timestamp and server, then `body`. */
  private publish(subject: string, type: string, body: (now: Date) => Record<string, unknown>): void {
    if (!this.ic.hasInterest(subject)) return;
    const now = new Date();
    this.ic.publish(subject, JSON.stringify({
      type, id: eventId(), timestamp: now.toISOString(),
      server: this.serverInfo(now),
      ...body(now),
    }));
  }

  /** nats-server's ServerInfo of events and $SYS replies (each use takes the next seq). */
  serverInfo(now = new Date()): Record<string, unknown> {
    const js = this.s.jetstream !== null;
    return {
      name: this.s.serverName, host: this.s.options.host, id: this.s.serverId, ver: this.s.version,
      jetstream: js, flags: js ? 1 : 0, seq: ++this.seq, time: now.toISOString(),
    };
  }

}

/** A client_disconnect advisory's body. As nats-server: "sent" is what the client sent, "received" what it was delivered. */
function disconnect(c: ClientConnection, client: Record<string, unknown>, reason: string): Record<string, unknown> {
  return {
    client,
    sent: { msgs: c.inMsgs, bytes: c.inBytes },
    received: { msgs: c.outMsgs, bytes: c.outBytes },
    reason,
  };
}

/**
 * nats-server's ClientInfo of a client connection, with its omitempty fields left out when empty.
 * `stop` for a disconnect; `server` where nats-server names the server (API audit).
 */
export function clientInfo(c: ClientConnection, stop: Date | null, server = ""): Record<string, unknown> {
  const o = c.opts;
  const host = c.remoteAddress.startsWith("::ffff:") ? c.remoteAddress.slice(7) : c.remoteAddress;
  const out: Record<string, unknown> = { start: new Date(c.start).toISOString(), host, id: c.cid, acc: c.account };
  // nats-server's "user" (omitempty): the user name, or the nkey of an nkey user.
  const user = c.user?.name ?? "";
  if (user !== "") out.user = user;
  if (o.name !== "") out.name = o.name;
  if (o.lang !== "") out.lang = o.lang;
  if (o.version !== "") out.ver = o.version;
  // nats-server reports rtt (a Go duration, ns) in the disconnect event and the API audit.
  if (stop !== null || server !== "") {
    if (c.roundTripMs > 0) out.rtt = Math.round(c.roundTripMs * 1e6);
  }
  if (server !== "") out.server = server;
  if (stop !== null) out.stop = stop.toISOString();
  out.kind = "Client";
  out.client_type = "nats";
  return out;
}
