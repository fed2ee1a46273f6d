// The official clients against gnat, over real sockets. Every behaviour runs with both clients.
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { isNoResponders, kits, take, text, type Conn } from "./kits.js";
import { startGnat } from "../kit/gnat.js";

let server: Server;
let small: Server;
beforeAll(async () => {
  server = await startGnat();
  small = await startGnat({ maxPayload: 1024 });
});
afterAll(async () => {
  await Promise.all([server.close(), small.close()]);
});

describe.each(kits)("$name", (kit) => {
  let nc: Conn;
  beforeAll(async () => {
    nc = await kit.connect({ servers: server.url });
  });
  afterAll(async () => {
    if (!nc.isClosed()) await nc.close();
  });

  test("sees a 2.x server that supports headers", () => {
    expect(nc.info?.version.startsWith("2.")).toBe(true);
    expect(nc.info?.headers).toBe(true);
    expect(nc.info?.max_payload).toBe(1024 * 1024);
  });

  test("publishes and receives exact payload bytes", async () => {
    const sub = nc.subscribe("e2e.bytes");
    const payload = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
    nc.publish("e2e.bytes", payload);
    nc.publish("e2e.bytes", new Uint8Array(0));
    const [a, b] = await take(sub, 2);
    expect(Buffer.from(a!.data)).toEqual(Buffer.from(payload));
    expect(b!.data.length).toBe(0);
  });

  test("matches * and > wildcards", async () => {
    const star = nc.subscribe("e2e.wild.*");
    const gt = nc.subscribe("e2e.wild.>");
    await nc.flush();
    for (const s of ["e2e.wild.a", "e2e.wild.b.c", "e2e.other"]) nc.publish(s, s);
    expect((await take(star, 1)).map(text)).toEqual(["e2e.wild.a"]);
    expect((await take(gt, 2)).map(text)).toEqual(["e2e.wild.a", "e2e.wild.b.c"]);
    star.unsubscribe();
    gt.unsubscribe();
  });

  test("spreads a queue group's messages over its members while a plain subscriber gets all", async () => {
    const n = 300;
    const members = [0, 1, 2].map(() => nc.subscribe("e2e.queue", { queue: "workers" }));
    const plain = nc.subscribe("e2e.queue");
    await nc.flush();
    const seen = new Set<string>();
    const counts = [0, 0, 0];
    const pubber = await kit.connect({ servers: server.url });
    for (let i = 0; i < n; i++) pubber.publish("e2e.queue", String(i));
    await pubber.flush();
    const all = await take(plain, n);
    expect(all.length).toBe(n);
    await nc.flush();
    // Each member drains what it has: count without blocking on an empty iterator.
    await Promise.all(members.map(async (m, i) => {
      const got = m.getReceived();
      const msgs = await take(m, got);
      counts[i] = msgs.length;
      for (const x of msgs) {
        expect(seen.has(text(x))).toBe(false);
        seen.add(text(x));
      }
      m.unsubscribe();
    }));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
    expect(counts.every((c) => c > 0)).toBe(true);
    plain.unsubscribe();
    await pubber.close();
  });

  test("answers a request from a service subscription", async () => {
    const svc = nc.subscribe("e2e.svc", { callback: (_e, m) => m.respond(`re:${text(m)}`) });
    const r = await nc.request("e2e.svc", "hi", { timeout: 2000 });
    expect(text(r)).toBe("re:hi");
    svc.unsubscribe();
  });

  test("fails a request nobody listens to with no responders", async () => {
    const err = await nc.request("e2e.nobody", "x", { timeout: 2000 }).then(() => null, (e: unknown) => e);
    expect(err).not.toBeNull();
    expect(isNoResponders(err)).toBe(true);
  });

  test("carries headers through, with repeated values and case", async () => {
    const sub = nc.subscribe("e2e.hdr");
    const h = kit.headers();
    h.set("X-Trace", "abc");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    nc.publish("e2e.hdr", "body", { headers: h });
    const [m] = await take(sub, 1);
    expect(m!.headers?.get("X-Trace")).toBe("abc");
    expect(m!.headers?.values("X-Multi")).toEqual(["1", "2"]);
    expect(text(m!)).toBe("body");
    const svc = nc.subscribe("e2e.hdr.svc", { callback: (_e, req) => {
      const rh = kit.headers();
      rh.set("Echo", req.headers?.get("Q") ?? "none");
      req.respond("ok", { headers: rh });
    } });
    const qh = kit.headers();
    qh.set("Q", "42");
    const r = await nc.request("e2e.hdr.svc", "", { headers: qh, timeout: 2000 });
    expect(r.headers?.get("Echo")).toBe("42");
    svc.unsubscribe();
  });

  test("auto-unsubscribes after max messages", async () => {
    const sub = nc.subscribe("e2e.max", { max: 3 });
    for (let i = 0; i < 6; i++) nc.publish("e2e.max", String(i));
    const got: string[] = [];
    for await (const m of sub) got.push(text(m));
    expect(got).toEqual(["0", "1", "2"]);
    expect(sub.isClosed()).toBe(true);
  });

  test("drains a subscription: in-flight messages arrive, then it closes", async () => {
    const got: string[] = [];
    const sub = nc.subscribe("e2e.drain", { callback: (_e, m) => got.push(text(m)) });
    for (let i = 0; i < 50; i++) nc.publish("e2e.drain", String(i));
    await sub.drain();
    expect(got.length).toBe(50);
    expect(sub.isClosed()).toBe(true);
  });

  test("drains a connection: what was published is delivered before it closes", async () => {
    const c = await kit.connect({ servers: server.url });
    const got: string[] = [];
    c.subscribe("e2e.cdrain", { callback: (_e, m) => got.push(text(m)) });
    await c.flush();
    for (let i = 0; i < 100; i++) nc.publish("e2e.cdrain", String(i));
    await nc.flush();
    await c.drain();
    expect(got.length).toBe(100);
    expect(c.isClosed()).toBe(true);
  });

  test("refuses to publish more than the server's max payload", async () => {
    const c = await kit.connect({ servers: small.url });
    expect(c.info?.max_payload).toBe(1024);
    expect(() => c.publish("e2e.big", new Uint8Array(2000))).toThrow();
    await c.close();
  });

  test("with echo off, its own messages reach others but not itself", async () => {
    const quiet = await kit.connect({ servers: server.url, noEcho: true });
    const own: string[] = [];
    quiet.subscribe("e2e.echo", { callback: (_e, m) => own.push(text(m)) });
    const other = nc.subscribe("e2e.echo");
    await Promise.all([quiet.flush(), nc.flush()]);
    quiet.publish("e2e.echo", "mine");
    const [m] = await take(other, 1);
    expect(text(m!)).toBe("mine");
    await quiet.flush();
    nc.publish("e2e.echo", "theirs");
    await nc.flush();
    await quiet.flush();
    expect(own).toEqual(["theirs"]);
    await quiet.close();
    other.unsubscribe();
  });

  test("handles 10,000 distinct subjects on one connection", async () => {
    const n = 10_000;
    const got = new Map<string, string>();
    const subs = [];
    for (let i = 0; i < n; i++) {
      subs.push(nc.subscribe(`e2e.many.${i}`, { max: 1, callback: (_e, m) => got.set(m.subject, text(m)) }));
    }
    await nc.flush();
    for (let i = 0; i < n; i++) nc.publish(`e2e.many.${i}`, String(i));
    await nc.flush();
    await expect.poll(() => got.size, { timeout: 10_000 }).toBe(n);
    for (let i = 0; i < n; i += 997) expect(got.get(`e2e.many.${i}`)).toBe(String(i));
    expect(server.router.sublist.match("e2e.many.5").psubs.length).toBe(0);
  });
});

describe("the server itself", () => {
  test("answers an over-size PUB with Maximum Payload Violation and closes", async () => {
    const out = await new Promise<string>((resolve) => {
      const s = netConnect(small.port, "127.0.0.1");
      let buf = "";
      s.on("data", (d) => (buf += d.toString("latin1")));
      s.on("close", () => resolve(buf));
      s.write("PUB big 2000\r\n");
    });
    expect(out.endsWith("-ERR 'Maximum Payload Violation'\r\n")).toBe(true);
  });

  test("cuts off a slow consumer while a fast one keeps receiving and the publisher stays", async () => {
    const s = await startGnat({ maxPending: 256 * 1024, maxPayload: 64 * 1024 });
    try {
      // The slow consumer: subscribes, then never reads.
      const slow = netConnect(s.port, "127.0.0.1");
      const slowClosed = new Promise<void>((r) => slow.on("close", () => r()));
      slow.on("error", () => {});
      await new Promise<void>((r) => {
        let b = "";
        slow.on("data", function f(d: Buffer) {
          b += d.toString("latin1");
          if (b.includes("PONG")) {
            slow.off("data", f);
            slow.pause();
            r();
          }
        });
        slow.write('CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n');
      });
      const fast = await kits[0]!.connect({ servers: s.url });
      const pub = await kits[0]!.connect({ servers: s.url });
      let fastGot = 0;
      fast.subscribe("flood", { callback: () => fastGot++ });
      await fast.flush();
      // More than loopback's kernel buffers can absorb (several MB each way), so the paused
      // reader really falls behind.
      const total = 64_000;
      const payload = new Uint8Array(1024);
      for (let i = 0; i < total; i++) {
        pub.publish("flood", payload);
        if (i % 1000 === 999) await pub.flush();
      }
      await pub.flush();
      expect(s.slowConsumers).toBe(1);
      // A paused socket does not notice its close: read (and drop) what was queued to see it.
      slow.resume();
      await slowClosed;
      await expect.poll(() => fastGot, { timeout: 10_000 }).toBe(total);
      expect(pub.isClosed()).toBe(false);
      expect(s.slowConsumers).toBe(1);
      await Promise.all([fast.close(), pub.close()]);
    } finally {
      await s.close();
    }
  });
});
