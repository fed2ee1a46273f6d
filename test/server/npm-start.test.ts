// `npm start`: builds only when a source is newer than the build, then runs gnat with its defaults
// (-js -sd ./data -m 8222) and the user's flags after them, so `npm start -- -p 4333` wins.
// Each test runs package.json's own start script in a scratch package: its build script only
// leaves a mark, so nothing here rebuilds the real dist.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, expect, test } from "vitest";
import { parseArgs } from "../../server/process/flags.js";
import { descendants, gone, killTree } from "../helpers/processes.js";
import { ensureBuilt } from "./process-kit.js";

const root = resolve(import.meta.dirname, "../..");
const running: ChildProcess[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => killTree(c)));
});

const LONG_AGO = new Date("2001-01-01T00:00:00Z");

/** A scratch package with the real start script; `dist` is the real build or a stand-in. */
function scratch(opts: { dist: "real" | "echo"; sourceNewer: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), "gnat-npm-start-"));
  const real = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } };
  writeFileSync(join(dir, "package.json"), JSON.stringify({
    name: "gnat-start-scratch",
    private: true,
    scripts: { start: real.scripts.start, build: "node -e \"require('fs').writeFileSync('built', '')\"" },
  }));
  mkdirSync(join(dir, "scripts"));
  symlinkSync(join(root, "scripts/start.mjs"), join(dir, "scripts/start.mjs"));
  if (opts.dist === "real") symlinkSync(join(root, "dist"), join(dir, "dist"));
  else {
    mkdirSync(join(dir, "dist/server/process"), { recursive: true });
    writeFileSync(join(dir, "dist/server/process/cli.js"), "console.log('ARGS ' + JSON.stringify(process.argv.slice(2)));\n");
  }
  mkdirSync(join(dir, "server"));
  writeFileSync(join(dir, "server/a.ts"), "export {};\n");
  writeFileSync(join(dir, "tsconfig.json"), "{}\n");
  const sourceTime = opts.sourceNewer ? new Date(Date.now() + 3_600_000) : LONG_AGO;
  for (const f of ["server/a.ts", "tsconfig.json", "package.json"]) utimesSync(join(dir, f), sourceTime, sourceTime);
  return dir;
}

function npmStart(dir: string, args: string[]): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn("npm", ["start", "--", ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  let s = "";
  child.stdout!.on("data", (d: Buffer) => (s += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (s += d.toString()));
  return { child, out: () => s, exit: new Promise((r) => child.once("exit", (code) => r(code))) };
}

function until(child: ChildProcess, out: () => string, text: string): Promise<void> {
  return new Promise((res, rej) => {
    const check = (): void => {
      if (out().includes(text)) {
        child.stdout!.off("data", check);
        child.stderr!.off("data", check);
        child.off("exit", gone);
        res();
      }
    };
    const gone = (): void => rej(new Error(`npm start exited before "${text}":\n${out()}`));
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    child.once("exit", gone);
    check();
  });
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

function info(port: number): Promise<{ port: number; jetstream?: boolean }> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      const line = /^INFO (.*)\r\n/.exec(buf);
      if (line) {
        s.destroy();
        res(JSON.parse(line[1]!) as { port: number });
      }
    });
    s.on("error", rej);
  });
}

test("a later flag wins, as in nats-server: npm start's defaults come first", () => {
  expect(parseArgs(["-js", "-sd", "./data", "-m", "8222", "-m", "-1", "-sd", "/x", "-p", "4333"]).flags)
    .toEqual({ jetstream: true, storeDir: "/x", httpPort: 0, port: 4333 });
});

test("npm start -- -p PORT: gnat serves on PORT, the user's -m and -sd win, and a fresh build is not rebuilt", async () => {
  const dir = scratch({ dist: "real", sourceNewer: false });
  const port = await freePort();
  const { child, out, exit } = npmStart(dir, ["-a", "127.0.0.1", "-p", String(port), "-m", "-1", "-sd", join(dir, "store")]);
  await until(child, out, "Server is ready");
  const i = await info(port);
  expect(i.port).toBe(port);
  expect(i.jetstream).toBe(true); // npm start's -js
  expect(out()).toMatch(/Starting http monitor on 127\.0\.0\.1:\d+/);
  expect(out()).not.toContain("127.0.0.1:8222");
  expect(existsSync(join(dir, "store"))).toBe(true);
  expect(existsSync(join(dir, "data"))).toBe(false);
  expect(existsSync(join(dir, "built"))).toBe(false);
  // SIGTERM to npm (as a process manager sends it) reaches gnat, which stops cleanly.
  const tree = descendants(child.pid!);
  expect(tree.some((p) => p.cmdline.includes("dist/server/process/cli.js"))).toBe(true);
  child.kill("SIGTERM");
  expect(await exit).toBe(0);
  for (const p of tree) expect(await gone(p.pid, p.started), p.cmdline).toBe(true);
});

test("a source newer than the build: npm start builds first, then runs gnat with the defaults and the user's flags after them", async () => {
  const dir = scratch({ dist: "echo", sourceNewer: true });
  const { out, exit } = npmStart(dir, ["-p", "4333"]);
  expect(await exit).toBe(0);
  expect(existsSync(join(dir, "built"))).toBe(true);
  const line = out().split("\n").find((l) => l.startsWith("ARGS "));
  expect(JSON.parse(line!.slice(5))).toEqual(["-js", "-sd", "./data", "-m", "8222", "-p", "4333"]);
});

test("a build newer than every source: npm start goes straight to gnat", async () => {
  const dir = scratch({ dist: "echo", sourceNewer: false });
  const { out, exit } = npmStart(dir, []);
  expect(await exit).toBe(0);
  expect(existsSync(join(dir, "built"))).toBe(false);
  expect(out()).toContain('ARGS ["-js","-sd","./data","-m","8222"]');
});
