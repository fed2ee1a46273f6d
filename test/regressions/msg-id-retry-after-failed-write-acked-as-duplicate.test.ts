// Regression: a publish with a Nats-Msg-Id whose write failed (disk full) was left in the dedupe
// window, so the client's retry got `"duplicate": true` for a message the store never kept: an
// acknowledged message lost. A failed write must forget its Msg-Id (and the last Msg-Id), as
// nats-server's store failure restores them.
import { connect, headers } from "@nats-io/transport-node";
import { afterAll, expect, test } from "vitest";
import { serveApi } from "../../server/jetstream/api.js";
import { JetStream } from "../../server/jetstream/jetstream.js";
import { tempDir } from "../jetstream/helpers.js";
import { startGnat } from "../kit/gnat.js";

const store = tempDir("gnat-msgid-retry-");
afterAll(() => store.remove());

test("a Msg-Id whose write failed is stored, not called a duplicate, when the publisher retries", async () => {
  let full = false;
  const server = await startGnat();
  const js = new JetStream("$G", server.internalClient(), {
    storeDir: store.dir, maxMemory: -1, maxStore: -1, syncIntervalMs: 120_000, syncAlways: false,
    serverName: server.serverName, log: server.log,
    writeFault: () => (full ? Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }) : null),
  });
  serveApi(js);
  server.accounts.global.jetstream = js;
  const nc = await connect({ servers: server.url });
  try {
    await nc.request("$JS.API.STREAM.CREATE.R", JSON.stringify({ name: "R", subjects: ["r"] }));
    const send = async (id: string, body: string, expectLast = ""): Promise<string> => {
      const h = headers();
      h.set("Nats-Msg-Id", id);
      if (expectLast !== "") h.set("Nats-Expected-Last-Msg-Id", expectLast);
      return (await nc.request("r", body, { headers: h, timeout: 2000 })).string();
    };
    expect(await send("a", "first")).toBe('{"stream":"R", "seq":1}');
    full = true;
    expect(await send("b", "second")).toMatch(/"err_code":10077/);
    full = false;
    // The stream's last Msg-Id is still "a": "b" was never stored.
    const retry = await send("b", "second", "a");
    expect(retry).not.toContain("duplicate");
    expect(retry).toMatch(/^\{"stream":"R", "seq":\d+\}$/);
    const seq = (JSON.parse(retry) as { seq: number }).seq;
    const got = JSON.parse((await nc.request("$JS.API.STREAM.MSG.GET.R", JSON.stringify({ seq }))).string()) as { message: { data: string } };
    expect(Buffer.from(got.message.data, "base64").toString()).toBe("second");
    // And now it is a duplicate.
    expect(await send("b", "second")).toContain('"duplicate": true');
  } finally {
    await nc.close();
    await server.close();
  }
});
