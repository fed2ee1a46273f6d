// Config reload of a running gnat process: the file is rewritten, then SIGHUP (or gnat --signal).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { freePort } from "../differential/harness.js";
import { CLI, processSuite, RawClient, startProcess, type ServerProcess } from "./process-kit.js";

const { procs, clients } = processSuite();

async function gnat(config: string, args: string[] = [], logsToFile = false): Promise<ServerProcess> {
  const p = await startProcess(config, { port: await freePort(), args, logsToFile });
  procs.push(p);
  return p;
}

async function client(p: ServerProcess, opts: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await RawClient.open(p.port, opts);
  clients.push(c);
  return c;
}

/** Rewrite the file, SIGHUP, and wait for the outcome to be logged (the n-th of either). */
async function reload(p: ServerProcess, config: string, n: number): Promise<void> {
  p.rewrite(config);
  p.signal("SIGHUP");
  await p.waitLog(/Reloaded server configuration|Failed to reload server configuration/, n);
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const USERS = (a: string, b: string): string =>
  `authorization { users: [ ${a}, ${b} ] }\n`;

describe("reload of authorization", () => {
  test("a token change closes the old-token client with Authorization Violation and admits the new token", async () => {
    const p = await gnat("authorization { token: old }\n");
    const old = await client(p, { auth_token: "old" });
    await reload(p, "authorization { token: new }\n", 1);
    await old.waitClosed();
    expect(old.afterInfo).toBe("PONG\r\n-ERR 'Authorization Violation'\r\n");
    const fresh = await client(p, { auth_token: "new" });
    await fresh.ping();
    expect(fresh.closed).toBe(false);
    expect(p.log()).toContain("Reloaded: authorization token");
  });

  test("a user removed is closed while another user stays connected", async () => {
    const p = await gnat(USERS("{user: alice, password: a}", "{user: bob, password: b}"));
    const alice = await client(p, { user: "alice", pass: "a" });
    const bob = await client(p, { user: "bob", pass: "b" });
    await reload(p, "authorization { users: [ {user: alice, password: a} ] }\n", 1);
    await bob.waitClosed();
    // nats-server closes a user that is no longer configured without an -ERR.
    expect(bob.afterInfo).toBe("PONG\r\n");
    await alice.ping();
    expect(alice.closed).toBe(false);
    expect(p.log()).toContain("Reloaded: authorization users");
  });

  test("a password changed closes its user with Authorization Violation", async () => {
    const p = await gnat(USERS("{user: alice, password: a}", "{user: bob, password: b}"));
    const alice = await client(p, { user: "alice", pass: "a" });
    const bob = await client(p, { user: "bob", pass: "b" });
    await reload(p, USERS("{user: alice, password: a}", "{user: bob, password: changed}"), 1);
    await bob.waitClosed();
    expect(bob.afterInfo).toBe("PONG\r\n-ERR 'Authorization Violation'\r\n");
    await alice.ping();
    expect(alice.closed).toBe(false);
  });

  test("a narrowed permission drops the subscription with an -ERR, and the client keeps its connection", async () => {
    const perms = (sub: string, pub: string): string =>
      USERS(`{user: alice, password: a, permissions: { subscribe: ${sub}, publish: ${pub} }}`, "{user: pub, password: p}");
    const p = await gnat(perms(`["foo.>", "keep"]`, `["foo.>", "keep"]`));
    const alice = await client(p, { user: "alice", pass: "a" });
    alice.send("SUB foo.x 1\r\nSUB keep 2\r\n");
    await alice.ping();
    const pub = await client(p, { user: "pub", pass: "p" });
    await reload(p, perms(`["keep"]`, `["keep"]`), 1);
    await alice.until((o) => o.includes(`-ERR 'Permissions Violation for Subscription to "foo.x" (sid "1")'\r\n`));
    // The dropped subscription gets nothing more; the one still allowed does.
    pub.send("PUB foo.x 2\r\nno\r\nPUB keep 3\r\nyes\r\n");
    await pub.ping();
    await alice.until((o) => o.includes("MSG keep 2 3\r\nyes\r\n"));
    expect(alice.out).not.toContain("MSG foo.x");
    // A publish the new permissions deny gets the permissions -ERR; the connection stays.
    alice.send("PUB foo.x 1\r\nx\r\n");
    await alice.ping();
    expect(alice.out).toContain(`-ERR 'Permissions Violation for Publish to "foo.x"'\r\n`);
    expect(alice.closed).toBe(false);
    expect(p.log()).toContain(`Removed sub \\"foo.x\\" (sid \\"1\\") for User \\"alice\\" - not authorized`);
  });

  test("auth turned on closes a client that has no credentials; turned off, everyone stays", async () => {
    const p = await gnat("");
    const anon = await client(p);
    await reload(p, "authorization { token: t }\n", 1);
    await anon.waitClosed();
    expect(anon.afterInfo).toBe("PONG\r\n-ERR 'Authorization Violation'\r\n");
    const withToken = await client(p, { auth_token: "t" });
    await reload(p, "", 2);
    await withToken.ping();
    expect(withToken.closed).toBe(false);
    const nobody = await client(p);
    await nobody.ping();
    expect(nobody.out).not.toContain("auth_required");
  });
});

describe("reload refused", () => {
  test("a bad file keeps the old configuration: the error is logged and the server still serves", async () => {
    const p = await gnat("authorization { token: old }\n");
    const old = await client(p, { auth_token: "old" });
    await reload(p, "authorization { token: new \n", 1);
    expect(p.log()).toMatch(/Failed to reload server configuration: .*server\.conf/);
    await old.ping();
    expect(old.closed).toBe(false);
    const another = await client(p, { auth_token: "old" });
    await another.ping();
    expect(another.closed).toBe(false);
  });

  test("a changed port is refused with nats-server's text, and nothing else in that file applies", async () => {
    const p = await gnat("authorization { token: old }\n");
    const old = await client(p, { auth_token: "old" });
    const other = p.port === 65000 ? 65001 : 65000;
    p.rewrite(`port: ${other}\nauthorization { token: new }\n`);
    p.signal("SIGHUP");
    await p.waitLog(/Failed to reload server configuration/);
    expect(p.log()).toContain(`Failed to reload server configuration: config reload not supported for Port: old=${p.port}, new=${other}`);
    await old.ping();
    expect(old.closed).toBe(false);
  });

  test("max_subscriptions and lame_duck_duration are not reloadable either (nats-server's field names)", async () => {
    const p = await gnat("");
    await reload(p, "max_subscriptions: 5\n", 1);
    expect(p.log()).toContain("config reload not supported for MaxSubs: old=0, new=5");
    await reload(p, `lame_duck_duration: "1m"\n`, 2);
    expect(p.log()).toContain("config reload not supported for LameDuckDuration: old=2m0s, new=1m0s");
  });

  test("SIGHUP to a gnat started without -c logs that reload needs a config file", async () => {
    const port = await freePort();
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [CLI, "-a", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const seen = (re: RegExp): Promise<void> => new Promise((res) => {
      const check = (): void => void (re.test(out) ? res() : undefined);
      child.stderr.on("data", (d: Buffer) => {
        out += d.toString();
        check();
      });
    });
    try {
      await seen(/Server is ready/);
      const failed = seen(/Failed to reload/);
      child.kill("SIGHUP");
      await failed;
      expect(out).toContain("Failed to reload server configuration: can only reload config when a file is provided using -c or --config");
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("reload of limits and logging", () => {
  test("max_payload: new clients are told the new one, and an existing client is held to it", async () => {
    const p = await gnat("");
    const before = await client(p);
    await reload(p, "max_payload: 100\n", 1);
    expect(p.log()).toContain("Reloaded: max_payload = 100");
    const after = await client(p);
    expect(after.out).toContain(`"max_payload":100,`);
    before.send(`PUB big ${200}\r\n${"x".repeat(200)}\r\n`);
    await before.waitClosed();
    expect(before.afterInfo).toBe("PONG\r\n-ERR 'Maximum Payload Violation'\r\n");
  });

  test("max_connections lowered closes the newest clients with nats-server's -ERR", async () => {
    const p = await gnat("");
    const first = await client(p);
    const second = await client(p);
    const third = await client(p);
    await reload(p, "max_connections: 1\n", 1);
    await second.waitClosed();
    await third.waitClosed();
    expect(third.afterInfo).toBe("PONG\r\n-ERR 'maximum connections exceeded'\r\n");
    await first.ping();
    expect(first.closed).toBe(false);
    expect(p.log()).toContain("Closed 2 connections to fall within max_connections");
  });

  test("debug and a log file take effect on reload", async () => {
    const p = await gnat("");
    const file = join(p.dir, "gnat.log");
    p.rewrite(`debug: true\nlogfile: "${file}"\n`);
    p.signal("SIGHUP");
    // From the reload on, lines go to the new file, the reload's own included.
    await fileHas(file, "Reloaded server configuration");
    expect(readFileSync(file, "utf8")).toContain("Reloaded: debug = true");
    const c = await client(p);
    c.close();
    await fileHas(file, "client connection closed");
    expect(readFileSync(file, "utf8")).toContain("client connection created");
  });
});

/** Wait until `file` contains `text` (a file has no event to wait on: checked as it grows). */
async function fileHas(file: string, text: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    let content = "";
    try {
      content = readFileSync(file, "utf8");
    } catch {
      // not created yet
    }
    if (content.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`${file} never had ${JSON.stringify(text)}: ${content}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("gnat --signal", () => {
  test("reload=<pid> and reload=<pid file> make the running gnat re-read its file", async () => {
    const p = await gnat("authorization { token: one }\n");
    const c1 = await client(p, { auth_token: "one" });
    p.rewrite("authorization { token: two }\n");
    const pid = readFileSync(p.pidFile, "utf8");
    const r1 = cli(["--signal", `reload=${pid}`]);
    expect(r1.status).toBe(0);
    await p.waitLog(/Reloaded server configuration/, 1);
    await c1.waitClosed();
    const c2 = await client(p, { auth_token: "two" });
    p.rewrite("authorization { token: three }\n");
    const r2 = cli(["-sl", `reload=${p.pidFile}`]);
    expect(r2.status).toBe(0);
    await p.waitLog(/Reloaded server configuration/, 2);
    await c2.waitClosed();
    await client(p, { auth_token: "three" });
  });

  test("reopen=<pid> reopens a rotated log file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-reopen-"));
    const file = join(dir, "gnat.log");
    const p = await gnat(`logfile: "${file}"\n`, [], true);
    await fileHas(file, "Server is ready");
    renameSync(file, `${file}.1`);
    expect(cli(["--signal", `reopen=${p.pidFile}`]).status).toBe(0);
    await fileHas(file, "File log re-opened");
    expect(readFileSync(`${file}.1`, "utf8")).toContain("Trapped \\\"user defined signal 1\\\" signal");
  });

  test("term=<pid> and quit=<pid> stop it with exit 0", async () => {
    for (const cmd of ["term", "quit"]) {
      const p = await gnat("");
      expect(cli(["--signal", `${cmd}=${p.pidFile}`]).status).toBe(0);
      expect(await p.exited()).toBe(0);
    }
  });

  test("bad --signal arguments get nats-server's errors and exit 1", () => {
    expect(cli(["--signal", "reload=abc"]).stderr).toContain("gnat: invalid pid: abc");
    const unknown = cli(["--signal", `bogus=${process.pid}`]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`gnat: unknown signal "bogus"`);
    expect(cli(["--signal", "reload=1=2=3"]).stderr).toContain("gnat: invalid signal parameters: [2 3]");
  });

  test("a pid file naming no process: the kill error, and exit 1", () => {
    const file = join(mkdtempSync(join(tmpdir(), "gnat-signal-")), "gone.pid");
    // A pid above the kernel's pid_max exists nowhere.
    writeFileSync(file, "99999999");
    const r = cli(["--signal", `reload=${file}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`signal "reload" 99999999: no such process`);
  });
});
