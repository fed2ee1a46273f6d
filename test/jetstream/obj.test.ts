// @nats-io/obj v3 against gnat: a 10 MB object in chunks and back bit for bit, info, list,
// update, links, delete, watch, status, seal (rollup headers, chunked publishes, ordered
// consumers and last-by-subject gets under the hood).
import { randomBytes, createHash } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { Objm, type ObjectWatchInfo } from "@nats-io/obj";
import { describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { jetStreamSuite, tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

let server: Server;
let nc: NatsConnection;
let jsm: JetStreamManager;
let objm: Objm;
jetStreamSuite("gnat-jsobj-", (t) => {
  ({ server, nc, jsm } = t); objm = new Objm(t.nc);
});

function streamOf(data: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= data.length) return c.close();
      c.enqueue(data.subarray(off, off + piece));
      off += piece;
    },
  });
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const r = rs.getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) break;
    parts.push(value);
  }
  return Buffer.concat(parts);
}

/** The digest as the client writes it: base64url, padded. */
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("base64").replace(/\+/g, "-").replace(/\//g, "_");

describe("object store", () => {
  test.each([StorageType.File, StorageType.Memory])("a 10 MB object goes in chunks and comes back bit for bit (%s)", async (storage) => {
    const os = await objm.create("BIG", { storage });
    const data = randomBytes(10 * 1024 * 1024);
    const info = await os.put({ name: "blob.bin", description: "random" }, streamOf(data));
    expect(info.size).toBe(data.length);
    expect(info.chunks).toBe(Math.ceil(data.length / (128 * 1024)));
    expect(info.digest).toBe(`SHA-256=${sha256(data)}`);
    const r = (await os.get("blob.bin"))!;
    const back = await readAll(r.data);
    expect(await r.error).toBeFalsy();
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
    const blob = (await os.getBlob("blob.bin"))!;
    expect(Buffer.from(blob).equals(data)).toBe(true);
    const st = await os.status();
    expect(st.bucket).toBe("BIG");
    expect(st.storage).toBe(storage);
    expect(st.size).toBeGreaterThan(data.length);
    expect(st.backingStore).toBe("JetStream");
  }, 60_000);

  test("a 10 MB object in a file bucket survives a restart", async () => {
    const dir = tempDir("gnat-jsobj-restart-");
    let s = await startGnat({ jetstream: true, storeDir: dir.dir });
    let c = await connect({ servers: s.url });
    try {
      const data = randomBytes(10 * 1024 * 1024);
      await (await new Objm(c).create("R")).put({ name: "big" }, streamOf(data));
      await c.close();
      await s.close();
      s = await startGnat({ jetstream: true, storeDir: dir.dir });
      c = await connect({ servers: s.url });
      const os = await new Objm(c).open("R");
      expect((await os.info("big"))!.size).toBe(data.length);
      expect(Buffer.from((await os.getBlob("big"))!).equals(data)).toBe(true);
    } finally {
      await c.close();
      await s.close();
      dir.remove();
    }
  }, 60_000);

  test("info, list, update, replace, delete", async () => {
    const os = await objm.create("O");
    await os.putBlob({ name: "a", metadata: { k: "v" } }, new TextEncoder().encode("hello"));
    await os.putBlob({ name: "b" }, new Uint8Array(0));
    const a = (await os.info("a"))!;
    expect(a).toMatchObject({ name: "a", bucket: "O", size: 5, chunks: 1, deleted: false, metadata: { k: "v" } });
    expect(a.nuid).toMatch(/^[0-9A-Za-z]{22}$/);
    expect((await os.info("b"))!).toMatchObject({ size: 0, chunks: 0 });
    expect(Buffer.from((await os.getBlob("b"))!).length).toBe(0);
    expect((await os.list()).map((i) => i.name).sort()).toEqual(["a", "b"]);
    // Replace: the old chunks are purged.
    await os.putBlob({ name: "a" }, new TextEncoder().encode("hello again"));
    expect(Buffer.from((await os.getBlob("a"))!).toString()).toBe("hello again");
    const si = await jsm.streams.info("OBJ_O");
    expect(si.state.messages).toBe(2 + 1); // two metas, one chunk of "a"; "b" has none
    // Rename with update.
    await os.update("a", { name: "c", description: "renamed" });
    expect(await os.info("a")).toBeNull();
    expect((await os.info("c"))!.description).toBe("renamed");
    // Links.
    await os.link("l", (await os.info("c"))!);
    expect(Buffer.from((await os.getBlob("l"))!).toString()).toBe("hello again");
    // Delete leaves a deleted marker and drops the data.
    await os.delete("c");
    const gone = await os.info("c");
    expect(gone === null || gone.deleted).toBe(true);
    expect(await os.get("c")).toBeNull();
    expect((await os.list()).map((i) => i.name).sort()).toEqual(["b", "l"]);
  });

  async function watchFor(os: Awaited<ReturnType<Objm["create"]>>, opts: { includeHistory?: boolean; ignoreDeletes?: boolean }, n: number, act: () => Promise<void>): Promise<string[]> {
    const w = await os.watch(opts);
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of w as AsyncIterable<ObjectWatchInfo | null>) {
        if (e === null) continue;
        seen.push(`${e.name}${e.deleted ? " deleted" : ""}${e.isUpdate ? "" : " (existing)"}`);
        if (seen.length === n) break;
      }
    })();
    await act();
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
    w.stop();
    return seen;
  }

  test("watch: with history, the existing objects first, then puts and deletes", async () => {
    const os = await objm.create("W");
    await os.putBlob({ name: "x" }, new TextEncoder().encode("1"));
    await os.putBlob({ name: "z" }, new TextEncoder().encode("1"));
    const seen = await watchFor(os, { includeHistory: true }, 4, async () => {
      await os.putBlob({ name: "y" }, new TextEncoder().encode("2"));
      await os.delete("x");
    });
    expect(seen).toEqual(["x (existing)", "z", "y", "x deleted"]);
  });

  test("watch: by default only what changes from now on, deletes ignored if asked", async () => {
    const os = await objm.create("W");
    await os.putBlob({ name: "x" }, new TextEncoder().encode("1"));
    const seen = await watchFor(os, { ignoreDeletes: true }, 2, async () => {
      await os.putBlob({ name: "y" }, new TextEncoder().encode("2"));
      await os.delete("x");
      await os.putBlob({ name: "w" }, new TextEncoder().encode("3"));
    });
    expect(seen).toEqual(["y", "w"]);
  });

  test("a sealed store refuses puts; destroy removes it", async () => {
    const os = await objm.create("S");
    await os.putBlob({ name: "a" }, new TextEncoder().encode("1"));
    const st = await os.seal();
    expect(st.sealed).toBe(true);
    await expect(os.putBlob({ name: "b" }, new TextEncoder().encode("2"))).rejects.toThrow();
    const names: string[] = [];
    for await (const s of objm.list()) names.push(s.bucket);
    expect(names).toEqual(["S"]);
    expect(await os.destroy()).toBe(true);
    expect(await jsm.streams.names().next()).toEqual([]);
  });
});

describe("object store with the nats v2 client", () => {
  test("a 3 MB object in and out, list, delete", async () => {
    const { connect: connectV2 } = await import("nats");
    const nc2 = await connectV2({ servers: server.url });
    try {
      const os = await nc2.jetstream().views.os("V2");
      const data = randomBytes(3 * 1024 * 1024);
      const info = await os.put({ name: "x" }, streamOf(data));
      expect([info.size, info.chunks]).toEqual([data.length, 24]);
      const r = (await os.get("x"))!;
      expect((await readAll(r.data)).equals(data)).toBe(true);
      expect((await os.list()).map((i) => i.name)).toEqual(["x"]);
      await os.delete("x");
      expect(await os.get("x")).toBeNull();
    } finally {
      await nc2.close();
    }
  });
});
