// The official browser client, nats.ws, against gnat's WebSocket listener, in Node: the `ws`
// package stands in for the browser's WebSocket (Node 20 has no global one).
import { connect as tcpConnect } from "nats";
import { connect, headers, StringCodec, type NatsConnection } from "nats.ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { startGnat } from "../kit/gnat.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;

const sc = StringCodec();
let server: Server;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startGnat({ websocket: { host: "127.0.0.1", port: 0, noTls: true } });
  nc = await connect({ servers: server.websocketUrl });
});
afterAll(async () => {
  await nc.close();
  await server.close();
});

describe("nats.ws over gnat's WebSocket listener", () => {
  test("connects and sees the server's INFO", () => {
    expect(nc.info?.version.startsWith("2.")).toBe(true);
    expect(nc.info?.headers).toBe(true);
  });

  test("publishes and subscribes", async () => {
    const sub = nc.subscribe("ws.pubsub", { max: 3 });
    for (const s of ["a", "b", "c"]) nc.publish("ws.pubsub", sc.encode(s));
    const got: string[] = [];
    for await (const m of sub) got.push(sc.decode(m.data));
    expect(got).toEqual(["a", "b", "c"]);
  });

  test("carries exact payload bytes, large ones included", async () => {
    const sub = nc.subscribe("ws.bytes", { max: 1 });
    const payload = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
    nc.publish("ws.bytes", payload);
    for await (const m of sub) expect(Buffer.from(m.data).equals(Buffer.from(payload))).toBe(true);
  });

  test("does request-reply", async () => {
    const svc = nc.subscribe("ws.time");
    void (async () => {
      for await (const m of svc) m.respond(sc.encode(`re: ${sc.decode(m.data)}`));
    })();
    const r = await nc.request("ws.time", sc.encode("now?"), { timeout: 2000 });
    expect(sc.decode(r.data)).toBe("re: now?");
    svc.unsubscribe();
  });

  test("a request nobody listens to fails with no responders", async () => {
    await expect(nc.request("ws.nobody", sc.encode(""), { timeout: 2000 })).rejects.toThrow(/503|no responders/i);
  });

  test("carries headers", async () => {
    const sub = nc.subscribe("ws.hdrs", { max: 1 });
    const h = headers();
    h.set("X-Trace", "abc");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    nc.publish("ws.hdrs", sc.encode("with headers"), { headers: h });
    for await (const m of sub) {
      expect(m.headers?.get("X-Trace")).toBe("abc");
      expect(m.headers?.values("X-Multi")).toEqual(["1", "2"]);
      expect(sc.decode(m.data)).toBe("with headers");
    }
  });

  test("a WebSocket client and a TCP client exchange messages", async () => {
    const tcp = await tcpConnect({ servers: server.url });
    try {
      const toWs = nc.subscribe("ws.bridge.to-ws", { max: 1 });
      const toTcp = tcp.subscribe("ws.bridge.to-tcp", { max: 1 });
      await Promise.all([nc.flush(), tcp.flush()]);
      tcp.publish("ws.bridge.to-ws", sc.encode("from tcp"));
      nc.publish("ws.bridge.to-tcp", sc.encode("from ws"));
      for await (const m of toWs) expect(sc.decode(m.data)).toBe("from tcp");
      for await (const m of toTcp) expect(sc.decode(m.data)).toBe("from ws");
      // And request-reply across the two transports.
      const svc = tcp.subscribe("ws.bridge.svc", { max: 1 });
      void (async () => {
        for await (const m of svc) m.respond(sc.encode("tcp answers"));
      })();
      await tcp.flush();
      expect(sc.decode((await nc.request("ws.bridge.svc", sc.encode("?"), { timeout: 2000 })).data)).toBe("tcp answers");
    } finally {
      await tcp.close();
    }
  });

  test("many messages in a burst arrive complete and in order", async () => {
    const n = 5000;
    const sub = nc.subscribe("ws.burst", { max: n });
    await nc.flush();
    const tcp = await tcpConnect({ servers: server.url });
    try {
      for (let i = 0; i < n; i++) tcp.publish("ws.burst", sc.encode(String(i)));
      let next = 0;
      for await (const m of sub) expect(sc.decode(m.data)).toBe(String(next++));
      expect(next).toBe(n);
    } finally {
      await tcp.close();
    }
  });
});
