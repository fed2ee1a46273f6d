// Flow control: a fast producer is slowed down; a subscriber that keeps reading is never cut off
// and gets every message, in order. Publishers write raw PUB frames as fast as the kernel takes
// them; one subscriber in each fan-out reads deliberately slowly (but steadily).
import { afterEach, describe, expect, test } from "vitest";
import { type Server, type ServerOptionsInput } from "../../server/index.js";
import { kits } from "../clients/kits.js";
import { payload, rawPublish, rawSubscriber, type RawSubscriber } from "./raw.js";
import { startGnat } from "../kit/gnat.js";

let server: Server | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(opts: ServerOptionsInput = {}): Promise<Server> {
  server = await startGnat({ ...opts });
  return server;
}

async function subscribers(s: Server, subject: string, n: number, count: number): Promise<RawSubscriber[]> {
  const subs: RawSubscriber[] = [];
  // The first one is slow but steady: it reads a chunk, then waits two milliseconds (at most
  // ~30 MB/s, well below what a raw publisher pushes, even on a loaded machine).
  for (let i = 0; i < count; i++) subs.push(await rawSubscriber(s.port, subject, n, i === 0 ? { slowMs: 2 } : {}));
  return subs;
}

describe.each([
  { size: 1024, n: 40_000, fanout: 1 },
  { size: 64 * 1024, n: 800, fanout: 1 },
  { size: 1024, n: 15_000, fanout: 8 },
  { size: 64 * 1024, n: 400, fanout: 8 },
])("$size-byte messages, 1 → $fanout", ({ size, n, fanout }) => {
  test("every reading subscriber gets every message in order; the producer is stalled instead", async () => {
    const s = await start();
    const subs = await subscribers(s, "flow", n, fanout);
    const pub = await rawPublish(s.port, "flow", n, size);
    await Promise.all(subs.map((x) => x.done));
    for (const x of subs) expect(x.received()).toBe(n);
    expect(s.slowConsumers).toBe(0);
    // The producer was held back at least once: the subscribers could not keep up unaided.
    expect(s.stalledClients).toBeGreaterThan(0);
    pub.destroy();
    for (const x of subs) x.socket.destroy();
  }, 60_000);
});

test("a subscriber that stops reading is cut off; the producer goes on and the others get everything", async () => {
  const s = await start({ writeDeadline: 500 });
  const n = 20_000;
  const readers = await subscribers(s, "flow", n, 3);
  const dead = await rawSubscriber(s.port, "flow", n);
  dead.socket.pause();
  const pub = await rawPublish(s.port, "flow", n, 1024);
  await Promise.all(readers.map((x) => x.done));
  for (const x of readers) expect(x.received()).toBe(n);
  // The dead one was cut off as a slow consumer (write deadline: its writes made no progress).
  expect(s.slowConsumers).toBe(1);
  expect(dead.received()).toBeLessThan(n);
  expect(s.clients.size).toBe(4);
  pub.destroy();
  dead.socket.destroy();
  for (const x of readers) x.socket.destroy();
}, 60_000);

describe.each(kits)("$name as the publisher", (kit) => {
  test("a slow subscriber and a fast one get every message in order", async () => {
    const s = await start();
    const n = 30_000;
    const subs = await subscribers(s, "flow.kit", n, 2);
    const nc = await kit.connect({ servers: s.url });
    for (let seq = 1; seq <= n; seq++) {
      nc.publish("flow.kit", payload(seq, 1024));
      // Let the client's socket take what it has now and then, as an application would.
      if (seq % 5_000 === 0) await nc.flush();
    }
    await nc.flush();
    await Promise.all(subs.map((x) => x.done));
    for (const x of subs) expect(x.received()).toBe(n);
    expect(s.slowConsumers).toBe(0);
    await nc.close();
    for (const x of subs) x.socket.destroy();
  }, 60_000);
});

test("an internal publisher sees the back-pressure and waits for drained() without blocking", async () => {
  const s = await start();
  const n = 20_000;
  const [slow] = await subscribers(s, "flow.internal", n, 1);
  const ic = s.internalClient();
  let waits = 0;
  for (let seq = 1; seq <= n; seq++) {
    ic.publish("flow.internal", payload(seq, 1024));
    if (ic.stalled) {
      waits++;
      await ic.drained();
      expect(ic.stalled).toBe(false);
    }
  }
  await slow!.done;
  expect(slow!.received()).toBe(n);
  expect(waits).toBeGreaterThan(0);
  expect(s.slowConsumers).toBe(0);
  slow!.socket.destroy();
}, 60_000);
