// Operator mode in gnat: the official client's creds and JWT authenticators, configuration that
// nats-server refuses (and the expired operator gnat refuses), bad credentials logged and
// refused without harm to the server, account expiry, and JWT helpers. The byte-for-byte
// comparison with nats-server is test/differential/operator.test.ts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { credsAuthenticator, jwtAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startGnat, tempDir } from "../kit/gnat.js";
import { connectNode, RawClient } from "../kit/clients.js";
import { until } from "../kit/wait.js";
import { loadConfigFile } from "../../server/config/index.js";
import { connectTimes, sourceAllowed, isRevoked, jwtPermissions } from "../../server/auth/jwt.js";
import type { Server } from "../../server/server.js";
import { rawPeer } from "../transport/ws-helpers.js";
import { connectAs, makeAccount, makeOperator, makeUser, now, operatorConfig, type TestAccount, type TestOperator } from "../helpers/operator.js";

const opts = (op: TestOperator, accounts: TestAccount[]) => ({
  operators: [op.jwt], systemAccount: op.sys.getPublicKey(), resolver: { type: "memory" as const },
  resolverPreload: Object.fromEntries([[op.sys.getPublicKey(), op.sysJwt], ...accounts.map((a) => [a.id, a.jwt])]),
});

describe("operator mode with the official client", () => {
  let op: TestOperator;
  let a: TestAccount;
  let server: Server;
  const lines: string[] = [];
  const open: NatsConnection[] = [];

  beforeAll(async () => {
    op = await makeOperator();
    a = await makeAccount(op.okp, "A");
    const logger = pino({ level: "debug", base: null }, { write: (l: string) => void lines.push(l) });
    server = await startGnat({ ...opts(op, [a]), logger, noLog: false });
  });
  afterEach(async () => {
    for (const nc of open.splice(0)) await nc.close().catch(() => {});
  });
  afterAll(async () => {
    await server?.close();
  });

  test("credsAuthenticator connects, and the client is in the account the JWT names", async () => {
    const u = await makeUser(a.akp, { pub: { allow: ["x"] }, sub: { allow: ["x", "_INBOX.>"] } });
    const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds) });
    open.push(nc);
    const sub = nc.subscribe("x", { max: 1 });
    nc.publish("x", "hi");
    for await (const m of sub) expect(m.string()).toBe("hi");
    const c = [...server.clients.values()].find((x) => x.user?.name === u.ukp.getPublicKey());
    expect(c?.account).toBe(a.id);
  });
  test("$SYS.REQ.USER.INFO tells a JWT user its key, account, permissions and time left", async () => {
    const u = await makeUser(a.akp, { pub: { allow: ["$SYS.REQ.USER.INFO"] }, sub: { allow: ["_INBOX.>"] } }, { exp: now() + 100 });
    const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds) });
    open.push(nc);
    const r = (await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 3000 })).json<{ data: Record<string, unknown> }>();
    expect(r.data).toMatchObject({ user: u.ukp.getPublicKey(), account: a.id, permissions: { publish: { allow: ["$SYS.REQ.USER.INFO"] } } });
    expect(r.data.expires as number).toBeGreaterThan(90e9);
    expect(r.data.expires as number).toBeLessThanOrEqual(101e9);
  });
  test("jwtAuthenticator with the seed connects", async () => {
    const u = await makeUser(a.akp);
    const nc = await connectNode(server, { authenticator: jwtAuthenticator(u.jwt, u.ukp.getSeed()) });
    open.push(nc);
    await nc.flush();
  });
  test("users of two accounts do not see each other's messages", async () => {
    const b = await makeAccount(op.okp, "B");
    // B is not preloaded: unknown to the memory resolver, so its users are refused.
    const ub = await makeUser(b.akp);
    await expect(connectNode(server, { authenticator: credsAuthenticator(ub.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
  });
  test("a malformed creds file is refused by the client or the server, and the server carries on", async () => {
    const u = await makeUser(a.akp);
    const broken = new TextEncoder().encode(new TextDecoder().decode(u.creds).replace(/eyJ[^\n]+/, "eyJnot.a.jwt"));
    await expect(connectNode(server, { authenticator: credsAuthenticator(broken), reconnect: false })).rejects.toThrow(/Authorization Violation/);
    expect(lines.some((l) => l.includes("User JWT not valid"))).toBe(true);
    expect(lines.some((l) => l.includes("authorization violation"))).toBe(true);
    const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds) });
    open.push(nc);
    await nc.flush();
  });
  test("an expired user is told the reason in the log, and the client gets Authorization Violation", async () => {
    const u = await makeUser(a.akp, {}, { exp: now() - 1 });
    await expect(connectNode(server, { authenticator: credsAuthenticator(u.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
    expect(lines.some((l) => l.includes("claim is expired"))).toBe(true);
  });
});

describe("allowed connection types over WebSocket", () => {
  test("a WEBSOCKET-only user connects over WebSocket and is refused over TCP; a STANDARD-only user the other way round", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const server = await startGnat({ ...opts(op, [a]), websocket: { port: 0, noTls: true } });
    try {
      const wsOnly = await makeUser(a.akp, { allowed_connection_types: ["WEBSOCKET"] });
      const stdOnly = await makeUser(a.akp, { allowed_connection_types: ["STANDARD"] });
      const overWs = async (u: typeof wsOnly): Promise<string> => {
        const peer = await rawPeer(server.websocketUrl);
        const info = JSON.parse((await peer.waitFor(/INFO .*\r\n/)).slice(5).trim()) as Record<string, unknown>;
        peer.ws.send(connectAs(u)(info) + "PING\r\n");
        const out = await peer.waitFor(/PONG|Authorization Violation/);
        peer.ws.close();
        return out;
      };
      expect(await overWs(wsOnly)).toContain("PONG");
      expect(await overWs(stdOnly)).toContain("-ERR 'Authorization Violation'");
      await expect(connectNode(server, { authenticator: credsAuthenticator(wsOnly.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
      const nc = await connectNode(server, { authenticator: credsAuthenticator(stdOnly.creds) });
      await nc.close();
    } finally {
      await server.close();
    }
  });
});

describe("config reload in operator mode", () => {
  test("a reload that keeps the operator keeps its users connected; a new operator, resolver or preload is refused", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const server = await startGnat(opts(op, [a]));
    try {
      const u = await makeUser(a.akp);
      const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds) });
      server.reload({ ...opts(op, [a]), host: "127.0.0.1", port: 0, noLog: true, maxPayload: 2048 });
      await nc.flush();
      expect(server.options.maxPayload).toBe(2048);
      const other = await makeOperator({ operator: { system_account: op.sys.getPublicKey() } });
      expect(() => server.reload({ ...opts(op, [a]), operators: [other.jwt], host: "127.0.0.1", port: 0, noLog: true }))
        .toThrow(/config reload not supported for TrustedOperators/);
      expect(() => server.reload({ ...opts(op, []), host: "127.0.0.1", port: 0, noLog: true })).toThrow(/config reload not supported for resolverPreloads/);
      const dir = tempDir("gnat-op-reload-");
      try {
        expect(() => server.reload({ ...opts(op, [a]), resolver: { type: "full", dir: dir.dir }, host: "127.0.0.1", port: 0, noLog: true }))
          .toThrow(/config reload not supported for AccountResolver/);
      } finally {
        dir.remove();
      }
      await nc.flush();
      await nc.close();
    } finally {
      await server.close();
    }
  });
});

describe("a JWT user's payload limit across a reload", () => {
  test("kept through a reload of other settings and of max_payload (nats-server 2.9 resets it to the server's at a max_payload reload)", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const base = { ...opts(op, [a]), host: "127.0.0.1", port: 0, noLog: true };
    const server = await startGnat(base);
    try {
      const u = await makeUser(a.akp, { payload: 16 });
      // A raw client: nats.js would refuse the big publish itself, from the INFO's max_payload.
      const sendBig = async (): Promise<RawClient> => {
        const c = new RawClient(server.port);
        await c.until((o) => o.includes("\r\n"));
        const info = JSON.parse(c.out.slice(5, c.out.indexOf("\r\n"))) as Record<string, unknown>;
        c.send(connectAs(u)(info) + "PING\r\n");
        await c.waitFor(/PONG\r\n/);
        return c;
      };
      const before = await sendBig();
      server.reload({ ...base, debug: true, pingInterval: 60_000 });
      before.send(`PUB x 17\r\n${"y".repeat(17)}\r\n`);
      await before.waitClosed();
      expect(before.out).toContain("-ERR 'Maximum Payload Violation'");
      const again = await sendBig();
      server.reload({ ...base, maxPayload: 2048 });
      again.send(`PUB x 17\r\n${"y".repeat(17)}\r\n`);
      await again.waitClosed();
      expect(again.out).toContain("-ERR 'Maximum Payload Violation'");
      // A server limit below the user's is the one in force.
      const small = await sendBig();
      server.reload({ ...base, maxPayload: 8 });
      small.send(`PUB x 9\r\n${"y".repeat(9)}\r\n`);
      await small.waitClosed();
      expect(small.out).toContain("-ERR 'Maximum Payload Violation'");
    } finally {
      await server.close();
    }
  });
});

describe("account expiry", () => {
  test("clients of an account whose JWT expires are told and closed", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A", {}, { exp: now() + 4 });
    const server = await startGnat(opts(op, [a]));
    try {
      const u = await makeUser(a.akp);
      const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds), reconnect: false });
      const err = await nc.closed();
      expect(String(err)).toMatch(/Account Authentication Expired/i);
      await expect(connectNode(server, { authenticator: credsAuthenticator(u.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
    } finally {
      await server.close();
    }
  });
});

describe("operator configuration", () => {
  const t = tempDir("gnat-operator-conf-");
  afterAll(() => t.remove());
  const conf = (name: string, text: string): string => {
    const f = join(t.dir, name);
    writeFileSync(f, text);
    return f;
  };

  test("the operator may be a file holding the JWT (decorated as nsc writes it)", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const f = conf("op.jwt", `-----BEGIN NATS OPERATOR JWT-----\n${op.jwt}\n------END NATS OPERATOR JWT------\n`);
    const text = operatorConfig(op, [a]).replace(`operator: ${op.jwt}`, `operator: "${f}"`);
    const { options } = loadConfigFile(conf("ok.conf", text));
    expect(options.operators).toEqual([op.jwt]);
    const server = await startGnat(options);
    try {
      const u = await makeUser(a.akp);
      const nc = await connectNode(server, { authenticator: credsAuthenticator(u.creds) });
      await nc.close();
    } finally {
      await server.close();
    }
  });
  test("an operator JWT whose signature does not hold is refused at its line", async () => {
    const op = await makeOperator();
    const [h, p] = op.jwt.split(".");
    const forged = `${h}.${p}.${Buffer.alloc(64).toString("base64url")}`;
    expect(() => loadConfigFile(conf("forged.conf", `operator: ${forged}\nresolver: MEMORY\n`))).toThrow(/forged.conf:1:1: error parsing operator JWT: claim failed V2 signature verification/);
  });
  test("an expired operator is refused at start (nats-server 2.9 starts and trusts it)", async () => {
    const op = await makeOperator({ exp: now() - 10 });
    await expect(startGnat(opts(op, []))).rejects.toThrow("error parsing operator JWT: claim is expired");
  });
  test("accounts, users or a missing resolver beside an operator are refused with nats-server's errors", async () => {
    const op = await makeOperator();
    await expect(startGnat({ ...opts(op, []), accounts: { X: {} } })).rejects.toThrow("operators do not allow Accounts to be configured directly");
    await expect(startGnat({ ...opts(op, []), authorization: { users: [{ user: "u", password: "p" }] } })).rejects.toThrow("operators do not allow users to be configured directly");
    await expect(startGnat({ ...opts(op, []), resolver: null })).rejects.toThrow("operators require an account resolver to be configured");
    await expect(startGnat({ ...opts(op, []), systemAccount: (await makeAccount(op.okp, "S")).id })).rejects.toThrow("system_account in config and operator JWT must be identical");
  });
  test("a preloaded JWT that is not an account JWT is refused at its line", () => {
    expect(() => loadConfigFile(conf("pre.conf", "resolver_preload: { AX: notajwt }\n"))).toThrow(/pre.conf:1:1: invalid account JWT/);
  });
  test("a URL resolver is refused rather than ignored", () => {
    expect(() => loadConfigFile(conf("url.conf", 'resolver: URL("http://localhost:9090/jwt/v1/accounts/")\n'))).toThrow(/not supported by gnat yet/);
  });
  test("a preloaded account signed by a stranger is not trusted, and its users are refused", async () => {
    const op = await makeOperator();
    const stranger = await makeAccount((await makeOperator()).okp, "X");
    const server = await startGnat(opts(op, [stranger]));
    try {
      const u = await makeUser(stranger.akp);
      await expect(connectNode(server, { authenticator: credsAuthenticator(u.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
    } finally {
      await server.close();
    }
  });
  test("an account with no limits in its JWT allows no connections, as nats-server reads it", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A", { limits: {} });
    const server = await startGnat(opts(op, [a]));
    try {
      const u = await makeUser(a.akp);
      await expect(connectNode(server, { authenticator: credsAuthenticator(u.creds), reconnect: false })).rejects.toThrow(/maximum account active connections exceeded/);
      await until(() => server.clients.size === 0, { what: "the refused client gone" });
    } finally {
      await server.close();
    }
  });
});

describe("user claims", () => {
  test("connect times: inside a range, outside it, and across midnight", () => {
    const at = new Date(2026, 0, 1, 12, 0, 0);
    expect(connectTimes({ times: [{ start: "11:00:00", end: "13:00:00" }] }, at)).toEqual({ allowed: true, validForMs: 3600_000 });
    expect(connectTimes({ times: [{ start: "13:00:00", end: "14:00:00" }] }, at).allowed).toBe(false);
    expect(connectTimes({ times: [{ start: "22:00:00", end: "13:00:00" }] }, at)).toEqual({ allowed: true, validForMs: 3600_000 });
    expect(connectTimes({}, at)).toEqual({ allowed: true, validForMs: 0 });
  });
  test("source networks: v4 and v6 CIDRs, and IPv4-mapped addresses", () => {
    expect(sourceAllowed(["127.0.0.0/8"], "::ffff:127.0.0.1")).toBe(true);
    expect(sourceAllowed(["10.0.0.0/8"], "127.0.0.1")).toBe(false);
    expect(sourceAllowed(["::1/128"], "::1")).toBe(true);
    expect(sourceAllowed(["not-a-cidr"], "127.0.0.1")).toBe(false);
    expect(sourceAllowed([], "127.0.0.1")).toBe(true);
  });
  test("revocations: a key or everyone, for JWTs issued at or before the time", () => {
    expect(isRevoked({ U1: 100 }, "U1", 100)).toBe(true);
    expect(isRevoked({ U1: 100 }, "U1", 101)).toBe(false);
    expect(isRevoked({ "*": 100 }, "U2", 99)).toBe(true);
    expect(isRevoked(undefined, "U2", 99)).toBe(false);
  });
  test("resp without a publish allow list denies publishing otherwise; ttl is a Go duration", () => {
    expect(jwtPermissions({ resp: { max: 2, ttl: 5e9 } })).toEqual({ publish: { allow: [] }, allowResponses: { max: 2, expires: 5000 } });
    expect(jwtPermissions({})).toBeNull();
  });
});
