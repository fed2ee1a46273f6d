// What needs no particular server: contexts, passwd, bad input, help, and the boundary between
// the server and the client.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../kit/processes.js";
import { CLIENT_COMMANDS, clientEntry } from "../../server/process/client-commands.js";
import { clientSuite, gnat, gnatProcess, start, startTarget, type Target } from "./kit.js";

const root = resolve(import.meta.dirname, "../..");
const { env, running } = clientSuite();

/** A usage or connection failure: one line on stderr starting "gnat: ", nothing on stdout. */
function expectOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: number, text: RegExp): void {
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^gnat: [^\n]+\n$/);
  expect(r.stderr).toMatch(text);
  expect(r.code).toBe(code);
}

describe("contexts", () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget("gnat");
  });
  afterAll(async () => {
    await target.close();
  });

  test("add, select, ls and rm; pub and sub use the selected context when no -s is given", async () => {
    expect((await gnat(["context", "add", "local", "--server", target.url, "--description", "the test server"], env)).code).toBe(0);
    expect((await gnat(["context", "add", "elsewhere", "-s", "nats://127.0.0.1:1"], env)).code).toBe(0);
    const file = JSON.parse(readFileSync(join(env.XDG_CONFIG_HOME!, "gnat/context/local.json"), "utf8")) as { url: string; description: string };
    expect(file).toEqual({ url: target.url, description: "the test server" });

    expect((await gnat(["context", "select", "local"], env)).code).toBe(0);
    const ls = await gnat(["context", "ls"], env);
    expect(ls.stdout).toMatch(/^elsewhere\nlocal\* +the test server\n$/);

    const sub = start(["sub", "ctx.x", "--count", "1", "--raw"], env);
    running.push(sub);
    await sub.wait(/Subscribing on ctx\.x/);
    expect((await gnat(["pub", "ctx.x", "via context"], env)).code).toBe(0);
    expect((await sub.exited()).stdout).toBe("via context\n");

    // --context picks another one for one command.
    const other = await gnat(["pub", "ctx.x", "y", "--context", "elsewhere"], env);
    expectOneLineError(other, 1, /cannot connect to nats:\/\/127\.0\.0\.1:1: /);

    expect((await gnat(["context", "rm", "local"], env)).code).toBe(0);
    expect((await gnat(["context", "ls"], env)).stdout).toBe("elsewhere\n");
    expectOneLineError(await gnat(["context", "select", "nope"], env), 1, /unknown context "nope"/);
  });
});

describe("server passwd", () => {
  test("-p prints a $2a$11$ bcrypt hash of the password", async () => {
    const r = await gnat(["server", "passwd", "-p", "correct horse battery staple"], env);
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^\$2a\$11\$[./A-Za-z0-9]{53}$/);
    expect(bcrypt.compareSync("correct horse battery staple", hash)).toBe(true);
    expect(bcrypt.compareSync("wrong", hash)).toBe(false);
  });

  test("without -p and not on a terminal, the password is stdin's first line", async () => {
    const r = await gnat(["server", "passwd", "--cost", "4"], env, "from-stdin\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\$2a\$04\$/);
    expect(bcrypt.compareSync("from-stdin", r.stdout.trim())).toBe(true);
  });
});

describe("bad input", () => {
  // This one, the unreachable server and the CRITICAL check run the bin as a process: its exit
  // code is the command's.
  test("an unknown option is a usage error, exit 2", async () => {
    expectOneLineError(await gnatProcess(["pub", "x", "--cout", "3"], env), 2, /unknown option '--cout'.*--count/);
  });

  test("a missing subject is a usage error, exit 2", async () => {
    expectOneLineError(await gnat(["sub"], env), 2, /missing required argument 'subject'/);
  });

  test("a bad --count is a usage error, exit 2", async () => {
    expectOneLineError(await gnat(["pub", "x", "--count", "lots"], env), 2, /invalid value "lots" for --count/);
    expectOneLineError(await gnat(["sub", "x", "--count", "0"], env), 2, /invalid value "0" for --count/);
  });

  test("a bad duration is a usage error, exit 2", async () => {
    expectOneLineError(await gnat(["req", "x", "y", "--timeout", "soon"], env), 2, /invalid --timeout "soon"/);
  });

  test("an unknown subcommand of a client command is a usage error, exit 2", async () => {
    expectOneLineError(await gnat(["server", "reboot"], env), 2, /unknown subcommand 'reboot'/);
    expectOneLineError(await gnat(["context"], env), 2, /missing subcommand/);
  });

  test("reply with nothing to reply with is a usage error, exit 2", async () => {
    expectOneLineError(await gnat(["reply", "svc"], env), 2, /nothing to reply with/);
  });

  test("an unreachable server is one line and exit 1", async () => {
    const port = await freePort();
    expectOneLineError(await gnatProcess(["pub", "x", "y", "-s", `nats://127.0.0.1:${port}`], env), 1, new RegExp(`cannot connect to nats://127\\.0\\.0\\.1:${port}: .*refused`));
  });

  test("check connection to an unreachable server is CRITICAL, exit 2", async () => {
    const port = await freePort();
    const r = await gnatProcess(["server", "check", "connection", "-s", `nats://127.0.0.1:${port}`], env);
    expect(r.stdout).toMatch(/^CRITICAL Connection CRIT:connection to nats:\/\/127\.0\.0\.1:\d+ failed: [^|\n]+\n$/);
    expect(r.code).toBe(2);
  });
});

describe("the gnat command", () => {
  test("--help lists the client commands after the server's flags", async () => {
    const r = await gnat(["--help"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/-p, --port/);
    for (const c of ["pub SUBJECT", "sub SUBJECT", "req|request", "reply SUBJECT", "bench SUBJECT", "top [MONITOR_URL]", "server info", "context add", "stream ls", "consumer ls", "kv add", "obj add"]) expect(r.stdout).toContain(c);
  });

  test.each(CLIENT_COMMANDS)("gnat %s --help lists its flags", async (cmd) => {
    const r = await gnat([cmd, "--help"], env);
    expect(r.code).toBe(0);
    // commander shows a command with its alias: "stream|str", "req|request".
    expect(r.stdout).toMatch(new RegExp(`^Usage: gnat ([\\w-]+\\|)*${cmd}(\\|[\\w-]+)* `));
  });

  test("plain gnat -p still starts the server", async () => {
    const port = await freePort();
    const server = start(["-a", "127.0.0.1", "-p", String(port)], env);
    running.push(server);
    await server.wait(/Server is ready/);
    const r = await gnat(["server", "ping", "-s", `nats://127.0.0.1:${port}`], env);
    expect(r.stdout).toMatch(/rtt/);
    expect(r.code).toBe(0);
  });

  test("the client is found from a CLI moved into a subfolder of dist/server", () => {
    expect(clientEntry(join(root, "dist/server/process/cli.js"))).toBe(join(root, "dist/client/main.js"));
    expect(clientEntry(join(root, "dist/server/cli.js"))).toBe(join(root, "dist/client/main.js"));
  });

  test("the server imports nothing of the client or its packages", () => {
    const bad = /from "(commander|@nats-io\/transport-node|@nats-io\/jetstream|@nats-io\/kv|@nats-io\/obj|cli-table3|cli-progress|ansi-escapes|@inquirer\/[a-z]+)"|from "\.\.\/(\.\.\/)*client\//;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".ts") && bad.test(readFileSync(p, "utf8"))) offenders.push(p);
      }
    };
    walk(join(root, "server"));
    walk(join(root, "protocol"));
    expect(offenders).toEqual([]);
  });

  test("the client imports nothing from server/", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".ts") && /from "(\.\.\/)+server\//.test(readFileSync(p, "utf8"))) offenders.push(p);
      }
    };
    walk(join(root, "client"));
    expect(offenders).toEqual([]);
  });
});
