import { connect as netConnect, type Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { gnatSuite } from "../kit/gnat.js";

const server = gnatSuite({ maxPayload: 4096, maxControlLine: 512 });

/** Open a raw socket, send bytes, and collect everything until the server closes it or `until` shows up. */
function session(bytes: Buffer | string, until?: string, timeoutMs = 3000): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = netConnect(server().port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(out)}`));
    }, timeoutMs);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ out, closed });
    };
    sock.on("data", (d) => {
      out += d.toString("latin1");
      if (until !== undefined && out.includes(until)) done(false);
    });
    sock.on("close", () => done(true));
    sock.on("error", () => {});
    sock.on("connect", () => sock.write(bytes));
  });
}

describe("bad input", () => {
  test("random garbage never crashes the server, which keeps serving", async () => {
    let seed = 1234;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const pieces = ["PUB ", "SUB ", "HPUB ", "UNSUB ", "CONNECT ", "PING", "PONG", "INFO ", "+OK", "-ERR ",
      "\r\n", "\n", " ", "\t", "foo", "foo.*", ">", "1", "5", "99999", "-1", "{", "}", '{"verbose":false}', "\x00", "\xff\xfe"];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      let s = "";
      for (let k = 0; k < 30; k++) s += pieces[rand(pieces.length)];
      // Every session ends with a PING; it either gets a PONG or the server closes it.
      runs.push(session(Buffer.from(s + "\r\nPING\r\n", "latin1"), "PONG\r\n").catch(() => undefined));
    }
    await Promise.all(runs);
    const check = await session("CONNECT {\"verbose\":false}\r\nSUB ok 1\r\nPUB ok 2\r\nhi\r\nPING\r\n", "PONG\r\n");
    expect(check.out).toContain("MSG ok 1 2\r\nhi\r\n");
    expect(server().clients.size).toBeLessThanOrEqual(1);
  });

  test("a huge unterminated control line is cut off, not buffered", async () => {
    const r = await session(`SUB ${"x".repeat(100_000)}`);
    expect(r.out).toContain("-ERR 'maximum control line exceeded'\r\n");
    expect(r.closed).toBe(true);
  });

  test("an over-size payload is refused before it is read", async () => {
    const r = await session("PUB foo 5000\r\n");
    expect(r.out.endsWith("-ERR 'Maximum Payload Violation'\r\n")).toBe(true);
    expect(r.closed).toBe(true);
  });

  test("a client that disconnects mid-payload leaves no subscription behind", async () => {
    const before = server().router.sublist.size;
    await new Promise<void>((resolve) => {
      const sock = netConnect(server().port, "127.0.0.1", () => {
        sock.write("SUB a 1\r\nSUB b 2\r\nPUB a 100\r\nabc");
        sock.end();
      });
      sock.on("close", () => resolve());
      sock.on("error", () => resolve());
      sock.resume();
    });
    await expect.poll(() => server().router.sublist.size).toBe(before);
  });
});

describe("architecture", () => {
  test("protocol/ imports nothing from server/ and nothing with side effects on sockets or timers", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const dir = join(import.meta.dirname, "../../protocol");
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".ts"))) {
      const src = readFileSync(join(dir, f), "utf8");
      const imports = [...src.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
      for (const i of imports) {
        expect(i.startsWith("./"), `${f} imports ${i}`).toBe(true);
      }
      expect(src, f).not.toMatch(/setTimeout|setInterval|node:net|node:fs/);
    }
  });
});
