import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../server/index.js";
import { makeTestCerts, readPlainInfo, type TestCerts, type CertPair } from "../helpers/certs.js";
import { rawPeer } from "./ws-helpers.js";
import { startGnat, withGnat } from "../kit/gnat.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

/** Collects what a socket receives; `until` waits for a pattern. */
class Reader {
  text = "";
  closed = false;
  private waiters: (() => void)[] = [];
  constructor(readonly socket: Socket | TLSSocket) {
    socket.on("data", (d: Buffer) => {
      this.text += d.toString("latin1");
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(pred: (t: string) => boolean): Promise<string> {
    while (!pred(this.text)) {
      if (this.closed) throw new Error(`closed before expected data; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.text;
  }
  async closedNow(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }
}

function plain(port: number): Promise<{ socket: Socket; reader: Reader }> {
  const socket = netConnect(port, "127.0.0.1");
  const reader = new Reader(socket);
  return once(socket, "connect").then(() => ({ socket, reader }));
}

function infoOf(text: string): Record<string, unknown> {
  const m = /^INFO (\{.*\}) \r\n/.exec(text);
  if (!m) throw new Error(`no INFO in ${JSON.stringify(text)}`);
  return JSON.parse(m[1]!) as Record<string, unknown>;
}

interface TlsClient {
  socket: TLSSocket;
  reader: Reader;
  /** INFO received in plain text before the handshake ("" with handshake_first). */
  plainInfo: string;
}

/** Connect as a NATS client does: read INFO in plain, then upgrade. */
async function tlsClient(port: number, opts: { ca?: string; pair?: CertPair; first?: boolean } = {}): Promise<TlsClient> {
  const raw = netConnect(port, "127.0.0.1");
  await once(raw, "connect");
  let plainInfo = "";
  if (opts.first !== true) {
    plainInfo = await readPlainInfo(raw);
  }
  const socket = tlsConnect({
    socket: raw,
    servername: "localhost",
    ca: certs.pem(opts.ca ?? certs.ca),
    ...(opts.pair ? { cert: certs.pem(opts.pair.cert), key: certs.pem(opts.pair.key) } : {}),
  });
  const reader = new Reader(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, reader, plainInfo };
}

const tlsOpts = (extra: Record<string, unknown> = {}) => ({
  tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, ...extra },
});

describe("TLS on the client port", () => {
  it("sends INFO in plain text with tls_required, then speaks NATS inside TLS", async () => {
    await withGnat(tlsOpts(), async (s) => {
      const c = await tlsClient(s.port);
      const info = infoOf(c.plainInfo);
      expect(info.tls_required).toBe(true);
      expect(info.tls_verify).toBeUndefined();
      c.socket.write("CONNECT {\"verbose\":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n");
      const text = await c.reader.until((t) => t.includes("PONG\r\n"));
      // Nothing but the protocol inside: no second INFO.
      expect(text).toBe("MSG a 1 2\r\nhi\r\nPONG\r\n");
      c.socket.destroy();
    });
  });

  it("puts tls_verify in INFO and refuses a client without a certificate under verify", async () => {
    await withGnat(tlsOpts({ verify: true }), async (s) => {
      const ok = await tlsClient(s.port, { pair: certs.alice });
      expect(infoOf(ok.plainInfo).tls_verify).toBe(true);
      ok.socket.write("PING\r\n");
      await ok.reader.until((t) => t.includes("PONG"));
      ok.socket.destroy();
      await expect(tlsClient(s.port).then(async (c) => {
        // TLS 1.3: the client finishes first; the server's refusal arrives as an alert after.
        c.socket.write("PING\r\n");
        await c.reader.until((t) => t.includes("PONG"));
      })).rejects.toThrow(/certificate required|closed before|alert/i);
    });
  });

  it("refuses a client certificate from a CA it does not trust under verify", async () => {
    await withGnat(tlsOpts({ verify: true }), async (s) => {
      const attempt = tlsClient(s.port, { pair: certs.otherServer }).then(async (c) => {
        c.socket.write("PING\r\n");
        await c.reader.until((t) => t.includes("PONG"));
      });
      await expect(attempt).rejects.toThrow();
    });
  });

  it("with handshake_first, the handshake comes first and INFO arrives inside TLS", async () => {
    await withGnat({ ...tlsOpts({ handshakeFirst: true }), httpPort: 0 }, async (s) => {
      const c = await tlsClient(s.port, { first: true });
      const text = await c.reader.until((t) => t.includes("\r\n"));
      expect(infoOf(text).tls_required).toBe(true);
      c.socket.write("PING\r\n");
      await c.reader.until((t) => t.includes("PONG\r\n"));
      const connz = (await (await fetch(`${s.monitorUrl}/connz`)).json()) as { connections: Record<string, unknown>[] };
      expect(connz.connections[0]!.tls_first).toBe(true);
      c.socket.destroy();
    });
  });

  it("with a handshake_first fallback, takes a handshake-first client and a usual one alike", async () => {
    await withGnat({ ...tlsOpts({ handshakeFirst: true, handshakeFirstFallback: 100 }), httpPort: 0 }, async (s) => {
      const first = await tlsClient(s.port, { first: true });
      const info = await first.reader.until((t) => t.includes("\r\n"));
      expect(infoOf(info).tls_required).toBe(true);
      const usual = await tlsClient(s.port);
      expect(infoOf(usual.plainInfo).tls_required).toBe(true);
      for (const c of [first, usual]) {
        c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
        await c.reader.until((t) => t.includes("PONG\r\n"));
      }
      const connz = (await (await fetch(`${s.monitorUrl}/connz`)).json()) as { connections: Record<string, unknown>[] };
      expect(connz.connections.map((c) => c.tls_first === true)).toEqual([true, false]);
      first.socket.destroy();
      usual.socket.destroy();
    });
  });

  it("closes a plain client that sends CONNECT instead of a handshake, after INFO and nothing else", async () => {
    await withGnat(tlsOpts(), async (s) => {
      const { socket, reader } = await plain(s.port);
      await reader.until((t) => t.includes("\r\n"));
      socket.write("CONNECT {}\r\nPING\r\n");
      await reader.closedNow();
      expect(reader.text).toMatch(/^INFO \{.*"tls_required":true.*\} \r\n$/);
    });
  });

  it("closes a client that sends garbage shaped like a TLS record", async () => {
    await withGnat(tlsOpts(), async (s) => {
      const { socket, reader } = await plain(s.port);
      await reader.until((t) => t.includes("\r\n"));
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
      await reader.closedNow();
      // INFO, then (as from nats-server) one fatal TLS alert record, then the close.
      const rest = Buffer.from(reader.text.slice(reader.text.indexOf("\r\n") + 2), "latin1");
      // (The record version and the alert's reason differ between OpenSSL and Go.)
      expect(rest.length).toBe(7);
      expect([rest[0], rest[3], rest[4], rest[5]]).toEqual([0x15, 0x00, 0x02, 0x02]);
    });
  });

  it("closes a client whose handshake does not complete within the TLS timeout", async () => {
    await withGnat(tlsOpts({ timeout: 300 }), async (s) => {
      const { reader } = await plain(s.port);
      const t0 = Date.now();
      await reader.until((t) => t.includes("\r\n"));
      await reader.closedNow();
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(5000);
    });
  });

  it("with pinned_certs, lets in only clients whose key is pinned", async () => {
    const spki = (p: string): string => createHash("sha256")
      .update(new X509Certificate(certs.pem(p)).publicKey.export({ type: "spki", format: "der" })).digest("hex");
    await withGnat(tlsOpts({ verify: true, pinnedCerts: [spki(certs.alice.cert).toUpperCase()] }), async (s) => {
      const alice = await tlsClient(s.port, { pair: certs.alice });
      alice.socket.write("PING\r\n");
      await alice.reader.until((t) => t.includes("PONG"));
      alice.socket.destroy();
      const bob = await tlsClient(s.port, { pair: certs.bob });
      bob.socket.write("PING\r\n");
      await bob.reader.closedNow();
      expect(bob.reader.text).toBe("");
    });
  });

  it("closing the server cuts off handshakes still under way", async () => {
    const s = await startGnat({ ...tlsOpts({ timeout: 20_000 }) });
    const { reader } = await plain(s.port);
    await reader.until((t) => t.includes("\r\n"));
    const t0 = Date.now();
    await s.close();
    await reader.closedNow();
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("carries large and many messages intact through TLS", async () => {
    await withGnat(tlsOpts(), async (s) => {
      const sub = await tlsClient(s.port);
      const pub = await tlsClient(s.port);
      sub.socket.write("CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n");
      await sub.reader.until((t) => t.includes("PONG"));
      const big = "x".repeat(1024 * 1024 - 1);
      const n = 300;
      let batch = "CONNECT {\"verbose\":false}\r\n";
      for (let i = 0; i < n; i++) batch += `PUB big ${String(i).length + 4096}\r\n${i}${"y".repeat(4096)}\r\n`;
      batch += `PUB big ${big.length}\r\n${big}\r\n`;
      pub.socket.write(batch);
      const text = await sub.reader.until((t) => t.endsWith(`${big}\r\n`));
      const msgs = text.slice(text.indexOf("PONG\r\n") + 6).split(/MSG big 1 \d+\r\n/).filter((x) => x !== "");
      expect(msgs).toHaveLength(n + 1);
      for (let i = 0; i < n; i++) expect(msgs[i]).toBe(`${i}${"y".repeat(4096)}\r\n`);
      sub.socket.destroy();
      pub.socket.destroy();
    });
  });

  it("tells WebSocket clients (plain ws://) no tls_required while the client port has TLS", async () => {
    await withGnat({ ...tlsOpts(), websocket: { port: 0, noTls: true } }, async (s) => {
      const peer = await rawPeer(s.websocketUrl);
      const info = infoOf(await peer.waitFor(/\r\n/));
      expect(info.tls_required).toBeUndefined();
      peer.ws.close();
      const c = await tlsClient(s.port);
      expect(infoOf(c.plainInfo).tls_required).toBe(true);
      c.socket.destroy();
    });
  });

  it("takes certificates as PEM text when embedded", async () => {
    const tls = { certPem: certs.pem(certs.server.cert), keyPem: certs.pem(certs.server.key) };
    await withGnat({ tls }, async (s) => {
      const c = await tlsClient(s.port);
      c.socket.write("PING\r\n");
      await c.reader.until((t) => t.includes("PONG"));
      c.socket.destroy();
    });
  });

  it("rotates certificates for new connections with reloadTls, leaving open ones alone", async () => {
    await withGnat(tlsOpts(), async (s) => {
      const before = await tlsClient(s.port);
      s.reloadTls({ certFile: certs.otherServer.cert, keyFile: certs.otherServer.key });
      // The old CA no longer vouches for the server; the new one does.
      await expect(tlsClient(s.port)).rejects.toThrow(/certificate/i);
      const after = await tlsClient(s.port, { ca: certs.otherCa });
      for (const c of [before, after]) {
        c.socket.write("PING\r\n");
        await c.reader.until((t) => t.includes("PONG"));
        c.socket.destroy();
      }
    });
  });

  it("keeps the old certificates when a reload's do not load", async () => {
    await withGnat(tlsOpts(), async (s) => {
      expect(() => s.reloadTls({ certFile: certs.server.cert, keyFile: `${certs.dir}/missing.pem` }))
        .toThrow(`error parsing X509 certificate/key pair: open ${certs.dir}/missing.pem: no such file or directory`);
      const c = await tlsClient(s.port);
      c.socket.destroy();
    });
  });

  it("refuses to start without a key, or with a key file that is missing or not the certificate's", async () => {
    await expect(startServer({ port: 0, noLog: true, tls: { certFile: certs.server.cert } }))
      .rejects.toThrow("missing 'key_file' in TLS configuration");
    await expect(startServer({ port: 0, noLog: true, tls: { certFile: certs.server.cert, keyFile: "/nonexistent/key.pem" } }))
      .rejects.toThrow("error parsing X509 certificate/key pair: open /nonexistent/key.pem: no such file or directory");
    await expect(startServer({ port: 0, noLog: true, tls: { certFile: certs.server.cert, keyFile: certs.alice.key } }))
      .rejects.toThrow("error parsing X509 certificate/key pair: tls: private key does not match public key");
    await expect(startServer({ port: 0, noLog: true, tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: "/nonexistent/ca.pem" } }))
      .rejects.toThrow("open /nonexistent/ca.pem: no such file or directory");
  });
});

describe("TLS in monitoring", () => {
  it("/varz has tls_required, tls_verify and tls_timeout; /connz has tls_version and tls_cipher_suite", async () => {
    await withGnat({ ...tlsOpts({ verify: true, timeout: 1500 }), httpPort: 0 }, async (s) => {
      const c = await tlsClient(s.port, { pair: certs.alice });
      c.socket.write("CONNECT {}\r\nPING\r\n");
      await c.reader.until((t) => t.includes("PONG"));
      const varz = (await (await fetch(`${s.monitorUrl}/varz`)).json()) as Record<string, unknown>;
      expect(varz.tls_required).toBe(true);
      expect(varz.tls_verify).toBe(true);
      expect(varz.tls_timeout).toBe(1.5);
      expect(varz.auth_timeout).toBe(2.5);
      const connz = (await (await fetch(`${s.monitorUrl}/connz`)).json()) as { connections: Record<string, unknown>[] };
      const conn = connz.connections[0]!;
      expect(conn.tls_version).toBe(c.socket.getProtocol()!.replace("TLSv", ""));
      expect(conn.tls_cipher_suite).toBe(c.socket.getCipher().standardName);
      expect(conn.tls_first).toBeUndefined();
      c.socket.destroy();
    });
  });

  it("plain servers report no TLS in /varz and /connz", async () => {
    await withGnat({ httpPort: 0 }, async (s) => {
      const { socket, reader } = await plain(s.port);
      socket.write("CONNECT {}\r\nPING\r\n");
      await reader.until((t) => t.includes("PONG"));
      const varz = (await (await fetch(`${s.monitorUrl}/varz`)).json()) as Record<string, unknown>;
      expect(varz.tls_required).toBeUndefined();
      expect(varz.tls_timeout).toBe(2);
      const connz = (await (await fetch(`${s.monitorUrl}/connz`)).json()) as { connections: Record<string, unknown>[] };
      expect(connz.connections[0]!.tls_version).toBeUndefined();
      socket.destroy();
    });
  });
});

describe("verify_and_map", () => {
  const mapOpts = () => ({
    ...tlsOpts({ verifyAndMap: true }),
    authorization: {
      users: [
        { user: "alice@example.com", password: "", permissions: { publish: { allow: ["alice.>"] } } },
        { user: "CN=bob,O=gnat", password: "" },
      ],
    },
  });

  it("maps the email SAN to a user whose permissions then apply", async () => {
    await withGnat(mapOpts(), async (s) => {
      const c = await tlsClient(s.port, { pair: certs.alice });
      expect(infoOf(c.plainInfo).auth_required).toBe(true);
      c.socket.write("CONNECT {\"verbose\":false}\r\nPUB alice.x 0\r\n\r\nPUB bob.x 0\r\n\r\nPING\r\n");
      const text = await c.reader.until((t) => t.includes("PONG"));
      expect(text).toBe("-ERR 'Permissions Violation for Publish to \"bob.x\"'\r\nPONG\r\n");
      c.socket.destroy();
    });
  });

  it("maps the subject DN in nats-server's RFC 2253 form", async () => {
    await withGnat(mapOpts(), async (s) => {
      const c = await tlsClient(s.port, { pair: certs.bob });
      c.socket.write("CONNECT {\"verbose\":false}\r\nPUB anything 0\r\n\r\nPING\r\n");
      expect(await c.reader.until((t) => t.includes("PONG"))).toBe("PONG\r\n");
      c.socket.destroy();
    });
  });

  it("answers a certificate that names no user with Authorization Violation and closes", async () => {
    await withGnat(mapOpts(), async (s) => {
      const c = await tlsClient(s.port, { pair: certs.mallory });
      c.socket.write("CONNECT {\"user\":\"CN=bob,O=gnat\"}\r\nPING\r\n");
      await c.reader.closedNow();
      expect(c.reader.text).toBe("-ERR 'Authorization Violation'\r\n");
    });
  });
});
