// gnat's snapshot bytes (server/jetstream/backup-format.ts): the tar it writes read back whole
// whatever the pieces it arrives in, message records read back as written, and what is not its
// own tar refused; and the snapshot's jsck count (backup.ts badMessages).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { MsgRecords, readMsgRecords, SnapshotFormatError, TAR_END, tarEntry, TarReader } from "../../server/jetstream/backup-format.js";
import { tempDir } from "../kit/gnat.js";
import { badMessages } from "../../server/jetstream/backup.js";
import { MemoryStore } from "../../server/jetstream/memory-store.js";
import type { StoredMsg } from "../../server/jetstream/store.js";

function archive(): Buffer {
  return Buffer.concat([
    tarEntry("stream.json", Buffer.from('{"a":1}'), 1_700_000_000),
    tarEntry("msgs/000001.bin", Buffer.alloc(1500, 7), 1_700_000_000),
    tarEntry("consumers/000001.json", Buffer.alloc(0), 1_700_000_000),
    TAR_END,
  ]);
}

describe("snapshot format", () => {
  test("a tar pushed in pieces split at every offset gives back each entry whole", () => {
    const tar = archive();
    for (let cut = 0; cut <= tar.length; cut += 37) {
      const got: Array<[string, number]> = [];
      const r = new TarReader((name, content) => got.push([name, content.length]));
      r.push(tar.subarray(0, cut));
      r.push(tar.subarray(cut));
      expect(got).toEqual([["stream.json", 7], ["msgs/000001.bin", 1500], ["consumers/000001.json", 0]]);
      expect(r.complete).toBe(true);
    }
  });

  test("the tar is one the system's tar reads", () => {
    const { dir, remove } = tempDir("gnat-backup-tar-");
    try {
      writeFileSync(join(dir, "s.tar"), archive());
      mkdirSync(join(dir, "out"));
      execFileSync("tar", ["-xf", join(dir, "s.tar"), "-C", join(dir, "out")]);
      expect(readFileSync(join(dir, "out", "stream.json"), "utf8")).toBe('{"a":1}');
      expect(readFileSync(join(dir, "out", "msgs", "000001.bin")).length).toBe(1500);
    } finally {
      remove();
    }
  });

  test("a header whose checksum does not hold is refused", () => {
    const tar = archive();
    tar[10] = 0x41;
    expect(() => new TarReader(() => undefined).push(tar)).toThrow(SnapshotFormatError);
  });

  test("message records read back as written: sequence, time, subject, header or none, payload", () => {
    const recs = new MsgRecords();
    const hdr = Buffer.from("NATS/1.0\r\nX: 1\r\n\r\n");
    recs.add({ seq: 5, ts: 1_700_000_000_123_456_789n, subject: "a.b", hdr, data: Buffer.from("one") });
    recs.add({ seq: 2 ** 40, ts: 1n, subject: "c", hdr: null, data: Buffer.alloc(0) });
    const out = [...readMsgRecords(recs.take())].map((m) => [m.seq, m.ts, m.subject, m.hdr?.toString() ?? null, m.data.toString()]);
    expect(out).toEqual([[5, 1_700_000_000_123_456_789n, "a.b", hdr.toString(), "one"], [2 ** 40, 1n, "c", null, ""]]);
    expect(recs.bytes).toBe(0);
  });

  test("a truncated record is refused", () => {
    const recs = new MsgRecords();
    recs.add({ seq: 1, ts: 1n, subject: "a", hdr: null, data: Buffer.from("payload") });
    const b = recs.take();
    expect(() => [...readMsgRecords(b.subarray(0, b.length - 1))]).toThrow(SnapshotFormatError);
  });

  test("jsck counts the messages the index holds but the store cannot read back intact", async () => {
    // A store whose record 3 and 7 fail their checksum, as a file store's read reports it (null).
    class Damaged extends MemoryStore {
      override loadMsg(seq: number): StoredMsg | null {
        return seq === 3 || seq === 7 ? null : super.loadMsg(seq);
      }
    }
    const store = new Damaged();
    for (let i = 0; i < 12; i++) store.storeMsg("a", null, Buffer.from(String(i)));
    store.removeMsg(5);
    expect(await badMessages(store)).toBe(2);
    expect(await badMessages(new MemoryStore())).toBe(0);
  });
});
