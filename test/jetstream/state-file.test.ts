// The two-slot state file a durable consumer rewrites (server/jetstream/state-file.ts): the newest
// intact slot wins, a torn or corrupt one falls back to the other, and the older one-file layout
// (state.json) is still read and goes away after the first write.
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { StateFile } from "../../server/jetstream/state-file.js";
import { tempDir } from "./helpers.js";

let dir: { dir: string; remove: () => void };
beforeEach(() => { dir = tempDir("gnat-statefile-"); });
afterEach(() => dir.remove());

const slot = (n: 0 | 1): string => join(dir.dir, `state.${n}`);

describe("StateFile", () => {
  test("nothing written: no state", () => {
    expect(StateFile.read(dir.dir)).toBeNull();
  });

  test("writes go to the two slots in turn and the newest is read, by this and a new instance", () => {
    const f = new StateFile(dir.dir);
    f.write('{"n":1}', false);
    expect(existsSync(slot(1))).toBe(true);
    expect(existsSync(slot(0))).toBe(false);
    f.write('{"n":2}', true);
    expect(existsSync(slot(0))).toBe(true);
    expect(StateFile.read(dir.dir)).toBe('{"n":2}');
    // A new writer (a restart) carries on from the newest generation: its write is newer still.
    const g = new StateFile(dir.dir);
    g.write('{"n":3}', false);
    expect(StateFile.read(dir.dir)).toBe('{"n":3}');
  });

  test("a shorter state over a longer one: the length in the slot ends it", () => {
    const f = new StateFile(dir.dir);
    f.write(JSON.stringify({ pending: "x".repeat(5000) }), false);
    f.write('{"b":1}', false);
    f.write('{"c":1}', false); // over the long one, in slot 1
    expect(statSync(slot(1)).size).toBeGreaterThan(5000);
    expect(StateFile.read(dir.dir)).toBe('{"c":1}');
  });

  test("a torn newest slot (cut short) falls back to the one before", () => {
    const f = new StateFile(dir.dir);
    f.write('{"n":1}', false);
    f.write(JSON.stringify({ n: 2, pad: "y".repeat(100) }), false);
    truncateSync(slot(0), 60);
    expect(StateFile.read(dir.dir)).toBe('{"n":1}');
  });

  test("a corrupt byte in the newest slot fails its CRC: the older slot is read", () => {
    const f = new StateFile(dir.dir);
    f.write('{"n":1}', false);
    f.write('{"n":2}', false);
    const b = readFileSync(slot(0));
    b[b.length - 2] ^= 0xff;
    writeFileSync(slot(0), b);
    expect(StateFile.read(dir.dir)).toBe('{"n":1}');
    // The next write goes over the corrupt slot's turn and is read again.
    new StateFile(dir.dir).write('{"n":3}', false);
    expect(StateFile.read(dir.dir)).toBe('{"n":3}');
  });

  test("both slots unreadable and no legacy file: no state", () => {
    writeFileSync(slot(0), "garbage");
    writeFileSync(slot(1), Buffer.alloc(30));
    expect(StateFile.read(dir.dir, "state.json")).toBeNull();
  });

  test("the older layout's state.json is read when no slot exists, and removed by the first write", () => {
    writeFileSync(join(dir.dir, "state.json"), '{"legacy":true}');
    expect(StateFile.read(dir.dir, "state.json")).toBe('{"legacy":true}');
    const f = new StateFile(dir.dir, "state.json");
    f.write('{"new":true}', false);
    expect(existsSync(join(dir.dir, "state.json"))).toBe(false);
    expect(StateFile.read(dir.dir, "state.json")).toBe('{"new":true}');
  });
});
