// The gnat command as users and test harnesses run it: real processes, real sockets.
import { connect as netConnect } from "node:net";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { parseArgs, programName, UsageError } from "../../server/process/flags.js";
import { until } from "../kit/wait.js";
import { ensureBuilt } from "./process-kit.js";
import { descendants, gone, killTree } from "../helpers/processes.js";

const root = resolve(import.meta.dirname, "../..");
const CLI = join(root, "dist/server/process/cli.js");
const children: ChildProcess[] = [];

beforeAll(() => {
  // npm test builds first; a lone `vitest run` may not have.
  ensureBuilt();
}, 120_000);

afterEach(async () => {
  // The whole tree: script(1) runs its gnat in a session of its own.
  await Promise.all(children.splice(0).map((c) => killTree(c)));
});

function run(args: string[], cmd = CLI): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cmd, ...args], { encoding: "utf8", timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the server in the background; resolves once `file` exists (or a log line matches). */
function start(cmd: string, args: string[], opts: { direct?: boolean } = {}): ChildProcess {
  const c = opts.direct ? spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }) : spawn(process.execPath, [cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(c);
  return c;
}

function output(c: ChildProcess): { text: () => string } {
  let s = "";
  c.stdout?.on("data", (d: Buffer) => (s += d.toString()));
  c.stderr?.on("data", (d: Buffer) => (s += d.toString()));
  return { text: () => s };
}

function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));
}

/** A raw client round trip: SUB, PUB, and the MSG back (or whatever came before a close). */
function roundTrip(port: number, creds: Record<string, string> = {}): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    const t = setTimeout(() => rej(new Error(`no reply: ${out}`)), 5000);
    s.on("data", (d) => {
      out += d.toString();
      if (out.includes("PONG")) {
        clearTimeout(t);
        s.destroy();
        res(out);
      }
    });
    s.on("close", () => {
      clearTimeout(t);
      res(out);
    });
    s.on("error", rej);
    s.write(`CONNECT ${JSON.stringify({ verbose: false, ...creds })}\r\nSUB hello 1\r\nPUB hello 2\r\nhi\r\nPING\r\n`);
  });
}

describe("flags", () => {
  test("reads -flag, --flag, -flag=value and a negative port", () => {
    const r = parseArgs(["-a", "127.0.0.1", "--port=-1", "-n", "x", "-DV", "--ports_file_dir", "/tmp", "-P=/p"]);
    expect(r.flags).toEqual({ host: "127.0.0.1", port: -1, serverName: "x", debug: true, trace: true, portsFileDir: "/tmp", pidFile: "/p" });
  });

  test("reads bool flags with explicit values", () => {
    expect(parseArgs(["-D=false", "--trace=true"]).flags).toEqual({ debug: false, trace: true });
  });

  test.each([["--bogus"], ["-p"], ["-p", "x"], ["stray"], ["-D=maybe"]])("rejects %j", (...args) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
  });

  test("refuses security flags it does not support yet", () => {
    expect(() => parseArgs(["--https_port", "443"])).toThrow(/refusing/);
  });

  test("--user/--pass and --auth set authorization", () => {
    expect(parseArgs(["--user", "a", "--pass", "b"]).flags).toEqual({ authorization: { user: "a", password: "b" } });
    expect(parseArgs(["--auth", "t"]).flags).toEqual({ authorization: { token: "t" } });
  });

  test("warns about other nats-server flags it does not support yet", () => {
    expect(parseArgs(["--client_advertise", "x:4222"]).warnings).toEqual([
      "flag -client_advertise is not supported by gnat yet and is ignored",
    ]);
  });

  test("-m / --http_port set the monitoring port as nats-server reads it (0 off, -1 any free port)", () => {
    expect(parseArgs(["-m", "8222"]).flags).toEqual({ httpPort: 8222 });
    expect(parseArgs(["--http_port=-1"]).flags).toEqual({ httpPort: 0 });
    expect(parseArgs(["-m", "0"]).flags).toEqual({ httpPort: null });
  });

  test("-js and -sd turn JetStream on and choose its store dir", () => {
    expect(parseArgs(["-js", "-sd", "/tmp/x"]).flags).toEqual({ jetstream: true, storeDir: "/tmp/x" });
    expect(parseArgs(["--jetstream", "--store_dir=/y"]).flags).toEqual({ jetstream: true, storeDir: "/y" });
  });

  test("names the program as invoked, without a .js extension", () => {
    expect(programName("/usr/local/bin/nats-server")).toBe("nats-server");
    expect(programName("/x/dist/server/process/cli.js")).toBe("gnat");
    expect(programName("/x/node_modules/.bin/gnat")).toBe("gnat");
    expect(programName("/x/gnat.mjs")).toBe("gnat");
  });
});

describe("the gnat command", () => {
  test("--help lists the flags and exits 0", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--port");
    expect(r.stdout).toContain("--config");
  });

  test("--version exits 0", () => {
    const r = run(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^gnat: v\d+\.\d+\.\d+/);
  });

  test("an unknown flag exits 1 with a one-line message and no stack trace", () => {
    const r = run(["--frobnicate"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown flag: --frobnicate");
    expect(r.stderr).not.toContain("    at ");
  });

  test("a bad port value exits 1", () => {
    const r = run(["-p", "abc"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('invalid value "abc" for flag -p');
  });

  test("a malformed config file exits 1 with file, line and column", () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const conf = join(dir, "bad.conf");
    writeFileSync(conf, "port: 4222\nhost {\n");
    const r = run(["-c", conf]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${conf}:3:1:`);
    expect(r.stderr).not.toContain("    at ");
  });

  test("a config with an authorization key gnat lacks refuses to start", () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const conf = join(dir, "auth.conf");
    writeFileSync(conf, "authorization { users: [ { user: a, password: b, allowed_connection_types: [STANDARD] } ] }\n");
    const r = run(["-c", conf]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/'authorization.users.allowed_connection_types' is not supported by gnat yet: refusing to start/);
  });

  test("-t tests a config and exits", () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const conf = join(dir, "ok.conf");
    writeFileSync(conf, "port: 4333\n");
    const r = run(["-c", conf, "-t"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("test is successful");
  });

  test("-p -1 with --ports_file_dir writes the chosen port, and a client connects to it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const c = start(CLI, ["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir]);
    const file = await until(() => readdirSync(dir).find((f) => f === `gnat_${c.pid}.ports`), { timeout: 8000, interval: 20 });
    const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] };
    const port = Number(new URL(ports.nats[0]!).port);
    expect(await roundTrip(port)).toContain("MSG hello 1 2\r\nhi\r\n");
  });

  test("with --cluster, the ports file names the cluster port too (nats.js's test harness reads it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const c = start(CLI, ["-a", "127.0.0.1", "-p", "-1", "--cluster", "nats://127.0.0.1:-1", "--ports_file_dir", dir]);
    const file = await until(() => readdirSync(dir).find((f) => f === `gnat_${c.pid}.ports`), { timeout: 8000, interval: 20 });
    const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[]; cluster: string[] };
    expect(Object.keys(ports)).toEqual(["nats", "cluster"]);
    const port = Number(new URL(ports.cluster[0]!).port);
    expect(port).toBeGreaterThan(0);
    // A route speaks first, as nats-server's does: its INFO.
    const info = await new Promise<string>((resolve, reject) => {
      const s = netConnect(port, "127.0.0.1");
      s.once("data", (d: Buffer) => {
        s.destroy();
        resolve(d.toString("latin1"));
      });
      s.once("error", reject);
    });
    expect(info).toMatch(/^INFO \{"server_id":"N[A-Z0-9]+",.*"cluster":"[A-Za-z0-9]+"/);
  });

  test("--auth TOKEN makes clients without the token fail and clients with it work", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const c = start(CLI, ["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir, "--auth", "t0k"]);
    const file = await until(() => readdirSync(dir).find((f) => f === `gnat_${c.pid}.ports`), { timeout: 8000, interval: 20 });
    const port = Number(new URL((JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] }).nats[0]!).port);
    expect(await roundTrip(port)).toContain("-ERR 'Authorization Violation'\r\n");
    expect(await roundTrip(port, { auth_token: "t0k" })).toContain("MSG hello 1 2\r\nhi\r\n");
  });

  test("stands in for nats-server: a symlink of that name, -c with port -1, the ports file read back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-harness-"));
    const link = join(dir, "nats-server");
    symlinkSync(CLI, link);
    const conf = join(dir, "test.conf");
    writeFileSync(conf, `listen: 127.0.0.1:-1\nports_file_dir: ${JSON.stringify(dir)}\n`);
    // Run the link itself, as a harness does: the shebang starts node.
    const c = start(link, ["-c", conf], { direct: true });
    const file = await until(() => readdirSync(dir).find((f) => f === `nats-server_${c.pid}.ports`), { timeout: 8000, interval: 20 });
    const { nats } = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] };
    const { connect: natsConnect } = await import("@nats-io/transport-node");
    const nc = await natsConnect({ servers: nats[0]! });
    const sub = nc.subscribe("harness.check", { max: 1 });
    nc.publish("harness.check", "ok");
    for await (const m of sub) expect(m.string()).toBe("ok");
    await nc.close();
  });

  test("run as the npm bin (a symlink named gnat), the ports file is gnat_<pid>.ports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-bin-"));
    const link = join(dir, "gnat");
    symlinkSync(CLI, link);
    const c = start(link, ["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir], { direct: true });
    await until(() => readdirSync(dir).find((f) => f === `gnat_${c.pid}.ports`), { timeout: 8000, interval: 20 });
  });

  test("flags override the config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const conf = join(dir, "c.conf");
    writeFileSync(conf, `port: 1\nhost: 127.0.0.1\nports_file_dir: ${JSON.stringify(dir)}\n`);
    const c = start(CLI, ["-c", conf, "-p", "-1"]);
    const file = await until(() => readdirSync(dir).find((f) => f.endsWith(".ports")), { timeout: 8000, interval: 20 });
    const port = Number(new URL((JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] }).nats[0]!).port);
    expect(port).not.toBe(1);
    expect(c.exitCode).toBeNull();
  });

  test("SIGTERM stops it with exit 0 and removes its pid and ports files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const pid = join(dir, "gnat.pid");
    const c = start(CLI, ["-a", "127.0.0.1", "-p", "-1", "-P", pid, "--ports_file_dir", dir]);
    const ports = join(dir, `gnat_${c.pid}.ports`);
    await until(() => existsSync(pid) && existsSync(ports), { timeout: 8000, interval: 20 });
    expect(readFileSync(pid, "utf8")).toBe(String(c.pid));
    c.kill("SIGTERM");
    expect(await exited(c)).toBe(0);
    expect(existsSync(pid)).toBe(false);
    expect(existsSync(ports)).toBe(false);
  });

  test("logs the addresses it binds, as nats-server does: all interfaces by default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const c = start(CLI, ["-p", "-1", "-m", "-1", "--ports_file_dir", dir]);
    const out = output(c);
    await until(() => out.text().includes("Server is ready"), { timeout: 8000, interval: 20 });
    const msgs = out.text().trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    const file = readdirSync(dir).find((f) => f.endsWith(".ports"))!;
    const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[]; monitoring: string[] };
    expect(msgs).toContain(`Starting http monitor on 0.0.0.0:${new URL(ports.monitoring[0]!).port}`);
    expect(msgs).toContain(`Listening for client connections on 0.0.0.0:${new URL(ports.nats[0]!).port}`);
  });

  test("-V traces protocol lines with the connection id", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-cli-"));
    const c = start(CLI, ["-a", "127.0.0.1", "-p", "-1", "-V", "--ports_file_dir", dir]);
    const out = output(c);
    const file = await until(() => readdirSync(dir).find((f) => f.endsWith(".ports")), { timeout: 8000, interval: 20 });
    const port = Number(new URL((JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] }).nats[0]!).port);
    await roundTrip(port);
    const line = await until(() => out.text().split("\n").find((l) => l.includes("<<- [PING]")), { timeout: 8000, interval: 20 });
    expect(JSON.parse(line)).toMatchObject({ level: 10, cid: 1, msg: "<<- [PING]" });
    expect(out.text()).toContain("->> [MSG hello 1 2]");
  });

  const hasScript = spawnSync("sh", ["-c", "command -v script"]).status === 0;
  test.skipIf(!hasScript)("logs human-readable lines on a terminal (run under script(1) for a pty)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-tty-"));
    const log = join(dir, "tty.log");
    const c = spawn("script", ["-qfc", `${process.execPath} ${CLI} -a 127.0.0.1 -p -1 --ports_file_dir ${dir}`, log], { stdio: "ignore" });
    children.push(c);
    const text = await until(() => {
      const t = existsSync(log) ? readFileSync(log, "utf8").replace(/\x1b\[[0-9;]*m/g, "") : "";
      return t.includes("Server is ready") ? t : null;
    }, { timeout: 8000, interval: 20 });
    expect(text).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Starting gnat/);
    expect(text).not.toContain('{"level"');
    // script runs gnat in a session of its own: stopping the test must stop that gnat too.
    const tree = descendants(c.pid!);
    expect(tree.some((p) => p.cmdline.includes(CLI))).toBe(true);
    await killTree(c);
    for (const p of tree) expect(await gone(p.pid, p.started, 2000), `${p.pid} ${p.cmdline} still running`).toBe(true);
  });
});
