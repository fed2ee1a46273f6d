// The WebSocket transport over real sockets: a raw `ws` peer, a TCP peer, bad input, options.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { startServer, type Server } from "../../server/index.js";
import { rawClient } from "../kit/clients.js";
import { settle } from "../kit/wait.js";
import { rawPeer } from "./ws-helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server;
beforeAll(async () => {
  server = await startGnat({ maxPayload: 4096, websocket: { host: "127.0.0.1", port: 0, noTls: true } });
});
afterAll(async () => {
  await server.close();
});

/** Wait until the server has `n` clients (closing ones take a turn of the event loop to go). */
async function clientsSettle(n: number): Promise<void> {
  await settle(() => server.clients.size === n, { timeout: 2000 });
  expect(server.clients.size).toBe(n);
}

function httpGet(url: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("WebSocket transport", () => {
  test("sends INFO in a binary frame as soon as the upgrade completes", async () => {
    const p = await rawPeer(server.websocketUrl);
    const info = await p.waitFor(/^INFO \{.*\} \r\n/);
    expect(JSON.parse(info.slice(5, info.indexOf("\r\n")))).toMatchObject({ headers: true, max_payload: 4096, client_ip: "127.0.0.1" });
    p.ws.close();
  });

  test("sends every frame binary", async () => {
    const p = await rawPeer(server.websocketUrl);
    const kinds: boolean[] = [];
    p.ws.on("message", (_d, isBinary) => kinds.push(isBinary));
    p.ws.send("CONNECT {}\r\nPING\r\n");
    await p.waitFor(/PONG\r\n/);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((b) => b)).toBe(true);
    p.ws.close();
  });

  test("reads protocol lines split across frames", async () => {
    const p = await rawPeer(server.websocketUrl);
    const bytes = "CONNECT {\"verbose\":false}\r\nSUB split.a 1\r\nPUB split.a 5\r\nhello\r\nPING\r\n";
    // One byte per frame: every line, and the payload, arrives in pieces.
    for (const ch of bytes) p.ws.send(Buffer.from(ch, "latin1"));
    const t = await p.waitFor(/PONG\r\n/);
    expect(t).toContain("MSG split.a 1 5\r\nhello\r\n");
    p.ws.close();
  });

  test("reads several operations joined in one frame", async () => {
    const p = await rawPeer(server.websocketUrl);
    p.ws.send(Buffer.from("CONNECT {\"verbose\":false}\r\nSUB joined 1\r\nPUB joined 1\r\na\r\nPUB joined 1\r\nb\r\nPING\r\n"));
    const t = await p.waitFor(/PONG\r\n/);
    expect(t.match(/MSG joined 1 1\r\n[ab]\r\n/g)).toEqual(["MSG joined 1 1\r\na\r\n", "MSG joined 1 1\r\nb\r\n"]);
    p.ws.close();
  });

  test("answers WebSocket pings with pongs", async () => {
    const p = await rawPeer(server.websocketUrl);
    const pong = new Promise<string>((resolve) => p.ws.once("pong", (d: Buffer) => resolve(d.toString())));
    p.ws.ping("are you there");
    expect(await pong).toBe("are you there");
    p.ws.close();
  });

  test("a WebSocket client and a TCP client exchange messages both ways", async () => {
    const w = await rawPeer(server.websocketUrl);
    w.ws.send("CONNECT {\"verbose\":false}\r\nSUB to.ws 1\r\nPING\r\n");
    await w.waitFor(/PONG\r\n/);
    const t = await rawClient(server.port);
    t.write("SUB to.tcp 1\r\nPING\r\n");
    await t.waitFor(/PONG\r\nPONG\r\n/);
    t.write("PUB to.ws 8\r\nfrom tcp\r\n");
    w.ws.send("PUB to.tcp 7\r\nfrom ws\r\n");
    await w.waitFor(/MSG to\.ws 1 8\r\nfrom tcp\r\n/);
    await t.waitFor(/MSG to\.tcp 1 7\r\nfrom ws\r\n/);
    w.ws.close();
    t.close();
  });

  test("answers a plain HTTP request with 400 and goes on serving WebSocket clients", async () => {
    const url = server.websocketUrl.replace(/^ws:/, "http:");
    expect(await httpGet(url)).toEqual({ status: 400, body: "Bad Request\n" });
    expect((await httpGet(url, "POST")).status).toBe(405);
    const p = await rawPeer(server.websocketUrl);
    await p.waitFor(/^INFO /);
    p.ws.close();
  });

  test("closes a client that sends a frame far beyond max_payload, and only that client", async () => {
    const other = await rawPeer(server.websocketUrl);
    const p = await rawPeer(server.websocketUrl);
    // max_payload is 4096 here; the frame limit is max_payload + max_control_line + 64 KiB.
    p.ws.send(Buffer.alloc(200 * 1024, 0x41));
    const code = await Promise.race([p.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
    expect(code).not.toBe(-1);
    other.ws.send("CONNECT {}\r\nPING\r\n");
    await other.waitFor(/PONG\r\n/);
    other.ws.close();
  });

  test("a PUB over max_payload inside a frame gets nats-server's -ERR and is closed", async () => {
    const p = await rawPeer(server.websocketUrl);
    p.ws.send(`CONNECT {"verbose":false}\r\nPUB big 5000\r\n${"x".repeat(5000)}\r\n`);
    await p.waitFor(/-ERR 'Maximum Payload Violation'\r\n/);
    expect(await p.closed).toBeGreaterThan(0);
  });

  test("a client that goes away in the middle of a message is removed and delivers nothing", async () => {
    await clientsSettle(0);
    const sub = await rawClient(server.port);
    sub.write("SUB midway 1\r\nPING\r\n");
    await sub.waitFor(/PONG\r\nPONG\r\n/);
    const before = 1;
    const p = await rawPeer(server.websocketUrl);
    // Written to the kernel before the drop below, so the server reads the partial message first.
    await new Promise<void>((resolve) => p.ws.send("CONNECT {\"verbose\":false}\r\nPUB midway 100\r\nonly part of the paylo", () => resolve()));
    expect(server.clients.size).toBe(before + 1);
    // No close frame: the TCP connection just drops.
    p.ws.terminate();
    await clientsSettle(before);
    sub.write("PING\r\n");
    await sub.waitFor(/PONG\r\nPONG\r\nPONG\r\n/);
    expect(sub.text()).not.toContain("MSG midway");
    sub.close();
  });

  test("a client that closes in the middle of a line is removed cleanly", async () => {
    await clientsSettle(0);
    const p = await rawPeer(server.websocketUrl);
    p.ws.send("CONNECT {\"verbose\":false}\r\nSUB half");
    await clientsSettle(1);
    p.ws.close(1000);
    expect(await p.closed).toBe(1000);
    await clientsSettle(0);
  });
});

describe("WebSocket options", () => {
  test("refuses to start without no_tls, with nats-server's error", async () => {
    await expect(startServer({ port: 0, noLog: true, websocket: { port: 0 } })).rejects.toThrow("websocket requires TLS configuration");
  });

  test("writes the WebSocket URL into the ports file as nats-server does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-ws-ports-"));
    const s = await startServer({ port: -1, noLog: true, portsFileDir: dir, websocket: { port: -1, noTls: true } });
    try {
      const [file] = readdirSync(dir);
      const ports = JSON.parse(readFileSync(join(dir, file!), "utf8")) as Record<string, string[]>;
      expect(ports["websocket"]).toEqual([s.websocketUrl]);
      expect(s.websocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await s.close();
    }
  });

  test("has no WebSocket listener unless asked", async () => {
    const s = await startServer({ port: 0, noLog: true });
    expect(s.websocketUrl).toBe("");
    expect(s.ports().websocket).toBeUndefined();
    await s.close();
  });

  test("negotiates permessage-deflate only with compression on", async () => {
    const on = await startServer({ port: 0, noLog: true, websocket: { port: 0, noTls: true, compression: true } });
    try {
      const a = await rawPeer(on.websocketUrl);
      expect(a.ws.extensions).toContain("permessage-deflate");
      a.ws.send("CONNECT {}\r\nPING\r\n");
      await a.waitFor(/PONG\r\n/);
      a.ws.close();
      const b = await rawPeer(server.websocketUrl);
      expect(b.ws.extensions).toBe("");
      b.ws.close();
    } finally {
      await on.close();
    }
  });

  test("same_origin refuses a browser from another origin with 403, and lets its own in", async () => {
    const s = await startServer({ port: 0, noLog: true, websocket: { host: "127.0.0.1", port: 0, noTls: true, sameOrigin: true } });
    try {
      const port = new URL(s.websocketUrl).port;
      await expect(rawPeer(s.websocketUrl, { Origin: "http://elsewhere.example" })).rejects.toThrow(/403/);
      const ok = await rawPeer(s.websocketUrl, { Origin: `http://127.0.0.1:${port}` });
      await ok.waitFor(/^INFO /);
      ok.ws.close();
      // No Origin at all: not a browser, let in (as nats-server does).
      const none = await rawPeer(s.websocketUrl);
      none.ws.close();
    } finally {
      await s.close();
    }
  });

  test("allowed_origins lets in only the listed scheme, host and port", async () => {
    const s = await startServer({ port: 0, noLog: true, websocket: { port: 0, noTls: true, allowedOrigins: ["http://app.example:8080"] } });
    try {
      (await rawPeer(s.websocketUrl, { Origin: "http://app.example:8080" })).ws.close();
      await expect(rawPeer(s.websocketUrl, { Origin: "https://app.example:8080" })).rejects.toThrow(/403/);
      await expect(rawPeer(s.websocketUrl, { Origin: "http://app.example" })).rejects.toThrow(/403/);
    } finally {
      await s.close();
    }
  });
});

describe("websocket config block", () => {
  test("maps nats-server's keys, and `ws` is an alias", () => {
    const cfg = parseConfig("ws {\n listen: \"127.0.0.1:-1\"\n no_tls: true\n compression: true\n same_origin: true\n allowed_origins: [\"http://a.example\"]\n}\n");
    expect(configToOptions(cfg).options.websocket).toEqual({
      host: "127.0.0.1", port: -1, noTls: true, compression: true, sameOrigin: true, allowedOrigins: ["http://a.example"],
    });
  });

  test("refuses a listener with no TLS and no no_tls, with nats-server's error", () => {
    expect(() => configToOptions(parseConfig("websocket { port: 8080 }"))).toThrow("websocket requires TLS configuration");
  });

  test("port 0 (or none) means no listener, as in nats-server", () => {
    expect(configToOptions(parseConfig("websocket { no_tls: true }")).options.websocket).toBeNull();
  });

  test("an unknown key in the block is an error", () => {
    expect(() => configToOptions(parseConfig("websocket { port: 1, no_tls: true, bogus: 1 }"))).toThrow('unknown field "bogus"');
  });
});
