// Regression (issue #23, nats.js `consumers - threshold_messages bytes`): a pull request's
// max_bytes counted a message as subject + headers + payload, where nats-server counts the ack
// subject it is delivered with too. The bytes left in the status that ends the pull
// (Nats-Pending-Bytes of the 408 or 409) were then larger than nats-server's, and a client that
// re-pulls by bytes (consume with max_bytes and threshold_bytes) counted its progress wrong.
// The expected numbers are computed from what was delivered; run on gnat and on nats-server.
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectNode } from "../kit/clients.js";
import { startGnat, tempDir } from "../kit/gnat.js";
import { freePort, NATS_SERVER, spawnNatsServer, type Listening } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import type { Server } from "../../server/index.js";

interface Target { url: string; close(): Promise<void> }
const targets: Array<[string, (() => Promise<Target>) | null]> = [
  ["gnat", async () => {
    const store = tempDir("gnat-maxbytes-");
    const s: Server = await startGnat({ jetstream: true, storeDir: store.dir });
    return { url: s.url, close: async () => { await s.close(); store.remove(); } };
  }],
  ["nats-server", NATS_SERVER === null ? null : async () => {
    const store = tempDir("gnat-maxbytes-ns-");
    const port = await freePort();
    const p: Listening = await spawnNatsServer(["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store.dir], port);
    return { url: p.url, close: async () => { await p.stop(); store.remove(); } };
  }],
];

describe.each(targets)("%s", (_name, start) => {
  let t: Target | null = null;
  let nc: NatsConnection;
  beforeAll(async () => {
    if (start === null) return;
    t = await start();
    nc = await connectNode(t.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "MB", subjects: ["mb.>"], storage: "memory" });
    for (let i = 0; i < 20; i++) await jetstream(nc).publish("mb.x", "payload");
  }, 20_000);
  afterAll(async () => {
    await nc?.close();
    await t?.close();
  });

  /** One pull request on a new consumer: what it delivered, and the status that ended it. */
  async function pull(name: string, req: Record<string, unknown>): Promise<{ msgs: Msg[]; end: Msg }> {
    await (await jetstreamManager(nc)).consumers.add("MB", { name, ack_policy: AckPolicy.None });
    const inbox = createInbox();
    const msgs: Msg[] = [];
    let end: Msg | null = null;
    nc.subscribe(inbox, { callback: (_e, m) => { if (m.subject === inbox) end ??= m; else msgs.push(m); } });
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.MB.${name}`, JSON.stringify(req), { reply: inbox });
    return { msgs, end: await until(() => end, { timeout: 5000, what: "the status that ends the pull" }) };
  }
  const size = (m: Msg): number => m.subject.length + m.reply!.length + m.data.length;

  test.skipIf(start === null)("a pull that expires reports the bytes left after subject, ack subject and payload", async () => {
    const { msgs, end } = await pull("expires", { batch: 1_000_000, max_bytes: 2000, expires: 300_000_000 });
    expect(msgs.length).toBe(20);
    expect(end.headers?.code).toBe(408);
    expect(end.headers?.get("Nats-Pending-Messages")).toBe(String(1_000_000 - 20));
    expect(end.headers?.get("Nats-Pending-Bytes")).toBe(String(2000 - msgs.reduce((n, m) => n + size(m), 0)));
  });

  test.skipIf(start === null)("a message that does not fit ends the pull with 409 and the bytes left", async () => {
    const { msgs, end } = await pull("full", { batch: 10, max_bytes: 150, expires: 1_000_000_000 });
    const used = msgs.reduce((n, m) => n + size(m), 0);
    // Each message is a little over 50 bytes this way: two fit, the third would not.
    expect(msgs.length).toBe(2);
    expect(end.headers?.code).toBe(409);
    expect(end.headers?.description).toBe("Message Size Exceeds MaxBytes");
    expect(end.headers?.get("Nats-Pending-Messages")).toBe("8");
    expect(end.headers?.get("Nats-Pending-Bytes")).toBe(String(150 - used));
  });
});
