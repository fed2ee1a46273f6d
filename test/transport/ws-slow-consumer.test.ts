// A WebSocket subscriber that stops reading: its backlog (uWS's buffered amount) counts against
// max_pending like a TCP socket's, and it is cut off as a slow consumer while the producer goes on.
import { connect as netConnect } from "node:net";
import { expect, test } from "vitest";
import { rawPeer } from "./ws-helpers.js";
import { gnatSuite } from "../kit/gnat.js";
import { settle } from "../kit/wait.js";

const server = gnatSuite({ maxPending: 256 * 1024, maxPayload: 64 * 1024, websocket: { host: "127.0.0.1", port: 0, noTls: true } });

test("a WebSocket subscriber that stops reading is closed as a slow consumer; the TCP producer carries on", async () => {
  const sub = await rawPeer(server().websocketUrl);
  sub.ws.send("CONNECT {\"verbose\":false}\r\nSUB slow.ws 1\r\nPING\r\n");
  await sub.waitFor(/PONG\r\n/);
  sub.ws.pause();
  const pub = netConnect(server().port, "127.0.0.1");
  pub.on("data", () => {});
  const chunk = `PUB slow.ws 16384\r\n${"x".repeat(16384)}\r\n`;
  pub.write("CONNECT {\"verbose\":false}\r\n");
  const before = server().slowConsumers;
  for (let i = 0; i < 2000 && server().slowConsumers === before; i++) {
    pub.write(chunk);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
  }
  await settle(() => server().slowConsumers !== before, { timeout: 3000 });
  expect(server().slowConsumers).toBe(before + 1);
  // The producer is still connected and answered.
  let got = "";
  pub.on("data", (d: Buffer) => (got += d.toString("latin1")));
  pub.write("PING\r\n");
  await settle(() => got.includes("PONG"), { timeout: 3000 });
  expect(got).toContain("PONG\r\n");
  pub.destroy();
  sub.ws.terminate();
});
