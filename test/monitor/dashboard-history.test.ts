// The dashboard's server-side history (server/monitor/history.ts): a fixed ring of one sample a
// second, whose figures are the server's counters turned into rates, its queue lengths and its
// latencies. Samples are taken by hand here (the ring's own timer is set an hour out).
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, expect, test, vi } from "vitest";
import type { Server } from "../../server/index.js";
import { DashboardHistory, HISTORY_SAMPLES } from "../../server/monitor/history.js";
import { tempDir } from "../jetstream/helpers.js";
import { startGnat } from "../kit/gnat.js";

const store = tempDir("gnat-history-");
const servers: Server[] = [];
const clients: NatsConnection[] = [];

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.close();
  store.remove();
});

test("samples rates, queue lengths and store latency, and keeps a fixed number of samples", async () => {
  const server = await startGnat({ httpPort: 0, jetstream: true, storeDir: store.dir });
  servers.push(server);
  const nc = await connect({ servers: server.url });
  clients.push(nc);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "H", subjects: ["h.>"] });
  await jsm.consumers.add("H", { durable_name: "C", ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);

  const h = new DashboardHistory(server, 3_600_000);
  h.start();
  try {
    const t0 = Date.now();
    h.sample(t0);
    for (let i = 0; i < 100; i++) nc.publish("core.x", "x");
    await nc.flush();
    h.sample(t0 + 2000);
    let j = h.toJSON();
    expect(j.in_msgs.at(-1)).toBe(50);
    expect(j.in_bytes.at(-1)).toBe(50);
    // Nothing stored in that interval: no store latency, rather than a made-up 0.
    expect(j.store_p99_ms.at(-1)).toBeNull();
    expect(j.client_rtt_ms.at(-1)).toBeGreaterThan(0);

    for (let i = 0; i < 10; i++) await js.publish("h.a", "m");
    // One NAK'd and redelivered, then acked.
    const c = await js.consumers.get("H", "C");
    const m1 = await c.next({ expires: 2000 });
    m1!.nak();
    const m2 = await c.next({ expires: 2000 });
    expect(m2!.seq).toBe(m1!.seq);
    expect(m2!.redelivered).toBe(true);
    expect(await m2!.ackAck()).toBe(true);
    h.sample(t0 + 3000);
    j = h.toJSON();
    expect(j.stream_msgs.at(-1)).toBe(10);
    expect(j.num_pending.at(-1)).toBe(9);
    expect(j.num_ack_pending.at(-1)).toBe(0);
    expect(j.js_acks.at(-1)).toBe(1);
    expect(j.js_redeliveries.at(-1)).toBe(1);
    const p50 = j.store_p50_ms.at(-1)!;
    const p99 = j.store_p99_ms.at(-1)!;
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50);
    // Each interval's latencies are its own: the next one, with nothing stored, has none.
    h.sample(t0 + 4000);
    expect(h.toJSON().store_p50_ms.at(-1)).toBeNull();

    // The ring: never more than HISTORY_SAMPLES, the oldest dropped, in order.
    for (let i = 0; i < HISTORY_SAMPLES + 100; i++) h.sample(t0 + 10_000 + i * 1000);
    expect(h.length).toBe(HISTORY_SAMPLES);
    j = h.toJSON();
    expect(j.t.length).toBe(HISTORY_SAMPLES);
    expect(j.t[0]).toBe(t0 + 10_000 + 100 * 1000);
    expect(j.t.at(-1)).toBe(t0 + 10_000 + (HISTORY_SAMPLES + 99) * 1000);
    // ?since=: only the samples after it.
    const since = h.toJSON(j.t.at(-3)!);
    expect(since.t).toEqual(j.t.slice(-2));
    expect(since.in_msgs.length).toBe(2);
  } finally {
    h.stop();
  }
  expect(h.running).toBe(false);
});

test("runs only while monitoring is on: started with the monitoring port, stopped on close, served in /dashboard.json", async () => {
  const plain = await startGnat();
  servers.push(plain);
  expect(plain.monitor).toBeNull();

  const server = await startGnat({ httpPort: 0 });
  const history = server.monitor!.history;
  expect(history.running).toBe(true);
  // The timer's first sample, served with the rest of the page's JSON.
  const url = `${server.monitorUrl}/dashboard.json`;
  type Answer = { history: { interval_ms: number; t: number[] } };
  const d = await vi.waitFor(async () => {
    const a = await (await fetch(url)).json() as Answer;
    expect(a.history.t.length).toBeGreaterThan(0);
    return a;
  }, { timeout: 5000, interval: 50 });
  expect(d.history.interval_ms).toBe(1000);
  expect((await (await fetch(`${url}?since=${d.history.t.at(-1)}`)).json() as Answer).history.t).toEqual([]);
  await server.close();
  expect(history.running).toBe(false);
});
