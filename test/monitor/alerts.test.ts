// Threshold alerts: each one driven for real (a consumer falling behind, a subscriber cut off, a
// stream filling the server's file budget, slow stores against a tiny threshold), observed on
// $GNAT.ALERT.<name>, in gnat_alert_active and in the config file syntax. Waiting is done by
// awaiting the events themselves, never by sleeping.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterEach, describe, expect, test } from "vitest";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import type { AlertName } from "../../server/alerts-options.js";
import type { AlertEvent } from "../../server/monitor/alerts.js";
import { rawPublish, rawSubscriber } from "../flow/raw.js";
import { tempDir } from "../jetstream/helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server | null = null;
let nc: NatsConnection | null = null;
const dirs: { remove: () => void }[] = [];

afterEach(async () => {
  await nc?.close();
  nc = null;
  await server?.close();
  server = null;
  for (const d of dirs.splice(0)) d.remove();
});

async function start(opts: ServerOptionsInput): Promise<{ s: Server; nc: NatsConnection }> {
  const d = tempDir("gnat-alerts-");
  dirs.push(d);
  server = await startGnat({ httpPort: 0, jetstream: true, storeDir: d.dir, ...opts });
  nc = await connect({ servers: server.url });
  return { s: server, nc };
}

/** The alert's events, in order, as a pull: `next()` resolves with the next one to arrive. */
function watch(c: NatsConnection, name: AlertName): { next: () => Promise<AlertEvent> } {
  const sub = c.subscribe(`$GNAT.ALERT.${name}`);
  const it = sub[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await it.next();
      if (r.done === true) throw new Error("subscription ended");
      return r.value.json<AlertEvent>();
    },
  };
}

async function gauge(s: Server, name: AlertName): Promise<number> {
  const text = await (await fetch(`${s.monitorUrl}/metrics`)).text();
  const m = new RegExp(`^gnat_alert_active\\{alert="${name}"\\} (\\d+)$`, "m").exec(text);
  if (m === null) throw new Error(`no gnat_alert_active for ${name} in /metrics`);
  return Number(m[1]);
}

describe("threshold alerts", () => {
  test("consumer_pending fires when a consumer falls behind and resolves when it catches up", async () => {
    const { s, nc } = await start({ alerts: { interval: 20, consumer_pending: { threshold: 5, for: 50 } } });
    const events = watch(nc, "consumer_pending");
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    await jsm.consumers.add("ORDERS", { durable_name: "PROC", ack_policy: AckPolicy.Explicit });
    expect(await gauge(s, "consumer_pending")).toBe(0);
    const js = jetstream(nc);
    for (let i = 0; i < 8; i++) await js.publish("orders.new", "x");

    const fired = await events.next();
    expect(fired).toMatchObject({ name: "consumer_pending", state: "firing", value: 8, threshold: 5, detail: "ORDERS > PROC", server_id: s.serverId });
    expect(Date.parse(fired.since)).not.toBeNaN();
    expect(await gauge(s, "consumer_pending")).toBe(1);
    expect(s.alerts?.recent.at(-1)).toEqual(fired);

    const cons = await js.consumers.get("ORDERS", "PROC");
    const batch = await cons.fetch({ max_messages: 8, expires: 2000 });
    for await (const m of batch) m.ack();
    const resolved = await events.next();
    expect(resolved).toMatchObject({ name: "consumer_pending", state: "resolved", value: 0 });
    expect(await gauge(s, "consumer_pending")).toBe(0);
  });

  test("slow_consumers fires when subscribers are cut off and resolves once the window has passed", async () => {
    const { s, nc } = await start({ writeDeadline: 200, alerts: { interval: 20, slow_consumers: { threshold: 1, window: 2000 } } });
    // The window is long enough that /metrics is read before it passes, even on a loaded machine
    // (at 500 ms a CI run under load read the gauge after the alert had resolved).
    const events = watch(nc, "slow_consumers");
    await nc.flush();
    const dead = await rawSubscriber(s.port, "flood", 1);
    dead.socket.pause();
    const pub = await rawPublish(s.port, "flood", 20_000, 1024);
    const fired = await events.next();
    expect(fired).toMatchObject({ state: "firing", value: 1, threshold: 1 });
    expect(s.slowConsumers).toBe(1);
    expect(await gauge(s, "slow_consumers")).toBe(1);
    const resolved = await events.next();
    expect(resolved).toMatchObject({ state: "resolved", value: 0 });
    expect(await gauge(s, "slow_consumers")).toBe(0);
    pub.destroy();
    dead.socket.destroy();
  });

  test("store_usage fires when streams fill the server's file budget and resolves after a purge", async () => {
    const { s, nc } = await start({ maxFileStore: 20_000, alerts: { interval: 20, store_usage: { threshold: 0.5 } } });
    const events = watch(nc, "store_usage");
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "BIG", subjects: ["big"], max_bytes: 20_000 });
    const js = jetstream(nc);
    const body = "x".repeat(1000);
    for (let i = 0; i < 12; i++) await js.publish("big", body);
    const fired = await events.next();
    expect(fired.state).toBe("firing");
    expect(fired.value).toBeGreaterThanOrEqual(0.5);
    expect(fired.value).toBeLessThan(1);
    expect(fired.detail).toMatch(/^file: \d+ of 20000 bytes$/);
    expect(await gauge(s, "store_usage")).toBe(1);
    await jsm.streams.purge("BIG");
    expect(await events.next()).toMatchObject({ state: "resolved", value: 0, threshold: 0.5 });
    expect(await gauge(s, "store_usage")).toBe(0);
  });

  test("publish_latency_p99 fires above a tiny threshold and resolves when no more stores are slow", async () => {
    const { s, nc } = await start({ alerts: { interval: 20, publish_latency_p99: { threshold: 0.000001, window: 300 } } });
    const events = watch(nc, "publish_latency_p99");
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "LAT", subjects: ["lat"] });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish("lat", "x");
    const fired = await events.next();
    expect(fired.state).toBe("firing");
    expect(fired.value).toBeGreaterThan(0.000001);
    expect(await gauge(s, "publish_latency_p99")).toBe(1);
    // No stores for a window: no p99 above the threshold.
    expect(await events.next()).toMatchObject({ state: "resolved", value: 0 });
    expect(await gauge(s, "publish_latency_p99")).toBe(0);
  });

  test("alerts not configured have no gauge, and a server without alerts has none", async () => {
    const { s } = await start({});
    expect(s.alerts).toBeNull();
    const text = await (await fetch(`${s.monitorUrl}/metrics`)).text();
    expect(text).not.toMatch(/^gnat_alert_active\{/m);
  });
});

describe("alerts in the config file", () => {
  test("every alert, with durations, shares and per_minute", () => {
    const { options } = configToOptions(parseConfig(`
      alerts {
        interval: "500ms"
        consumer_pending: { threshold: 1000, for: "30s" }
        slow_consumers: { per_minute: 5 }
        store_usage: { share: 0.9 }
        publish_latency_p99: { threshold: "50ms", for: "1m", window: "5m" }
      }`));
    expect(options.alerts).toEqual({
      interval: 500,
      consumer_pending: { threshold: 1000, for: 30_000 },
      slow_consumers: { threshold: 5, window: 60_000 },
      store_usage: { threshold: 0.9 },
      publish_latency_p99: { threshold: 50, for: 60_000, window: 300_000 },
    });
  });

  test("an unknown alert or field, or a missing threshold, is an error", () => {
    expect(() => configToOptions(parseConfig("alerts { disk_full: { threshold: 1 } }"))).toThrow(/unknown alert "disk_full"/);
    expect(() => configToOptions(parseConfig("alerts { consumer_pending: { treshold: 1 } }"))).toThrow(/unknown field "treshold"/);
    expect(() => configToOptions(parseConfig("alerts {\n consumer_pending: { for: \"1s\" } }"))).toThrow(/alerts.consumer_pending needs a threshold/);
  });

  test("embedding options are validated", async () => {
    await expect(startServer({ port: 0, noLog: true, alerts: { store_usage: { threshold: 90 } } })).rejects.toThrow(/share must be in/);
  });
});
