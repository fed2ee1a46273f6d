import { afterEach, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import type { InternalMsg } from "../../server/core/internal-client.js";
import { startGnat } from "../kit/gnat.js";

let server: Server | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(): Promise<Server> {
  server = await startGnat();
  return server;
}

describe("internal clients", () => {
  test("an internal subscriber receives an internal publication with payload and headers", async () => {
    const s = await start();
    const got: InternalMsg[] = [];
    const ic = s.internalClient();
    ic.subscribe("svc.>", (m) => got.push(m));
    ic.publish("svc.a", "one");
    ic.publish("svc.b.c", Buffer.from("two"), { headers: [["X-Id", "7"]] });
    expect(got.map((m) => [m.subject, m.data.toString()])).toEqual([["svc.a", "one"], ["svc.b.c", "two"]]);
    expect(got[0]!.headers()).toBeNull();
    expect(got[1]!.headers()!.values.get("X-Id")).toEqual(["7"]);
  });

  test("publishWire from inside a handler of publishWire leaves the outer message intact", async () => {
    const s = await start();
    const a = s.internalClient();
    const b = s.internalClient();
    const seen: string[] = [];
    // First subscriber publishes again (reusing a scratch buffer would overwrite the outer message
    // before the second subscriber gets it); the second records what it saw.
    a.subscribe("outer", () => a.publishWire("inner", "", "inner", null, Buffer.from("INNER-PAYLOAD")));
    b.subscribe("outer", (m) => seen.push(`${m.subject}:${m.data.toString()}`));
    b.subscribe("inner", (m) => seen.push(`${m.subject}:${m.data.toString()}`));
    a.publishWire("outer", "", "shown.subject", null, Buffer.from("outer-payload"));
    expect(seen).toEqual(["inner:INNER-PAYLOAD", "shown.subject:outer-payload"]);
  });

  test("an internal request-reply echo service answers another internal client", async () => {
    const s = await start();
    const service = s.internalClient();
    service.subscribe("echo", (m) => service.publish(m.reply, Buffer.concat([Buffer.from("echo:"), m.data])));
    const reply = await s.internalClient().request("echo", "hi", { timeout: 1000 });
    expect(reply.data.toString()).toBe("echo:hi");
  });

  test("an internal request with nobody listening fails with no responders", async () => {
    const s = await start();
    await expect(s.internalClient().request("nobody.home", "x", { timeout: 1000 })).rejects.toThrow(/no responders/);
  });

  test("a queue group of internal subscribers gets each message once, spread over members", async () => {
    const s = await start();
    const counts = [0, 0, 0];
    const ic = s.internalClient();
    for (let i = 0; i < 3; i++) ic.subscribe("work", () => counts[i]!++, { queue: "workers" });
    let plain = 0;
    ic.subscribe("work", () => plain++);
    for (let i = 0; i < 300; i++) ic.publish("work", "job");
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(plain).toBe(300);
  });

  test("auto-unsubscribe stops after max messages", async () => {
    const s = await start();
    // (The server's own $SYS.REQ.USER.INFO subscription is in $G from the start.)
    const base = s.router.sublist.size;
    const ic = s.internalClient();
    let n = 0;
    ic.subscribe("tick", () => n++, { max: 2 });
    for (let i = 0; i < 5; i++) ic.publish("tick");
    expect(n).toBe(2);
    expect(s.router.sublist.size).toBe(base);
  });

  test("echo:false keeps an internal client's own messages from itself", async () => {
    const s = await start();
    const quiet = s.internalClient({ echo: false });
    const other = s.internalClient();
    let self = 0;
    let others = 0;
    quiet.subscribe("x", () => self++);
    other.subscribe("x", () => others++);
    quiet.publish("x");
    expect([self, others]).toEqual([0, 1]);
  });

  test("a socket client and an internal service talk request-reply", async () => {
    const s = await start();
    const service = s.internalClient();
    service.subscribe("time.now", (m) => service.publish(m.reply, "tick"));
    const { connect } = await import("@nats-io/transport-node");
    const nc = await connect({ servers: s.url });
    try {
      const r = await nc.request("time.now", "", { timeout: 2000 });
      expect(r.string()).toBe("tick");
    } finally {
      await nc.close();
    }
  });

  test("rejects invalid subjects", async () => {
    const s = await start();
    const ic = s.internalClient();
    expect(() => ic.subscribe("foo..bar", () => {})).toThrow();
    expect(() => ic.publish("foo.*")).toThrow();
  });
});
