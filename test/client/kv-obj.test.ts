// gnat kv … and gnat obj … in-process (test/client/kit.ts), against gnat and nats-server with JetStream on.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startJetStreamTarget, startProcess, type Run, type Target } from "./kit.js";

const { env, running } = clientSuite();

function expectError(r: Run, code: number, text: RegExp): void {
  expect(r.stderr).toMatch(/^gnat: [^\n]+\n$/);
  expect(r.stderr).toMatch(text);
  expect(r.stdout).toBe("");
  expect(r.code).toBe(code);
}

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

describe.each(KINDS)("against %s with JetStream", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  let work: string;
  let s: string[];
  const run = (args: string[], input?: string): Promise<Run> => gnat([...args, ...s], env, input);
  beforeAll(async () => {
    if (skip) return;
    work = mkdtempSync(join(tmpdir(), "gnat-client-files-"));
    target = await startJetStreamTarget(kind, "gnat-client-kv-");
    s = ["-s", target.url];
  });
  afterAll(async () => {
    if (skip) return;
    await target.close();
    rmSync(work, { recursive: true, force: true });
  });

  describe("kv", () => {
    test.skipIf(skip)("add shows the bucket; a second add of the same name is refused", async () => {
      const r = ok(await run(["kv", "add", "CONFIG", "--history", "5", "--description", "settings"]));
      expect(r.stdout).toMatch(/^Information for Key-Value Store Bucket CONFIG created [\d-]+ [\d:]+\n\nConfiguration:\n\n/);
      expect(r.stdout).toMatch(/^ +History Kept: 5$/m);
      expect(r.stdout).toMatch(/^ +Description: settings$/m);
      expect(r.stdout).toMatch(/^ +JetStream Stream: KV_CONFIG$/m);
      expectError(await run(["kv", "add", "CONFIG"]), 1, /could not create bucket CONFIG: bucket already exists/);
      expectError(await run(["kv", "add", "X", "--history", "100"]), 2, /invalid value "100" for --history: expected 1 to 64/);
    });

    test.skipIf(skip)("create only makes new keys, update is compare-and-set, purge drops a key's history (asking first)", async () => {
      ok(await run(["kv", "add", "CAS", "--history", "5"]));
      expect(ok(await run(["kv", "create", "CAS", "k", "one"])).stdout).toBe("one\n");
      expectError(await run(["kv", "create", "CAS", "k", "two"]), 1, /could not create CAS > k: wrong last sequence: 1/);
      expectError(await run(["kv", "update", "CAS", "k", "two", "7"]), 1, /could not update CAS > k: wrong last sequence: 1/);
      expect(ok(await run(["kv", "update", "CAS", "k", "two", "1"])).stdout).toBe("two\n");
      expect(ok(await run(["kv", "get", "CAS", "k", "--raw"])).stdout).toBe("two");
      expectError(await run(["kv", "update", "CAS", "k", "x", "first"]), 2, /invalid value "first" for REVISION/);
      // Not confirmed (no answer on stdin): nothing done.
      expectError(await run(["kv", "purge", "CAS", "k"], ""), 1, /Purge key CAS > k: not confirmed, nothing done/);
      expect(JSON.parse(ok(await run(["kv", "history", "CAS", "k", "--json"])).stdout)).toHaveLength(2);
      ok(await run(["kv", "purge", "CAS", "k", "-f"]));
      const h = JSON.parse(ok(await run(["kv", "history", "CAS", "k", "--json"])).stdout) as { operation: string }[];
      expect(h.map((e) => e.operation)).toEqual(["PURGE"]);
      // A purged key is new again for create.
      expect(ok(await run(["kv", "create", "CAS", "k", "again"])).stdout).toBe("again\n");
      // The tests below count the buckets.
      ok(await run(["kv", "del", "CAS", "-f"]));
    });

    test.skipIf(skip)("put prints the value, get shows it (--raw, --revision, --json), stdin is a value too", async () => {
      expect(ok(await run(["kv", "put", "CONFIG", "color", "blue"])).stdout).toBe("blue\n");
      expect(ok(await run(["kv", "put", "CONFIG", "color", "red"])).stdout).toBe("red\n");
      ok(await run(["kv", "put", "CONFIG", "size"], "large"));
      const g = ok(await run(["kv", "get", "CONFIG", "color"]));
      expect(g.stdout).toMatch(/^CONFIG > color revision: 2 created @ [\d-]+ [\d:]+\n\nred\n\n$/);
      expect(ok(await run(["kv", "get", "CONFIG", "color", "--raw"])).stdout).toBe("red");
      expect(ok(await run(["kv", "get", "CONFIG", "color", "--revision", "1", "--raw"])).stdout).toBe("blue");
      expect(ok(await run(["kv", "get", "CONFIG", "size", "--raw"])).stdout).toBe("large");
      expect(JSON.parse(ok(await run(["kv", "get", "CONFIG", "color", "--json"])).stdout)).toMatchObject({ bucket: "CONFIG", key: "color", revision: 2, operation: "PUT", value: "red" });
      expectError(await run(["kv", "get", "CONFIG", "nope"]), 1, /could not get CONFIG > nope: key not found/);
      expectError(await run(["kv", "get", "NOPE", "color"]), 1, /could not open bucket NOPE: stream not found/);
    });

    test.skipIf(skip)("ls lists the buckets (a table, --names, --json) or a bucket's keys; info", async () => {
      const t = ok(await run(["kv", "ls"]));
      expect(t.stdout).toMatch(/│ +Key-Value Buckets +│/);
      expect(t.stdout).toMatch(/│ CONFIG +│ settings +│ [\d-]+ [\d:]+ +│ \d+ B +│ 3 +│/);
      expect(ok(await run(["kv", "ls", "-n"])).stdout).toBe("CONFIG\n");
      expect(JSON.parse(ok(await run(["kv", "ls", "--json"])).stdout)).toEqual(["CONFIG"]);
      expect(ok(await run(["kv", "ls", "CONFIG"])).stdout).toBe("color\nsize\n");
      expect(ok(await run(["kv", "info", "CONFIG"])).stdout).toMatch(/^ +Values Stored: 3$/m);
    });

    test.skipIf(skip)("history is a table of the values kept; --json", async () => {
      const h = ok(await run(["kv", "history", "CONFIG", "color"]));
      expect(h.stdout).toMatch(/│ +History for CONFIG > color +│/);
      expect(h.stdout).toMatch(/│ Key +│ Revision +│ Op +│ Created +│ Length +│ Value +│/);
      expect(h.stdout).toMatch(/│ color +│ 1 +│ PUT +│ [\d-]+ [\d:]+ +│ 4 +│ blue +│\n│ color +│ 2 +│ PUT +│ [^\n]+│ red +│/);
      const j = JSON.parse(ok(await run(["kv", "history", "CONFIG", "color", "--json"])).stdout) as { revision: number; value: string }[];
      expect(j.map((e) => [e.revision, e.value])).toEqual([[1, "blue"], [2, "red"]]);
    });

    test.skipIf(skip)("watch prints the current values, then changes as they come, until interrupted", async () => {
      // A process: SIGINT is a real signal here.
      const w = startProcess(["kv", "watch", "CONFIG", ...s], env);
      running.push(w);
      await w.wait(/Watching CONFIG > >/);
      await w.wait(/PUT CONFIG > size: large/);
      ok(await run(["kv", "put", "CONFIG", "color", "green"]));
      await w.wait(/\] PUT CONFIG > color: green\n/);
      w.child.kill("SIGINT");
      const done = await w.exited();
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/^\[[\d-]+ [\d:]+\] PUT CONFIG > color: red\n\[[^\]]+\] PUT CONFIG > size: large\n\[[^\]]+\] PUT CONFIG > color: green\n$/);
    });

    test.skipIf(skip)("del asks first; -f deletes the key; del BUCKET -f removes the bucket", async () => {
      expectError(await run(["kv", "del", "CONFIG", "size"]), 1, /Delete key CONFIG > size: not confirmed, nothing done/);
      expect(ok(await run(["kv", "get", "CONFIG", "size", "--raw"])).stdout).toBe("large");
      expect(ok(await run(["kv", "del", "CONFIG", "size"], "y\n")).stdout).toBe("");
      expectError(await run(["kv", "get", "CONFIG", "size"]), 1, /key not found/);
      expect(ok(await run(["kv", "history", "CONFIG", "size"])).stdout).toMatch(/│ size +│ 5 +│ DELETE +│/);
      expectError(await run(["kv", "del", "CONFIG"]), 1, /Delete bucket CONFIG: not confirmed/);
      ok(await run(["kv", "del", "CONFIG", "-f"]));
      expect(ok(await run(["kv", "ls"])).stdout).toBe("No Key-Value buckets found\n");
    });
  });

  describe("obj", () => {
    const big = randomBytes(2 * 1024 * 1024 + 123);
    test.skipIf(skip)("add, then put a file: the object's details; a second put asks before replacing", async () => {
      const r = ok(await run(["obj", "add", "FILES", "--description", "uploads"]));
      expect(r.stdout).toMatch(/^Information for Object Store Bucket FILES created [\d-]+ [\d:]+\n/);
      expect(r.stdout).toMatch(/^ +JetStream Stream: OBJ_FILES$/m);
      const file = join(work, "big.bin");
      writeFileSync(file, big);
      const p = ok(await run(["obj", "put", "FILES", file, "-H", "Content-Type:application/octet-stream"]));
      expect(p.stdout).toMatch(/^Object information for FILES > big\.bin\n\n/);
      expect(p.stdout).toMatch(/^ +Size: 2\.0 MiB$/m);
      expect(p.stdout).toMatch(/^ +Chunks: \d+$/m);
      expect(p.stdout).toMatch(/^ +Digest: SHA-256 \S+$/m);
      expect(p.stdout).toMatch(/^ +Content-Type: application\/octet-stream$/m);
      expectError(await run(["obj", "put", "FILES", file]), 1, /Replace existing file big\.bin in FILES: not confirmed/);
      ok(await run(["obj", "put", "FILES", file, "-f"]));
      const small = JSON.parse(ok(await run(["obj", "put", "FILES", "--name", "notes/hello.txt", "--json"], "hello world\n")).stdout) as { name: string; size: number };
      expect(small).toMatchObject({ name: "notes/hello.txt", size: 12 });
    });

    test.skipIf(skip)("ls lists the buckets or a bucket's objects; info shows either", async () => {
      const b = ok(await run(["obj", "ls"]));
      expect(b.stdout).toMatch(/│ +Object Store Buckets +│/);
      expect(b.stdout).toMatch(/│ FILES +│ uploads +│ [\d-]+ [\d:]+ +│ 2\.0 MiB +│/);
      const c = ok(await run(["obj", "ls", "FILES"]));
      expect(c.stdout).toMatch(/│ +Bucket Contents +│/);
      expect(c.stdout).toMatch(/│ big\.bin +│ 2\.0 MiB +│ [\d-]+ [\d:]+ +│\n│ notes\/hello\.txt +│ 12 B +│/);
      expect(ok(await run(["obj", "ls", "FILES", "-n"])).stdout).toBe("big.bin\nnotes/hello.txt\n");
      expect(ok(await run(["obj", "info", "FILES"])).stdout).toMatch(/^ +Description: uploads$/m);
      expect(JSON.parse(ok(await run(["obj", "info", "FILES", "big.bin", "--json"])).stdout)).toMatchObject({ name: "big.bin", size: big.length, deleted: false });
    });

    test.skipIf(skip)("get writes the file (the same bytes), asks before replacing one, -O - is stdout", async () => {
      const out = join(work, "copy.bin");
      const g = ok(await run(["obj", "get", "FILES", "big.bin", "-O", out]));
      expect(g.stderr).toMatch(new RegExp(`^Wrote: 2\\.0 MiB to ${out.replace(/[.]/g, "\\.")} in \\S+ average \\S+ \\S+/s\n$`));
      expect(readFileSync(out).equals(big)).toBe(true);
      expectError(await run(["obj", "get", "FILES", "big.bin", "-O", out]), 1, /Replace existing file .*copy\.bin: not confirmed/);
      expect(ok(await run(["obj", "get", "FILES", "notes/hello.txt", "-O", "-"])).stdout).toBe("hello world\n");
      expectError(await run(["obj", "get", "FILES", "nope", "-O", join(work, "nope")]), 1, /could not get FILES > nope: object not found/);
      expect(existsSync(join(work, "nope"))).toBe(false);
    });

    test.skipIf(skip)("rm asks first, -f deletes an object or the bucket", async () => {
      expectError(await run(["obj", "rm", "FILES", "big.bin"]), 1, /Delete big\.bin from FILES: not confirmed/);
      ok(await run(["obj", "rm", "FILES", "big.bin", "-f"]));
      expectError(await run(["obj", "info", "FILES", "big.bin"]), 1, /object not found/);
      expect(ok(await run(["obj", "ls", "FILES", "-n"])).stdout).toBe("notes/hello.txt\n");
      ok(await run(["obj", "rm", "FILES"], "yes\n"));
      expectError(await run(["obj", "ls", "FILES"]), 1, /could not open bucket FILES: stream not found/);
      expectError(await run(["obj", "put", "FILES"]), 2, /give a FILE, or --name/);
    });
  });
});
