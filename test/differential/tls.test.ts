// TLS against nats-server, same certificates, same bytes: INFO's fields, what a plain client or a
// stalled handshake gets, client certificates under verify, and which certificate names which
// user under verify_and_map.
import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeClientCert, makeTestCerts, readPlainInfo, type CertPair, type TestCerts } from "../helpers/certs.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER, startPair, type Pair } from "./harness.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, spawnNatsServer } from "../kit/processes.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

const tlsBlock = (extra = ""): string =>
  `tls { cert_file: ${JSON.stringify(certs.server.cert)}, key_file: ${JSON.stringify(certs.server.key)}, ca_file: ${JSON.stringify(certs.ca)}${extra} }\n`;

interface Seen {
  /** Everything received in plain text, latin1. */
  plain: string;
  closed: boolean;
  ms: number;
}

/** Connect in plain text, send `bytes` after INFO, and collect until the server closes. */
async function plainSession(port: number, bytes: Buffer | string | null, limitMs = 4000): Promise<Seen> {
  const s = netConnect(port, "127.0.0.1");
  const t0 = Date.now();
  let plain = "";
  let sent = false;
  s.on("data", (d: Buffer) => {
    plain += d.toString("latin1");
    if (!sent && plain.includes("\r\n") && bytes !== null) {
      sent = true;
      s.write(bytes);
    }
  });
  s.on("error", () => {});
  const timer = setTimeout(() => s.destroy(), limitMs);
  await once(s, "close");
  clearTimeout(timer);
  return { plain, closed: Date.now() - t0 < limitMs, ms: Date.now() - t0 };
}

interface Upgraded {
  socket: TLSSocket;
  info: Record<string, unknown>;
  /** Resolves with all received inside TLS once the server closes (or `ms` passes). */
  rest(ms?: number): Promise<string>;
  until(text: string): Promise<string>;
}

/** A client as the NATS clients are: INFO in plain, then the handshake. */
async function upgrade(port: number, pair?: CertPair): Promise<Upgraded> {
  const raw = netConnect(port, "127.0.0.1");
  const line = await readPlainInfo(raw);
  const socket = tlsConnect({
    socket: raw, servername: "localhost", ca: certs.pem(certs.ca),
    ...(pair ? { cert: certs.pem(pair.cert), key: certs.pem(pair.key) } : {}),
  });
  let got = "";
  let closed = false;
  const waiters: (() => void)[] = [];
  socket.on("data", (d: Buffer) => {
    got += d.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  socket.on("close", () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  const info = JSON.parse(/^INFO (\{.*\}) \r\n/.exec(line)![1]!) as Record<string, unknown>;
  return {
    socket,
    info,
    async rest(ms = 3000) {
      const deadline = Date.now() + ms;
      while (!closed && Date.now() < deadline) {
        const timer = new Promise<void>((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref());
        await Promise.race([new Promise<void>((r) => waiters.push(r)), timer]);
      }
      socket.destroy();
      return got;
    },
    async until(text: string) {
      while (!got.includes(text)) {
        if (closed) return got;
        await new Promise<void>((r) => waiters.push(r));
      }
      return got;
    },
  };
}

describe.skipIf(NATS_SERVER === null)("TLS (differential)", () => {
  describe("with verify", () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startPair({}, tlsBlock(", verify: true, timeout: 0.5"));
    });
    afterAll(() => pair?.close());

    test("INFO has the same keys in the same order, tls_required and tls_verify among them", async () => {
      const [g, n] = await Promise.all([plainSession(pair.gnatPort, ""), plainSession(pair.natsPort, "")].map(async (p) => {
        const seen = await p;
        return JSON.parse(/^INFO (\{.*\}) \r\n/.exec(seen.plain)![1]!) as Record<string, unknown>;
      }));
      const keys = (o: Record<string, unknown>): string[] => Object.keys(o).filter((k) => k !== "git_commit");
      expect(keys(g!)).toEqual(keys(n!));
      expect(g).toMatchObject({ tls_required: true, tls_verify: true });
      expect(n).toMatchObject({ tls_required: true, tls_verify: true });
    });

    test("a plain client's CONNECT gets INFO, then the close, and nothing else from either", async () => {
      const [g, n] = await Promise.all([pair.gnatPort, pair.natsPort].map((p) => plainSession(p, "CONNECT {}\r\nPING\r\n")));
      const norm = (s: Seen): string => s.plain.replace(/^INFO \{.*\} \r\n/, "INFO <info>\r\n");
      expect(norm(g!)).toBe("INFO <info>\r\n");
      expect(norm(g!)).toBe(norm(n!));
      expect(g!.closed && n!.closed).toBe(true);
    });

    test.each(["PUB x 1\r\nA\r\n", "SUB x 1\r\nPING\r\n", "PING\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"])(
      "plain %j instead of a handshake: INFO, then the close, from both", async (bytes) => {
        const [g, n] = await Promise.all([pair.gnatPort, pair.natsPort].map((p) => plainSession(p, bytes)));
        const norm = (s: Seen): string => s.plain.replace(/^INFO \{.*\} \r\n/, "INFO <info>\r\n");
        expect(norm(n!)).toBe("INFO <info>\r\n");
        expect(norm(g!)).toBe(norm(n!));
        expect(g!.closed).toBe(true);
      });

    test("a handshake that never comes is closed after the TLS timeout by both, without a word", async () => {
      const [g, n] = await Promise.all([pair.gnatPort, pair.natsPort].map((p) => plainSession(p, null)));
      for (const s of [g!, n!]) {
        expect(s.closed).toBe(true);
        expect(s.ms).toBeGreaterThanOrEqual(450);
        expect(s.plain).toMatch(/^INFO \{.*\} \r\n$/);
      }
    });

    test("garbage shaped as a TLS record: one fatal alert from both, then the close", async () => {
      const junk = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
      const [g, n] = await Promise.all([pair.gnatPort, pair.natsPort].map((p) => plainSession(p, junk)));
      const alert = (s: Seen): number[] => {
        const b = Buffer.from(s.plain.slice(s.plain.indexOf("\r\n") + 2), "latin1");
        return [b.length, b[0]!, b[5]!];
      };
      expect(alert(g!)).toEqual([7, 0x15, 2]);
      expect(alert(g!)).toEqual(alert(n!));
    });

    test("a client with a certificate from the CA speaks NATS inside TLS on both", async () => {
      for (const port of [pair.gnatPort, pair.natsPort]) {
        const c = await upgrade(port, certs.alice);
        c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
        expect(await c.until("PONG\r\n")).toBe("PONG\r\n");
        c.socket.destroy();
      }
    });

    test("a client without a certificate is refused by both", async () => {
      for (const port of [pair.gnatPort, pair.natsPort]) {
        const outcome = await upgrade(port).then(async (c) => {
          c.socket.write("CONNECT {}\r\nPING\r\n");
          return c.rest(2000);
        }, () => "handshake failed");
        expect(outcome).not.toContain("PONG");
      }
    });
  });

  // nats-server 2.10's allow_non_tls (issue #23, nats.js `tls - available connects with or
  // without`): one port, INFO with tls_available, and the client's first byte decides.
  describe("allow_non_tls", () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startPair({}, `allow_non_tls: true\n${tlsBlock()}`);
    });
    afterAll(() => pair?.close());

    test("INFO has the same keys on both, tls_available and no tls_required", async () => {
      const [g, n] = await Promise.all([pair.gnatPort, pair.natsPort].map(async (p) => {
        const seen = await plainSession(p, "", 500);
        return JSON.parse(/^INFO (\{.*\}) \r\n/.exec(seen.plain)![1]!) as Record<string, unknown>;
      }));
      const keys = (o: Record<string, unknown>): string[] => Object.keys(o).filter((k) => k !== "git_commit").sort();
      expect(keys(g!)).toEqual(keys(n!));
      expect(g!["tls_available"]).toBe(true);
      expect(g!["tls_required"]).toBeUndefined();
    });

    test("a plain client speaks NATS in plain text on both", async () => {
      for (const port of [pair.gnatPort, pair.natsPort]) {
        const seen = await plainSession(port, "CONNECT {\"verbose\":false}\r\nPING\r\n", 1000);
        expect(seen.plain.replace(/^INFO \{.*\} \r\n/, "")).toBe("PONG\r\n");
      }
    });

    test("a client that starts a handshake after INFO speaks NATS inside TLS on both", async () => {
      for (const port of [pair.gnatPort, pair.natsPort]) {
        const c = await upgrade(port);
        c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
        expect(await c.until("PONG\r\n")).toBe("PONG\r\n");
        c.socket.destroy();
      }
    });
  });

  test("/connz?auth=true shows the same tls_peer_certs, and the same tls_version", async () => {
    const odd = makeClientCert(certs, "peer-odd", "/DC=com/DC=example/O=gnat/OU=b/OU=a/CN=carol/emailAddress=carol@example.com");
    const tls = { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, verify: true };
    const gnat = await startGnat({ httpPort: 0, tls });
    const dir = mkdtempSync(join(tmpdir(), "gnat-tls-mon-"));
    const [port, http] = [await freePort(), await freePort()];
    writeFileSync(join(dir, "n.conf"), `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${http}\n${tlsBlock(", verify: true")}`);
    const nats = await spawnNatsServer(["-c", join(dir, "n.conf")], port);
    try {
      const peers = await Promise.all([[gnat.port, gnat.monitorUrl], [port, `http://127.0.0.1:${http}`]].map(async ([p, url]) => {
        const out: unknown[] = [];
        for (const cert of [certs.alice, odd]) {
          const c = await upgrade(p as number, cert);
          c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
          await c.until("PONG");
          const connz = (await (await fetch(`${url as string}/connz?auth=true`)).json()) as { connections: Record<string, unknown>[] };
          const conn = connz.connections.at(-1)!;
          out.push({ version: conn.tls_version, peers: conn.tls_peer_certs });
          c.socket.destroy();
          await c.rest(500);
        }
        return out;
      }));
      expect(peers[0]).toEqual(peers[1]);
      expect((peers[1]![1] as { peers: { subject: string }[] }).peers[0]!.subject).toContain("CN=carol,OU=b+OU=a,O=gnat,");
    } finally {
      await nats.stop();
      await gnat.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("pinned_certs", () => {
    let pair: Pair;
    beforeAll(async () => {
      const spki = createHash("sha256")
        .update(new X509Certificate(certs.pem(certs.alice.cert)).publicKey.export({ type: "spki", format: "der" })).digest("hex");
      pair = await startPair({}, tlsBlock(`, verify: true, pinned_certs: [${JSON.stringify(spki)}]`));
    });
    afterAll(() => pair?.close());

    test.each([["alice", true], ["bob", false]] as const)("%s's certificate (pinned: %s) gets the same treatment from both", async (who, pinned) => {
      const got = await Promise.all([pair.gnatPort, pair.natsPort].map(async (port) => {
        const c = await upgrade(port, certs[who]);
        c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
        return c.rest(1000);
      }));
      expect(got[1]).toBe(pinned ? "PONG\r\n" : "");
      expect(got[0]).toBe(got[1]);
    });
  });

  describe("verify_and_map", () => {
    let pair: Pair;
    const users = [
      "alice@example.com",
      "bob.example.com",
    ];
    beforeAll(async () => {
      const list = users.map((u) => `{ user: ${JSON.stringify(u)}, permissions: { publish: ${JSON.stringify(`${u.split(/[@.]/)[0]}.>`)} } }`).join(", ");
      pair = await startPair({}, `${tlsBlock(", verify_and_map: true")}authorization { users: [ ${list} ] }\n`);
    });
    afterAll(() => pair?.close());

    /** What a client with `cert` gets for a CONNECT, a permitted and a forbidden publish. */
    async function outcome(port: number, cert: CertPair, subject: string): Promise<string> {
      const c = await upgrade(port, cert);
      c.socket.write(`CONNECT {"verbose":false}\r\nPUB ${subject} 0\r\n\r\nPING\r\n`);
      await c.until("PONG");
      return c.rest(200);
    }

    test.each([
      ["alice (email SAN)", "alice", "alice.x", "PONG\r\n"],
      ["alice, outside her permissions", "alice", "bob.x", "-ERR 'Permissions Violation for Publish to \"bob.x\"'\r\nPONG\r\n"],
      ["bob (DNS SAN)", "bob", "bob.x", "PONG\r\n"],
      ["mallory (named by no user)", "mallory", "x", "-ERR 'Authorization Violation'\r\n"],
    ] as const)("%s gets the same answer from both", async (_label, who, subject, expected) => {
      const cert = certs[who];
      const [g, n] = await Promise.all([outcome(pair.gnatPort, cert, subject), outcome(pair.natsPort, cert, subject)]);
      expect(n).toBe(expected);
      expect(g).toBe(n);
    });
  });

  describe("verify_and_map by subject DN", () => {
    test.each([
      ["CN=alice,OU=eng,O=gnat", true],
      ["CN=alice, OU=eng, O=gnat", true],
      ["cn=alice,ou=eng,o=gnat", true],
      ["O=gnat,OU=eng,CN=alice", true],
      ["CN=Alice,OU=eng,O=gnat", false],
      ["CN=alice,O=gnat", false],
    ] as const)("user %j for alice's certificate: the same verdict from both", async (user, expected) => {
      // alice's email SAN names no user here, so the subject decides.
      await verdicts(user, certs.alice, expected);
    });

    // Subjects whose string form takes Go's rules: regrouping, escaping, the last CN, DCs.
    test.each([
      ["/CN=first/OU=b/O=Acme\\, Inc./OU=a/C=US/CN=last", "CN=last,OU=b+OU=a,O=Acme\\, Inc.,C=US", true],
      ["/CN=first/OU=b/O=Acme\\, Inc./OU=a/C=US/CN=last", "CN=first,OU=b,O=Acme\\, Inc.,OU=a,C=US,CN=last", true], // the DN, RDNs in any order
      ["/CN=first/OU=b/O=Acme\\, Inc./OU=a/C=US/CN=last", "CN=first,OU=b,O=Acme\\, Inc.,OU=a,C=US", false],
      ["/DC=com/DC=example/O=gnat/CN=dave", "CN=dave,O=gnat,DC=com,DC=example", true],
      ["/DC=com/DC=example/O=gnat/CN=dave", "CN=dave,O=gnat,DC=example,DC=com", true],
      ["/DC=com/DC=example/O=gnat/CN=dave", "CN=dave,O=gnat", true],
      ["/O=gnat/CN=carol/emailAddress=carol@example.com", "CN=carol,O=gnat", true],
    ] as const)("certificate %s, user %j: the same verdict from both", async (subj, user, expected) => {
      const cert = makeClientCert(certs, `s${Math.random().toString(36).slice(2, 8)}`, subj);
      await verdicts(user, cert, expected);
    });

    async function verdicts(user: string, cert: CertPair, expected: boolean): Promise<void> {
      const pair = await startPair({}, `${tlsBlock(", verify_and_map: true")}authorization { users: [ { user: ${JSON.stringify(user)} } ] }\n`);
      try {
        const got = await Promise.all([pair.gnatPort, pair.natsPort].map(async (port) => {
          const c = await upgrade(port, cert);
          c.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
          const got = await c.until("\r\n");
          c.socket.destroy();
          return got.startsWith("PONG");
        }));
        expect(got).toEqual([expected, expected]);
      } finally {
        await pair.close();
      }
    }
  });
});
