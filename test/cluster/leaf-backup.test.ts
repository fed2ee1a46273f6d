// Stream backup and restore across a leafnode link, by JetStream domain: a client on the hub
// snapshots the edge's stream through `$JS.edge.API` (the chunks come to its inbox over the
// link), restores it on the hub, and restores a snapshot onto the edge (its
// `$JS.SNAPSHOT.RESTORE.…` subject reached over the link, each chunk answered back across it).
// gnat leaf of a gnat hub: each restores gnat's own snapshot format.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restoreSnapshot, takeSnapshot, type Json } from "../jetstream/backup-kit.js";
import { closeLeafSuite, leafsUp, remoteTo, startLeafServer, type LeafServer } from "./leaf-kit.js";

describe("stream backup and restore by domain over a leafnode link (gnat leaf of a gnat hub)", () => {
  let hub: LeafServer;
  let leaf: LeafServer;
  let onHub: NatsConnection;
  let onLeaf: NatsConnection;
  const dir = mkdtempSync(join(tmpdir(), "gnat-leaf-backup-"));

  beforeAll(async () => {
    hub = await startLeafServer({ kind: "gnat", name: "bhub", hub: true, config: `jetstream { domain: hub, store_dir: "${join(dir, "hub")}" }` });
    leaf = await startLeafServer({ kind: "gnat", name: "bleaf", leafnodes: remoteTo(hub), config: `jetstream { domain: edge, store_dir: "${join(dir, "leaf")}" }` });
    await leafsUp([hub, leaf]);
    onHub = await connect({ servers: hub.url });
    onLeaf = await connect({ servers: leaf.url });
  }, 30_000);

  afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub], dir));

  it("the edge's stream, snapshotted from the hub, restores on the hub with its durable", async () => {
    const edge = await jetstreamManager(onLeaf);
    await edge.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: StorageType.File });
    const js = jetstream(onLeaf);
    for (let i = 1; i <= 200; i++) await js.publish(`orders.${i % 4}`, `order ${i}`);
    await edge.consumers.add("ORDERS", { durable_name: "SHIP", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("ORDERS", "SHIP");
    for await (const m of await c.fetch({ max_messages: 10, expires: 5000 })) await m.ackAck();

    // Small chunks: many of them cross the link.
    const snap = await takeSnapshot(onHub, "ORDERS", { api: "$JS.edge.API", chunkSize: 1024 });
    expect(snap.response.error).toBeUndefined();
    expect(snap.chunks).toBeGreaterThan(1);
    const { final } = await restoreSnapshot(onHub, "ORDERS", { config: snap.response.config, state: snap.response.state }, snap.data);
    expect(final?.error).toBeUndefined();
    const local = await jetstreamManager(onHub);
    const si = await local.streams.info("ORDERS");
    expect(si.state.messages).toBe(200);
    expect((await local.consumers.info("ORDERS", "SHIP")).ack_floor.stream_seq).toBe(10);
  });

  it("a snapshot restores onto the edge from the hub, its chunks sent over the link", async () => {
    const local = await jetstreamManager(onHub);
    await local.streams.add({ name: "FROMHUB", subjects: ["fromhub.>"], storage: StorageType.File });
    const js = jetstream(onHub);
    for (let i = 1; i <= 50; i++) await js.publish("fromhub.x", `m ${i}`);
    const snap = await takeSnapshot(onHub, "FROMHUB");
    const { response, final } = await restoreSnapshot(onHub, "FROMHUB", { config: snap.response.config }, snap.data, 1024, "$JS.edge.API");
    expect(response.error).toBeUndefined();
    expect(final?.error).toBeUndefined();
    expect(((final as Json).state as Json).messages).toBe(50);
    expect((await (await jetstreamManager(onLeaf)).streams.info("FROMHUB")).state.messages).toBe(50);
  });
});
