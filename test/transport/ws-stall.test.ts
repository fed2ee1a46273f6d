// A WebSocket subscriber that is slow but keeps reading: like a TCP one, its backlog stalls the
// TCP producer feeding it, and it gets every message, in order, without being cut off.
import WebSocket from "ws";
import { expect, test } from "vitest";
import { rawPublish } from "../flow/raw.js";
import { gnatSuite } from "../kit/gnat.js";

// A small byte budget: without the stall the subscriber would be cut off quickly.
const server = gnatSuite({ maxPending: 4 * 1024 * 1024, websocket: { host: "127.0.0.1", port: 0, noTls: true } });

test("a slow WebSocket subscriber stalls the TCP producer and receives every message in order", async () => {
  const n = 20_000;
  const ws = new WebSocket(server().websocketUrl);
  let buf = Buffer.alloc(0);
  let next = 1;
  let failure = "";
  let subscribed!: () => void;
  const ready = new Promise<void>((r) => (subscribed = r));
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const closed = new Promise<void>((r) => ws.on("close", () => r()));
  ws.on("message", (data: Buffer) => {
    buf = buf.length === 0 ? data : Buffer.concat([buf, data]);
    let off = 0;
    for (;;) {
      const eol = buf.indexOf("\r\n", off, "latin1");
      if (eol < 0) break;
      const line = buf.toString("latin1", off, eol);
      if (line.startsWith("INFO") || line === "+OK") { off = eol + 2; continue; }
      if (line === "PONG") { off = eol + 2; subscribed(); continue; }
      if (line === "PING") { ws.send("PONG\r\n"); off = eol + 2; continue; }
      if (!line.startsWith("MSG ")) { failure ||= `unexpected line ${line}`; break; }
      const size = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (buf.length < eol + 2 + size + 2) break;
      const seq = Number(buf.toString("latin1", eol + 2, eol + 12));
      if (seq !== next) failure ||= `expected ${next}, got ${seq}`;
      next++;
      off = eol + 2 + size + 2;
    }
    buf = buf.subarray(off);
    if (next > n) finished();
    // Slow but steady: stop reading for two milliseconds after every frame.
    ws.pause();
    setTimeout(() => ws.resume(), 2);
  });
  await new Promise<void>((r) => ws.on("open", () => r()));
  ws.send('CONNECT {"verbose":false}\r\nSUB ws.stall 1\r\nPING\r\n');
  await ready;
  const stallsBefore = server().stalledClients;
  const pub = await rawPublish(server().port, "ws.stall", n, 1024);
  await Promise.race([all, closed]);
  expect(failure).toBe("");
  expect(next - 1).toBe(n);
  expect(server().slowConsumers).toBe(0);
  expect(server().stalledClients).toBeGreaterThan(stallsBefore);
  pub.destroy();
  ws.terminate();
}, 60_000);
