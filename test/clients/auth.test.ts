// The official clients against gnat with authentication on: the right credentials work, wrong
// ones fail with the client's own authorization error.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createUser } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import { startServer, type Server } from "../../server/index.js";
import { kits, take, text } from "./kits.js";

let tokenServer: Server;
let usersServer: Server;
let nkeyServer: Server;
let permServer: Server;
const nkeyUser = createUser();
const stranger = createUser();
beforeAll(async () => {
  permServer = await startServer({
    host: "127.0.0.1", port: 0, noLog: true,
    authorization: { users: [{ user: "u", password: "p", permissions: { publish: { deny: ["perm.secret"] }, subscribe: { deny: ["perm.secret"] } } }] },
  });
  nkeyServer = await startServer({ host: "127.0.0.1", port: 0, noLog: true, authorization: { nkeys: [{ nkey: nkeyUser.getPublicKey() }] } });
  tokenServer = await startServer({ host: "127.0.0.1", port: 0, noLog: true, authorization: { token: "s3cr3t" } });
  usersServer = await startServer({
    host: "127.0.0.1", port: 0, noLog: true,
    authorization: { users: [{ user: "alice", password: "wonder" }, { user: "bob", password: bcrypt.hashSync("builder", 4) }] },
  });
});
afterAll(async () => {
  await Promise.all([tokenServer.close(), usersServer.close(), nkeyServer.close(), permServer.close()]);
});

/**
 * A refused CONNECT is each client's own authorization error: v3 throws an AuthorizationError,
 * v2 a NatsError with code AUTHORIZATION_VIOLATION.
 */
async function refused(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err, "connect should fail").toBeInstanceOf(Error);
  const e = err as Error & { code?: unknown };
  if (e.name === "AuthorizationError") expect(e.message).toBe("Authorization Violation");
  else expect(e.code).toBe("AUTHORIZATION_VIOLATION");
}

describe.each(kits)("$name with authentication", (kit) => {
  test("connects with the right token and exchanges messages", async () => {
    const nc = await kit.connect({ servers: tokenServer.url, token: "s3cr3t" });
    const sub = nc.subscribe("auth.token");
    nc.publish("auth.token", "hi");
    expect((await take(sub, 1)).map(text)).toEqual(["hi"]);
    await nc.close();
  });

  test("a wrong token is an authorization error", async () => {
    await refused(kit.connect({ servers: tokenServer.url, token: "nope" }));
  });

  test("no credentials at all is an authorization error", async () => {
    await refused(kit.connect({ servers: tokenServer.url }));
  });

  test("connects as a user with a plain password", async () => {
    const nc = await kit.connect({ servers: usersServer.url, user: "alice", pass: "wonder" });
    await nc.flush();
    await nc.close();
  });

  test("connects as a user whose password is stored as a bcrypt hash", async () => {
    const nc = await kit.connect({ servers: usersServer.url, user: "bob", pass: "builder" });
    const sub = nc.subscribe("auth.users");
    nc.publish("auth.users", "hello");
    expect((await take(sub, 1)).map(text)).toEqual(["hello"]);
    await nc.close();
  });

  test("a wrong password is an authorization error", async () => {
    await refused(kit.connect({ servers: usersServer.url, user: "alice", pass: "wander" }));
  });

  test("connects as an nkey user with the client's nkeyAuthenticator", async () => {
    const nc = await kit.connect({ servers: nkeyServer.url, authenticator: kit.nkeyAuthenticator(nkeyUser.getSeed()) });
    const sub = nc.subscribe("auth.nkey");
    nc.publish("auth.nkey", "signed");
    expect((await take(sub, 1)).map(text)).toEqual(["signed"]);
    await nc.close();
  });

  test("an nkey that is not configured is an authorization error", async () => {
    await refused(kit.connect({ servers: nkeyServer.url, authenticator: kit.nkeyAuthenticator(stranger.getSeed()) }));
  });

  test("a denied subscription ends with the client's permissions error; the connection stays", async () => {
    const nc = await kit.connect({ servers: permServer.url, user: "u", pass: "p" });
    const sub = nc.subscribe("perm.secret");
    const err = await (async () => {
      try {
        for await (const _m of sub) return null;
        return null;
      } catch (e) {
        return e as Error;
      }
    })();
    // v3: PermissionViolationError; v2: NatsError with code PERMISSIONS_VIOLATION. Same text.
    expect(err?.message.replace(/^'|'$/g, "")).toBe('Permissions Violation for Subscription to "perm.secret"');
    const ok = nc.subscribe("perm.open");
    nc.publish("perm.secret", "dropped");
    nc.publish("perm.open", "delivered");
    expect((await take(ok, 1)).map(text)).toEqual(["delivered"]);
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });

  test("an unknown user is an authorization error", async () => {
    await refused(kit.connect({ servers: usersServer.url, user: "carol", pass: "wonder" }));
  });
});
