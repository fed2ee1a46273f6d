// The official clients against gnat with TLS: a CA file, client certificates under verify,
// handshake_first, and verify_and_map naming the user.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { kits, take, text, type ConnectOpts } from "./kits.js";
import { connect, type NatsConnection } from "@nats-io/transport-node";

let certs: TestCerts;
let plainTls: Server;
let verifying: Server;
let first: Server;
let fallback: Server;
let mapping: Server;

beforeAll(async () => {
  certs = makeTestCerts();
  const base = { host: "127.0.0.1", port: 0, noLog: true };
  const tls = { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca };
  plainTls = await startServer({ ...base, tls });
  verifying = await startServer({ ...base, tls: { ...tls, verify: true } });
  first = await startServer({ ...base, tls: { ...tls, handshakeFirst: true } });
  fallback = await startServer({ ...base, tls: { ...tls, handshakeFirst: true, handshakeFirstFallback: 50 } });
  mapping = await startServer({
    ...base,
    tls: { ...tls, verifyAndMap: true },
    authorization: {
      users: [
        { user: "alice@example.com", password: "", permissions: { publish: { allow: ["alice.>"] }, subscribe: { allow: ["alice.>", "_INBOX.>"] } } },
        { user: "CN=bob,O=gnat", password: "" },
      ],
    },
  });
});
afterAll(async () => {
  await Promise.all([plainTls, verifying, first, fallback, mapping].map((s) => s.close()));
  certs.cleanup();
});

interface ClientTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  handshakeFirst?: boolean;
}

const opts = (s: Server, tls?: ClientTls): ConnectOpts => ({ servers: s.url, ...(tls ? { tls } : {}) }) as ConnectOpts;

describe.each(kits)("$name over TLS", (kit) => {
  test("connects with the CA file and exchanges messages", async () => {
    const nc = await kit.connect(opts(plainTls, { caFile: certs.ca }));
    const sub = nc.subscribe("tls.echo", { max: 1 });
    nc.publish("tls.echo", "secret");
    const [m] = await take(sub, 1);
    expect(text(m!)).toBe("secret");
    await nc.close();
  });

  test("fails without the CA: the server's certificate is not trusted", async () => {
    await expect(kit.connect(opts(plainTls))).rejects.toThrow();
  });

  test("connects with a client certificate under verify", async () => {
    const nc = await kit.connect(opts(verifying, { caFile: certs.ca, certFile: certs.alice.cert, keyFile: certs.alice.key }));
    await nc.flush();
    await nc.close();
  });

  test("fails without a client certificate under verify", async () => {
    await expect(kit.connect(opts(verifying, { caFile: certs.ca }))).rejects.toThrow();
  });

  test("connects with handshakeFirst to a handshake_first server", async () => {
    const nc = await kit.connect(opts(first, { caFile: certs.ca, handshakeFirst: true }));
    const sub = nc.subscribe("tls.first", { max: 1 });
    nc.publish("tls.first", "x");
    await take(sub, 1);
    await nc.close();
  });

  test("handshake_first: auto takes clients with and without handshakeFirst", async () => {
    for (const handshakeFirst of [true, false]) {
      const nc = await kit.connect(opts(fallback, { caFile: certs.ca, handshakeFirst }));
      await nc.flush();
      await nc.close();
    }
  });

  test("verify_and_map: alice's certificate is alice, with her permissions", async () => {
    const nc = await kit.connect(opts(mapping, { caFile: certs.ca, certFile: certs.alice.cert, keyFile: certs.alice.key }));
    const sub = nc.subscribe("alice.in", { max: 1 });
    nc.publish("alice.in", "mine");
    expect(text((await take(sub, 1))[0]!)).toBe("mine");
    // Outside her permissions: the server says so, the connection stays.
    const denied = nc.subscribe("bob.in");
    await nc.flush().catch(() => {});
    await expect((async () => {
      for await (const _ of denied) return;
    })()).rejects.toThrow(/Permissions Violation for Subscription to "bob.in"/i);
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });

  test("verify_and_map: a certificate that names no user is refused", async () => {
    const err = await kit.connect(opts(mapping, { caFile: certs.ca, certFile: certs.mallory.cert, keyFile: certs.mallory.key }))
      .then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(err).toBeInstanceOf(Error);
    expect(err!.name === "AuthorizationError" || err!.code === "AUTHORIZATION_VIOLATION").toBe(true);
  });
});

// allow_non_tls (issue #23; nats.js `tls - available connects with or without`): one port, and
// the official client upgrades when it is given TLS options and stays plain when told `tls: null`.
describe("@nats-io/transport-node with allow_non_tls", () => {
  let mixed: Server;
  beforeAll(async () => {
    mixed = await startServer({ host: "127.0.0.1", port: 0, noLog: true, allowNonTls: true, tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca } });
  });
  afterAll(() => mixed.close());
  const encrypted = (nc: NatsConnection): boolean =>
    (nc as unknown as { protocol: { transport: { isEncrypted(): boolean } } }).protocol.transport.isEncrypted();

  test("a client with the CA upgrades and one with tls: null stays plain, on the same port", async () => {
    const [a, b] = await Promise.all([
      connect({ servers: mixed.url, tls: { caFile: certs.ca } }),
      connect({ servers: mixed.url, tls: null }),
    ]);
    await Promise.all([a.flush(), b.flush()]);
    expect(encrypted(a)).toBe(true);
    expect(encrypted(b)).toBe(false);
    const sub = b.subscribe("mixed", { max: 1 });
    await b.flush();
    a.publish("mixed", "across");
    expect(text((await take(sub, 1))[0]!)).toBe("across");
    await Promise.all([a.close(), b.close()]);
  });

  test("a client that does not trust the certificate is refused the upgrade", async () => {
    await expect(connect({ servers: mixed.url, reconnect: false })).rejects.toThrow();
  });
});
