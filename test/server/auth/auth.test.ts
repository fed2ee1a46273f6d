// Authentication: the checks themselves, and the README's examples with real connections.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { createUser, fromSeed } from "@nats-io/nkeys";
import bcrypt from "bcryptjs";
import { describe, expect, test } from "vitest";
import { defaultConnectOptions, type ConnectOptions } from "../../../protocol/connect.js";
import { Authenticator, comparePasswords, newNonce, type BcryptCache } from "../../../server/auth/auth.js";
import { configToOptions, parseConfig } from "../../../server/config.js";
import { startServer } from "../../../server/index.js";

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

describe("README Authentication examples", () => {
  const examples = readmeExamples();
  const expected: [ok: string, bad: string][] = [
    ['{"auth_token":"s3cr3t"}', '{"auth_token":"s3cr3"}'],
    ['{"user":"alice","pass":"wonderland"}', '{"user":"alice","pass":"wonder"}'],
    ['{"user":"bob","pass":"builder"}', '{"user":"bob","pass":"wonderland"}'],
  ];

  test("there are four, each a valid config", () => {
    expect(examples).toHaveLength(4);
  });

  test("the permissions example allows and denies as it says", async () => {
    const { options } = configToOptions(parseConfig(examples[3]!));
    const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, ...options });
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
    const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, ...options });
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
    const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, ...options });
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
