// The HTTP/WebSocket engines (uWebSockets.js where it loads, node:http with ws everywhere): which
// one serves is chosen at start and shown in /varz; each refuses a port that is taken, as
// nats-server does; and no request, upgrade or frame can bring the process down.
import { connect, createServer as netServer, type Server as NetServer } from "node:net";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { loadUws } from "../../server/transport/engine-uws.js";
import { ENGINES } from "../helpers/engines.js";
import { startGnat } from "../kit/gnat.js";

/** Send raw bytes, collect what comes back until the server closes (closed) or `ms` passes. */
function rawExchange(port: number, bytes: string | Buffer, ms = 500): Promise<{ got: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    let closed = true;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ got, closed });
    };
    const timer = setTimeout(() => {
      closed = false;
      done();
    }, ms);
    s.on("data", (d) => {
      got += d.toString("latin1");
    });
    s.on("error", done);
    s.on("close", done);
    s.write(bytes);
  });
}

async function varz(s: Server): Promise<Record<string, unknown>> {
  const r = await fetch(`${s.monitorUrl}/varz`);
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

function holdPort(): Promise<NetServer> {
  return new Promise((resolve) => {
    const s = netServer();
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

const portOf = (s: NetServer): number => (s.address() as { port: number }).port;
const wsPort = (s: Server): number => Number(new URL(s.websocketUrl).port);
const httpPort = (s: Server): number => Number(new URL(s.monitorUrl).port);

test("the engine in use is the one GNAT_HTTP_ENGINE names, else uWS where it loads", async () => {
  const s = await startGnat({ httpPort: 0 });
  try {
    const env = process.env["GNAT_HTTP_ENGINE"];
    expect((await varz(s))["http_engine"]).toBe(env === "uws" || env === "node" ? env : loadUws().ok ? "uws" : "node");
  } finally {
    await s.close();
  }
});

test.runIf(!loadUws().ok)("forcing uWS where it cannot load fails the start with the reason", async () => {
  await expect(startGnat({ httpPort: 0, httpEngine: "uws" }))
    .rejects.toThrow(/^uWebSockets\.js cannot load on Node /);
});

describe.each(ENGINES)("on %s", (engine) => {
  let server: Server;
  beforeAll(async () => {
    server = await startGnat({ httpPort: 0, httpEngine: engine,
      websocket: { host: "127.0.0.1", port: 0, noTls: true } });
  });
  afterAll(() => server.close());

  test("/varz names the engine", async () => {
    expect((await varz(server))["http_engine"]).toBe(engine);
  });

  test("a second server refuses a monitoring port that is taken, as nats-server does, and the first goes on", async () => {
    const p = httpPort(server);
    await expect(startGnat({ httpPort: p, httpEngine: engine }))
      .rejects.toThrow(`can't listen to the monitor port: listen tcp 127.0.0.1:${p}: bind: address already in use`);
    const other = await holdPort();
    try {
      const q = portOf(other);
      await expect(startGnat({ httpPort: q, httpEngine: engine }))
        .rejects.toThrow(`can't listen to the monitor port: listen tcp 127.0.0.1:${q}: bind: address already in use`);
    } finally {
      other.close();
    }
    expect((await varz(server))["http_engine"]).toBe(engine);
  });

  test("a second server refuses a WebSocket port that is taken", async () => {
    const p = wsPort(server);
    await expect(startGnat({ httpEngine: engine, websocket: { host: "127.0.0.1", port: p, noTls: true } }))
      .rejects.toThrow(`Unable to listen for websocket connections: listen tcp 127.0.0.1:${p}: bind: address already in use`);
    const ws = new WebSocket(server.websocketUrl);
    const first = await new Promise<string>((resolve) => ws.once("message", (d: Buffer) => resolve(d.toString())));
    expect(first).toMatch(/^INFO /);
    ws.terminate();
  });

  test("an exception in a monitoring handler is a 500, logged, and the server goes on", async () => {
    const routes = (server.monitor as unknown as { routes: Map<string, unknown> }).routes;
    const saved = routes.get("/subsz");
    routes.set("/subsz", () => {
      throw new Error("boom");
    });
    try {
      const r = await fetch(`${server.monitorUrl}/subsz`);
      expect(r.status).toBe(500);
    } finally {
      routes.set("/subsz", saved);
    }
    expect((await fetch(`${server.monitorUrl}/subsz`)).status).toBe(200);
  });

  // Each of these once brought a server down somewhere (the uWS fallback threw on a URL it could
  // not parse), or is the kind of input that could.
  const badRequests: [string, string][] = [
    ["garbage instead of a request line", "\x00\x01\x02 garbage\r\n\r\n"],
    ["a path that is not a URL", "GET //\r\nHost: x\r\n\r\n"],
    ["a percent sign with nothing after it", "GET /connz?sort=% HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a malformed escape in the query", "GET /varz?a=%zz&b=%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["an absolute URL", "GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["no Host header", "GET /varz HTTP/1.1\r\n\r\n"],
    ["a huge header", `GET /varz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`],
    ["a body on a GET", "GET /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"],
    ["a lying Content-Length", "POST /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\nshort"],
    ["an upgrade on the monitoring port", "GET /varz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"],
  ];
  test.each(badRequests)("monitoring survives %s", async (_name, bytes) => {
    await rawExchange(httpPort(server), bytes);
    expect((await varz(server))["http_engine"]).toBe(engine);
  });

  const badUpgrades: [string, string][] = [
    ["an upgrade without a key", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"],
    ["an upgrade with a bad version", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n"],
    ["garbage", "\xff\xfe\r\n\r\n"],
    ["a request that never ends", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"],
  ];
  test.each(badUpgrades)("the WebSocket port survives %s", async (_name, bytes) => {
    await rawExchange(wsPort(server), bytes, 300);
    const ws = new WebSocket(server.websocketUrl);
    const first = await new Promise<string>((resolve) => ws.once("message", (d: Buffer) => resolve(d.toString())));
    expect(first).toMatch(/^INFO /);
    ws.terminate();
  });

  const upgrade = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const badFrames: [string, Buffer][] = [
    ["an unmasked frame", Buffer.from([0x82, 0x04, 0x50, 0x49, 0x4e, 0x47])],
    ["a reserved opcode", Buffer.from([0x83, 0x80, 1, 2, 3, 4])],
    ["RSV bits without compression", Buffer.from([0xc2, 0x80, 1, 2, 3, 4])],
    ["a continuation with nothing to continue", Buffer.from([0x80, 0x80, 1, 2, 3, 4])],
    ["a 64-bit length far over the limit", Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])],
    ["a fragmented control frame", Buffer.from([0x09, 0x80, 1, 2, 3, 4])],
  ];
  // node:http with ws closes such a client with a close frame (1002, 1009), as nats-server does;
  // this uWS build ignores the frame and leaves the connection open, which harms no one else.
  test.each(badFrames)("a WebSocket client that sends %s is closed (node:http), and no other client is touched", async (_name, frame) => {
    const bystander = new WebSocket(server.websocketUrl);
    await new Promise<void>((resolve) => bystander.once("message", () => resolve()));
    const { got, closed } = await rawExchange(wsPort(server), Buffer.concat([Buffer.from(upgrade), frame]), engine === "node" ? 5000 : 500);
    expect(got).toMatch(/^HTTP\/1\.1 101 /);
    if (engine === "node") expect(closed).toBe(true);
    const pong = new Promise<string>((resolve) => bystander.once("message", (d: Buffer) => resolve(d.toString())));
    bystander.send('CONNECT {"verbose":false}\r\nPING\r\n');
    expect(await pong).toBe("PONG\r\n");
    bystander.terminate();
  });
});
