// Regression guard: a publish to a stream whose reply subject cannot be published to (empty
// tokens) must not hold up or spoil the acks of the publishes behind it. Acks go out a write
// batch at a time from one queue, so one failing reply must not stop the queue.
import { connect as tcp } from "node:net";
import { expect, test } from "vitest";
import { gnatSuite } from "../kit/gnat.js";
import { settle } from "../kit/wait.js";

const server = gnatSuite({ jetstream: true }, "gnat-badreply-");

test("an ack to an invalid reply subject is dropped and the next publisher still gets its ack", async () => {
  const s = tcp(server().port, "127.0.0.1");
  let out = "";
  s.on("data", (d: Buffer) => (out += d.toString("latin1")));
  await new Promise<void>((r) => s.once("connect", () => r()));
  const create = JSON.stringify({ name: "B", subjects: ["b"], storage: "memory" });
  s.write(`CONNECT {"verbose":false}\r\nSUB in.> 1\r\nPUB $JS.API.STREAM.CREATE.B in.create ${create.length}\r\n${create}\r\n`);
  s.write("PUB b bad..reply 1\r\nx\r\nPUB b in.ok 1\r\ny\r\nPING\r\n");
  await settle(() => out.includes("MSG in.ok"), { timeout: 3000 });
  s.destroy();
  expect(out).toMatch(/MSG in\.ok 1 \d+\r\n\{"stream":"B", "seq":2\}\r\n/);
});
