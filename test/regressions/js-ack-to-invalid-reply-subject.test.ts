// Regression guard: a publish to a stream whose reply subject cannot be published to (empty
// tokens) must not hold up or spoil the acks of the publishes behind it. Acks go out a write
// batch at a time from one queue, so one failing reply must not stop the queue.
import { connect as tcp } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";

const store = tempDir("gnat-badreply-");
let server: Server;
beforeAll(async () => {
  server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: store.dir });
});
afterAll(async () => {
  await server.close();
  store.remove();
});

test("an ack to an invalid reply subject is dropped and the next publisher still gets its ack", async () => {
  const s = tcp(server.port, "127.0.0.1");
  let out = "";
  s.on("data", (d: Buffer) => (out += d.toString("latin1")));
  await new Promise<void>((r) => s.once("connect", () => r()));
  const create = JSON.stringify({ name: "B", subjects: ["b"], storage: "memory" });
  s.write(`CONNECT {"verbose":false}\r\nSUB in.> 1\r\nPUB $JS.API.STREAM.CREATE.B in.create ${create.length}\r\n${create}\r\n`);
  s.write("PUB b bad..reply 1\r\nx\r\nPUB b in.ok 1\r\ny\r\nPING\r\n");
  const deadline = Date.now() + 3000;
  while (!out.includes("MSG in.ok") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  s.destroy();
  expect(out).toMatch(/MSG in\.ok 1 \d+\r\n\{"stream":"B", "seq":2\}\r\n/);
});
