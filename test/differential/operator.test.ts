// Operator mode against nats-server: the same operator, accounts and users (made here with
// @nats-io/jwt) on both servers; every CONNECT accepted or refused with the same bytes.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Algorithms, encodeAccount, encodeUser, type KeyPair } from "@nats-io/jwt";
import { NATS_SERVER, play, startPair, type Pair, type Transcript } from "./harness.js";
import {
  connectAs, createAccount, createOperator, createUser, makeAccount, makeActivation, makeOperator, makeUser, now, operatorConfig,
  OPEN_LIMITS, type TestAccount, type TestOperator, type TestUser,
} from "../helpers/operator.js";

type Send = Transcript["steps"][number]["send"];

describe.skipIf(NATS_SERVER === null)("operator mode (differential)", () => {
  let pair: Pair;
  let op: TestOperator;
  let a: TestAccount;
  let b: TestAccount;
  const users: Record<string, TestUser> = {};
  let aSigner: KeyPair;
  let scope: KeyPair;
  /** Account R's key: its JWT is pushed again, with a revocation, by a test. */
  const rkp = createAccount();
  const extra: TestAccount[] = [];

  beforeAll(async () => {
    op = await makeOperator({ signingKey: true });
    aSigner = createAccount();
    scope = createAccount();
    const revokedKey = createUser();
    a = await makeAccount(op.okp, "A", {
      signing_keys: [aSigner.getPublicKey(), {
        kind: "user_scope", key: scope.getPublicKey(), role: "r",
        template: { pub: { allow: ["scoped.{{name()}}.>"], deny: [] }, sub: { allow: ["scoped.>"], deny: [] }, subs: -1, data: -1, payload: -1 },
      }],
      revocations: { [revokedKey.getPublicKey()]: now() + 5 },
      exports: [
        { name: "s", subject: "feed.>", type: "stream" },
        { name: "svc", subject: "svc.private", type: "service", token_req: true },
      ],
    });
    // B is signed by the operator's signing key; it imports A's feed and, with a token, its service.
    const bkp = createAccount();
    b = await makeAccount(op.signingKeys[0]!, "B", {
      imports: [
        { name: "f", account: a.id, subject: "feed.>", type: "stream" },
        { name: "p", account: a.id, subject: "svc.private", type: "service", token: await makeActivation(a.akp, bkp.getPublicKey(), "svc.private", "service") },
      ],
    }, { akp: bkp });
    // C imports A's private service without a token: the import does not happen.
    const c = await makeAccount(op.okp, "C", { imports: [{ name: "p", account: a.id, subject: "svc.private", type: "service" }] });
    const stranger = await makeAccount(createOperator(), "X");
    const expired = await makeAccount(op.okp, "E", {}, { exp: now() - 10 });
    const oneConn = await makeAccount(op.okp, "ONE", { limits: { ...OPEN_LIMITS, conn: 1 } });
    const noBearer = await makeAccount(op.okp, "NB", { limits: { ...OPEN_LIMITS, disallow_bearer: true } });
    // Limits the JWT leaves out are 0 (no subscriptions, no payload), as nats-server 2.9 reads them.
    const partial = await makeAccount(op.okp, "P", { limits: { conn: 5 } });

    users.plain = await makeUser(a.akp, { pub: { allow: ["foo", "svc.>"] }, sub: { allow: ["foo", "feed.>"] } });
    users.open = await makeUser(a.akp);
    users.bySigner = await makeUser(a.id, {}, { signer: aSigner });
    users.byUnlisted = await makeUser(a.id, {}, { signer: createAccount() });
    users.bearer = await makeUser(a.akp, { bearer_token: true });
    users.expired = await makeUser(a.akp, {}, { exp: now() - 5 });
    users.revoked = await makeUser(a.akp, {}, { ukp: revokedKey });
    users.stranger = await makeUser(stranger.akp);
    users.ofExpiredAccount = await makeUser(expired.akp);
    users.oneConn = await makeUser(oneConn.akp);
    users.noBearer = await makeUser(noBearer.akp, { bearer_token: true });
    users.partial = await makeUser(partial.akp);
    // Version 1 JWTs (alg ed25519, the type outside nats), as older nsc wrote them: a user's
    // limits left out mean none (an account's still mean 0).
    const v1kp = createAccount();
    const v1 = { akp: v1kp, id: v1kp.getPublicKey(), jwt: await encodeAccount("V1", v1kp, { limits: OPEN_LIMITS }, { signer: op.okp, algorithm: Algorithms.v1 }) };
    const v1user = createUser();
    users.v1 = { ukp: v1user, jwt: await encodeUser("U", v1user, v1kp, {}, { algorithm: Algorithms.v1, scopedUser: true }), creds: new Uint8Array() };
    extra.push(v1);
    extra.push(await makeAccount(op.okp, "R", {}, { akp: rkp }));
    users.src = await makeUser(a.akp, { src: ["10.0.0.0/8"] });
    users.srcOk = await makeUser(a.akp, { src: ["127.0.0.1/32"] });
    users.wsOnly = await makeUser(a.akp, { allowed_connection_types: ["WEBSOCKET"] });
    users.stdOk = await makeUser(a.akp, { allowed_connection_types: ["STANDARD", "WEBSOCKET"] });
    users.subs1 = await makeUser(a.akp, { subs: 1 });
    users.payload4 = await makeUser(a.akp, { payload: 4 });
    users.scoped = await makeUser(a.id, {}, { signer: scope, scoped: true });
    users.scopedWithPerms = await makeUser(a.id, { pub: { allow: [">"] } }, { signer: scope });
    users.resp = await makeUser(a.akp, { pub: { allow: [] }, sub: { allow: ["req"] }, resp: { max: 1, ttl: 0 } });
    users.b = await makeUser(b.akp);
    users.c = await makeUser(c.akp);
    pair = await startPair({}, operatorConfig(op, [a, b, c, stranger, expired, oneConn, noBearer, partial, ...extra]) + "authorization { timeout: 1 }\n");
  });
  afterAll(async () => {
    await pair?.close();
  });

  const as = (name: string, extra: Record<string, unknown> = {}, sign = true): Send => connectAs(users[name]!, extra, sign);
  const CLOSES = (send: Send, timeoutMs?: number): Transcript => ({ steps: [{ send }], until: "close", ...(timeoutMs ? { timeoutMs } : {}) });
  const same = async (t: Transcript): Promise<string[]> => {
    // Service-import reply subjects are random on both.
    // An INFO after the greeting is compared by its max_payload (ids and ports differ).
    // A server's own PING is dropped: its first comes 2-2.4 s after the CONNECT (nats-server's
    // firstClientPingInterval plus jitter), which races an expiry due ~2 s after it (a CI run on a
    // loaded machine had it on one side only).
    const norm = (o: string[]): string[] => o.map((x) => x.replace(/_R_\.[A-Za-z0-9.]+/g, "_R_.<reply>")
      .replace(/INFO \{[^\r]*"max_payload":(\d+)[^\r]*\} \r\n/g, "INFO <max_payload=$1>\r\n")
      .replace(/(?<=^|\n)PING\r\n/g, ""));
    const [gnat, nats] = (await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)])).map(norm);
    expect(nats![0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
    expect(gnat).toEqual(nats);
    return nats!;
  };
  const steps = (...s: Send[]): Transcript => ({ steps: s.map((send) => ({ send })) });

  test("a user JWT with the nonce signed is accepted, and its permissions hold", async () => {
    const out = await same(steps(as("plain"), "SUB foo 1\r\nPUB foo 2\r\nhi\r\nPUB bar 2\r\nhi\r\nSUB bar 2\r\n"));
    expect(out[0]).toContain("MSG foo 1 2\r\nhi");
    expect(out[0]).toContain("Permissions Violation for Publish to \"bar\"");
  });
  test("no JWT at all is an Authorization Violation", () => same(CLOSES(() => 'CONNECT {"verbose":false}\r\n')));
  test("a malformed JWT is refused", () => same(CLOSES(as("plain", { jwt: "eyJhbGciOi.not.ajwt" }))));
  test("a forged JWT (payload changed, signature kept) is refused", async () => {
    const u = users.plain!;
    const [h, p, s] = u.jwt.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as { nats: Record<string, unknown> };
    claims.nats.pub = { allow: [">"] };
    const forged = [h, Buffer.from(JSON.stringify(claims)).toString("base64url"), s].join(".");
    await same(CLOSES(as("plain", { jwt: forged })));
  });
  test("an account JWT in place of a user JWT is refused", () => same(CLOSES(as("plain", { jwt: a.jwt }))));
  test("a JWT whose payload is not JSON is refused", () => same(CLOSES(as("plain", { jwt: `${users.plain!.jwt.split(".")[0]}.bm90IGpzb24.${users.plain!.jwt.split(".")[2]}` }))));
  test("a signature that is not base64 is refused", () => same(CLOSES(as("plain", { sig: "***not base64***" }))));
  test("a nonce signed by another key is refused", () => same(CLOSES(connectAs({ ukp: createUser(), jwt: users.plain!.jwt }))));
  test("a missing signature is refused", () => same(CLOSES(as("plain", {}, false))));
  test("a user signed by one of the account's signing keys is accepted", () => same(steps(as("bySigner"), "SUB x 1\r\nPUB x 1\r\nz\r\n")));
  test("a user signed by a key its account does not list is refused", () => same(CLOSES(as("byUnlisted"))));
  test("a bearer token needs no signature", () => same(steps(as("bearer", {}, false), "SUB x 1\r\nPUB x 1\r\nz\r\n")));
  test("an expired user JWT is refused", () => same(CLOSES(as("expired"))));
  test("a revoked user is refused", () => same(CLOSES(as("revoked"))));
  test("a user of an account signed by a stranger operator is refused", () => same(CLOSES(as("stranger"))));
  test("a user of an expired account is refused", () => same(CLOSES(as("ofExpiredAccount"))));
  test("an account that disallows bearer tokens refuses one", () => same(CLOSES(as("noBearer", {}, false))));
  test("the account's connection limit refuses the second client", () => same({
    conns: 2, steps: [{ send: as("oneConn"), conn: 0 }, { send: as("oneConn"), conn: 1 }], waitClose: [1],
  }));
  test("a source network the client is not in is refused", () => same(CLOSES(as("src"))));
  test("a source network the client is in is accepted", () => same(steps(as("srcOk"))));
  test("a connection type the user may not use is refused", () => same(CLOSES(as("wsOnly"))));
  test("an allowed connection type is accepted", () => same(steps(as("stdOk"))));
  test("the user's subscription limit holds", () => same(steps(as("subs1"), "SUB a 1\r\nSUB b 2\r\n")));
  test("an account JWT that leaves its limits out allows no subscriptions: the client is told and closed", async () => {
    const out = await same({ steps: [{ send: as("partial") }], until: "close" });
    expect(out[0]).toContain("-ERR 'maximum subscriptions exceeded'");
  });
  test("version 1 account and user JWTs are accepted, the user with no limits where it names none", async () => {
    const out = await same(steps(as("v1"), "SUB x 1\r\nPUB x 2\r\nhi\r\n"));
    expect(out[0]).toContain("MSG x 1 2");
  });
  test("the user's payload limit holds, and the first PONG brings an INFO with it", async () => {
    const out = await same({ steps: [{ send: as("payload4") }, { send: "PING\r\n", waitFor: "PONG" }, { send: "PUB foo 4\r\nfour\r\nPUB foo 5\r\nfive!\r\n" }], until: "close" });
    expect(out[0]).toContain("INFO <max_payload=4>");
  });
  test("a scoped signing key's template gives the permissions", async () => {
    const out = await same(steps(as("scoped"), "SUB scoped.> 1\r\nPUB scoped.U.x 1\r\na\r\nPUB other 1\r\nb\r\n"));
    expect(out[0]).toContain("MSG scoped.U.x 1 1");
  });
  test("a user of a scoped key that carries permissions of its own is refused", () => same(CLOSES(as("scopedWithPerms"))));
  test("resp lets a user answer one request it received", async () => {
    await same({
      conns: 2,
      steps: [
        { send: as("resp"), conn: 0 }, { send: "SUB req 1\r\n", conn: 0 },
        { send: as("open"), conn: 1 }, { send: "SUB _INBOX.r 1\r\nPUB req _INBOX.r 1\r\nq\r\n", conn: 1 },
        { send: "PUB _INBOX.r 1\r\na\r\nPUB _INBOX.r 1\r\nb\r\n", conn: 0 },
      ],
    });
  });
  test("a stream import from another account delivers", async () => {
    const out = await same({
      conns: 2,
      steps: [{ send: as("b"), conn: 0 }, { send: "SUB feed.> 1\r\n", conn: 0 }, { send: as("open"), conn: 1 }, { send: "PUB feed.x 2\r\nhi\r\n", conn: 1 }],
    });
    expect(out[0]).toContain("MSG feed.x 1 2");
  });
  test("a service import with an activation token reaches the exporter; one without does not", async () => {
    const withToken = await same({
      conns: 2,
      steps: [{ send: as("open"), conn: 0 }, { send: "SUB svc.private 1\r\n", conn: 0 }, { send: as("b", { headers: true, no_responders: true }), conn: 1 },
        { send: "SUB _INBOX.a 1\r\nPUB svc.private _INBOX.a 1\r\nq\r\n", conn: 1 }],
    });
    expect(withToken[0]).toContain("MSG svc.private 1 _R_");
    const without = await same({
      conns: 2,
      steps: [{ send: as("open"), conn: 0 }, { send: "SUB svc.private 1\r\n", conn: 0 }, { send: as("c", { headers: true, no_responders: true }), conn: 1 },
        { send: "SUB _INBOX.a 1\r\nPUB svc.private _INBOX.a 1\r\nq\r\n", conn: 1 }],
    });
    expect(without[0]).not.toContain("MSG svc.private");
    expect(without[1]).toContain("503");
  });
  test("a revocation pushed by a system user closes the revoked user with User Authentication Revoked", async () => {
    const ukp = createUser();
    const victim = await makeUser(rkp, {}, { ukp });
    const sysUser = await makeUser(op.sys);
    const revoking = await makeAccount(op.okp, "R", { revocations: { [ukp.getPublicKey()]: now() + 5 } }, { akp: rkp });
    const out = await same({
      conns: 2,
      steps: [
        { send: connectAs(victim), conn: 0 },
        { send: connectAs(sysUser), conn: 1 },
        { send: `PUB $SYS.REQ.ACCOUNT.${rkp.getPublicKey()}.CLAIMS.UPDATE ${revoking.jwt.length}\r\n${revoking.jwt}\r\n`, conn: 1 },
      ],
      waitClose: [0],
    });
    expect(out[0]).toContain("-ERR 'User Authentication Revoked'");
  });
  test("a user JWT that expires while connected is told and closed", async () => {
    users.shortLived = await makeUser(a.akp, {}, { exp: now() + 2 });
    const out = await same({ steps: [{ send: as("shortLived") }, { send: "PING\r\n", waitFor: "PONG" }], until: "close", timeoutMs: 5000 });
    expect(out[0]).toContain("-ERR 'User Authentication Expired'");
  });
});

describe.skipIf(NATS_SERVER === null)("operator mode: account expiry (differential)", () => {
  test("clients of an account whose JWT expires are told Account Authentication Expired and closed", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A", {}, { exp: now() + 5 });
    const pair = await startPair({}, operatorConfig(op, [a]));
    try {
      const u = await makeUser(a.akp);
      const [gnat, nats] = await Promise.all([
        play(pair.gnatPort, { steps: [{ send: connectAs(u) }], until: "close", timeoutMs: 9000 }),
        play(pair.natsPort, { steps: [{ send: connectAs(u) }], until: "close", timeoutMs: 9000 }),
      ]);
      expect(nats[0]).toContain("-ERR 'Account Authentication Expired'");
      expect(gnat).toEqual(nats);
    } finally {
      await pair.close();
    }
  }, 20_000);
});
