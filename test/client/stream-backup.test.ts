// gnat stream backup <stream> <dir> and gnat stream restore <dir> (natscli's), against gnat and
// nats-server: a file stream with messages and a durable backed up, deleted, restored from the
// directory, equal to what it was. Each server restores its own kind of snapshot (gnat's is a
// gzipped tar, nats-server's an s2 one); the directory's file says which.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startJetStreamTarget, type Target } from "./kit.js";

const { env } = clientSuite();

describe.each(KINDS)("stream backup and restore against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  let nc: NatsConnection;
  let s: string[];
  const dirs: string[] = [];
  beforeAll(async () => {
    if (skip) return;
    target = await startJetStreamTarget(kind, "gnat-client-backup-");
    s = ["-s", target.url];
    nc = await connect({ servers: target.url });
  });
  afterAll(async () => {
    if (skip) return;
    await nc.close();
    await target.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test.skipIf(skip)("a stream backed up, deleted and restored is the stream it was, its durable included", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: "file" as never });
    const js = jetstream(nc);
    for (let i = 1; i <= 30; i++) await js.publish(`orders.${i % 3}`, `order ${i}`);
    await jsm.streams.deleteMessage("ORDERS", 7);
    await jsm.consumers.add("ORDERS", { durable_name: "SHIP", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("ORDERS", "SHIP");
    for await (const m of await c.fetch({ max_messages: 5, expires: 5000 })) await m.ackAck();
    await nc.flush();
    const before = await jsm.streams.info("ORDERS");
    const ackFloor = (await jsm.consumers.info("ORDERS", "SHIP")).ack_floor.stream_seq;
    expect(ackFloor).toBe(5);

    const dir = mkdtempSync(join(tmpdir(), "gnat-client-backup-dir-"));
    dirs.push(dir);
    const b = await gnat(["stream", "backup", "ORDERS", dir, ...s], env);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^Backed up stream ORDERS \(29 messages, [^)]+\) in \d+ chunks: .+ written to /);
    const file = kind === "gnat" ? "stream.tar.gz" : "stream.tar.s2";
    expect(existsSync(join(dir, file))).toBe(true);
    const meta = JSON.parse(readFileSync(join(dir, "backup.json"), "utf8")) as { config: { name: string }; state: { messages: number } };
    expect(meta.config.name).toBe("ORDERS");
    expect(meta.state.messages).toBe(29);

    await jsm.streams.delete("ORDERS");
    const r = await gnat(["stream", "restore", dir, ...s], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Restored stream ORDERS from .+: 29 messages, .+, 1 consumers\n$/);

    const after = await jsm.streams.info("ORDERS");
    expect(after.state.messages).toBe(before.state.messages);
    expect(after.state.first_seq).toBe(before.state.first_seq);
    expect(after.state.last_seq).toBe(before.state.last_seq);
    expect(after.state.num_deleted).toBe(before.state.num_deleted);
    expect((await jsm.streams.getMessage("ORDERS", { seq: 30 })).string()).toBe("order 30");
    expect((await jsm.consumers.info("ORDERS", "SHIP")).ack_floor.stream_seq).toBe(ackFloor);

    // Restoring over the stream now there is refused with the server's error.
    const again = await gnat(["stream", "restore", dir, ...s], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/stream name already in use, cannot restore/);
  });

  test.skipIf(skip)("backing up a stream that does not exist says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-client-backup-none-"));
    dirs.push(dir);
    const r = await gnat(["stream", "backup", "NOPE", dir, ...s], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/could not back up stream NOPE: stream not found \(10059\)/);
  });
});
