// Stream backup and restore over the API ($JS.API.STREAM.SNAPSHOT / RESTORE), gnat to gnat: a
// stream with messages, deletes, headers and a durable's ack state taken from one server and
// restored on another equal in state and consumer position; a snapshot bigger than the 8 MB
// window (the server waits for answers); the restored stream surviving kill -9 of the restoring
// process right after the restore answered. The API's errors are compared with nats-server's in
// test/differential/backup.test.ts.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { TAR_END, tarEntry } from "../../server/jetstream/backup-format.js";
import { startGnat, tempDir } from "../kit/gnat.js";
import { ensureBuilt, spawnGnat, stopAll } from "../kit/processes.js";
import { settle, until } from "../kit/wait.js";
import { restoreSnapshot, takeSnapshot, type Json } from "./backup-kit.js";

const WINDOW = 8 * 1024 * 1024;
const cleanups: Array<() => void> = [];
let a: Server;
let b: Server;
let nca: NatsConnection;
let ncb: NatsConnection;
let jsma: JetStreamManager;
let jsmb: JetStreamManager;
let storeB: string;

beforeAll(async () => {
  ensureBuilt();
  const da = tempDir("gnat-backup-a-");
  const db = tempDir("gnat-backup-b-");
  cleanups.push(da.remove, db.remove);
  a = await startGnat({ jetstream: true, storeDir: da.dir });
  b = await startGnat({ jetstream: true, storeDir: db.dir });
  storeB = db.dir;
  nca = await connect({ servers: a.url });
  ncb = await connect({ servers: b.url });
  jsma = await jetstreamManager(nca);
  jsmb = await jetstreamManager(ncb);
}, 120_000);

afterEach(async () => {
  await stopAll();
  for (const jsm of [jsma, jsmb]) for await (const name of jsm.streams.names()) await jsm.streams.delete(name);
});

afterAll(async () => {
  await nca.close();
  await ncb.close();
  await a.close();
  await b.close();
  for (const f of cleanups.splice(0)) f();
});

/** ORDERS on `nc`'s server: 50 messages (some with headers) on 5 subjects, seq 1-3 purged, 10 and 20 deleted. */
async function fillOrders(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: StorageType.File, max_msgs_per_subject: 100 });
  const js = jetstream(nc);
  for (let i = 1; i <= 50; i++) {
    const h = headers();
    h.set("X-Index", String(i));
    await js.publish(`orders.${i % 5}`, `order ${i}`, i % 2 === 0 ? { headers: h } : {});
  }
  await jsm.streams.purge("ORDERS", { seq: 4 });
  await jsm.streams.deleteMessage("ORDERS", 10);
  await jsm.streams.deleteMessage("ORDERS", 20, false);
}

/** A durable with 20 messages delivered (seq 4-25): up to seq 12 acked (the floor), the rest pending, 14 redelivered once. */
async function durableWithAckState(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
  await jsm.consumers.add("ORDERS", { durable_name: "SHIP", ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000 });
  const c = await jetstream(nc).consumers.get("ORDERS", "SHIP");
  const first = await c.fetch({ max_messages: 20, expires: 5000 });
  for await (const m of first) {
    if (m.seq <= 12) await m.ackAck();
    else if (m.seq === 14) m.nak();
  }
  const again = await c.fetch({ max_messages: 1, expires: 5000 });
  for await (const m of again) expect(m.seq).toBe(14);
  await until(async () => (await jsm.consumers.info("ORDERS", "SHIP")).num_redelivered === 1, { what: "the redelivery counted" });
}

/** Everything of a stream a client can read: its info's state and config, and every message. */
async function contents(nc: NatsConnection, jsm: JetStreamManager, name: string): Promise<Json> {
  const si = await jsm.streams.info(name, { deleted_details: true });
  const msgs: Array<[number, string, string, string]> = [];
  for (let seq = si.state.first_seq; seq <= si.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (m !== null) msgs.push([m.seq, m.subject, m.string(), m.header.get("X-Index")]);
  }
  const { ts: _ts, ...state } = si.state as unknown as Json;
  return { config: si.config, created: si.created, state, msgs };
}

async function durableState(jsm: JetStreamManager, stream: string, name: string): Promise<Json> {
  const ci = await jsm.consumers.info(stream, name);
  // last_active is when the consumer last delivered or was acked here: not part of its state.
  const pos = ({ consumer_seq, stream_seq }: { consumer_seq: number; stream_seq: number }): Json => ({ consumer_seq, stream_seq });
  return { delivered: pos(ci.delivered), ack_floor: pos(ci.ack_floor), num_ack_pending: ci.num_ack_pending, num_redelivered: ci.num_redelivered, num_pending: ci.num_pending, config: ci.config };
}

describe("stream backup and restore, gnat to gnat", () => {
  test("a restored stream equals the original: messages, deletes, headers, created time and the durable's position", async () => {
    await fillOrders(nca, jsma);
    await durableWithAckState(nca, jsma);
    const before = await contents(nca, jsma, "ORDERS");
    const consumerBefore = await durableState(jsma, "ORDERS", "SHIP");

    const snap = await takeSnapshot(nca, "ORDERS");
    expect(snap.response.type).toBe("io.nats.jetstream.api.v1.stream_snapshot_response");
    expect((snap.response.state as Json).messages).toBe(45);
    expect((snap.response.config as Json).name).toBe("ORDERS");
    expect(snap.chunks).toBeGreaterThan(0);

    const { response, final } = await restoreSnapshot(ncb, "ORDERS", { config: snap.response.config, state: snap.response.state }, snap.data, 1000);
    expect(response.type).toBe("io.nats.jetstream.api.v1.stream_restore_response");
    expect(response.deliver_subject).toMatch(/^\$JS\.SNAPSHOT\.RESTORE\.ORDERS\./);
    expect(final?.type).toBe("io.nats.jetstream.api.v1.stream_create_response");
    expect(final?.error).toBeUndefined();
    expect((final?.state as Json).messages).toBe(45);

    expect(await contents(ncb, jsmb, "ORDERS")).toEqual(before);
    expect(await durableState(jsmb, "ORDERS", "SHIP")).toEqual(consumerBefore);

    // The restored durable carries on where the original was: 26 is next (4-25 delivered, 10 and 20 deleted).
    expect(consumerBefore.delivered).toEqual({ consumer_seq: 21, stream_seq: 25 });
    const c = await jetstream(ncb).consumers.get("ORDERS", "SHIP");
    const next = await c.fetch({ max_messages: 1, expires: 5000 });
    for await (const m of next) expect(m.seq).toBe(26);
  });

  test("jsck on a sound stream checks it and snapshots it", async () => {
    await fillOrders(nca, jsma);
    const inbox = `_INBOX.jsck.${Date.now()}`;
    const sub = nca.subscribe(inbox);
    const r = (await nca.request("$JS.API.STREAM.SNAPSHOT.ORDERS", JSON.stringify({ deliver_subject: inbox, jsck: true }))).json<Json>();
    expect(r.error).toBeUndefined();
    expect((r.state as Json).messages).toBe(45);
    let chunks = 0;
    for await (const m of sub) {
      if (m.data.length === 0) break;
      chunks++;
      m.respond();
    }
    expect(chunks).toBeGreaterThan(0);
  });

  test("no_consumers leaves the durables out", async () => {
    await fillOrders(nca, jsma);
    await jsma.consumers.add("ORDERS", { durable_name: "SHIP", ack_policy: AckPolicy.Explicit });
    const snap = await takeSnapshot(nca, "ORDERS", { noConsumers: true });
    const { final } = await restoreSnapshot(ncb, "ORDERS", { config: snap.response.config, state: snap.response.state }, snap.data);
    expect(final?.error).toBeUndefined();
    expect((await jsmb.streams.info("ORDERS")).state.consumer_count).toBe(0);
  });

  test("the snapshot is a gzipped tar of the stream, its durables and its messages", async () => {
    await fillOrders(nca, jsma);
    await jsma.consumers.add("ORDERS", { durable_name: "SHIP", ack_policy: AckPolicy.Explicit });
    const snap = await takeSnapshot(nca, "ORDERS");
    const tar = gunzipSync(snap.data);
    const names: string[] = [];
    for (let o = 0; o + 512 <= tar.length;) {
      const h = tar.subarray(o, o + 512);
      if (h.every((x) => x === 0)) break;
      names.push(h.toString("utf8", 0, 100).replace(/\0.*$/s, ""));
      const size = parseInt(h.toString("latin1", 124, 135), 8);
      o += 512 + Math.ceil(size / 512) * 512;
    }
    expect(names).toEqual(["stream.json", "consumers/000001.json", "msgs/000001.bin"]);
  });

  test("a snapshot larger than the window waits for its chunks to be answered", async () => {
    await jsma.streams.add({ name: "BIG", subjects: ["big"], storage: StorageType.File });
    const js = jetstream(nca);
    // 12 MB that gzip cannot shrink: more than the 8 MB window.
    const N = 3000;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(Array.from({ length: 100 }, () => js.publish("big", randomBytes(4096))));
    }
    const chunkSize = 64 * 1024;
    let held: Array<() => void> = [];
    let receivedBeforeRelease = -1;
    let release = false;
    const inbox = `_INBOX.bigsnap.${Date.now()}`;
    const sub = nca.subscribe(inbox);
    const resp = (await nca.request("$JS.API.STREAM.SNAPSHOT.BIG", JSON.stringify({ deliver_subject: inbox, chunk_size: chunkSize }))).json<Json>();
    expect(resp.error).toBeUndefined();
    const parts: Buffer[] = [];
    let bytes = 0;
    const done = (async () => {
      for await (const m of sub) {
        if (m.data.length === 0) break;
        parts.push(Buffer.from(m.data));
        bytes += m.data.length;
        // Hold every answer until the server has stopped at its window.
        if (release) m.respond();
        else held.push(() => m.respond());
      }
    })();
    await until(() => bytes > WINDOW, { timeout: 30_000, what: "the first 8 MB" });
    // No answers: within a second nothing more than the window and one chunk comes.
    await settle(() => bytes > WINDOW + chunkSize, { timeout: 1000 });
    receivedBeforeRelease = bytes;
    expect(receivedBeforeRelease).toBeLessThanOrEqual(WINDOW + chunkSize);
    release = true;
    for (const f of held) f();
    held = [];
    await done;
    sub.unsubscribe();
    const data = Buffer.concat(parts);
    expect(data.length).toBeGreaterThan(WINDOW + chunkSize);

    const { final } = await restoreSnapshot(ncb, "BIG", { config: resp.config, state: resp.state }, data, 512 * 1024);
    expect(final?.error).toBeUndefined();
    const si = await jsmb.streams.info("BIG");
    expect(si.state.messages).toBe(N);
    expect(si.state.bytes).toBe((await jsma.streams.info("BIG")).state.bytes);
    const [m1, m2] = await Promise.all([jsma.streams.getMessage("BIG", { seq: 1777 }), jsmb.streams.getMessage("BIG", { seq: 1777 })]);
    expect(Buffer.from(m2.data).equals(Buffer.from(m1.data))).toBe(true);
  }, 120_000);

  test("a restored stream survives kill -9 of the server right after the restore answered", async () => {
    await fillOrders(nca, jsma);
    await durableWithAckState(nca, jsma);
    const before = await contents(nca, jsma, "ORDERS");
    const consumerBefore = await durableState(jsma, "ORDERS", "SHIP");
    const snap = await takeSnapshot(nca, "ORDERS");

    const store = tempDir("gnat-backup-kill-");
    const ports = tempDir("gnat-backup-kill-ports-");
    cleanups.push(store.remove, ports.remove);
    const args = ["-js", "-sd", store.dir];
    let child = await spawnGnat(args, ports.dir);
    let nc = await connect({ servers: child.url, reconnect: false });
    const { final } = await restoreSnapshot(nc, "ORDERS", { config: snap.response.config, state: snap.response.state }, snap.data);
    expect(final?.error).toBeUndefined();
    child.child.kill("SIGKILL");
    await child.exited();
    await nc.close().catch(() => undefined);

    child = await spawnGnat(args, ports.dir);
    nc = await connect({ servers: child.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    try {
      expect(await contents(nc, jsm, "ORDERS")).toEqual(before);
      expect(await durableState(jsm, "ORDERS", "SHIP")).toEqual(consumerBefore);
    } finally {
      await nc.close();
    }
  }, 60_000);

  test("kill -9 in the middle of a restore leaves no stream, and the restart clears what was staged", async () => {
    await fillOrders(nca, jsma);
    const snap = await takeSnapshot(nca, "ORDERS");
    const store = tempDir("gnat-backup-midkill-");
    const ports = tempDir("gnat-backup-midkill-ports-");
    cleanups.push(store.remove, ports.remove);
    const args = ["-js", "-sd", store.dir];
    let child = await spawnGnat(args, ports.dir);
    let nc = await connect({ servers: child.url, reconnect: false });
    const r = (await nc.request("$JS.API.STREAM.RESTORE.ORDERS", JSON.stringify({ config: snap.response.config }))).json<Json>();
    await nc.request(r.deliver_subject as string, snap.data.subarray(0, snap.data.length - 30), { timeout: 5000 });
    const staging = join(store.dir, "jetstream", "$G", "__restore__");
    await until(() => existsSync(staging) && readdirSync(staging).length === 1, { what: "the restore staged" });
    child.child.kill("SIGKILL");
    await child.exited();
    await nc.close().catch(() => undefined);

    child = await spawnGnat(args, ports.dir);
    nc = await connect({ servers: child.url, reconnect: false });
    try {
      await expect((await jetstreamManager(nc)).streams.info("ORDERS")).rejects.toThrow(/stream not found/);
      expect(existsSync(staging)).toBe(false);
    } finally {
      await nc.close();
    }
  }, 60_000);

  test("a snapshot taken while messages are published holds exactly what its response stated", async () => {
    await jsma.streams.add({ name: "BUSY", subjects: ["busy.>"], storage: StorageType.File });
    const js = jetstream(nca);
    let acked = 0;
    const publishing = (async () => {
      for (let i = 0; i < 40; i++) {
        await Promise.all(Array.from({ length: 50 }, (_, k) => js.publish(`busy.${k % 4}`, `m ${i}.${k}`)));
        acked += 50;
      }
    })();
    await until(() => acked >= 500, { what: "500 publishes acked" });
    const snap = await takeSnapshot(nca, "BUSY");
    await publishing;
    const stated = snap.response.state as Json;
    expect(stated.messages).toBeLessThan(2000);
    const { final } = await restoreSnapshot(ncb, "BUSY", { config: snap.response.config, state: stated }, snap.data);
    expect(final?.error).toBeUndefined();
    const si = await jsmb.streams.info("BUSY");
    expect(si.state.messages).toBe(stated.messages);
    expect(si.state.last_seq).toBe(stated.last_seq);
  });

  test("a restore that stops sending is abandoned after 5 s: its subject goes and nothing is left staged", async () => {
    const r = (await ncb.request("$JS.API.STREAM.RESTORE.STALL", JSON.stringify({ config: { name: "STALL", subjects: ["stall"] } }))).json<Json>();
    const deliver = r.deliver_subject as string;
    await fillOrders(nca, jsma);
    const snap = await takeSnapshot(nca, "ORDERS");
    // All but the end: the stream is staged by then.
    await ncb.request(deliver, snap.data.subarray(0, snap.data.length - 30), { timeout: 5000 });
    const staging = join(storeB, "jetstream", "$G", "__restore__");
    const staged = (): number => (existsSync(staging) ? readdirSync(staging).length : 0);
    await until(() => staged() === 1, { what: "the restore staged" });
    // Nothing more is sent (a probe would keep it alive): the staging goes, then so has the subject.
    await until(() => staged() === 0, { timeout: 20_000, what: "the stalled restore abandoned" });
    await expect(ncb.request(deliver, snap.data.subarray(snap.data.length - 30), { timeout: 5000 })).rejects.toThrow(/no responders/i);
    await expect(jsmb.streams.info("STALL")).rejects.toThrow(/stream not found/);
  }, 30_000);

  test("restoring a stream that exists is refused; the existing one is left alone", async () => {
    await fillOrders(nca, jsma);
    const snap = await takeSnapshot(nca, "ORDERS");
    const { response } = await restoreSnapshot(nca, "ORDERS", { config: snap.response.config, state: snap.response.state }, snap.data);
    expect(response.error).toEqual({ code: 400, err_code: 10130, description: "stream name already in use, cannot restore" });
    expect((await jsma.streams.info("ORDERS")).state.messages).toBe(45);
  });

  test("bytes that are not a gnat snapshot fail the restore and leave nothing behind", async () => {
    const cfg = { name: "JUNK", subjects: ["junk"], storage: "file" };
    const { final } = await restoreSnapshot(ncb, "JUNK", { config: cfg }, randomBytes(5000));
    expect(final?.type).toBe("io.nats.jetstream.api.v1.stream_create_response");
    expect((final?.error as Json).err_code).toBe(10062);
    expect((final?.error as Json).description).toMatch(/^restore failed: not a gnat snapshot/);
    await expect(jsmb.streams.info("JUNK")).rejects.toThrow(/stream not found/);
  });

  test("a snapshot cut short fails the restore: the tar is incomplete", async () => {
    await fillOrders(nca, jsma);
    const snap = await takeSnapshot(nca, "ORDERS");
    const { final } = await restoreSnapshot(ncb, "ORDERS", { config: snap.response.config }, snap.data.subarray(0, snap.data.length - 20));
    expect((final?.error as Json).err_code).toBe(10062);
    await expect(jsmb.streams.info("ORDERS")).rejects.toThrow(/stream not found/);
  });

  test("a name that would be a path is refused: the stream's at the request, a consumer's in the snapshot", async () => {
    const r = (await ncb.request("$JS.API.STREAM.RESTORE.X", JSON.stringify({ config: { name: "a/b", subjects: ["ab"] } }))).json<Json>();
    expect(r.error).toEqual({ code: 400, err_code: 10128, description: "Stream name can not contain path separators" });
    const header = { config: { name: "EVIL", subjects: ["evil"], storage: "file" }, created: "1", first_seq: 1, last_seq: 0, msgs: 0 };
    const tar = Buffer.concat([
      tarEntry("stream.json", Buffer.from(JSON.stringify(header)), 0),
      tarEntry("consumers/000001.json", Buffer.from(JSON.stringify({ name: "x/../../../escape", state: {} })), 0),
      TAR_END,
    ]);
    const { final } = await restoreSnapshot(ncb, "EVIL", { config: { name: "EVIL", subjects: ["evil"] } }, gzipSync(tar));
    expect(final?.error).toEqual({ code: 500, err_code: 10062, description: "restore failed: unexpected content" });
    expect(existsSync(join(storeB, "jetstream", "$G", "escape"))).toBe(false);
    await expect(jsmb.streams.info("EVIL")).rejects.toThrow(/stream not found/);
  });

  test("a restore under another name than the snapshot's is refused as nats-server does", async () => {
    await fillOrders(nca, jsma);
    const snap = await takeSnapshot(nca, "ORDERS");
    const cfg = { ...(snap.response.config as Json), name: "OTHER", subjects: ["other.>"] };
    const { final } = await restoreSnapshot(ncb, "OTHER", { config: cfg }, snap.data);
    expect(final?.error).toEqual({ code: 500, err_code: 10062, description: "restore failed: stream names do not match" });
  });

  test("a snapshot restores into a memory stream when the restore's config says memory", async () => {
    await fillOrders(nca, jsma);
    await durableWithAckState(nca, jsma);
    const consumerBefore = await durableState(jsma, "ORDERS", "SHIP");
    const snap = await takeSnapshot(nca, "ORDERS");
    const cfg = { ...(snap.response.config as Json), storage: "memory" };
    const { final } = await restoreSnapshot(ncb, "ORDERS", { config: cfg }, snap.data);
    expect(final?.error).toBeUndefined();
    const si = await jsmb.streams.info("ORDERS");
    expect(si.config.storage).toBe("memory");
    expect(si.state.messages).toBe(45);
    expect(await durableState(jsmb, "ORDERS", "SHIP")).toEqual(consumerBefore);
  });
});
