// A server stopped cleanly comes back from its streams' index snapshots (index.snap, written as
// the stores close) with the same streams; without a snapshot it comes back through the index
// files. Either way the stream, its per-subject counts, its deleted sequences and its duplicate
// window are what they were.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, expect, test } from "vitest";
import type { FileStore } from "../../server/jetstream/file-store.js";
import type { Server } from "../../server/index.js";
import { tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

const store = tempDir("gnat-snapshot-restart-");
afterAll(() => store.remove());
const streamDir = join(store.dir, "jetstream", "$G", "streams", "SNAP");

const fileStore = (server: Server): FileStore => server.jetstream!.streams.get("SNAP")!.store as FileStore;

async function info(nc: NatsConnection) {
  const si = await (await jetstreamManager(nc)).streams.info("SNAP", { subjects_filter: ">", deleted_details: true });
  return { state: si.state };
}

test("a clean stop restarts from the index snapshot with the same stream and duplicate window", async () => {
  let server = await startGnat({ jetstream: true, storeDir: store.dir });
  let nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "SNAP", subjects: ["snap.>"], duplicate_window: 60_000_000_000 });
  const js = jetstream(nc);
  for (let i = 0; i < 300; i++) await js.publish(`snap.${i % 7}`, Buffer.from(`m${i}`), { msgID: `id-${i}` });
  await jsm.streams.deleteMessage("SNAP", 10);
  await jsm.streams.deleteMessage("SNAP", 150);
  const before = await info(nc);
  expect(before.state.num_deleted).toBe(2);
  await nc.close();
  await server.close();
  expect(existsSync(join(streamDir, "index.snap"))).toBe(true);

  server = await startGnat({ jetstream: true, storeDir: store.dir });
  expect(fileStore(server).ioStats().snapshot).toBe(true);
  expect(existsSync(join(streamDir, "index.snap"))).toBe(false);
  nc = await connect({ servers: server.url });
  expect(await info(nc)).toEqual(before);
  expect(await jetstream(nc).publish("snap.1", Buffer.from("again"), { msgID: "id-299" })).toMatchObject({ duplicate: true, seq: 300 });
  expect(await jetstream(nc).publish("snap.1", Buffer.from("new"), { msgID: "id-new" })).toMatchObject({ duplicate: false, seq: 301 });
  const after = await info(nc);
  await nc.close();
  await server.close();
  // Without the snapshot (as after a kill -9, which writes none: test/jetstream/crash.test.ts
  // covers that path's durability) the index files give the same stream.
  rmSync(join(streamDir, "index.snap"));
  server = await startGnat({ jetstream: true, storeDir: store.dir });
  expect(fileStore(server).ioStats()).toMatchObject({ snapshot: false });
  nc = await connect({ servers: server.url });
  expect(await info(nc)).toEqual(after);
  await nc.close();
  await server.close();
});
