// Tested by test/accounts/auth-callout.test.ts.
// Auth callout (nats-server 2.10, ADR-26), in config mode: a client that is not one of the
// auth_users is described to a service in a server-signed authorization request JWT, published on
// $SYS.REQ.USER.AUTH in the callout account (sealed to the service's xkey when one is configured,
// the server's own xkey in the Nats-Server-Xkey header). The service answers with an authorization
// response JWT for this server (`aud`) and the user key the request named (`sub`), carrying either
// an `error` or a user JWT signed by the configured issuer: the user lands in the account its `aud`
// names, with the JWT's permissions and expiry. Anything else, and no answer within the auth
// timeout, is a refusal; the connection answers it with 'Authorization Violation'.
import type { Logger } from "pino";
import { Algorithms, encode, type ClaimsData } from "@nats-io/jwt";
import { createUser, type KeyPair } from "@nats-io/nkeys";
import type { AuthCalloutOptions, AuthenticatedUser, CalloutClient, ExternalAuthorizer } from "../auth/auth.js";
import type { ConnectOptions } from "../../protocol/connect.js";
import { claimType, connectTimes, connectionTypeAllowed, decodeJwt, decodeTyped, jwtPermissions, timeIssue, type Claims } from "../auth/jwt.js";
import type { Permissions } from "../auth/permissions.js";
import { internalClient, type InternalClient } from "../core/internal-client.js";
import type { ConnectionAccount } from "../core/connection-types.js";
import type { Router } from "../core/router.js";

/** Where the requests go, in the callout account (nats-server's AuthCalloutSubject). */
export const AUTH_CALLOUT_SUBJECT = "$SYS.REQ.USER.AUTH";
/** The request JWT's audience. */
export const AUTH_REQUEST_AUDIENCE = "nats-authorization-request";
/** The header carrying the server's public xkey on an encrypted request. */
export const AUTH_REQUEST_XKEY_HEADER = "Nats-Server-Xkey";

/** The request's `server_id`: who is asking. */
export interface CalloutServerId {
  name: string;
  host: string;
  id: string;
  version: string;
  cluster?: string;
  tags?: string[];
}

/** What the callout needs of the server. */
export interface CalloutHost {
  readonly log: Logger;
  /** The server's nkey: it signs the requests, and its public key is the server's id. */
  readonly identity: KeyPair;
  /** The server's curve key, for sealed requests and responses. */
  curveKey(): KeyPair;
  serverId(): CalloutServerId;
  /** An account by name, or undefined. */
  account(name: string): ConnectionAccount | undefined;
  /** How long the service has to answer: the auth timeout in force, ms. */
  timeoutMs(): number;
}

/** nats-server's getRawAuthUser: who the CONNECT says it is (auth_users are matched on this). */
export function rawAuthUser(o: ConnectOptions): string {
  if (o.nkey !== "") return o.nkey;
  if (o.user !== "") return o.user;
  if (o.jwt !== "") {
    try {
      return decodeJwt(o.jwt).sub;
    } catch {
      return "";
    }
  }
  return o.auth_token;
}

/** nats-server's client type, as the request's client_info says it. */
function clientType(type: string): string {
  if (type === "WEBSOCKET") return "websocket";
  if (type.startsWith("MQTT")) return "mqtt";
  return "nats";
}

/** Why a callout refused, in nats-server's words (it logs them with the first letter capitalised). */
class Refusal extends Error {}

export class AuthCallout implements ExternalAuthorizer {
  private readonly authUsers: Set<string>;
  /** One internal client per account router the requests are sent in. */
  private readonly clients = new Map<Router, InternalClient>();

  constructor(private readonly options: AuthCalloutOptions, private readonly host: CalloutHost) {
    this.authUsers = new Set(options.authUsers);
  }

  decides(opts: ConnectOptions): boolean {
    return !this.authUsers.has(rawAuthUser(opts));
  }

  async authorize(client: CalloutClient): Promise<AuthenticatedUser | null> {
    const o = this.options;
    const log = this.host.log;
    try {
      return await this.ask(client);
    } catch (e) {
      const m = (e as Error).message;
      const why = m.length > 0 ? m[0]!.toUpperCase() + m.slice(1) : m;
      log.warn({ cid: client.cid, account: o.account }, why);
      return null;
    }
  }

  private async ask(client: CalloutClient): Promise<AuthenticatedUser> {
    const o = this.options;
    const h = this.host;
    const acc = h.account(o.account);
    if (acc === undefined) throw new Refusal(`No valid account ${JSON.stringify(o.account)} for auth callout request: account not found`);
    // A fresh user key per request: the response must name it, so an old one cannot be replayed.
    const user = createUser();
    const userKey = user.getPublicKey();
    const server = h.serverId();
    const curve = o.xkey === undefined ? null : h.curveKey();
    const timeout = h.timeoutMs();
    const request = await encode(Algorithms.v2, this.requestClaims(client, userKey, server, curve, timeout), h.identity);
    let data = Buffer.from(request);
    const headers: [string, string][] = [];
    if (curve !== null) {
      data = Buffer.from(curve.seal(data, o.xkey!));
      headers.push([AUTH_REQUEST_XKEY_HEADER, curve.getPublicKey()]);
    }
    const ic = this.client(acc.router);
    let reply: Buffer;
    try {
      const m = await ic.request(AUTH_CALLOUT_SUBJECT, data, { timeout, ...(headers.length > 0 ? { headers } : {}) });
      reply = m.data;
    } catch {
      throw new Refusal(`authorization callout response not received in time on account ${JSON.stringify(acc.name)}`);
    }
    return this.decide(reply, client, userKey, server.id, curve, acc.name);
  }

  private client(router: Router): InternalClient {
    let ic = this.clients.get(router);
    if (ic === undefined) {
      // No 503 for a missing service: as nats-server, the client waits out the timeout.
      ic = internalClient(router, { noResponders: false });
      this.clients.set(router, ic);
    }
    return ic;
  }

  /** The authorization request claims (jwt's AuthorizationRequestClaims). */
  private requestClaims(c: CalloutClient, userKey: string, server: CalloutServerId, curve: KeyPair | null, timeoutMs: number): ClaimsData<unknown> {
    const o = c.opts;
    const connectOpts: Record<string, unknown> = {};
    const put = (to: Record<string, unknown>, k: string, v: string | number | undefined): void => {
      if (v !== undefined && v !== "") to[k] = v;
    };
    put(connectOpts, "jwt", o.jwt);
    put(connectOpts, "nkey", o.nkey);
    put(connectOpts, "sig", o.sig);
    put(connectOpts, "auth_token", o.auth_token);
    put(connectOpts, "user", o.user);
    put(connectOpts, "pass", o.pass);
    put(connectOpts, "name", o.name);
    put(connectOpts, "lang", o.lang);
    put(connectOpts, "version", o.version);
    connectOpts.protocol = o.protocol;
    const clientInfo: Record<string, unknown> = {};
    put(clientInfo, "host", c.host);
    put(clientInfo, "id", c.cid);
    put(clientInfo, "user", rawAuthUser(o));
    put(clientInfo, "name", o.name);
    put(clientInfo, "kind", "Client");
    put(clientInfo, "type", clientType(c.type));
    // The nonce the client signed, for a service that checks the signature itself.
    if (o.sig !== "") put(clientInfo, "nonce", c.nonce);
    const serverId: Record<string, unknown> = { name: server.name, host: server.host, id: server.id };
    put(serverId, "version", server.version);
    put(serverId, "cluster", server.cluster);
    if (server.tags !== undefined && server.tags.length > 0) serverId.tags = server.tags;
    if (curve !== null) serverId.xkey = curve.getPublicKey();
    const nats: Record<string, unknown> = { server_id: serverId, user_nkey: userKey, client_info: clientInfo, connect_opts: connectOpts };
    if (c.tls !== null) nats.client_tls = { version: c.tls.version, cipher: c.tls.cipher };
    nats.type = "authorization_request";
    nats.version = 2;
    return {
      aud: AUTH_REQUEST_AUDIENCE,
      sub: this.options.issuer,
      exp: Math.floor((Date.now() + timeoutMs) / 1000),
      nats,
    } as unknown as ClaimsData<unknown>;
  }

  /** The service's answer: the user it authorizes, or a Refusal with nats-server's reason. */
  private decide(raw: Buffer, client: CalloutClient, userKey: string, serverId: string, curve: KeyPair | null, account: string): AuthenticatedUser {
    const o = this.options;
    if (raw.length === 0) throw new Refusal(`auth callout violation: "no reason supplied" on account ${JSON.stringify(account)}`);
    let token = raw;
    // A sealed request may get a sealed answer; a JWT starts "eyJ".
    if (curve !== null && !raw.subarray(0, 3).equals(Buffer.from("eyJ"))) {
      const opened = curve.open(raw, o.xkey!);
      if (opened === null) throw new Refusal(`error decrypting auth callout response on account ${JSON.stringify(account)}: failed to open`);
      token = Buffer.from(opened);
    }
    let cr: Claims;
    try {
      cr = decodeJwt(token.toString("utf8"));
    } catch (e) {
      throw new Refusal((e as Error).message);
    }
    if (claimType(cr) !== "authorization_response") throw new Refusal(`not authorization_response claim`);
    const crIssue = timeIssue(cr);
    if (crIssue !== null) throw new Refusal(`authorization response had validation errors: ${crIssue}`);
    if (cr.sub !== userKey) throw new Refusal("auth callout violation: auth callout response is not for expected user");
    if (cr.aud !== serverId) throw new Refusal("auth callout violation: auth callout response is not for server");
    const err = cr.nats.error;
    if (typeof err === "string" && err !== "") throw new Refusal(`auth callout service returned an error: ${err}`);
    let uc: Claims;
    try {
      uc = decodeTyped(typeof cr.nats.jwt === "string" ? cr.nats.jwt : "", "user");
    } catch (e) {
      throw new Refusal((e as Error).message);
    }
    const ucIssue = timeIssue(uc);
    if (ucIssue !== null) throw new Refusal(`Error validating user JWT: ${ucIssue}`);
    if (uc.sub !== userKey) {
      throw new Refusal(`Expected authorized user of ${JSON.stringify(userKey)} but got ${JSON.stringify(uc.sub)} on account ${JSON.stringify(account)}`);
    }
    const n = uc.nats;
    const times = connectTimes(n);
    if (!times.allowed) throw new Refusal(`authorized user on account ${JSON.stringify(account)} outside of valid connect times`);
    if (!connectionTypeAllowed(n.allowed_connection_types, client.type)) {
      throw new Refusal(`authorized user on account ${JSON.stringify(account)} using invalid connection type`);
    }
    if (typeof n.issuer_account === "string" && n.issuer_account !== "") {
      throw new Refusal(`error non operator mode account ${JSON.stringify(account)}: attempted to use issuer_account`);
    }
    if (uc.iss !== o.issuer) {
      throw new Refusal(`wrong issuer for auth callout response on account ${JSON.stringify(account)}, expected ${JSON.stringify(o.issuer)} got ${JSON.stringify(uc.iss)}`);
    }
    // Config mode: the user JWT's audience names the account the user lands in.
    const placement = typeof uc.aud === "string" ? uc.aud : "";
    const target = this.host.account(placement);
    if (target === undefined) {
      throw new Refusal(`no valid account ${JSON.stringify(placement)} for auth callout response on account ${JSON.stringify(account)}: account not found`);
    }
    let permissions = jwtPermissions(n);
    // A user in the callout account may not send requests as the server does.
    if (target.name === o.account) permissions = denyPublish(permissions, AUTH_CALLOUT_SUBJECT);
    let expiresAt: number | undefined;
    if (typeof uc.exp === "number" && uc.exp > 0) expiresAt = uc.exp * 1000;
    if (times.validForMs > 0) expiresAt = Math.min(expiresAt ?? Infinity, Date.now() + times.validForMs);
    // The user JWT's name, when it has one, is who the client is from now on (nats-server).
    const name = typeof uc.name === "string" && uc.name !== "" ? uc.name : rawAuthUser(client.opts);
    return { name, permissions, account: target.name, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }

  /** The internal clients' subscriptions go with the callout (a reload builds a new one). */
  close(): void {
    for (const ic of this.clients.values()) ic.close();
    this.clients.clear();
  }
}

/** nats-server's mergeDenyPermissions for publish: `subject` added to the deny list. */
function denyPublish(p: Permissions | null, subject: string): Permissions {
  const out: Permissions = { ...(p ?? {}) };
  const pub = { ...(out.publish ?? {}) };
  pub.deny = [...(pub.deny ?? []), subject];
  out.publish = pub;
  return out;
}
