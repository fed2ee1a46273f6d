// Authentication: the checks themselves, and the README's examples with real connections.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { createUser, fromSeed } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import { describe, expect, test } from "vitest";
import { defaultConnectOptions, type ConnectOptions } from "../../../protocol/connect.js";
import { Authenticator, comparePasswords, newNonce, type BcryptCache } from "../../../server/auth/auth.js";
import { configToOptions, parseConfig } from "../../../server/config/index.js";
import { startGnat } from "../../kit/gnat.js";

const creds = (fields: Partial<ConnectOptions>): ConnectOptions => ({ ...defaultConnectOptions(), ...fields });

describe("Authenticator", () => {
  test("a token must match exactly", () => {
    const a = new Authenticator({ token: "t0k" });
    expect(a.authenticate(creds({ auth_token: "t0k" }), "", new Map())).toEqual({ name: "", permissions: null });
    expect(a.authenticate(creds({ auth_token: "t0k " }), "", new Map())).toBeNull();
    expect(a.authenticate(creds({}), "", new Map())).toBeNull();
  });

  test("a single user needs both the name and the password", () => {
    const a = new Authenticator({ user: "u", password: "p" });
    expect(a.authenticate(creds({ user: "u", pass: "p" }), "", new Map())).toEqual({ name: "u", permissions: null });
    expect(a.authenticate(creds({ user: "v", pass: "p" }), "", new Map())).toBeNull();
    expect(a.authenticate(creds({ user: "u", pass: "" }), "", new Map())).toBeNull();
  });

  test("a users list finds the user by name and checks that user's password only", () => {
    const a = new Authenticator({ users: [{ user: "a", password: "1" }, { user: "b", password: "2" }] });
    expect(a.authenticate(creds({ user: "b", pass: "2" }), "", new Map())).toEqual({ name: "b", permissions: null });
    expect(a.authenticate(creds({ user: "b", pass: "1" }), "", new Map())).toBeNull();
  });

  test("a bcrypt hash is checked against the plain password, and a match is cached on the given cache only", () => {
    const hash = bcrypt.hashSync("pw", 4);
    const cache: BcryptCache = new Map();
    expect(comparePasswords(hash, "pw", cache)).toBe(true);
    expect(cache.get(hash)).toBe("pw");
    expect(comparePasswords(hash, "pW", cache)).toBe(false);
    expect(comparePasswords(hash, hash, new Map())).toBe(false);
  });

  test("a failed bcrypt check is not cached", () => {
    const hash = bcrypt.hashSync("pw", 4);
    const cache: BcryptCache = new Map();
    expect(comparePasswords(hash, "nope", cache)).toBe(false);
    expect(cache.size).toBe(0);
  });

  test("an nkey user proves itself by signing this connection's nonce", () => {
    const kp = createUser();
    const a = new Authenticator({ nkeys: [{ nkey: kp.getPublicKey() }] });
    expect(a.nonceRequired).toBe(true);
    const nonce = newNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{15}$/);
    const sig = Buffer.from(kp.sign(Buffer.from(nonce)));
    expect(a.authenticate(creds({ nkey: kp.getPublicKey(), sig: sig.toString("base64url") }), nonce, new Map())).toEqual({ name: kp.getPublicKey(), permissions: null });
    // Standard base64 is accepted too, as nats-server does.
    expect(a.authenticate(creds({ nkey: kp.getPublicKey(), sig: sig.toString("base64") }), nonce, new Map())).not.toBeNull();
    expect(a.authenticate(creds({ nkey: kp.getPublicKey(), sig: sig.toString("base64url") }), newNonce(), new Map())).toBeNull();
    expect(a.authenticate(creds({ nkey: kp.getPublicKey() }), nonce, new Map())).toBeNull();
  });

  test("a user's permissions come with it", () => {
    const permissions = { publish: { allow: ["a"] } };
    const a = new Authenticator({ users: [{ user: "u", password: "p", permissions }] });
    expect(a.authenticate(creds({ user: "u", pass: "p" }), "", new Map())?.permissions).toEqual(permissions);
  });

  test("without nkey users no nonce is needed", () => {
    expect(new Authenticator({ token: "t" }).nonceRequired).toBe(false);
  });

  test("a malformed hash matches nothing", () => {
    expect(comparePasswords("$2a$10$short", "x", new Map())).toBe(false);
  });
});

/** The config blocks of the README's Authentication section. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(resolve(import.meta.dirname, "../../.."), "README.md"), "utf8");
  const start = readme.indexOf("## Authentication");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 5));
  return [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Send `text(INFO line)` after INFO; resolve with everything received until PONG or close. */
function exchange(port: number, text: (info: string) => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    let sent = false;
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (!sent && out.includes("\r\n")) {
        sent = true;
        s.write(text(out.slice(0, out.indexOf("\r\n"))));
      }
      if (out.includes("PONG\r\n")) s.end();
    });
    s.on("close", () => resolve(out.replace(/^INFO .*\r\n/, "")));
    s.on("error", reject);
  });
}

/**
 * A raw client past its INFO and `setup`: `until(text, send?)` sends `send` (and a PING when
 * waiting for a PONG) and resolves with what arrived up to and including `text`.
 */
async function rawClient(port: number, setup: string): Promise<{ send(b: string): void; until(text: string, send?: string): Promise<string>; close(): void }> {
  const s = connect(port, "127.0.0.1");
  s.on("error", () => {});
  let out = "";
  let wake: (() => void) | null = null;
  s.on("data", (d: Buffer) => {
    out += d.toString("latin1");
    wake?.();
  });
  const wait = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise<void>((r) => (wake = r));
  };
  await wait(() => out.includes("\r\n"));
  out = out.slice(out.indexOf("\r\n") + 2);
  s.write(setup + "PING\r\n");
  await wait(() => out.includes("PONG\r\n"));
  out = out.slice(out.indexOf("PONG\r\n") + 6);
  return {
    send: (b) => s.write(b),
    async until(text, send = "") {
      s.write(send + (text === "PONG\r\n" ? "PING\r\n" : ""));
      await wait(() => out.includes(text));
      const end = out.indexOf(text) + text.length;
      const got = out.slice(0, end);
      out = out.slice(end);
      return got;
    },
    close: () => s.destroy(),
  };
}

describe("README Authentication examples", () => {
  const examples = readmeExamples();
  const expected: [ok: string, bad: string][] = [
    ['{"auth_token":"s3cr3t"}', '{"auth_token":"s3cr3"}'],
    ['{"user":"alice","pass":"wonderland"}', '{"user":"alice","pass":"wonder"}'],
    ['{"user":"bob","pass":"builder"}', '{"user":"bob","pass":"wonderland"}'],
  ];

  test("there are seven, each a valid config", () => {
    expect(examples).toHaveLength(7);
    for (const e of examples) expect(() => configToOptions(parseConfig(e))).not.toThrow();
  });

  /** Start a server from README example `i`, run `fn` against its port, close it. */
  async function withExample(i: number, fn: (port: number) => Promise<void>): Promise<void> {
    const { options } = configToOptions(parseConfig(examples[i]!));
    const server = await startGnat({ ...options });
    try {
      await fn(server.port);
    } finally {
      await server.close();
    }
  }

  test("the allow_responses example: svc answers a request once, and may publish nothing else", async () => {
    await withExample(4, async (port) => {
      const svc = await rawClient(port, 'CONNECT {"user":"svc","pass":"svc","verbose":false}\r\nSUB svc.time 1\r\n');
      const app = await rawClient(port, 'CONNECT {"user":"app","pass":"app","verbose":false}\r\nSUB my.inbox 1\r\n');
      app.send("PUB svc.time my.inbox 0\r\n\r\n");
      expect(await svc.until("MSG svc.time 1 my.inbox 0\r\n\r\n")).toBe("MSG svc.time 1 my.inbox 0\r\n\r\n");
      expect(await svc.until("PONG\r\n", "PUB my.inbox 4\r\nnoon\r\nPUB my.inbox 4\r\nmore\r\nPUB svc.other 0\r\n\r\n")).toBe(
        "-ERR 'Permissions Violation for Publish to \"my.inbox\"'\r\n-ERR 'Permissions Violation for Publish to \"svc.other\"'\r\nPONG\r\n");
      expect(await app.until("PONG\r\n")).toBe("MSG my.inbox 1 4\r\nnoon\r\nPONG\r\n");
      svc.close();
      app.close();
    });
  });

  test("the queue permissions example: jobs only in the workers group", async () => {
    await withExample(5, async (port) => {
      const w = await rawClient(port, 'CONNECT {"user":"worker","pass":"w0rker","verbose":false}\r\n');
      expect(await w.until("PONG\r\n", "SUB jobs.a workers 1\r\nSUB jobs.a 2\r\nSUB jobs.a others 3\r\nSUB status.x 4\r\nSUB status.secret workers 5\r\nSUB status.secret others 6\r\n")).toBe(
        "-ERR 'Permissions Violation for Subscription to \"jobs.a\"'\r\n" +
        "-ERR 'Permissions Violation for Subscription to \"jobs.a\" using queue \"others\"'\r\n" +
        "-ERR 'Permissions Violation for Subscription to \"status.secret\" using queue \"workers\"'\r\nPONG\r\n");
      w.close();
    });
  });

  test("the default_permissions example: guest gets the defaults, admin its own", async () => {
    await withExample(6, async (port) => {
      const ops = "SUB public.news 1\r\nSUB private.x 2\r\nPUB admin.reset 0\r\n\r\nPUB public.news 0\r\n\r\n";
      const guest = await rawClient(port, 'CONNECT {"user":"guest","pass":"guest","verbose":false}\r\n');
      expect(await guest.until("PONG\r\n", ops)).toBe(
        "-ERR 'Permissions Violation for Subscription to \"private.x\"'\r\n" +
        "-ERR 'Permissions Violation for Publish to \"admin.reset\"'\r\nMSG public.news 1 0\r\n\r\nPONG\r\n");
      const admin = await rawClient(port, 'CONNECT {"user":"admin","pass":"admin","verbose":false}\r\n');
      expect(await admin.until("PONG\r\n", ops)).toBe("MSG public.news 1 0\r\n\r\nPONG\r\n");
      guest.close();
      admin.close();
    });
  });

  test("the permissions example allows and denies as it says", async () => {
    const { options } = configToOptions(parseConfig(examples[3]!));
    const server = await startGnat({ ...options });
    try {
      const ops = 'CONNECT {"user":"sensor","pass":"s3nsor","verbose":false}\r\nSUB commands.sensor.1 1\r\nSUB commands.other 2\r\n' +
        "PUB telemetry.temp 1\r\nx\r\nPUB telemetry.admin.reset 1\r\nx\r\nPUB commands.sensor.1 2\r\nok\r\nPING\r\n";
      expect(await exchange(server.port, () => ops)).toBe(
        "-ERR 'Permissions Violation for Subscription to \"commands.other\"'\r\n" +
        "-ERR 'Permissions Violation for Publish to \"telemetry.admin.reset\"'\r\n" +
        "-ERR 'Permissions Violation for Publish to \"commands.sensor.1\"'\r\nPONG\r\n");
    } finally {
      await server.close();
    }
  });

  test.each(expected.map((e, i) => [i, ...e] as const))("example %i admits the right credentials and refuses wrong ones", async (i, ok, bad) => {
    const { options } = configToOptions(parseConfig(examples[i]!));
    const server = await startGnat({ ...options });
    try {
      expect(await exchange(server.port, () => `CONNECT ${ok}\r\nPING\r\n`)).toBe("+OK\r\nPONG\r\n");
      expect(await exchange(server.port, () => `CONNECT ${bad}\r\nPING\r\n`)).toBe("-ERR 'Authorization Violation'\r\n");
    } finally {
      await server.close();
    }
  });

  test("the nkey user of the users example signs in (its seed is kept here, for the test only)", async () => {
    const kp = fromSeed(new TextEncoder().encode("SUAMHDXOB3D4YJLM3622WV5QJ3HVCUPSUAXDGHLADEWEVVKYUYHLKGLYNA"));
    const { options } = configToOptions(parseConfig(examples[2]!));
    const server = await startGnat({ ...options });
    try {
      const signed = (info: string): string => {
        const nonce = String((JSON.parse(info.slice(5)) as { nonce?: unknown }).nonce);
        const sig = Buffer.from(kp.sign(Buffer.from(nonce))).toString("base64url");
        return `CONNECT {"nkey":"${kp.getPublicKey()}","sig":"${sig}"}\r\nPING\r\n`;
      };
      expect(await exchange(server.port, signed)).toBe("+OK\r\nPONG\r\n");
    } finally {
      await server.close();
    }
  });
});
