// The official clients against gnat with authentication on: the right credentials work, wrong
// ones fail with the client's own authorization error.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createUser } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import type { Server } from "../../server/index.js";
import { kits, take, text } from "./kits.js";
import { startGnat } from "../kit/gnat.js";

let tokenServer: Server;
let usersServer: Server;
let nkeyServer: Server;
let permServer: Server;
let respServer: Server;
const nkeyUser = createUser();
const stranger = createUser();
beforeAll(async () => {
  permServer = await startGnat({
    authorization: { users: [{ user: "u", password: "p", permissions: { publish: { deny: ["perm.secret"] }, subscribe: { deny: ["perm.secret"] } } }] },
  });
  respServer = await startGnat({
    authorization: {
      users: [
        { user: "svc", password: "svc", permissions: { subscribe: { allow: ["svc.>", "svc.q workers"] }, allowResponses: { max: 1, expires: 60_000 } } },
        { user: "client", password: "client" },
      ],
    },
  });
  nkeyServer = await startGnat({ authorization: { nkeys: [{ nkey: nkeyUser.getPublicKey() }] } });
  tokenServer = await startGnat({ authorization: { token: "s3cr3t" } });
  usersServer = await startGnat({
    authorization: { users: [{ user: "alice", password: "wonder" }, { user: "bob", password: bcrypt.hashSync("builder", 4) }] },
  });
});
afterAll(async () => {
  await Promise.all([tokenServer.close(), usersServer.close(), nkeyServer.close(), permServer.close(), respServer.close()]);
});

/**
 * The permission errors a connection reports through its status stream, as "operation subject"
 * (v3: an error event carrying a PermissionViolationError; v2: an error event whose
 * permissionContext the client parsed from the -ERR text).
 */
function permissionErrors(nc: Conn): { next(n: number): Promise<string[]> } {
  type Ctx = { operation?: string; subject?: string };
  const seen: string[] = [];
  const waiters: (() => void)[] = [];
  const status = (nc as unknown as { status(): AsyncIterable<{ type: string; error?: Ctx; permissionContext?: Ctx }> }).status();
  void (async () => {
    for await (const s of status) {
      const ctx = s.error ?? s.permissionContext;
      if (s.type !== "error" || ctx?.operation === undefined) continue;
      seen.push(`${ctx.operation} ${ctx.subject}`);
      for (const w of waiters.splice(0)) w();
    }
  })();
  return {
    async next(n) {
      while (seen.length < n) await new Promise<void>((r) => waiters.push(r));
      return seen.slice(0, n);
    },
  };
}

/** Messages a callback subscription received, and a way to wait for the n-th. */
function collect(nc: Conn, subject: string): { texts: string[]; until(n: number): Promise<string[]> } {
  const texts: string[] = [];
  const waiters: (() => void)[] = [];
  nc.subscribe(subject, { callback: (_e, m) => {
    texts.push(text(m));
    for (const w of waiters.splice(0)) w();
  } });
  return {
    texts,
    async until(n) {
      while (texts.length < n) await new Promise<void>((r) => waiters.push(r));
      return texts;
    },
  };
}

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

  test("a responder with allow_responses answers a request; its second response is refused", async () => {
    const svc = await kit.connect({ servers: respServer.url, user: "svc", pass: "svc" });
    const errors = permissionErrors(svc);
    const client = await kit.connect({ servers: respServer.url, user: "client", pass: "client" });
    svc.subscribe("svc.echo", { max: 1, callback: (_e, m) => {
      m.respond("first");
      m.respond("second");
      // Ordinary publishing is denied too: allow_responses alone leaves only responses.
      svc.publish("svc.elsewhere", "no");
    } });
    await svc.flush();
    const inbox = collect(client, "replies.one");
    await client.flush();
    client.publish("svc.echo", "ping", { reply: "replies.one" });
    expect(await errors.next(2)).toEqual(["publish replies.one", "publish svc.elsewhere"]);
    // Nothing else arrived: a marker sent after the refused response is the next message.
    await svc.flush();
    client.publish("replies.one", "marker");
    expect(await inbox.until(2)).toEqual(["first", "marker"]);
    expect(svc.isClosed()).toBe(false);
    await Promise.all([svc.close(), client.close()]);
  });

  test("request() through a queue responder whose queue group is allowed", async () => {
    const svc = await kit.connect({ servers: respServer.url, user: "svc", pass: "svc" });
    const client = await kit.connect({ servers: respServer.url, user: "client", pass: "client" });
    svc.subscribe("svc.q", { queue: "workers", callback: (_e, m) => m.respond(`re: ${text(m)}`) });
    await svc.flush();
    expect(text(await client.request("svc.q", "job", { timeout: 5000 }))).toBe("re: job");
    await Promise.all([svc.close(), client.close()]);
  });

  test("an unknown user is an authorization error", async () => {
    await refused(kit.connect({ servers: usersServer.url, user: "carol", pass: "wonder" }));
  });
});
