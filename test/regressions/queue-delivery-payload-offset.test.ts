// Regression: a queue subscriber received the wrong bytes (the payload offset was shadowed by
// the queue member index), e.g. "MSG foo 1 26" carrying the protocol text instead of "a".
import { connect } from "node:net";
import { expect, test } from "vitest";
import { gnatSuite } from "../kit/gnat.js";

const server = gnatSuite();

test("a queue subscriber receives exactly the published payload", async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const s = connect(server().port, "127.0.0.1");
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`timeout: ${JSON.stringify(buf)}`)), 3000);
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("PONG\r\n")) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf);
      }
    });
    s.write('CONNECT {"verbose":false}\r\nSUB foo q1 1\r\nSUB foo q1 2\r\nPUB foo 1\r\na\r\nPUB foo 3\r\nabc\r\nPING\r\n');
  });
  const msgs = out.replace(/^INFO .* \r\n/, "");
  expect(msgs).toMatch(/^MSG foo [12] 1\r\na\r\nMSG foo [12] 3\r\nabc\r\nPONG\r\n$/);
});
