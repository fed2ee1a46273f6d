// Regression: a file stream's restart rebuilt its Msg-Id table by loading every message of the
// duplicate window (2 minutes by default) newest first. The block read-ahead reads forward, so
// each message cost a fresh 256 KiB read: a 1 GB stream written in the last two minutes took 18 s
// to come back, 15 s of it in read(2). A by_start_time consumer likewise read the stream from disk
// up to its start time. Both now find their first sequence by time in the in-memory index
// (nats-server GetSeqFromTime) and read forward from there; the Msg-Id rebuild reads only the
// messages that have headers (the index knows which).
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, expect, test } from "vitest";
import type { FileStore } from "../../server/jetstream/file-store.js";
import type { Server } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";
import { startGnat } from "../kit/gnat.js";

const store = tempDir("gnat-dedupe-restart-");
afterAll(() => store.remove());

const MSGS = 3000;
const body = Buffer.alloc(1024, 0x61);

const start = (): Promise<Server> => startGnat({ jetstream: true, storeDir: store.dir });
const reads = (server: Server, stream = "R"): number => (server.jetstream!.streams.get(stream)!.store as FileStore).ioStats().reads;

/** A server on the shared store dir, a client of it, both closed when fn is done. */
async function withServer(fn: (server: Server, nc: NatsConnection) => Promise<void>): Promise<void> {
  const server = await start();
  const nc = await connect({ servers: server.url });
  try {
    await fn(server, nc);
  } finally {
    await nc.close();
    await server.close();
  }
}

async function publishWithId(nc: NatsConnection, id: string): Promise<{ seq: number; duplicate: boolean }> {
  const h = headers();
  h.set("Nats-Msg-Id", id);
  return await jetstream(nc).publish("r.x", body, { headers: h });
}

test("a restart reads the duplicate window forward, a read-ahead chunk at a time, and still dedupes", async () => {
  await withServer(async (_, nc) => {
    await (await jetstreamManager(nc)).streams.add({ name: "R", subjects: ["r.>"] });
    const js = jetstream(nc);
    for (let i = 0; i < MSGS; i += 500) {
      const acks = [];
      for (let k = i; k < i + 500; k++) acks.push(js.publish("r.x", body, { msgID: `id-${k}` }));
      await Promise.all(acks);
    }
  });
  await withServer(async (server, nc) => {
    // 3,000 records of ~1.1 KiB are ~13 read-ahead chunks; newest first it was one read each.
    expect(reads(server)).toBeLessThan(MSGS / 20);
    // Every Msg-Id of the window is known again, first and last included; a new one is stored.
    for (const k of [0, 1500, MSGS - 1]) {
      expect(await publishWithId(nc, `id-${k}`)).toMatchObject({ seq: k + 1, duplicate: true });
    }
    expect(await publishWithId(nc, "id-new")).toMatchObject({ seq: MSGS + 1, duplicate: false });
  });
});

test("a by_start_time consumer finds its start without reading the stream before it", async () => {
  await withServer(async (server, nc) => {
    const jsm = await jetstreamManager(nc);
    const first = await jsm.streams.getMessage("R", { seq: 2001 });
    const before = reads(server);
    const ci = await jsm.consumers.add("R", {
      durable_name: "late", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(first.time.getTime()).toISOString(),
    });
    // The start is found in the index; at most the first message's chunk is read.
    expect(reads(server) - before).toBeLessThanOrEqual(1);
    // A ms-rounded start time may take in a few messages stored in the same ms before 2001.
    expect(ci.num_pending).toBeGreaterThanOrEqual(MSGS + 1 - 2000);
    const m = await (await jetstream(nc).consumers.get("R", "late")).next();
    expect(m).not.toBeNull();
    expect(m!.seq).toBeLessThanOrEqual(2001);
    expect(first.time.getTime() - (await jsm.streams.getMessage("R", { seq: m!.seq })).time.getTime()).toBeLessThan(1);
  });
});

test("a restart reads none of a stream's messages when none of them has headers", async () => {
  await withServer(async (_, nc) => {
    await (await jetstreamManager(nc)).streams.add({ name: "P", subjects: ["p.>"] });
    const js = jetstream(nc);
    await Promise.all(Array.from({ length: 1000 }, () => js.publish("p.x", body)));
  });
  await withServer(async (server, nc) => {
    expect(reads(server, "P")).toBe(0);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("P")).state.messages).toBe(1000);
    expect((await jsm.streams.getMessage("P", { seq: 1000 })).data.length).toBe(1024);
  });
});
