// Auth callout (nats-server 2.10, ADR-26) in config mode. There is no 2.10 nats-server here to
// compare with, so each test names the fact of nats-server v2.10.0's server/auth_callout.go (and
// its auth_callout_test.go) it relies on. The service is written here with @nats-io/jwt, as a
// user would write one: it subscribes to $SYS.REQ.USER.AUTH in the callout account, reads the
// server-signed request and answers with an authorization response JWT.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createAccount, createUser, decode, encodeAuthorizationResponse, encodeUser, type KeyPair } from "@nats-io/jwt";
import { createCurve } from "@nats-io/nkeys";
import { credsAuthenticator, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { startGnat, tempDir } from "../kit/gnat.js";
import { connectNode, RawClient } from "../kit/clients.js";
import type { Server } from "../../server/server.js";
import { makeAccount, makeOperator, makeUser, type TestAccount, type TestOperator } from "../helpers/operator.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { loadConfigFile } from "../../server/config/index.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The request's claims as the service reads them (jwt's AuthorizationRequestClaims). */
interface Request {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nats: {
    type: string;
    user_nkey: string;
    server_id: { name: string; host: string; id: string; version?: string; xkey?: string };
    client_info: { host?: string; id?: number; user?: string; kind?: string; type?: string };
    connect_opts: { user?: string; pass?: string; name?: string; lang?: string; protocol: number };
  };
}

/** What the test's service does with one request: the response bytes, or null for none at all. */
type Decide = (req: Request, raw: Msg) => Promise<Uint8Array | string | null>;

const issuer: KeyPair = createAccount();

/** A user JWT for the user key the request named, placed in `account` (its `aud`, in config mode). */
function userJwt(req: Request, account: string, user: Record<string, unknown> = {}, opts: { exp?: number; signer?: KeyPair; name?: string } = {}): Promise<string> {
  return encodeUser(opts.name ?? "", req.nats.user_nkey, opts.signer ?? issuer, user, { aud: account, ...(opts.exp !== undefined ? { exp: opts.exp } : {}) });
}

/** The authorization response: for the request's user key and server, with a user JWT or an error. */
function response(req: Request, data: { jwt?: string; error?: string }, forUser?: string): Promise<string> {
  return encodeAuthorizationResponse(forUser ?? req.nats.user_nkey, req.nats.server_id.id, issuer, data, {});
}

/** A service in the callout account: each request goes to `decide`, whose answer is the reply. */
class Service {
  readonly requests: Request[] = [];
  readonly raw: Msg[] = [];
  private sub: Subscription | null = null;
  decide: Decide = async () => null;
  open = (m: Msg): string => m.string();

  constructor(private readonly nc: NatsConnection) {}

  async start(): Promise<void> {
    this.sub = this.nc.subscribe("$SYS.REQ.USER.AUTH", {
      callback: (_err, m) => {
        // decode() checks the signature against the claims' issuer: the server's nkey.
        const req = decode<Request["nats"]>(this.open(m)) as unknown as Request;
        this.requests.push(req);
        this.raw.push(m);
        void this.decide(req, m).then((r) => {
          if (r !== null) m.respond(r);
        });
      },
    });
    await this.nc.flush();
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}

/** The answer of $SYS.REQ.USER.INFO, for the account the connection landed in. */
async function userInfo(nc: NatsConnection): Promise<{ user: string; account: string; permissions?: Record<string, unknown>; expires?: number }> {
  const r = await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 3000 });
  return r.json<{ data: { user: string; account: string; permissions?: Record<string, unknown>; expires?: number } }>().data;
}

async function refused(server: Server, opts: Record<string, unknown>): Promise<string> {
  const c = new RawClient(server.port);
  await c.until((o) => o.includes("\r\n"));
  c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, ...opts })}\r\nPING\r\n`);
  await c.waitClosed();
  return c.afterInfo;
}

describe("auth callout (config mode)", () => {
  let server: Server;
  let auth: NatsConnection;
  let svc: Service;
  const open: NatsConnection[] = [];

  const lines: string[] = [];

  beforeAll(async () => {
    const logger = pino({ level: "warn", base: null }, { write: (l: string) => void lines.push(l) });
    server = await startGnat({
      logger, noLog: false,
      accounts: { AUTH: { users: [{ user: "auth", password: "pwd" }] }, B: {} },
      // A loaded machine must not turn a slow answer into a refusal: the timeout has its own test.
      authorization: { timeout: 5000, callout: { issuer: issuer.getPublicKey(), authUsers: ["auth"], account: "AUTH" } },
    });
    auth = await connectNode(server, { user: "auth", pass: "pwd" });
    svc = new Service(auth);
    await svc.start();
  });
  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await auth.close();
    await server.close();
  });

  test("an allowed user lands in the account its JWT's aud names, with the JWT's permissions (auth_callout.go: placement = arc.Audience)", async () => {
    svc.decide = async (req) => req.nats.connect_opts.user === "dlc" && req.nats.connect_opts.pass === "zzz"
      ? response(req, { jwt: await userJwt(req, "B", { pub: { allow: ["$SYS.REQ.USER.INFO", "ok.>"] }, sub: { allow: ["_INBOX.>", "ok.>"] } }) })
      : "";
    const before = svc.requests.length;
    const nc = await connectNode(server, { user: "dlc", pass: "zzz", name: "me" });
    open.push(nc);
    const info = await userInfo(nc);
    // No name in the user JWT: the CONNECT's user name stays (TestAuthCalloutMultiAccounts: UserID "dlc", Account "BAZ").
    expect(info.user).toBe("dlc");
    expect(info.account).toBe("B");
    expect(info.permissions).toEqual({ publish: { allow: ["$SYS.REQ.USER.INFO", "ok.>"] }, subscribe: { allow: ["_INBOX.>", "ok.>"] } });
    // The permissions hold: a publish outside them is refused.
    const errs: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") errs.push(String(s.error));
    })();
    nc.publish("nope", "x");
    await nc.flush();
    await expect.poll(() => errs.join("\n")).toMatch(/Permissions Violation for Publish to "nope"/);

    // The request, as nats-server builds it: signed by the server's nkey (its id), subject the
    // issuer, audience nats-authorization-request, a fresh user key, the client and its CONNECT.
    const req = svc.requests[before]!;
    expect(req.iss).toBe(server.serverId);
    expect(req.sub).toBe(issuer.getPublicKey());
    expect(req.aud).toBe("nats-authorization-request");
    expect(req.nats.type).toBe("authorization_request");
    expect(req.nats.user_nkey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(req.nats.server_id).toMatchObject({ id: server.serverId, name: server.serverName, host: "127.0.0.1" });
    expect(req.nats.client_info).toMatchObject({ host: "127.0.0.1", user: "dlc", kind: "Client", type: "nats" });
    expect(req.nats.connect_opts).toMatchObject({ user: "dlc", pass: "zzz", name: "me", lang: "nats.js", protocol: 1 });
    // Expires with the auth timeout (claim.Expires = now + authTimeout).
    expect(req.exp).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);
  });

  test("a user placed in the callout account may not publish to $SYS.REQ.USER.AUTH (mergeDenyPermissions)", async () => {
    svc.decide = async (req) => response(req, { jwt: await userJwt(req, "AUTH", {}, { name: "renamed" }) });
    const nc = await connectNode(server, { user: "x", pass: "y" });
    open.push(nc);
    const info = await userInfo(nc);
    // A name in the user JWT replaces the CONNECT's (processReply: c.opts.Username = arc.Name).
    expect(info.user).toBe("renamed");
    expect(info.account).toBe("AUTH");
    expect(info.permissions).toEqual({ publish: { deny: ["$SYS.REQ.USER.AUTH"] } });
  });

  test("the user JWT's expiry is the connection's (setExpiration)", async () => {
    svc.decide = async (req) => response(req, { jwt: await userJwt(req, "B", {}, { exp: Math.floor(Date.now() / 1000) + 600 }) });
    const nc = await connectNode(server, { user: "e", pass: "e" });
    open.push(nc);
    const { expires } = await userInfo(nc);
    expect(expires).toBeGreaterThan(590e9);
    expect(expires).toBeLessThanOrEqual(600e9);
  });

  test.each([
    ["an error in the response (TestAuthCalloutErrorResponse)", (req: Request) => response(req, { error: "BAD AUTH" }),
      /^Auth callout service returned an error: BAD AUTH$/],
    ["an empty response (nil response signals no authentication)", async () => "", /^Auth callout violation: "no reason supplied" on account "AUTH"$/],
    ["a response for another user key", (req: Request) => response(req, { error: "" }, createUser().getPublicKey()),
      /^Auth callout violation: auth callout response is not for expected user$/],
    ["a user JWT signed by another account", async (req: Request) => response(req, { jwt: await userJwt(req, "B", {}, { signer: createAccount() }) }),
      /^Wrong issuer for auth callout response on account "AUTH", expected "A\w+" got "A\w+"$/],
    ["a user JWT for an account that does not exist", async (req: Request) => response(req, { jwt: await userJwt(req, "NOPE") }),
      /^No valid account "NOPE" for auth callout response on account "AUTH"/],
    ["a user JWT that has expired", async (req: Request) => response(req, { jwt: await userJwt(req, "B", {}, { exp: Math.floor(Date.now() / 1000) - 10 }) }),
      /^Error validating user JWT: claim is expired$/],
  ])("refused for %s: -ERR 'Authorization Violation' and the close", async (_what, decide, reason) => {
    svc.decide = decide as Decide;
    const before = svc.requests.length;
    const logged = lines.length;
    expect(await refused(server, { user: "dlc", pass: "zzz" })).toBe("-ERR 'Authorization Violation'\r\n");
    expect(svc.requests.length).toBe(before + 1);
    // The reason is logged (Warnf(errStr)), first letter capitalised as nats-server's titleCase does.
    const msgs = lines.slice(logged).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs.some((m) => reason.test(m)), msgs.join("\n")).toBe(true);
  });

  test("no answer within the auth timeout is a refusal (select … time.After(authTimeout)); there is no 503 for a missing service", async () => {
    const lines: string[] = [];
    const quick = await startGnat({
      logger: pino({ level: "warn", base: null }, { write: (l: string) => void lines.push(l) }), noLog: false,
      accounts: { AUTH: { users: [{ user: "auth", password: "pwd" }] } },
      authorization: { timeout: 300, callout: { issuer: issuer.getPublicKey(), authUsers: ["auth"], account: "AUTH" } },
    });
    let closing: Promise<void> | null = null;
    try {
      expect(await refused(quick, { user: "slow", pass: "x" })).toBe("-ERR 'Authorization Violation'\r\n");
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('Authorization callout response not received in time on account "AUTH"');
      // Regression: the refused socket was left paused, so its FIN went unread and the server
      // kept it until the write deadline (10 s): closing the server waited that long.
      closing = quick.close();
      const late = Symbol("late");
      expect(await Promise.race([closing.then(() => "closed"), new Promise((r) => setTimeout(() => r(late), 5000).unref())])).toBe("closed");
    } finally {
      await (closing ?? quick.close());
    }
  });

  test("auth_users bypass the callout, and one with a wrong password is refused without it (TestAuthCalloutAuthUserFailDoesNotInvokeCallout)", async () => {
    svc.decide = async (req) => response(req, { jwt: await userJwt(req, "B") });
    const before = svc.requests.length;
    const nc = await connectNode(server, { user: "auth", pass: "pwd" });
    open.push(nc);
    // In the callout account, as every client there (auth.go: c.acc.Name == authAccountName).
    expect(await userInfo(nc)).toMatchObject({ account: "AUTH", permissions: { publish: { deny: ["$SYS.REQ.USER.AUTH"] } } });
    expect(await refused(server, { user: "auth", pass: "wrong" })).toBe("-ERR 'Authorization Violation'\r\n");
    expect(svc.requests.length).toBe(before);
  });

  test("what a client pipelines after CONNECT waits for the decision, then runs in order, under the permissions given", async () => {
    // The service answers only when the test says, so the client's later ops are held meanwhile.
    let answer: (() => void) | null = null;
    const decided = new Promise<void>((r) => {
      svc.decide = (req) => new Promise((resolve) => {
        answer = () => void userJwt(req, "B", { pub: { allow: ["p.ok"] } }).then((j) => response(req, { jwt: j })).then(resolve);
        r();
      });
    });
    const c = new RawClient(server.port);
    await c.until((o) => o.includes("\r\n"));
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, user: "pipe", pass: "x" })}\r\n` +
      "SUB p.ok 1\r\nPUB p.ok 5\r\nfirst\r\nPUB p.denied 1\r\nx\r\nPUB p.ok 6\r\nsecond\r\nPING\r\n");
    await decided;
    // The request is out; the client's PING has not been answered, nor anything else (and its
    // SUB, before a CONNECT is accepted, would be an 'Authorization Violation').
    expect(c.afterInfo).toBe("");
    answer!();
    await c.waitFor(/PONG\r\n/);
    expect(c.afterInfo).toBe("MSG p.ok 1 5\r\nfirst\r\n-ERR 'Permissions Violation for Publish to \"p.denied\"'\r\nMSG p.ok 1 6\r\nsecond\r\nPONG\r\n");
    c.close();
  });

  test("a refused client's pipelined publish reaches no one", async () => {
    svc.decide = async (req) => response(req, { jwt: await userJwt(req, "B") });
    const b = await connectNode(server, { user: "listener", pass: "x" });
    open.push(b);
    const got: string[] = [];
    b.subscribe("leak", { callback: (_e, m) => got.push(m.string()) });
    await b.flush();
    svc.decide = async (req) => response(req, { error: "no" });
    const c = new RawClient(server.port);
    await c.until((o) => o.includes("\r\n"));
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, user: "bad", pass: "x" })}\r\nPUB leak 4\r\nleak\r\nPING\r\n`);
    await c.waitClosed();
    expect(c.afterInfo).toBe("-ERR 'Authorization Violation'\r\n");
    b.publish("leak", "mine");
    await b.flush();
    await expect.poll(() => got).toEqual(["mine"]);
  });
});

describe("auth callout with xkey (TestAuthCalloutServerConfigEncryption)", () => {
  let server: Server;
  let auth: NatsConnection;
  let svc: Service;
  const curve = createCurve();
  const open: NatsConnection[] = [];

  beforeAll(async () => {
    server = await startGnat({
      authorization: {
        timeout: 5000, users: [{ user: "auth", password: "pwd" }],
        callout: { issuer: issuer.getPublicKey(), authUsers: ["auth"], account: "$G", xkey: curve.getPublicKey() },
      },
    });
    auth = await connectNode(server, { user: "auth", pass: "pwd" });
    svc = new Service(auth);
    // The request is sealed to the service's xkey by the server's, named in Nats-Server-Xkey.
    svc.open = (m) => {
      expect(m.string().startsWith("eyJ")).toBe(false);
      const from = m.headers?.get("Nats-Server-Xkey") ?? "";
      expect(from).toMatch(/^X[A-Z2-7]{55}$/);
      const opened = curve.open(m.data, from);
      expect(opened).not.toBeNull();
      return new TextDecoder().decode(opened!);
    };
    await svc.start();
  });
  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await auth.close();
    await server.close();
  });

  test("a sealed request; the answer in clear or sealed to the server's xkey both work", async () => {
    svc.decide = async (req, m) => {
      // The header's key is the one the signed claims name (si.XKey == xkey).
      expect(req.nats.server_id.xkey).toBe(m.headers?.get("Nats-Server-Xkey"));
      const r = await response(req, { jwt: await userJwt(req, "$G") });
      return req.nats.connect_opts.user === "sealed" ? curve.seal(new TextEncoder().encode(r), req.nats.server_id.xkey!) : r;
    };
    for (const user of ["clear", "sealed"]) {
      const nc = await connectNode(server, { user, pass: "x" });
      open.push(nc);
      await nc.flush();
    }
    expect(svc.requests.length).toBe(2);
  });

  test("an answer sealed with another key is refused", async () => {
    svc.decide = async (req) => createCurve().seal(new TextEncoder().encode(await response(req, { jwt: await userJwt(req, "$G") })), req.nats.server_id.xkey!);
    expect(await refused(server, { user: "x", pass: "y" })).toBe("-ERR 'Authorization Violation'\r\n");
  });
});

describe("auth_callout in a config file (opts.go parseAuthCallout)", () => {
  const { dir, remove } = tempDir("gnat-callout-");
  afterAll(remove);
  const load = (text: string) => {
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(f, text);
    return loadConfigFile(f, {});
  };
  const iss = issuer.getPublicKey();

  test("issuer, auth_users, account and xkey are read; account defaults to $G", () => {
    const x = createCurve().getPublicKey();
    const o = load(`authorization { users: [ { user: auth, password: pwd } ]\n auth_callout { issuer: ${iss}, auth_users: [ auth ], xkey: ${x} } }`).options;
    expect(o.authorization?.callout).toEqual({ issuer: iss, authUsers: ["auth"], account: "$G", xkey: x });
  });

  test.each([
    ["auth_callout { auth_users: [a] }", "Authorization callouts require an issuer to be specified"],
    ["auth_callout { issuer: UABC }", "Expected callout user to be a valid public account nkey, got \"UABC\""],
    ["auth_callout { issuer: ISSUER }", "Authorization callouts require authorized users to be specified"],
    ["auth_callout { issuer: ISSUER, auth_users: [a], xkey: nope }", "Expected callout xkey to be a valid public xkey, got \"nope\""],
    ["auth_callout { issuer: ISSUER, auth_users: [a], bogus: 1 }", "Unknown field \"bogus\" parsing authorization callout"],
  ])("%s is refused: %s", (block, error) => {
    expect(() => load(`authorization { users: [ { user: a, password: b } ]\n ${block.replace("ISSUER", iss)} }`)).toThrow(error);
  });

  test("operator mode refuses a callout in the config: it is an account's there (TestAuthCalloutOperatorNoServerConfigCalloutAllowed)", async () => {
    const op = await makeOperator();
    await expect(startGnat({
      operators: [op.jwt], resolver: { type: "memory" }, authorization: { callout: { issuer: iss, authUsers: ["a"], account: "$G" } },
    })).rejects.toThrow("operators do not allow authorization callouts to be configured directly");
  });
});

describe("auth callout in operator mode: an account JWT's authorization claims (TestAuthCalloutOperatorModeBasics)", () => {
  let server: Server;
  let op: TestOperator;
  let authAcc: TestAccount;
  /** A second callout account whose JWT names an xkey: its requests are sealed. */
  let sealedAcc: TestAccount;
  const sealedService = createUser();
  const curve = createCurve();
  let t: TestAccount;
  const tSigning = createAccount();
  const service = createUser();
  let svc: Service;
  let svcConn: NatsConnection;
  let sentinel: Uint8Array;
  const open: NatsConnection[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    op = await makeOperator();
    t = await makeAccount(op.okp, "TEST", { signing_keys: [tSigning.getPublicKey()] });
    // The AUTH account names its service's user as an auth user, and TEST as an account its users may be placed in.
    authAcc = await makeAccount(op.okp, "AUTH", { authorization: { auth_users: [service.getPublicKey()], allowed_accounts: [t.id] } });
    sealedAcc = await makeAccount(op.okp, "SEALED", { authorization: { auth_users: [sealedService.getPublicKey()], allowed_accounts: [], xkey: curve.getPublicKey() } });
    server = await startGnat({
      logger: pino({ level: "warn", base: null }, { write: (l: string) => void lines.push(l) }), noLog: false,
      operators: [op.jwt], systemAccount: op.sys.getPublicKey(), resolver: { type: "memory" },
      resolverPreload: { [op.sys.getPublicKey()]: op.sysJwt, [authAcc.id]: authAcc.jwt, [t.id]: t.jwt, [sealedAcc.id]: sealedAcc.jwt },
    });
    svcConn = await connectNode(server, { authenticator: credsAuthenticator((await makeUser(authAcc.akp, {}, { ukp: service })).creds) });
    svc = new Service(svcConn);
    await svc.start();
    // Everyone else connects as this bearer user of AUTH, and says who they are in other CONNECT fields.
    sentinel = (await makeUser(authAcc.akp, { bearer_token: true })).creds;
  });
  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await svcConn.close();
    await server.close();
  });

  /** A user JWT for the request's key, signed by `signer` for `account` (issuer_account when they differ). */
  const placed = (req: Request, account: KeyPair | string, signer?: KeyPair): Promise<string> =>
    encodeUser("dlc", req.nats.user_nkey, account, { pub: { allow: ["$SYS.REQ.USER.INFO"] }, sub: { allow: ["_INBOX.>"] } }, signer !== undefined ? { signer } : {});
  /** The response, signed by the AUTH account (operator mode: the callout account or its signing key). */
  const answer = (req: Request, data: { jwt?: string; error?: string }, by: KeyPair = authAcc.akp): Promise<string> =>
    encodeAuthorizationResponse(req.nats.user_nkey, req.nats.server_id.id, by, data, {});

  test("the service's own user is not called out, and may not publish to $SYS.REQ.USER.AUTH in its account", async () => {
    expect(svc.requests.length).toBe(0);
    const info = await userInfo(svcConn);
    expect(info.account).toBe(authAcc.id);
    expect(info.permissions).toEqual({ publish: { deny: ["$SYS.REQ.USER.AUTH"] } });
  });

  test("a user the service signs with an allowed account lands in that account; the request names the callout account", async () => {
    svc.decide = async (req, m) => (m.headers === undefined && req.nats.connect_opts.user === undefined ? answer(req, { jwt: await placed(req, t.akp) }) : "");
    const before = svc.requests.length;
    const nc = await connectNode(server, { authenticator: credsAuthenticator(sentinel), token: "secret" });
    open.push(nc);
    const info = await userInfo(nc);
    expect(info.account).toBe(t.id);
    expect(info.user).toBe("dlc");
    expect(info.permissions).toEqual({ publish: { allow: ["$SYS.REQ.USER.INFO"] }, subscribe: { allow: ["_INBOX.>"] } });
    expect(svc.requests[before]!.sub).toBe(authAcc.id);
  });

  test("signed by the allowed account's signing key (issuer_account) it lands there too", async () => {
    svc.decide = async (req) => answer(req, { jwt: await placed(req, t.id, tSigning) });
    const nc = await connectNode(server, { authenticator: credsAuthenticator(sentinel), token: "sk" });
    open.push(nc);
    expect((await userInfo(nc)).account).toBe(t.id);
  });

  test("an account JWT's xkey seals the requests; the user it signs itself lands in it (TestAuthCalloutOperatorModeEncryption)", async () => {
    const conn = await connectNode(server, { authenticator: credsAuthenticator((await makeUser(sealedAcc.akp, {}, { ukp: sealedService })).creds) });
    open.push(conn);
    const sealed = new Service(conn);
    sealed.open = (m) => new TextDecoder().decode(curve.open(m.data, m.headers?.get("Nats-Server-Xkey") ?? "") ?? new Uint8Array(0));
    sealed.decide = async (req) => curve.seal(new TextEncoder().encode(await answer(req, { jwt: await placed(req, sealedAcc.akp) }, sealedAcc.akp)), req.nats.server_id.xkey!);
    await sealed.start();
    const nc = await connectNode(server, { authenticator: credsAuthenticator((await makeUser(sealedAcc.akp, { bearer_token: true })).creds), token: "t" });
    open.push(nc);
    const info = await userInfo(nc);
    expect(info.account).toBe(sealedAcc.id);
    // Placed in the callout account itself: the callout subject is denied it.
    expect(info.permissions).toEqual({ publish: { allow: ["$SYS.REQ.USER.INFO"], deny: ["$SYS.REQ.USER.AUTH"] }, subscribe: { allow: ["_INBOX.>"] } });
    expect(sealed.requests.map((r) => r.sub)).toEqual([sealedAcc.id]);
  });

  test.each([
    ["a user of an account the callout's JWT does not allow", async (req: Request) => answer(req, { jwt: await placed(req, createAccount()) }),
      /^Account "A\w+" not permitted as valid account option for auth callout for account "A\w+"$/],
    ["a response signed by a key the callout account does not list", async (req: Request) => answer(req, { jwt: await placed(req, t.akp) }, createAccount()),
      /^Auth callout signing key is unknown$/],
    ["an empty response", async () => "", /no reason supplied/],
  ])("refused for %s", async (_what, decide, reason) => {
    svc.decide = decide as Decide;
    const before = svc.requests.length;
    const logged = lines.length;
    const err = await connectNode(server, { authenticator: credsAuthenticator(sentinel), token: "x" }).then(() => "", (e: Error) => e.message);
    expect(err).toMatch(/Authorization Violation/);
    expect(svc.requests.length).toBe(before + 1);
    const msgs = lines.slice(logged).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs.some((m) => reason.test(m)), msgs.join("\n")).toBe(true);
  });
});

describe("auth callout over TLS (TestAuthCalloutClientTLSCerts)", () => {
  let certs: TestCerts;
  let server: Server;
  let auth: NatsConnection;
  let svc: Service;

  beforeAll(async () => {
    certs = makeTestCerts();
    server = await startGnat({
      tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, verify: true },
      authorization: { timeout: 5000, users: [{ user: "auth", password: "pwd" }], callout: { issuer: issuer.getPublicKey(), authUsers: ["auth"], account: "$G" } },
    });
    const tls = { caFile: certs.ca, certFile: certs.bob.cert, keyFile: certs.bob.key };
    auth = await connectNode(server, { user: "auth", pass: "pwd", tls });
    svc = new Service(auth);
    await svc.start();
  });
  afterAll(async () => {
    await auth.close();
    await server.close();
    certs.cleanup();
  });

  test("the request carries the TLS version, cipher and the verified chain: the client's certificate, then the CA", async () => {
    svc.decide = async (req) => response(req, { jwt: await userJwt(req, "$G") });
    const nc = await connectNode(server, { user: "alice", pass: "x", tls: { caFile: certs.ca, certFile: certs.alice.cert, keyFile: certs.alice.key } });
    await nc.close();
    const tls = (svc.requests.at(-1) as unknown as { nats: { client_tls: { version: string; cipher: string; verified_chains: string[][] } } }).nats.client_tls;
    expect(tls.version).toMatch(/^1\.[23]$/);
    expect(tls.cipher).toMatch(/^TLS_/);
    // The same certificates, whatever the PEM's line wrapping.
    const der = (pem: string): string => pem.replace(/-----[A-Z ]+-----|\s/g, "");
    expect(tls.verified_chains.length).toBe(1);
    expect(tls.verified_chains[0]!.map(der)).toEqual([der(certs.pem(certs.alice.cert)), der(certs.pem(certs.ca))]);
  });
});
