// @nats-io/kv v3 against gnat: bucket options, put/get/create/update with revisions, delete,
// purge, keys, history, watch (history, updates only, ignoring deletes), TTL expiry, status.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiError, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude, type KV, type KvWatchEntry } from "@nats-io/kv";
import { describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { jetStreamSuite, tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";
import { settle } from "../kit/wait.js";

let server: Server;
let nc: NatsConnection;
let jsm: JetStreamManager;
let kvm: Kvm;
jetStreamSuite("gnat-jskv-", (t) => {
  ({ server, nc, jsm } = t); kvm = new Kvm(t.nc);
});

async function take(it: AsyncIterable<KvWatchEntry>, n: number, ms = 3000): Promise<string[]> {
  const out: string[] = [];
  const timer = new Promise<void>((r) => setTimeout(r, ms));
  const reading = (async () => {
    for await (const e of it) {
      out.push(`${e.operation} ${e.key}=${e.string()}@${e.revision}`);
      if (out.length >= n) break;
    }
  })();
  await Promise.race([reading, timer]);
  return out;
}

async function kvError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("KV buckets", () => {
  test("create with history, ttl, max_bytes and storage; status reports them", async () => {
    const kv = await kvm.create("CFG", { history: 10, ttl: 60_000, max_bytes: 1 << 20, storage: StorageType.Memory, description: "config" });
    await kv.put("a", "1");
    const st = await kv.status();
    expect(st.bucket).toBe("CFG");
    expect(st.history).toBe(10);
    expect(st.ttl).toBe(60_000);
    expect(st.max_bytes).toBe(1 << 20);
    expect(st.storage).toBe("memory");
    expect(st.values).toBe(1);
    expect(st.description).toBe("config");
    expect(st.streamInfo.config.name).toBe("KV_CFG");
    expect(st.streamInfo.config.subjects).toEqual(["$KV.CFG.>"]);
    expect(st.streamInfo.config.max_msgs_per_subject).toBe(10);
    expect(st.streamInfo.config.allow_rollup_hdrs).toBe(true);
    expect(st.streamInfo.config.discard).toBe("new");
    expect(st.streamInfo.config.allow_direct).toBe(true);
    // Opening it again binds to the same stream; listing finds it.
    const again = await kvm.open("CFG");
    expect((await again.get("a"))!.string()).toBe("1");
    const names: string[] = [];
    for await (const s of kvm.list()) names.push(s.bucket);
    expect(names).toEqual(["CFG"]);
  });

  test("max_bytes and maxValueSize are enforced", async () => {
    const kv = await kvm.create("SMALL", { max_bytes: 1024, maxValueSize: 600 });
    await kv.put("a", "x".repeat(500));
    expect((await kvError(kv.put("b", "x".repeat(700)))).message).toBe("message size exceeds maximum allowed");
    expect((await kvError(kv.put("b", "x".repeat(590)))).message).toBe("maximum bytes exceeded");
  });

  test("a file bucket keeps its values over a restart", async () => {
    const dir = tempDir("gnat-jskv-restart-");
    let s = await startGnat({ jetstream: true, storeDir: dir.dir });
    let c = await connect({ servers: s.url });
    try {
      const kv = await new Kvm(c).create("F", { history: 3 });
      await kv.put("k", "v1");
      await kv.put("k", "v2");
      await c.close();
      await s.close();
      s = await startGnat({ jetstream: true, storeDir: dir.dir });
      c = await connect({ servers: s.url });
      const kv2 = await new Kvm(c).open("F");
      const e = (await kv2.get("k"))!;
      expect([e.string(), e.revision]).toEqual(["v2", 2]);
      expect((await kv2.get("k", { revision: 1 }))!.string()).toBe("v1");
    } finally {
      await c.close();
      await s.close();
      dir.remove();
    }
  });
});

describe("KV values", () => {
  let kv: KV;

  test("put and get, with revisions", async () => {
    kv = await kvm.create("B", { history: 5 });
    expect(await kv.put("a.b", "1")).toBe(1);
    expect(await kv.put("a.b", "2")).toBe(2);
    const e = (await kv.get("a.b"))!;
    expect([e.key, e.string(), e.revision, e.operation, e.bucket]).toEqual(["a.b", "2", 2, "PUT", "B"]);
    expect(e.created.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect((await kv.get("a.b", { revision: 1 }))!.string()).toBe("1");
    expect(await kv.get("nope")).toBeNull();
    await kv.put("j", JSON.stringify({ x: 1 }));
    expect((await kv.get("j"))!.json()).toEqual({ x: 1 });
  });

  test("create fails on an existing key, works again after a delete", async () => {
    kv = await kvm.create("B", { history: 5 });
    expect(await kv.create("k", "1")).toBe(1);
    const err = await kvError(kv.create("k", "2"));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).code).toBe(10071);
    await kv.delete("k");
    expect(await kv.get("k")).toMatchObject({ operation: "DEL" });
    expect(await kv.create("k", "3")).toBe(3);
    expect((await kv.get("k"))!.string()).toBe("3");
  });

  test("update needs the current revision; a wrong one is the client's wrong last sequence error", async () => {
    kv = await kvm.create("B", { history: 5 });
    const r1 = await kv.put("k", "1");
    const r2 = await kv.update("k", "2", r1);
    expect(r2).toBe(r1 + 1);
    const err = await kvError(kv.update("k", "3", r1));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).code).toBe(10071);
    expect(err.message).toBe("wrong last sequence: 2");
    expect((await kv.get("k"))!.string()).toBe("2");
  });

  test("delete keeps history, purge drops it; keys leave both out", async () => {
    kv = await kvm.create("B", { history: 5 });
    await kv.put("a", "1");
    await kv.put("a", "2");
    await kv.put("b", "1");
    await kv.put("c", "1");
    await kv.delete("b");
    await kv.purge("c");
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys.sort()).toEqual(["a"]);
    expect((await kv.get("b"))?.operation).toBe("DEL");
    expect((await kv.get("c"))?.operation).toBe("PURGE");
    const hist: string[] = [];
    for await (const e of await kv.history({ key: "b" })) hist.push(`${e.operation}:${e.string()}`);
    expect(hist).toEqual(["PUT:1", "DEL:"]);
    const ch: string[] = [];
    for await (const e of await kv.history({ key: "c" })) ch.push(e.operation);
    expect(ch).toEqual(["PURGE"]);
    const ah: string[] = [];
    for await (const e of await kv.history({ key: "a" })) ah.push(e.string());
    expect(ah).toEqual(["1", "2"]);
    // keys with a filter
    await kv.put("x.1", "1");
    await kv.put("x.2", "1");
    const xs: string[] = [];
    for await (const k of await kv.keys("x.*")) xs.push(k);
    expect(xs.sort()).toEqual(["x.1", "x.2"]);
  });

  test("history is capped at the bucket's history", async () => {
    kv = await kvm.create("B", { history: 2 });
    for (let i = 0; i < 5; i++) await kv.put("k", `${i}`);
    const hist: string[] = [];
    for await (const e of await kv.history({ key: "k" })) hist.push(e.string());
    expect(hist).toEqual(["3", "4"]);
  });

  test("purgeDeletes removes the markers", async () => {
    kv = await kvm.create("B", { history: 5 });
    await kv.put("a", "1");
    await kv.delete("a");
    await kv.put("b", "1");
    await kv.purgeDeletes(0);
    const st = await kv.status();
    expect(st.values).toBe(1);
    expect(await kv.get("a")).toBeNull();
  });
});

describe("KV watch", () => {
  test("last values, then updates; deletes included by default", async () => {
    const kv = await kvm.create("W", { history: 5 });
    await kv.put("a", "1");
    await kv.put("a", "2");
    await kv.put("b", "1");
    const w = await kv.watch();
    const got = take(w, 4);
    await kv.put("c", "1");
    await kv.delete("a");
    expect(await got).toEqual(["PUT a=2@2", "PUT b=1@3", "PUT c=1@4", "DEL a=@5"]);
  });

  test("watch with include history replays every revision", async () => {
    const kv = await kvm.create("W", { history: 5 });
    await kv.put("a", "1");
    await kv.put("a", "2");
    const w = await kv.watch({ include: KvWatchInclude.AllHistory });
    const got = take(w, 3);
    await kv.put("a", "3");
    expect(await got).toEqual(["PUT a=1@1", "PUT a=2@2", "PUT a=3@3"]);
  });

  // The client's ignoreDeletes skips DEL markers only; a PURGE still shows.
  test("updates only, ignoring deletes, on one key", async () => {
    const kv = await kvm.create("W", { history: 5 });
    await kv.put("a", "1");
    await kv.put("b", "1");
    const w = await kv.watch({ key: "a", include: KvWatchInclude.UpdatesOnly, ignoreDeletes: true });
    const got = take(w, 3);
    await kv.put("b", "2");
    await kv.delete("a");
    await kv.put("a", "2");
    await kv.purge("a");
    await kv.put("a", "3");
    expect(await got).toEqual(["PUT a=2@5", "PURGE a=@6", "PUT a=3@7"]);
  });

  test("an empty bucket's watcher gets new values", async () => {
    const kv = await kvm.create("W");
    const w = await kv.watch();
    const got = take(w, 1);
    await kv.put("z", "1");
    expect(await got).toEqual(["PUT z=1@1"]);
  });
});

describe("KV TTL", () => {
  test("values expire after the bucket's ttl", async () => {
    const kv = await kvm.create("T", { ttl: 500 });
    await kv.put("a", "1");
    expect((await kv.get("a"))!.string()).toBe("1");
    await settle(async () => (await kv.get("a")) === null, { timeout: 5000, interval: 100 });
    expect(await kv.get("a")).toBeNull();
    expect((await kv.status()).values).toBe(0);
  });
});

describe("KV with the nats v2 client", () => {
  test("put/get, update with a wrong revision, keys, history, watch with history", async () => {
    const { connect: connectV2, StringCodec } = await import("nats");
    const nc2 = await connectV2({ servers: server.url });
    try {
      const sc = StringCodec();
      const kv = await nc2.jetstream().views.kv("V2", { history: 5 });
      await kv.put("a", sc.encode("1"));
      await kv.put("a", sc.encode("2"));
      expect(sc.decode((await kv.get("a"))!.value)).toBe("2");
      await expect(kv.update("a", sc.encode("x"), 1)).rejects.toThrow("wrong last sequence: 2");
      await expect(kv.create("a", sc.encode("x"))).rejects.toThrow("wrong last sequence: 2");
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      expect(keys).toEqual(["a"]);
      const w = await kv.watch({ include: "history" as never });
      const seen: string[] = [];
      const done = (async () => {
        for await (const e of w) {
          seen.push(`${e.operation} ${e.key}=${sc.decode(e.value)}`);
          if (seen.length === 4) break;
        }
      })();
      await kv.delete("a");
      await kv.put("b", sc.encode("3"));
      await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
      expect(seen).toEqual(["PUT a=1", "PUT a=2", "DEL a=", "PUT b=3"]);
    } finally {
      await nc2.close();
    }
  });
});
