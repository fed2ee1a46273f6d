// Hostile clients, one test each (issue #11): a never-ending control line, a huge announced
// payload, 100k SUBs on one connection, a flood of connections past max_connections, a client
// that never reads, a half-closed and a half-open socket, no CONNECT before auth_timeout, and
// repeated wrong passwords. Where nats-server is installed, the bytes a hostile client gets are
// compared with what nats-server sends it. (Garbage in general: robustness.test.ts, fuzz.test.ts.)
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { type Server, type ServerOptionsInput } from "../../server/index.js";
import { NATS_SERVER, startPair, type Limits, type Pair } from "../differential/harness.js";
import { rawPeer } from "../transport/ws-helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(opts: ServerOptionsInput = {}): Promise<Server> {
  server = await startGnat({ ...opts });
  return server;
}

function open(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", ...(localAddress !== undefined ? { localAddress } : {}) }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Send, then collect until `until` appears (or the socket closes). */
function exchange(s: Socket, bytes: string, until: string, ms = 10_000): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(until)}; got ${JSON.stringify(out.slice(-200))}`)), ms);
    const onData = (d: Buffer): void => {
      out += d.toString("latin1");
      if (out.includes(until)) {
        clearTimeout(t);
        s.off("data", onData);
        resolve({ out, closed: false });
      }
    };
    s.on("data", onData);
    s.once("close", () => {
      clearTimeout(t);
      resolve({ out, closed: true });
    });
    s.write(bytes);
  });
}

test("100,000 subscriptions on one connection: accepted, matched, and all gone when it closes", async () => {
  const s = await start();
  // The server's own subscriptions ($SYS.REQ.USER.INFO in $G) are there before any client's.
  const base = s.router.sublist.size;
  const c = await open(s.port);
  c.on("error", () => {});
  const subs: string[] = ['CONNECT {"verbose":false}\r\n'];
  for (let i = 0; i < 100_000; i++) subs.push(`SUB many.${i} ${i}\r\n`);
  await exchange(c, subs.join("") + "PING\r\n", "PONG\r\n", 30_000);
  expect(s.router.sublist.size - base).toBe(100_000);
  const r = await exchange(c, "PUB many.99999 2\r\nok\r\nPING\r\n", "PONG\r\n");
  expect(r.out).toContain("MSG many.99999 99999 2\r\nok\r\n");
  c.destroy();
  await expect.poll(() => s.router.sublist.size, { timeout: 10_000 }).toBe(base);
}, 60_000);

test("a flood of connections past max_connections: the excess is refused, the rest are served", async () => {
  const s = await start({ maxConnections: 20 });
  const socks = await Promise.all(Array.from({ length: 100 }, () => open(s.port)));
  const results = await Promise.all(socks.map((c) => {
    c.on("error", () => {});
    return exchange(c, 'CONNECT {"verbose":false}\r\nPING\r\n', "PONG\r\n").catch(() => ({ out: "", closed: true }));
  }));
  const served = results.filter((r) => r.out.includes("PONG\r\n")).length;
  // Exactly INFO, the -ERR, a close. (Not compared with nats-server: 2.9.10, asked the same with
  // max_connections 1, sent the INFO and then neither the -ERR nor a close within 10 s.)
  const refused = results.filter((r) => /^INFO \{.*\} \r\n-ERR 'maximum connections exceeded'\r\n$/s.test(r.out) && r.closed).length;
  expect(served).toBe(20);
  expect(refused).toBe(80);
  expect(s.clients.size).toBe(20);
  for (const c of socks) c.destroy();
  await expect.poll(() => s.clients.size).toBe(0);
  // Room again for a newcomer.
  const late = await open(s.port);
  expect((await exchange(late, "PING\r\n", "PONG\r\n")).out).toContain("PONG");
  late.destroy();
}, 30_000);

test("a half-closed socket (FIN sent, still reading) is closed and its subscriptions removed", async () => {
  const s = await start();
  const base = s.router.sublist.size;
  const c = await open(s.port);
  c.on("error", () => {});
  await exchange(c, 'CONNECT {"verbose":false}\r\nSUB half 1\r\nPING\r\n', "PONG\r\n");
  expect(s.router.sublist.size).toBe(base + 1);
  const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
  c.end();
  await closed;
  await expect.poll(() => s.router.sublist.size).toBe(base);
  expect(s.clients.size).toBe(0);
});

/** Everything a socket receives until the server closes it (or `ms` pass: an error). */
function untilClosed(s: Socket, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`not closed; got ${JSON.stringify(out.slice(-200))}`)), ms);
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.once("close", () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

const INFO_LINE = /^INFO \{.*?\} \r\n/;
const withoutInfo = (out: string): string => out.replace(INFO_LINE, "INFO <info>\r\n");

/**
 * Run `hostile` against gnat and, when installed, nats-server with the same limits and config;
 * returns [gnat, nats-server] outputs (INFO normalised) for the caller to compare.
 */
async function both(limits: Limits, config: string, hostile: (port: number) => Promise<string>): Promise<[string, string | null]> {
  if (NATS_SERVER === null) {
    const opts = config === "" ? {} : (await import("../../server/config/index.js")).configToOptions((await import("../../server/config/index.js")).parseConfig(config)).options;
    const s = await start({ ...limits, ...opts });
    return [withoutInfo(await hostile(s.port)), null];
  }
  const pair: Pair = await startPair(limits, config);
  try {
    const [g, n] = await Promise.all([hostile(pair.gnatPort), hostile(pair.natsPort)]);
    return [withoutInfo(g), withoutInfo(n)];
  } finally {
    await pair.close();
  }
}

describe("byte for byte what nats-server sends a hostile client", () => {
  test("a never-ending control line: cut off at max_control_line with -ERR and a close, not buffered", async () => {
    const [g, n] = await both({ maxControlLine: 1024 }, "", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const done = untilClosed(c);
      await new Promise((r) => c.once("data", r));
      // Keep sending a control line that never ends, far past the limit, until the server hangs
      // up (waiting for drain between writes, so what the server sends back is read meanwhile).
      const chunk = Buffer.alloc(16 * 1024, "x");
      c.write("PUB ");
      let sent = 0;
      const LIMIT = 64 * 1024 * 1024;
      const pump = (): void => {
        while (!c.destroyed && sent < LIMIT && c.write(chunk)) sent += chunk.length;
        if (!c.destroyed && sent < LIMIT) c.once("drain", pump);
      };
      pump();
      const out = await done;
      expect(sent, "the server hung up long before 64 MiB").toBeLessThan(LIMIT);
      return out;
    });
    expect(g).toBe("INFO <info>\r\n-ERR 'maximum control line exceeded'\r\n");
    // nats-server sends the same -ERR, but closes with the flood still unread, so its kernel
    // answers with a reset and the -ERR is usually lost on the way (seen without the flood: the
    // same bytes, in test/server/robustness.test.ts and here). What arrives is a prefix of ours.
    if (n !== null) expect(g.startsWith(n)).toBe(true);
  }, 30_000);

  test("a control line just past max_control_line, sent at once: the same -ERR from both", async () => {
    const [g, n] = await both({ maxControlLine: 1024 }, "", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const done = untilClosed(c);
      await new Promise((r) => c.once("data", r));
      c.write(`PUB ${"x".repeat(2048)}`);
      return done;
    });
    expect(g).toBe("INFO <info>\r\n-ERR 'maximum control line exceeded'\r\n");
    if (n !== null) expect(g).toBe(n);
  });

  test.each([
    ["PUB foo 1048577\r\n", "-ERR 'Maximum Payload Violation'\r\n"],
    ['CONNECT {"verbose":false,"headers":true}\r\nHPUB foo 12 1048577\r\n', "-ERR 'Maximum Payload Violation'\r\n"],
    // Sizes past nine digits are not sizes at all: a silent close, as nats-server does.
    ["PUB foo 99999999999999999\r\n", ""],
    ['CONNECT {"verbose":false,"headers":true}\r\nHPUB foo 12 99999999999\r\n', ""],
  ])("a huge announced payload (%j) is refused before any of it is read", async (line, err) => {
    const [g, n] = await both({}, "", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const done = untilClosed(c);
      await new Promise((r) => c.once("data", r));
      c.write(line);
      return done;
    });
    expect(g).toBe(`INFO <info>\r\n${err}`);
    if (n !== null) expect(g).toBe(n);
  });

  test("100,000 SUBs on one connection: no -ERR, and a message to the last one is delivered", async () => {
    const [g, n] = await both({}, "", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const subs: string[] = ['CONNECT {"verbose":false}\r\n'];
      for (let i = 0; i < 100_000; i++) subs.push(`SUB many.${i} ${i}\r\n`);
      subs.push("PUB many.99999 2\r\nok\r\nPING\r\n");
      const r = await exchange(c, subs.join(""), "PONG\r\n", 30_000);
      c.destroy();
      // Both servers PING a new client after its first second or two (to learn its RTT): on a
      // busy machine the 100,000 SUBs outlast that, and the PING lands among the replies.
      return r.out.replace(/^PING\r\n/gm, "");
    });
    expect(g).toBe("INFO <info>\r\nMSG many.99999 99999 2\r\nok\r\nPONG\r\n");
    if (n !== null) expect(g).toBe(n);
  }, 60_000);

  test("a half-open socket (the peer vanished: no FIN, no PONG) is PINGed, then closed as stale", async () => {
    const [g, n] = await both({ pingInterval: 100, pingMax: 2 }, "", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const done = untilClosed(c);
      c.write('CONNECT {"verbose":false}\r\nSUB gone 1\r\n');
      // From here on it never answers: the server only learns from its unanswered PINGs.
      return done;
    });
    expect(g).toBe("INFO <info>\r\nPING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
    if (n !== null) expect(g).toBe(n);
  });

  test("no CONNECT before auth_timeout, even trickling bytes, gets Authentication Timeout and a close", async () => {
    const [g, n] = await both({}, "authorization { token: t, timeout: 0.3 }\n", async (port) => {
      const c = await open(port);
      c.on("error", () => {});
      const done = untilClosed(c);
      // A slowloris: one byte of a CONNECT that never completes, every 20 ms.
      const line = 'CONNECT {"auth_token":"t"                                                             ';
      let i = 0;
      const t = setInterval(() => (c.destroyed || i >= line.length ? clearInterval(t) : c.write(line[i++]!)), 20);
      const out = await done;
      clearInterval(t);
      return out;
    });
    expect(g).toBe("INFO <info>\r\n-ERR 'Authentication Timeout'\r\n");
    if (n !== null) expect(g).toBe(n);
  });

  test("a client that never reads is cut off as a slow consumer without an -ERR; the publisher goes on", async () => {
    // nats-server cuts such a client off when a write to it has been stuck for write_deadline
    // (10 s by default), gnat when max_pending is full, whichever comes first: 1 s keeps the
    // test from waiting 10 s on nats-server's side for the same outcome.
    const [g, n] = await both({ maxPending: 256 * 1024, maxPayload: 64 * 1024 }, 'write_deadline: "1s"\n', async (port) => {
      const dead = await open(port);
      dead.on("error", () => {});
      await exchange(dead, 'CONNECT {"verbose":false}\r\nSUB firehose 1\r\nPING\r\n', "PONG\r\n");
      dead.pause();
      const pub = await open(port);
      pub.on("error", () => {});
      await exchange(pub, 'CONNECT {"verbose":false}\r\nPING\r\n', "PONG\r\n");
      // 32 MiB: far more than the kernel's socket buffers and max_pending hold together.
      const msg = `PUB firehose 1024\r\n${"m".repeat(1024)}\r\n`.repeat(64);
      for (let i = 0; i < 512; i++) {
        if (!pub.write(msg)) await new Promise((r) => pub.once("drain", r));
      }
      expect((await exchange(pub, "PING\r\n", "PONG\r\n", 30_000)).closed).toBe(false);
      const done = untilClosed(dead, 30_000);
      dead.resume();
      const out = await done;
      pub.destroy();
      // What it had been sent: MSGs (the last maybe cut short), then the close; never an -ERR.
      return `${out.startsWith("MSG firehose 1 1024\r\n") ? "MSGs" : JSON.stringify(out.slice(0, 40))}, then a close ${out.includes("-ERR") ? "with" : "without"} -ERR`;
    });
    expect(g).toBe("MSGs, then a close without -ERR");
    if (n !== null) expect(g).toBe(n);
  }, 90_000);
});

describe("repeated wrong passwords", () => {
  const AUTH = "authorization { users: [ { user: alice, password: wonder } ], timeout: 5 }\n";
  const WRONG = 'CONNECT {"verbose":false,"user":"alice","pass":"guess"}\r\nPING\r\n';
  const RIGHT = 'CONNECT {"verbose":false,"user":"alice","pass":"wonder"}\r\nPING\r\n';

  /** One guess on a new connection from `from`: what came back, and how long the answer took. */
  async function attempt(port: number, bytes: string, from = "127.0.0.1"): Promise<{ out: string; ms: number }> {
    const c = await open(port, from);
    c.on("error", () => {});
    const done = untilClosed(c);
    await new Promise((r) => c.once("data", r));
    const t0 = performance.now();
    c.write(bytes);
    const out = await done;
    return { out: withoutInfo(out), ms: performance.now() - t0 };
  }

  test("each wrong password gets exactly nats-server's -ERR and close; the first ones at once", async () => {
    const [g, n] = await both({}, AUTH, async (port) => {
      const outs: string[] = [];
      for (let i = 0; i < 3; i++) outs.push((await attempt(port, WRONG)).out);
      return outs.join("|");
    });
    const one = "INFO <info>\r\n-ERR 'Authorization Violation'\r\n";
    expect(g).toBe([one, one, one].join("|"));
    if (n !== null) expect(g).toBe(n);
  });

  test("past a few failures an IP is backed off: its -ERR and its next INFO wait; other IPs and the event loop do not", async () => {
    const s = await start({ authorization: { users: [{ user: "alice", password: "wonder" }], throttle: { free: 2, baseMs: 1500, maxMs: 1500, exemptLoopback: false } } });
    const guesser = "127.0.0.2";
    for (let i = 0; i < 2; i++) expect((await attempt(s.port, WRONG, guesser)).out).toBe("INFO <info>\r\n-ERR 'Authorization Violation'\r\n");
    // The third failure: the same bytes, but only after the backoff.
    const third = await attempt(s.port, WRONG, guesser);
    expect(third.out).toBe("INFO <info>\r\n-ERR 'Authorization Violation'\r\n");
    expect(third.ms).toBeGreaterThanOrEqual(1490);
    // A new connection from the guessing IP is not greeted yet...
    const waiting = await open(s.port, guesser);
    waiting.on("error", () => {});
    let greeted = "";
    const info = new Promise<void>((r) => waiting.once("data", (d: Buffer) => {
      greeted = d.toString("latin1");
      r();
    }));
    // ...while a correct login from another IP is served at once, during the backoff.
    const other = await open(s.port, "127.0.0.3");
    other.on("error", () => {});
    expect((await exchange(other, RIGHT, "PONG\r\n")).out).toMatch(/^INFO .*\r\nPONG\r\n$/s);
    expect(greeted).toBe("");
    // Once the backoff has passed, the waiting connection is greeted and may log in.
    await info;
    expect(greeted).toMatch(/^INFO \{.*\} \r\n$/);
    expect((await exchange(waiting, RIGHT, "PONG\r\n")).out).toBe("PONG\r\n");
    other.destroy();
    waiting.destroy();
  }, 20_000);

  test("a WebSocket client from a backing-off IP waits too, and what it sent early is answered after its INFO", async () => {
    const s = await start({ authorization: { users: [{ user: "alice", password: "wonder" }], throttle: { free: 1, baseMs: 300, maxMs: 300, exemptLoopback: false } },
      websocket: { host: "127.0.0.1", port: 0, noTls: true } });
    for (let i = 0; i < 2; i++) expect((await attempt(s.port, WRONG)).out).toBe("INFO <info>\r\n-ERR 'Authorization Violation'\r\n");
    const t0 = performance.now();
    const peer = await rawPeer(s.websocketUrl);
    // Sent before the INFO: a WebSocket read cannot be paused, so the server holds these bytes.
    peer.ws.send(RIGHT);
    const text = await peer.waitFor(/PONG\r\n/, 5000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(text).toMatch(/^INFO \{.*\} \r\nPONG\r\n$/s);
    peer.ws.close();
  });

  test("throttle: false answers every failure at once, as nats-server", async () => {
    const s = await start({ authorization: { users: [{ user: "alice", password: "wonder" }], throttle: false } });
    for (let i = 0; i < 8; i++) expect((await attempt(s.port, WRONG, "127.0.0.4")).out).toBe("INFO <info>\r\n-ERR 'Authorization Violation'\r\n");
    expect(s.authThrottle).toBeNull();
  });
});
