// Authentication transcripts played against nats-server and gnat; every byte must match.
import { createUser, type KeyPair } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NATS_SERVER, play, startPair, type Pair, type Transcript } from "./harness.js";

type Case = [name: string, t: Transcript | string];

/** One test per case against gnat and nats-server both started with `config`. */
function suite(title: string, config: string, cases: Case[]): void {
  describe.skipIf(NATS_SERVER === null)(`${title} (differential)`, () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startPair({}, config);
    });
    afterAll(async () => {
      await pair?.close();
    });
    test("INFO says auth_required on both", async () => {
      const [g, n] = await Promise.all([infoOf(pair.gnatPort), infoOf(pair.natsPort)]);
      expect(n.auth_required).toBe(true);
      expect(g.auth_required).toBe(true);
      expect("nonce" in g).toBe("nonce" in n);
    });
    for (const [name, tc] of cases) {
      test(name, async () => {
        const t: Transcript = typeof tc === "string" ? { steps: [{ send: tc }] } : tc;
        const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
        expect(nats[0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
        expect(gnat).toEqual(nats);
      });
    }
  });
}

/** The INFO a fresh connection is greeted with. */
function infoOf(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n");
      if (end < 0) return;
      s.destroy();
      resolve(JSON.parse(buf.slice(5, end).trim()) as Record<string, unknown>);
    });
    s.on("error", reject);
  });
}

const connectWith = (fields: Record<string, unknown>): string => `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...fields })}\r\n`;
const CLOSES = (send: string): Transcript => ({ steps: [{ send }], until: "close" });

suite("token authentication", 'authorization { token: "s3cr3t", timeout: 0.5 }\n', [
  ["the right token is accepted", connectWith({ auth_token: "s3cr3t" }) + "SUB foo 1\r\nPUB foo 2\r\nhi\r\n"],
  ["the right token with verbose on gets +OK", 'CONNECT {"auth_token":"s3cr3t"}\r\n'],
  ["a wrong token is an Authorization Violation and a close", CLOSES(connectWith({ auth_token: "nope" }))],
  ["no token at all is an Authorization Violation", CLOSES(connectWith({}))],
  ["a user and password instead of the token are refused", CLOSES(connectWith({ user: "a", pass: "s3cr3t" }))],
  ["PUB before CONNECT is an Authorization Violation", CLOSES("PUB foo 1\r\nx\r\n")],
  ["SUB before CONNECT is an Authorization Violation", CLOSES("SUB foo 1\r\n")],
  ["PING before CONNECT is an Authorization Violation", CLOSES("PING\r\n")],
  ["an unknown op before CONNECT is an Authorization Violation", CLOSES("FOO\r\n")],
  ["a lowercase connect is a CONNECT", "connect " + JSON.stringify({ auth_token: "s3cr3t", verbose: false }) + "\r\n"],
  ["a second CONNECT with a wrong token closes the connection", CLOSES(connectWith({ auth_token: "s3cr3t" }) + connectWith({ auth_token: "x" }))],
  ["a client that never sends CONNECT gets Authentication Timeout", { steps: [], until: "close" }],
  ["a client that sends half a CONNECT gets Authentication Timeout", { steps: [{ send: "CONN" }], until: "close" }],
]);

suite("user and password authentication", "authorization { user: alice, password: wonder, timeout: 0.5 }\n", [
  ["the right user and password are accepted", connectWith({ user: "alice", pass: "wonder" }) + "SUB foo 1\r\nPUB foo 2\r\nhi\r\n"],
  ["a wrong password is refused", CLOSES(connectWith({ user: "alice", pass: "wander" }))],
  ["a wrong user is refused", CLOSES(connectWith({ user: "bob", pass: "wonder" }))],
  ["a token instead is refused", CLOSES(connectWith({ auth_token: "wonder" }))],
  ["PUB before CONNECT is an Authorization Violation", CLOSES("PUB foo 1\r\nx\r\n")],
]);

const HASH = bcrypt.hashSync("hashed-pw", 6);

suite("a users list with a bcrypt password", `authorization { timeout: 0.5, users: [ { user: alice, password: wonder }, { user: bob, password: "${HASH}" } ] }\n`, [
  ["the first user is accepted", connectWith({ user: "alice", pass: "wonder" }) + "PING\r\n"],
  ["a user with a bcrypt password is accepted with the plain password", connectWith({ user: "bob", pass: "hashed-pw" }) + "SUB a 1\r\nPUB a 1\r\nx\r\n"],
  ["sending the hash itself is refused", CLOSES(connectWith({ user: "bob", pass: HASH }))],
  ["a wrong password for the bcrypt user is refused", CLOSES(connectWith({ user: "bob", pass: "hashed-PW" }))],
  ["another user's password is refused", CLOSES(connectWith({ user: "bob", pass: "wonder" }))],
  ["an unknown user is refused", CLOSES(connectWith({ user: "carol", pass: "wonder" }))],
  ["the bcrypt user may CONNECT again", connectWith({ user: "bob", pass: "hashed-pw" }) + connectWith({ user: "bob", pass: "hashed-pw", verbose: true })],
]);

suite("a bcrypt token", `authorization { token: "${bcrypt.hashSync("tok", 6)}", timeout: 0.5 }\n`, [
  ["the plain token is accepted", connectWith({ auth_token: "tok" }) + "PING\r\n"],
  ["a wrong token is refused", CLOSES(connectWith({ auth_token: "tak" }))],
]);

const alice = createUser();
const mallory = createUser();
/** A CONNECT that signs this connection's nonce with `kp` (as the clients' nkeyAuthenticator does). */
const signedBy = (kp: KeyPair, as: KeyPair = kp) => (info: Record<string, unknown>): string =>
  connectWith({ nkey: as.getPublicKey(), sig: Buffer.from(kp.sign(Buffer.from(String(info.nonce)))).toString("base64url") });

suite("nkey users", `authorization { timeout: 0.5, users: [ { nkey: ${alice.getPublicKey()} }, { user: bob, password: builder } ] }\n`, [
  ["an nkey user that signs the nonce is accepted", { steps: [{ send: signedBy(alice) }, { send: "SUB a 1\r\nPUB a 1\r\nx\r\n" }] }],
  ["a signature by another key is refused", { steps: [{ send: signedBy(mallory, alice) }], until: "close" }],
  ["an nkey that is not configured is refused", { steps: [{ send: signedBy(mallory) }], until: "close" }],
  ["an nkey without a signature is refused", CLOSES(connectWith({ nkey: alice.getPublicKey() }))],
  ["a signature of something else is refused", CLOSES(connectWith({ nkey: alice.getPublicKey(), sig: Buffer.from(alice.sign(Buffer.from("nonce"))).toString("base64url") }))],
  ["a garbage signature is refused", CLOSES(connectWith({ nkey: alice.getPublicKey(), sig: "!!!" }))],
  ["a password user in the same list is still accepted", connectWith({ user: "bob", pass: "builder" }) + "PING\r\n"],
  ["no credentials are refused", CLOSES(connectWith({}))],
]);

const PERMS = `authorization { users: [
  { user: a, password: b, permissions: { publish: { allow: ["foo.>", "bar"], deny: ["foo.secret"] }, subscribe: { allow: ["foo.>"], deny: "foo.hidden" } } }
  { user: c, password: d, permissions: { publish: "x.*", subscribe: ["x.>"] } }
  { user: free, password: free }
] }
`;
const A = 'CONNECT {"user":"a","pass":"b"}\r\n';
const A_QUIET = connectWith({ user: "a", pass: "b" });

suite("permissions", PERMS, [
  ["a denied PUB gets a Permissions Violation instead of +OK, and the connection stays", A + "SUB foo.> 1\r\nPUB foo.secret 1\r\nx\r\nPUB foo.a 1\r\ny\r\nPUB baz 1\r\nz\r\n"],
  ["a SUB outside the allow list or inside the deny list gets a Permissions Violation", A + "SUB bar 1\r\nSUB foo.* 2\r\nSUB foo.hidden 3\r\nSUB > 5\r\n"],
  ["a queue SUB violation names the queue", A + "SUB foo.hidden q 4\r\n"],
  ["a wildcard SUB allowed is not sent messages on a denied subject", A + "SUB foo.* 2\r\nPUB foo.hidden 1\r\nx\r\nPUB foo.other 1\r\ny\r\n"],
  ["the short forms: a string or a list is an allow list", connectWith({ user: "c", pass: "d" }) + "SUB x.> 1\r\nPUB x.a 1\r\n1\r\nPUB x.a.b 1\r\n2\r\nSUB y 2\r\n"],
  ["the reply subject of a PUB is not checked", A_QUIET + "SUB foo.a 1\r\nPUB foo.a foo.secret 1\r\n1\r\n"],
  ["a denied subscription gets nothing, a permitted one on the same connection does", A_QUIET + "SUB foo.hidden 1\r\nSUB foo.ok 2\r\nPUB foo.ok 1\r\nx\r\n"],
  ["another client's denied messages are not delivered to a wildcard subscriber",
    { conns: 2, steps: [{ conn: 0, send: A_QUIET + "SUB foo.> 1\r\n" }, { conn: 1, send: connectWith({ user: "free", pass: "free" }) + "PUB foo.hidden 1\r\nh\r\nPUB foo.seen 1\r\ns\r\n" }] }],
  ["a user without permissions may do anything", connectWith({ user: "free", pass: "free" }) + "SUB > 1\r\nPUB anything 1\r\nx\r\n"],
  ["a user without permissions may not use the queue group _sys_ either", connectWith({ user: "free", pass: "free" }) + "SUB foo _sys_ 1\r\nSUB foo _sys 2\r\n"],
]);

const QUEUES = `authorization { users: [
  { user: q, password: q, permissions: { subscribe: { allow: ["jobs.> workers", "jobs.> v1.*", "plain.>", "plain.a special"], deny: ["jobs.secret workers", "plain.b"] } } }
  { user: free, password: free }
] }
`;
const Q = connectWith({ user: "q", pass: "q" });

suite("queue permissions", QUEUES, [
  ["a queue SUB in an allowed group is accepted, in another group refused with the queue named",
    Q + "SUB jobs.a workers 1\r\nSUB jobs.a other 2\r\nSUB jobs.a v1.x 3\r\nSUB jobs.a v1.x.y 4\r\n"],
  ["a plain SUB where only queue entries allow the subject is refused", Q + "SUB jobs.a 1\r\n"],
  ["a plain allow entry takes any queue group unless a queue entry covers the subject",
    Q + "SUB plain.x any 1\r\nSUB plain.a any 2\r\nSUB plain.a special 3\r\nSUB plain.a 4\r\n"],
  ["a deny entry with a queue refuses that group only", Q + "SUB jobs.secret workers 1\r\nSUB jobs.secret v1.a 2\r\n"],
  ["a plain deny entry refuses queue SUBs too", Q + "SUB plain.b any 1\r\nSUB plain.b 2\r\n"],
  ["permissions are checked before a sid already in use is ignored", Q + "SUB jobs.a workers 1\r\nSUB jobs.secret workers 1\r\nSUB plain.b 1\r\n"],
  ["a denied subject that is also invalid is a Permissions Violation, an allowed invalid one Invalid Subject", Q + "SUB other..x 1\r\nSUB plain..x 2\r\n"],
  ["the queue group _sys_ is refused", Q + "SUB plain.x _sys_ 1\r\n"],
  ["a queue subscriber that was accepted gets its messages",
    { conns: 2, steps: [{ conn: 0, send: Q + "SUB jobs.run workers 1\r\n" }, { conn: 1, send: connectWith({ user: "free", pass: "free" }) + "PUB jobs.run 2\r\ngo\r\n" }] }],
]);

const RESPONSES = `authorization { users: [
  { user: svc, password: svc, permissions: { subscribe: "svc.>", allow_responses: true } }
  { user: svc3, password: svc3, permissions: { publish: "log", subscribe: "svc.>", allow_responses: { max: 3 } } }
  { user: free, password: free }
] }
`;
const FREE = connectWith({ user: "free", pass: "free" });
/** A requester (connection 1) sends one request to the responder on connection 0. */
const request = (responder: string, responses: string): Transcript => ({
  conns: 2,
  steps: [
    { conn: 0, send: responder + "SUB svc.echo 1\r\n" },
    { conn: 1, send: FREE + "SUB _INBOX.r1 9\r\nPUB svc.echo _INBOX.r1 2\r\nhi\r\n" },
    { conn: 0, send: responses, waitFor: "MSG svc.echo" },
    { conn: 1, send: "" },
  ],
});

suite("allow_responses", RESPONSES, [
  ["alone it denies ordinary publishing", connectWith({ user: "svc", pass: "svc" }) + "PUB anything 1\r\nx\r\nPUB _INBOX.r1 1\r\nx\r\n"],
  ["the responder may answer a request once; the second response is a Permissions Violation",
    request(connectWith({ user: "svc", pass: "svc" }), "PUB _INBOX.r1 3\r\none\r\nPUB _INBOX.r1 3\r\ntwo\r\n")],
  ["max: 3 allows three responses, then refuses; the publish allow list still applies",
    request(connectWith({ user: "svc3", pass: "svc3" }), "PUB _INBOX.r1 1\r\n1\r\nPUB _INBOX.r1 1\r\n2\r\nPUB _INBOX.r1 1\r\n3\r\nPUB _INBOX.r1 1\r\n4\r\nPUB log 1\r\nl\r\nPUB other 1\r\no\r\n")],
  ["a reply subject never delivered is not publishable", connectWith({ user: "svc3", pass: "svc3" }) + "PUB _INBOX.r1 1\r\nx\r\n"],
]);

const DEFAULTS = `authorization {
  default_permissions: { publish: { deny: "secret.>" }, subscribe: { allow: ["pub.>", "_INBOX.>"] } }
  users: [
    { user: plain, password: plain }
    { user: own, password: own, permissions: { publish: "own.>" } }
  ]
}
`;

suite("default_permissions", DEFAULTS, [
  ["a user without permissions of its own gets the defaults",
    connectWith({ user: "plain", pass: "plain" }) + "SUB pub.x 1\r\nSUB other 2\r\nPUB secret.a 1\r\nx\r\nPUB pub.x 1\r\ny\r\n"],
  ["a user with permissions of its own gets none of the defaults",
    connectWith({ user: "own", pass: "own" }) + "SUB other 1\r\nPUB own.a 1\r\nx\r\nPUB secret.a 1\r\nx\r\n"],
]);
