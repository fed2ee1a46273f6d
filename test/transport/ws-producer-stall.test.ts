// The twin of the TCP flow-control test, with the producer on WebSocket: a WebSocket publisher
// outrunning a slow but reading TCP subscriber is held back, not the subscriber cut off, and not
// one message is lost. On node:http the producer's reads stop (it is slowed on the wire); on uWS,
// which cannot stop reading a WebSocket, its frames wait in the server until the receiver drains.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { payload, rawSubscriber } from "../flow/raw.js";
import { ENGINES } from "../helpers/engines.js";
import { startGnat } from "../kit/gnat.js";

/** Publish n messages over a WebSocket, 64 KiB frames, at most 16 frames in flight; resolves on the PONG after the last. */
async function wsPublish(url: string, subject: string, n: number, size: number): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let seen = "";
  const pong = new Promise<void>((resolve, reject) => {
    ws.on("message", (d: Buffer) => {
      seen += d.toString("latin1");
      if (seen.includes("PONG\r\n")) resolve();
    });
    ws.once("close", () => reject(new Error("the publisher was closed")));
  });
  ws.send('CONNECT {"verbose":false,"pedantic":false}\r\n');
  const perFrame = Math.max(1, Math.floor(65536 / (size + 32)));
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const sent = (): void => {
    inFlight--;
    wake?.();
  };
  for (let seq = 1; seq <= n; ) {
    const parts: Buffer[] = [];
    for (let k = 0; k < perFrame && seq <= n; k++, seq++) {
      parts.push(Buffer.from(`PUB ${subject} ${size}\r\n`, "latin1"), payload(seq, size), Buffer.from("\r\n"));
    }
    inFlight++;
    ws.send(Buffer.concat(parts), { binary: true }, sent);
    while (inFlight >= 16) await new Promise<void>((r) => (wake = r));
    wake = null;
  }
  ws.send("PING\r\n");
  await pong;
  return ws;
}

describe.each(ENGINES)("on %s", (engine) => {
  let server: Server;
  beforeAll(async () => {
    // A small byte budget: a receiver that is not protected by the stall is cut off quickly.
    server = await startGnat({ maxPending: 4 * 1024 * 1024, httpEngine: engine,
      websocket: { host: "127.0.0.1", port: 0, noTls: true } });
  });
  afterAll(() => server.close());

  test("a WebSocket producer outrunning a slow TCP subscriber is stalled; the subscriber gets every message in order", async () => {
    const n = 20_000;
    const sub = await rawSubscriber(server.port, "ws.produce", n, { slowMs: 2 });
    const stallsBefore = server.stalledClients;
    const pub = await wsPublish(server.websocketUrl, "ws.produce", n, 1024);
    await sub.done;
    expect(sub.received()).toBe(n);
    expect(server.slowConsumers).toBe(0);
    expect(server.stalledClients).toBeGreaterThan(stallsBefore);
    pub.terminate();
    sub.socket.destroy();
  }, 60_000);
});
