// Tested by test/server/auth-callout.test.ts.
// Auth callout (nats-server 2.10, ADR-26): a client that is not one of the auth_users is described
// to a service in a server-signed authorization request JWT, published on $SYS.REQ.USER.AUTH in
// the callout account (sealed to the service's xkey when one is configured, the server's own xkey
// in the Nats-Server-Xkey header). The service answers with an authorization response JWT for this
// server (`aud`) and the user key the request named (`sub`), carrying either an `error` or a user
// JWT. In config mode (`authorization { auth_callout }`) the user JWT is signed by the configured
// issuer and its `aud` names the account the user lands in. In operator mode the callout is an
// account's (its JWT's `authorization`: auth_users, allowed_accounts, xkey): users of that account
// are called out in it, and the user JWT is signed by it or by an allowed account (or their
// signing keys), the user landing in the signer's account. The user gets the JWT's permissions and
// expiry. Anything else, and no answer within the auth timeout, is a refusal; the connection
// answers it with 'Authorization Violation'.
import type { Logger } from "pino";
import type { ClaimsData } from "@nats-io/jwt";
import type { KeyPair } from "@nats-io/nkeys";
import { jwtLib, nkeysLib } from "../auth/nkeys.js";
import type { AuthCalloutOptions, AuthenticatedUser, CalloutClient, ExternalAuthorizer } from "../auth/auth.js";
import type { ConnectOptions } from "../../protocol/connect.js";
import { claimType, connectTimes, connectionTypeAllowed, decodeJwt, decodeTyped, jwtPermissions, timeIssue, type Claims, type Nats } from "../auth/jwt.js";
import type { Permissions } from "../auth/permissions.js";
import { internalClient, type InternalClient } from "../core/internal-client.js";
import type { ConnectionAccount } from "../core/connection-types.js";
import type { Router } from "../core/router.js";
import type { JwtAccount, OperatorAccounts } from "./operator.js";
import { applyTemplate, emptyPermissions } from "./operator-auth.js";

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
  identity(): KeyPair;
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

/** Where one request goes: the account it is sent in, the request's `sub`, the xkey to seal it to. */
interface CalloutTarget {
  account: ConnectionAccount;
  /** The issuer (config mode) or the account's public key (operator mode). */
  subject: string;
  xkey: string | undefined;
  /** Operator mode: the callout account's JWT. */
  jwt: JwtAccount | null;
  /** Operator mode: its `authorization` claims. */
  ext: ExternalAuth | null;
}

/** An account JWT's `authorization` claims (jwt's ExternalAuthorization). */
interface ExternalAuth {
  authUsers: string[];
  allowedAccounts: string[];
  xkey: string;
}

/** The account JWT's external authorization, when it names auth users (jwt's HasExternalAuthorization). */
function externalAuth(a: JwtAccount | undefined): ExternalAuth | null {
  const raw = a?.claims.nats.authorization;
  if (typeof raw !== "object" || raw === null) return null;
  const r = raw as Nats;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const authUsers = list(r.auth_users);
  if (authUsers.length === 0) return null;
  return { authUsers, allowedAccounts: list(r.allowed_accounts), xkey: typeof r.xkey === "string" ? r.xkey : "" };
}

export class AuthCallout implements ExternalAuthorizer {
  private readonly authUsers: Set<string>;
  /** One internal client per account router the requests are sent in. */
  private readonly clients = new Map<Router, InternalClient>();

  /**
   * Config mode: `options`. Operator mode: `operator`, the accounts known from JWTs (options
   * null: the callouts are the accounts').
   */
  constructor(private readonly options: AuthCalloutOptions | null, private readonly host: CalloutHost,
    private readonly operator: OperatorAccounts | null = null) {
    this.authUsers = new Set(options?.authUsers ?? []);
  }

  decides(opts: ConnectOptions, user: AuthenticatedUser | null): boolean {
    if (this.operator === null) return !this.authUsers.has(rawAuthUser(opts));
    // Operator mode: a user of an account whose JWT names auth users, and not one of them.
    if (user === null || user.account === undefined) return false;
    const ext = externalAuth(this.operator.known.get(user.account));
    return ext !== null && !ext.authUsers.includes(rawAuthUser(opts));
  }

  async authorize(client: CalloutClient): Promise<AuthenticatedUser | null> {
    try {
      return await this.ask(client);
    } catch (e) {
      const m = (e as Error).message;
      const why = m.length > 0 ? m[0]!.toUpperCase() + m.slice(1) : m;
      this.host.log.warn({ cid: client.cid }, why);
      return null;
    }
  }

  /** The account the request is sent in, and how. */
  private target(client: CalloutClient): CalloutTarget {
    const h = this.host;
    const o = this.options;
    if (o !== null) {
      const account = h.account(o.account);
      if (account === undefined) throw new Refusal(`No valid account ${JSON.stringify(o.account)} for auth callout request: account not found`);
      return { account, subject: o.issuer, xkey: o.xkey, jwt: null, ext: null };
    }
    const id = client.user?.account ?? "";
    const jwt = this.operator?.known.get(id);
    const account = h.account(id);
    const ext = externalAuth(jwt);
    if (jwt === undefined || account === undefined || ext === null) throw new Refusal(`No valid account ${JSON.stringify(id)} for auth callout request: account not found`);
    return { account, subject: id, xkey: ext.xkey === "" ? undefined : ext.xkey, jwt, ext };
  }

  private async ask(client: CalloutClient): Promise<AuthenticatedUser> {
    const h = this.host;
    const t = this.target(client);
    const acc = t.account;
    // A fresh user key per request: the response must name it, so an old one cannot be replayed.
    const user = nkeysLib().createUser();
    const userKey = user.getPublicKey();
    const server = h.serverId();
    const curve = t.xkey === undefined ? null : h.curveKey();
    const timeout = h.timeoutMs();
    const jwt = jwtLib();
    const request = await jwt.encode(jwt.Algorithms.v2, this.requestClaims(client, t.subject, userKey, server, curve, timeout), h.identity());
    let data = Buffer.from(request);
    const headers: [string, string][] = [];
    if (curve !== null) {
      data = Buffer.from(curve.seal(data, t.xkey!));
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
    return this.decide(reply, client, userKey, server.id, curve, t);
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
  private requestClaims(c: CalloutClient, subject: string, userKey: string, server: CalloutServerId, curve: KeyPair | null, timeoutMs: number): ClaimsData<unknown> {
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
    if (c.tls !== null) {
      // nats-server: the verified chains when the client was verified, else the certificates it presented.
      const certs = c.tls.certs;
      const tls: Record<string, unknown> = { version: c.tls.version, cipher: c.tls.cipher };
      if (certs !== undefined && certs.certs.length > 0) {
        if (certs.verified) tls.verified_chains = [certs.certs];
        else tls.certs = certs.certs;
      }
      nats.client_tls = tls;
    }
    nats.type = "authorization_request";
    nats.version = 2;
    return {
      aud: AUTH_REQUEST_AUDIENCE,
      sub: subject,
      exp: Math.floor((Date.now() + timeoutMs) / 1000),
      nats,
    } as unknown as ClaimsData<unknown>;
  }

  /** The service's answer: the user it authorizes, or a Refusal with nats-server's reason. */
  private decide(raw: Buffer, client: CalloutClient, userKey: string, serverId: string, curve: KeyPair | null, t: CalloutTarget): AuthenticatedUser {
    const account = t.account.name;
    if (raw.length === 0) throw new Refusal(`auth callout violation: "no reason supplied" on account ${JSON.stringify(account)}`);
    let token = raw;
    let sealed = false;
    // A sealed request may get a sealed answer; a JWT starts "eyJ".
    if (curve !== null && !raw.subarray(0, 3).equals(Buffer.from("eyJ"))) {
      const opened = curve.open(raw, t.xkey!);
      if (opened === null) throw new Refusal(`error decrypting auth callout response on account ${JSON.stringify(account)}: failed to open`);
      token = Buffer.from(opened);
      sealed = true;
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
    // Operator mode: a response in clear is signed by the callout account or one of its signing keys.
    if (t.jwt !== null && !sealed) {
      const pk = typeof cr.nats.issuer_account === "string" && cr.nats.issuer_account !== "" ? cr.nats.issuer_account : cr.iss;
      if (pk !== t.jwt.id && !t.jwt.signingKeys.has(pk)) throw new Refusal("auth callout signing key is unknown");
    }
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
    let n = uc.nats;
    const times = connectTimes(n);
    if (!times.allowed) throw new Refusal(`authorized user on account ${JSON.stringify(account)} outside of valid connect times`);
    if (!connectionTypeAllowed(n.allowed_connection_types, client.type)) {
      throw new Refusal(`authorized user on account ${JSON.stringify(account)} using invalid connection type`);
    }
    let target: ConnectionAccount;
    let defaults: Permissions | null = null;
    if (t.jwt === null) {
      const o = this.options!;
      if (typeof n.issuer_account === "string" && n.issuer_account !== "") {
        throw new Refusal(`error non operator mode account ${JSON.stringify(account)}: attempted to use issuer_account`);
      }
      if (uc.iss !== o.issuer) {
        throw new Refusal(`wrong issuer for auth callout response on account ${JSON.stringify(account)}, expected ${JSON.stringify(o.issuer)} got ${JSON.stringify(uc.iss)}`);
      }
      // Config mode: the user JWT's audience names the account the user lands in.
      const placement = typeof uc.aud === "string" ? uc.aud : "";
      const found = this.host.account(placement);
      if (found === undefined) {
        throw new Refusal(`no valid account ${JSON.stringify(placement)} for auth callout response on account ${JSON.stringify(account)}: account not found`);
      }
      target = found;
    } else {
      // Operator mode: the user lands in the account that signed it: the callout account, or one
      // its JWT allows (allowed_accounts, "*" alone for any).
      const issuerAccount = typeof n.issuer_account === "string" && n.issuer_account !== "" ? n.issuer_account : uc.iss;
      const allowed = t.ext!.allowedAccounts;
      if (issuerAccount !== t.jwt.id && !(allowed.length === 1 && allowed[0] === "*") && !allowed.includes(issuerAccount)) {
        throw new Refusal(`account ${JSON.stringify(uc.iss)} not permitted as valid account option for auth callout for account ${JSON.stringify(account)}`);
      }
      const acc = this.operator!.lookup(issuerAccount);
      const found = acc === null ? undefined : this.host.account(acc.id);
      if (acc === null || found === undefined) {
        throw new Refusal(`no valid account ${JSON.stringify(issuerAccount)} for auth callout response on account ${JSON.stringify(account)}: account not found`);
      }
      if (!acc.signingKeys.has(uc.iss)) throw new Refusal(`user JWT issuer ${JSON.stringify(uc.iss)} is not known`);
      const scope = acc.signingKeys.get(uc.iss) ?? null;
      if (scope !== null) {
        if (!emptyPermissions(n)) throw new Refusal("user JWT is not valid: scoped users require no permissions or limits set");
        const tpl = applyTemplate(scope, uc, acc);
        if (tpl === null) throw new Refusal("user JWT generated invalid permissions");
        n = tpl;
      }
      defaults = jwtPermissions((acc.claims.nats.default_permissions ?? {}) as Nats);
      target = found;
    }
    // (In the callout account, restrict() adds the deny of the callout subject.)
    const permissions = jwtPermissions(n) ?? defaults;
    let expiresAt: number | undefined;
    if (typeof uc.exp === "number" && uc.exp > 0) expiresAt = uc.exp * 1000;
    if (times.validForMs > 0) expiresAt = Math.min(expiresAt ?? Infinity, Date.now() + times.validForMs);
    // The user JWT's name, when it has one, is who the client is from now on (nats-server).
    const name = typeof uc.name === "string" && uc.name !== "" ? uc.name : rawAuthUser(client.opts);
    return { name, permissions, account: target.name, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }

  restrict(account: string, permissions: Permissions | null): Permissions | null {
    const calloutAccount = this.operator === null ? this.options!.account === account : externalAuth(this.operator.known.get(account)) !== null;
    // A client of the callout account may not send requests as the server does.
    return calloutAccount ? denyPublish(permissions, AUTH_CALLOUT_SUBJECT) : permissions;
  }

  /** The internal clients' subscriptions go with the callout (a reload builds a new one). */
  close(): void {
    for (const ic of this.clients.values()) ic.close();
    this.clients.clear();
  }
}

/** nats-server's mergeDenyPermissions for publish: `subject` added to the deny list. */
function denyPublish(p: Permissions | null, subject: string): Permissions {
  if (p?.publish?.deny?.includes(subject) === true) return p;
  const out: Permissions = { ...(p ?? {}) };
  const pub = { ...(out.publish ?? {}) };
  pub.deny = [...(pub.deny ?? []), subject];
  out.publish = pub;
  return out;
}
