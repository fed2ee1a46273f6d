// The README's code blocks, run, so the README cannot drift from what gnat does. Every fenced
// block is classified: config files go through `gnat -t -c` (TLS paths pointed at certificates
// made here), TypeScript is type-checked against the real packages and the samples that can run
// are run against a gnat on a free port, the client's shell samples run with NATS_URL pointing
// at it, the telnet session is replayed byte for byte, the Prometheus rules' metric names must
// be in /metrics, and the layout's folders must exist. A block nobody classified fails the test:
// a new sample gets a check, or a reason in SKIP.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startInProcess } from "./client/kit.js";
import { makeTestCerts } from "./helpers/certs.js";
import { gnatSuite, tempDir } from "./kit/gnat.js";
import { CLI, ensureBuilt, freePort, launch, type Launched } from "./kit/processes.js";
import { settle, until, waitForPort } from "./kit/wait.js";

const ROOT = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

interface Block {
  line: number;
  lang: string;
  text: string;
}

function blocks(): Block[] {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w*)\s*$/.exec(lines[i]!);
    if (m === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!);
    out.push({ line: start + 1, lang: m[1]!, text: body.join("\n") });
  }
  return out;
}

/** Blocks that are output or prose, not something to run, keyed by their first line. */
const SKIP: Record<string, string> = {
  "npm install && npm start    # builds, then serves NATS on 0.0.0.0:4222, JetStream stored in ./data,": "the two commands: CI runs them",
  "npx gnat -p 4222 -m 8222 -js": "starts a server on fixed ports: test/server/cli.test.ts starts the CLI",
  "npm run build": "the nats-server symlink recipe: test/server/cli.test.ts runs gnat through such a symlink",
  "npm start                              # terminal 1: gnat with JetStream on 127.0.0.1:4222": "the examples: test/examples and test/differential/examples.test.ts run them",
  "Failed to reload server configuration: config reload not supported for Port: old=4222, new=4333": "a log line: test/server/reload.test.ts checks the text",
  "[doomed] took #1 \"Hello World!\" and crashes without acking": "example output: test/examples checks it",
  "[producer] 100 records at offsets 1..100": "example output: test/examples checks it",
  "[customer-0] partition 0, 10 records in order, handled by member-1": "example output: test/examples/partitions.test.ts checks it",
  '<script type="module">': "a page: test/e2e/browser-websocket.test.ts runs nats.ws in Chromium",
  "scrape_configs:": "Prometheus's own config: nothing of gnat's in it but the port",
};

type Kind = "config" | "ts" | "shell" | "cluster" | "telnet" | "prometheus-rules" | "layout" | "skip";

/** The Scaling out section's samples: three nodes, then a client on each end. */
const CLUSTER_FIRSTS = ["npx gnat -a 127.0.0.1 -p 4222 -n a --cluster", "npx gnat sub -s nats://127.0.0.1:4224"];

function kindOf(b: Block): Kind {
  const first = b.text.split("\n")[0]!;
  if (first in SKIP) return "skip";
  if (b.lang === "ts") return "ts";
  if (b.lang === "sh" && CLUSTER_FIRSTS.some((f) => first.startsWith(f))) return "cluster";
  if (b.lang === "sh") return "shell";
  if (b.lang === "yaml" && b.text.startsWith("groups:")) return "prometheus-rules";
  if (first.startsWith("$ telnet")) return "telnet";
  if (first.startsWith("protocol/ ")) return "layout";
  if (b.lang === "" && /^(\w+ *[:{]|\w+ *=)/.test(first)) return "config";
  return "skip";
}

const all = blocks();

const server = gnatSuite({ jetstream: true, httpPort: 0, alerts: { consumer_pending: { threshold: 1000, for: 30_000 } } }, "gnat-readme-js-");
let certs: ReturnType<typeof makeTestCerts>;
const workDir = tempDir("gnat-readme-");
const work = workDir.dir;
beforeAll(() => {
  ensureBuilt();
  certs = makeTestCerts();
}, 60_000);
afterAll(() => workDir.remove());

test("every block of the README is classified (a new one needs a check here, or a reason in SKIP)", () => {
  const unclassified = all.filter((b) => kindOf(b) === "skip" && !(b.text.split("\n")[0]! in SKIP));
  expect(unclassified.map((b) => `README.md:${b.line}: ${b.text.split("\n")[0]}`)).toEqual([]);
  // Each SKIP entry still names a block (a stale one would hide nothing).
  const firsts = new Set(all.map((b) => b.text.split("\n")[0]!));
  expect(Object.keys(SKIP).filter((k) => !firsts.has(k))).toEqual([]);
});

describe("config blocks pass gnat -t", () => {
  const configs = all.filter((b) => kindOf(b) === "config");
  test("there are config blocks", () => expect(configs.length).toBeGreaterThan(10));
  test.each(configs.map((b) => [b.line, b]))("README.md:%i", async (_line, b) => {
    // TLS blocks name certificate files: point them at the ones made here.
    const text = b.text
      .replace(/"[^"]*?server-key\.pem"/g, JSON.stringify(certs.server.key))
      .replace(/"[^"]*?server\.pem"/g, JSON.stringify(certs.server.cert))
      .replace(/"[^"]*?ca\.pem"/g, JSON.stringify(certs.ca));
    const file = join(work, `block-${b.line}.conf`);
    writeFileSync(file, text);
    const { stdout, stderr } = await run(process.execPath, [CLI, "-t", "-c", file]);
    expect(stdout + stderr).toContain("test is successful");
  });
});

describe("TypeScript blocks", () => {
  const ts = all.filter((b) => kindOf(b) === "ts");

  test("type-check against the real packages", async () => {
    // Each block in a module of its own; what a block takes from the one before it is declared.
    const preamble = [
      'import type { NatsConnection } from "@nats-io/transport-node";',
      'import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";',
      'import type { Server } from "gnat";',
      "declare const nc: NatsConnection;",
      "declare const js: JetStreamClient;",
      "declare const jsm: JetStreamManager;",
      "declare const server: Server;",
      "declare function handle(x: unknown): Promise<void>;",
      "declare function startServer(o: import(\"gnat\").ServerOptionsInput): Promise<Server>;",
    ];
    const files: string[] = [];
    for (const b of ts) {
      const own = b.text.split("\n").filter((l) => /^import /.test(l));
      const rest = b.text.split("\n").filter((l) => !/^import /.test(l));
      // A block's own imports win over the preamble's declarations of the same names.
      const names = new Set([
        ...own.flatMap((l) => [...l.matchAll(/\b(\w+)\b/g)].map((m) => m[1]!)),
        ...rest.flatMap((l) => [...l.matchAll(/^(?:const|let) (\w+)\b/g)].map((m) => m[1]!)),
      ]);
      const pre = preamble.filter((l) => !(/^declare (const|function) (\w+)/.exec(l) && names.has(/^declare (?:const|function) (\w+)/.exec(l)![1]!)));
      const file = join(ROOT, "test", `.readme-block-${b.line}.ts`);
      writeFileSync(file, [...own, ...pre, ...rest, "export {};"].join("\n"));
      files.push(file);
    }
    const tsconfig = join(ROOT, "test", ".readme-tsconfig.json");
    writeFileSync(tsconfig, JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
        skipLibCheck: true, types: ["node"], lib: ["ES2022", "DOM"] },
      files,
    }));
    try {
      await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { cwd: ROOT });
    } catch (e) {
      throw new Error(`README TypeScript does not type-check:\n${(e as { stdout?: string }).stdout ?? e}`);
    } finally {
      const { rmSync } = await import("node:fs");
      for (const f of [...files, tsconfig]) rmSync(f, { force: true });
    }
  }, 120_000);

  /** Run a sample as a module in the repository (so "gnat" and the clients resolve), against our server. */
  async function runSample(code: string): Promise<string> {
    const file = join(ROOT, "test", `.readme-run-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, code.replaceAll("nats://127.0.0.1:4222", server().url));
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: ROOT, timeout: 20_000 });
      return stdout;
    } finally {
      const { rmSync } = await import("node:fs");
      rmSync(file, { force: true });
    }
  }
  const block = (startsWith: string): string => {
    const b = ts.find((x) => x.text.startsWith(startsWith));
    if (b === undefined) throw new Error(`no README block starts with ${startsWith}`);
    return b.text;
  };
  const connectLine = 'import { connect } from "@nats-io/transport-node";\nconst nc = await connect({ servers: "nats://127.0.0.1:4222" });\n';

  test("the pub/sub tour prints what it publishes", async () => {
    expect(await runSample(block('import { connect } from "@nats-io/transport-node";\n\nconst nc'))).toBe("greet.joe: hello\n");
  });

  test("the request-reply service answers with a time", async () => {
    const out = await runSample(`${connectLine}${block('const svc = nc.subscribe("time");')}\nawait nc.close();\n`);
    expect(new Date(out.trim()).getTime()).toBeGreaterThan(0);
  });

  test("the queue group hands each job to one member", async () => {
    // drain: the subscriptions are unsubscribed after what was published before, and their loops
    // see every message already delivered before the connection closes (no timer to outwait).
    const out = await runSample(`${connectLine}${block("for (const name of")}\nawait nc.drain();\n`);
    expect(out.trim().split("\n").map((l) => l.replace(/^\w+ got /, "")).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `job ${i}`).sort());
  });

  test("embedding: import { startServer } from \"gnat\" starts, prints its URL and closes", async () => {
    const out = await runSample(block('import { startServer } from "gnat";'));
    expect(out).toMatch(/^nats:\/\/127\.0\.0\.1:\d+\n$/);
  });

  test("the mirrors and sources sample prints what its comments say", async () => {
    const out = await runSample(`${block('import { connect } from "@nats-io/transport-node";\nimport { jetstream, jetstreamManager } from "@nats-io/jetstream";\n\nconst nc = await connect({ servers: "nats://127.0.0.1:4222" });\nconst jsm = await jetstreamManager(nc);\nconst js = jetstream(nc);\nawait jsm.streams.add({ name: "SHOP_EU"')}\nawait nc.close();\n`);
    expect(out).toBe("2 [ 'SHOP_EU lag 0', 'SHOP_US lag 0' ]\nSHOP_US 1 shop.us.> shop.america.>\n0\n");
  });

  test("the JetStream tour prints what its comments say", async () => {
    const out = await runSample(`${block('import { connect } from "@nats-io/transport-node";\nimport { jetstream')}\nawait nc.close();\n`);
    expect(out).toBe("ORDERS 1\ntrue\n{ id: 1 }\n1\n");
  });

  test("operator mode: the script makes the JWTs and gnat.conf, gnat starts with it, alice connects with her creds", async () => {
    const dir = join(work, "operator-mode");
    mkdirSync(dir, { recursive: true });
    // Each sample as a module in the repository (so the packages resolve), run in `dir`.
    const runIn = async (code: string): Promise<string> => {
      const file = join(ROOT, "test", `.readme-op-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
      writeFileSync(file, code);
      try {
        return (await run(process.execPath, [file], { cwd: dir, timeout: 20_000 })).stdout;
      } finally {
        rmSync(file, { force: true });
      }
    };
    await runIn(block('import { writeFileSync } from "node:fs";\nimport { createAccount'));
    const checked = await run(process.execPath, [CLI, "-t", "-c", "gnat.conf"], { cwd: dir });
    expect(checked.stdout + checked.stderr).toContain("test is successful");
    const port = await freePort();
    const g = launch(process.execPath, [CLI, "-c", "gnat.conf", "-a", "127.0.0.1", "-p", String(port)], { cwd: dir });
    try {
      await waitForPort(port, { child: g.child, stderr: g.log, name: "gnat" });
      const out = await runIn(block('import { readFileSync } from "node:fs";\nimport { connect, credsAuthenticator }').replaceAll("nats://127.0.0.1:4222", `nats://127.0.0.1:${port}`));
      expect(out).toBe("orders.new: one book\n");
      expect(existsSync(join(dir, "jwt"))).toBe(true);
    } finally {
      await g.stop();
    }
  });

  test("auth callout: gnat with the config, the service in the background, alice let in and bob refused", async () => {
    const dir = join(work, "auth-callout");
    mkdirSync(dir, { recursive: true });
    const conf = all.find((b) => b.text.startsWith("accounts {\n  AUTH: { users: [ { user: auth, password: auth-secret } ] }"));
    if (conf === undefined) throw new Error("no README auth callout config");
    writeFileSync(join(dir, "callout.conf"), conf.text);
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const g = launch(process.execPath, [CLI, "-c", "callout.conf", "-a", "127.0.0.1", "-p", String(port)], { cwd: dir });
    const files: string[] = [];
    const module = (code: string): string => {
      const file = join(ROOT, "test", `.readme-callout-${process.pid}-${files.length}.mjs`);
      // The samples are TypeScript only in their type imports and annotations.
      writeFileSync(file, code.replaceAll("nats://127.0.0.1:4222", url).replace(", type AuthorizationRequest", "")
        .replace("decode<AuthorizationRequest>(", "decode(").replace(" as AuthorizationRequest", "").replace(/const users: Record<[^=]*= /, "const users = "));
      files.push(file);
      return file;
    };
    let service: Launched | null = null;
    try {
      await waitForPort(port, { child: g.child, stderr: g.log, name: "gnat" });
      service = launch(process.execPath, [module(block('import { connect } from "@nats-io/transport-node";\nimport { decode, encodeAuthorizationResponse'))], { cwd: ROOT });
      await service.waitLog(/auth service ready/);
      const out = await run(process.execPath, [module(block('import { connect } from "@nats-io/transport-node";\n\nconst alice'))], { cwd: ROOT, timeout: 20_000 });
      expect(out.stdout).toBe("orders.new: one book\nAuthorization Violation\n");
    } finally {
      await service?.stop();
      await g.stop();
      for (const f of files) rmSync(f, { force: true });
    }
  });
});

/**
 * A command line's words as sh splits them ('…', "…" and backslashes), or null when sh would do
 * more than split it (a pipe, a list, a redirection, an expansion).
 */
function shellWords(line: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " " || c === "\t") {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return null;
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "$" || line[i] === "`") return null;
        if (line[i] === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) i++;
        word += line[i];
      }
      if (i >= line.length) return null;
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else if ("|&;<>()$`*?[~#{}".includes(c)) {
      return null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** `sh -c line` as a process, `input` on its stdin. */
function shProcess(line: string, env: NodeJS.ProcessEnv, input: string): { kill(signal: NodeJS.Signals): void; exited(): Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn("sh", ["-c", line], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on("close", (code) => r({ code, stdout, stderr })));
  return { kill: (s) => void child.kill(s), exited: () => done };
}

describe("shell samples of the gnat client", () => {
  const shell = all.filter((b) => kindOf(b) === "shell");
  test("there are client samples", () => expect(shell.some((b) => b.text.includes("npx gnat pub"))).toBe(true));

  const lines = shell.flatMap((b) => b.text.split("\n").map((l, i) => ({ line: b.line + 1 + i, cmd: l.replace(/\s+#.*$/, "").trim() })))
    .filter((x) => x.cmd.startsWith("npx gnat ") || x.cmd.startsWith("echo "));
  test.each(lines.map((x) => [x.line, x.cmd]))("README.md:%i %s", async (_line, cmd) => {
    const env = { ...process.env, NATS_URL: server().url, XDG_CONFIG_HOME: work };
    // Nothing leaves this machine: the context sample's example host is this server.
    const sh = (cmd.startsWith("npx gnat ") ? "exec " : "") + cmd.replaceAll("npx gnat ", `"${process.execPath}" "${CLI}" `).replaceAll("nats://nats.example:4222", server().url).replaceAll("nats://127.0.0.1:4222", server().url)
      .replaceAll("127.0.0.1:8222", new URL(server().monitorUrl).host)
      .replace(/\s*&$/, "").replace(/; echo \$\?$/, "")
      // gnat top draws on a terminal; here, one snapshot instead.
      + (cmd.startsWith("npx gnat top ") ? " -o -" : "");
    // A plain command line (no pipe, no expansion) runs in this process, its words split as sh
    // would (test/client/kit.ts: the same code as the bin, without a Node start per line); the
    // rest through sh, as a process, and so does bench (it loads the CPU: a process of its own
    // shares the load with the server here, where in this process it would wait on it).
    const words = sh.startsWith("exec ") && !cmd.startsWith("npx gnat bench ") ? shellWords(sh.slice("exec ".length)) : null;
    const proc = words !== null && words[0] === process.execPath && words[1] === CLI
      ? startInProcess(words.slice(2), env, "s3cret\n")
      : shProcess(sh, env, "s3cret\n");
    // Commands that run until stopped (sub, reply, kv watch) are given a second, then stopped; the others
    // run to their end (a busy machine may take seconds just to start Node).
    const longRunning = /^npx gnat (sub|reply|kv watch) /.test(cmd);
    const timer = setTimeout(() => proc.kill("SIGINT"), longRunning ? 1000 : 20_000);
    const { code, stdout, stderr } = await proc.exited();
    clearTimeout(timer);
    expect(stderr, `${cmd}\n${stderr}`).not.toMatch(/unknown option|error: |usage/i);
    if (longRunning) {
      // 0, or stopped by the SIGINT above (130, or the signal itself if it came before the handler).
      expect([0, 130, null], `${cmd} exited ${code}\n${stderr}\n${stdout}`).toContain(code);
    } else if (cmd.includes("svc.none")) {
      expect(code).toBe(1);
      expect(stderr).toMatch(/^gnat: no responders/);
    } else if (cmd.includes("svc.upper")) {
      // The reply sample's service is not running here: no responders is the expected answer.
      expect([0, 1]).toContain(code);
    } else {
      expect(code, `${cmd} exited ${code}\n${stderr}\n${stdout}`).toBe(0);
    }
  }, 30_000);
});

test("the cluster sample: three gnats mesh by gossip and a message crosses from a to c", async () => {
  const [nodes, clients] = CLUSTER_FIRSTS.map((f) => all.find((b) => b.text.startsWith(f))!);
  expect(nodes).toBeDefined();
  expect(clients).toBeDefined();
  // The sample's fixed ports become free ones, the same way in every command.
  const ports = new Map<string, string>();
  for (const p of ["4222", "4223", "4224", "6222", "6223", "6224"]) ports.set(p, String(await freePort()));
  // Through sh, as typed (its quoting included), with `exec` so a kill reaches gnat itself.
  const local = (cmd: string): string[] => ["-c", `exec ${cmd.replace(/\s*&$/, "").replace(/\b(4222|4223|4224|6222|6223|6224)\b/g, (m) => ports.get(m)!)
    .replace("npx gnat ", `"${process.execPath}" "${CLI}" `)}`];
  // The kit's launcher: each stopped with its process tree (SIGKILL), and waited for.
  const procs: Launched[] = nodes!.text.split("\n").filter((l) => l.startsWith("npx gnat ")).map((l) => launch("sh", local(l)));
  try {
    const [subCmd, pubCmd] = clients!.text.split("\n").filter((l) => l.startsWith("npx gnat "));
    // Until the mesh carries it: the subscriber on c (started again while c is not up yet) gets
    // what is published on a, published again until it does. `out` is the subscribers' stdout.
    let out = "";
    let sub: Launched | null = null;
    await until(async () => {
      if (sub === null || sub.child.exitCode !== null) {
        sub = launch("sh", local(subCmd!));
        sub.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        procs.push(sub);
      }
      await run("sh", local(pubCmd!)).catch(() => {});
      return out.includes("across the cluster");
    }, { timeout: 20_000, interval: 100, what: "the message to reach c" }).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${out}`);
    });
    expect(out).toMatch(/demo\.hello/);
  } finally {
    for (const p of procs) await p.stop();
  }
}, 30_000);

test("the telnet session is what gnat sends", async () => {
  const b = all.find((x) => kindOf(x) === "telnet")!;
  const lines = b.text.split("\n").slice(1);
  const s = netConnect(server().port, "127.0.0.1");
  let got = "";
  s.on("data", (d: Buffer) => (got += d.toString("latin1")));
  // Until n lines have come (3 s at most; the comparison below shows what did).
  const waitFor = (n: number): Promise<void> => settle(() => got.split("\r\n").length - 1 >= n, { timeout: 3000, interval: 10 });
  // The client's lines are what follows the server's INFO and each reply; payload lines follow their op.
  const client = ["SUB foo 1", "PUB foo 5", "hello", "PING"];
  const expected = lines.filter((l, i) => !(client.includes(l) && !(l === "hello" && lines[i - 1]?.startsWith("MSG"))));
  await waitFor(1);
  for (const l of client) s.write(`${l}\r\n`);
  await waitFor(expected.length);
  s.destroy();
  const out = got.split("\r\n").slice(0, expected.length);
  expect(out[0]).toMatch(/^INFO \{"server_id":"N/);
  expect(out.slice(1)).toEqual(expected.slice(1));
});

test("the Prometheus rules name metrics gnat exports", async () => {
  const rules = all.find((x) => kindOf(x) === "prometheus-rules")!;
  const names = [...new Set([...rules.text.matchAll(/\b(gnat_[a-z_]+)/g)].map((m) => m[1]!.replace(/_bucket$/, "")))];
  expect(names.length).toBeGreaterThan(3);
  const metrics = await (await fetch(`${server().monitorUrl}/metrics`)).text();
  for (const n of names) expect(metrics, n).toMatch(new RegExp(`^# TYPE ${n} `, "m"));
});

test("the layout's folders exist", () => {
  const b = all.find((x) => kindOf(x) === "layout")!;
  const dirs = [...b.text.matchAll(/^(\S+\/)\s/gm)].map((m) => m[1]!);
  expect(dirs.length).toBeGreaterThan(8);
  for (const d of dirs) expect(existsSync(join(ROOT, d)), d).toBe(true);
});
