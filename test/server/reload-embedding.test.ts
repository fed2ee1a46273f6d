// server.reload() for embedders, the table of reloadable keys, and the --signal plumbing.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { ConfigError, loadConfigFile, ReloadError, startServer, type Server } from "../../server/index.js";
import { RELOAD_RULES } from "../../server/process/reload.js";
import { goDuration } from "../../server/duration.js";
import { findGnatPids, processSignal, type SignalDeps } from "../../server/process/signal.js";
import type { ServerOptionsInput } from "../../server/options.js";
import { kits } from "../clients/kits.js";
import { createUser } from "@nats-io/nkeys";
import { CLI, ensureBuilt, RawClient } from "./process-kit.js";
import { makeTestCerts } from "../helpers/certs.js";
import * as net from "node:net";
import * as tls from "node:tls";

const servers: Server[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const c of raws.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

const base: ServerOptionsInput = { host: "127.0.0.1", port: 0, noLog: true };

async function server(opts: ServerOptionsInput = {}): Promise<Server> {
  const s = await startServer({ ...base, ...opts });
  servers.push(s);
  return s;
}

describe("server.reload()", () => {
  test("without options or a config loader it refuses with nats-server's text", async () => {
    const s = await server();
    expect(() => s.reload()).toThrow("can only reload config when a file is provided using -c or --config");
  });

  test("a changed port throws ReloadError and leaves everything as it was", async () => {
    const s = await server({ authorization: { token: "t" } });
    const before = s.options;
    let err: unknown;
    try {
      s.reload({ ...base, port: 1, authorization: { token: "other" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReloadError);
    expect((err as Error).message).toBe(`config reload not supported for Port: old=${s.port}, new=1`);
    expect(s.options).toBe(before);
    const c = await RawClient.open(s.port, { auth_token: "t" });
    raws.push(c);
    expect(c.closed).toBe(false);
  });

  test("invalid options are refused by the same validation as at start-up", async () => {
    const s = await server();
    expect(() => s.reload({ ...base, authorization: { token: "t", user: "u", password: "p" } })).toThrow("Cannot have a user/pass and token");
    expect(() => s.reload({ ...base, maxPayload: 100, maxPending: 10 })).toThrow("max_payload (100) cannot be higher than max_pending (10)");
  });

  test("an option no rule names is refused, so a key added later cannot slip through", async () => {
    const s = await server();
    expect(() => s.reload({ ...base, future: 1 } as ServerOptionsInput)).toThrow("config reload not supported for future: old=undefined, new=1");
  });

  test("a tls change rotates certificates for new clients; turning TLS on, or certificates that do not load, are refused", async () => {
    const certs = makeTestCerts();
    try {
      const plain = await server();
      expect(() => plain.reload({ ...base, tls: { certFile: certs.server.cert, keyFile: certs.server.key } }))
        .toThrow("config reload not supported for TLS: turning TLS on or off needs a restart");
      expect(plain.options.tls).toBeNull();
      const first = { certFile: certs.server.cert, keyFile: certs.server.key };
      const s = await server({ tls: first });
      expect(() => s.reload({ ...base, tls: { certFile: certs.server.cert, keyFile: `${certs.dir}/missing.pem` } }))
        .toThrow(/error parsing X509 certificate\/key pair/);
      expect(s.options.tls).toEqual(expect.objectContaining(first));
      s.reload({ ...base, tls: { certFile: certs.otherServer.cert, keyFile: certs.otherServer.key } });
      expect(s.options.tls).toEqual(expect.objectContaining({ certFile: certs.otherServer.cert }));
      // A client that trusts only the new CA now completes its handshake.
      const ok = await new Promise<boolean>((resolve) => {
        const sock = net.connect(s.port, "127.0.0.1");
        sock.once("data", () => {
          const t = tls.connect({ socket: sock, ca: readFileSync(certs.otherCa), servername: "localhost" }, () => { t.destroy(); resolve(true); });
          t.once("error", () => resolve(false));
        });
      });
      expect(ok).toBe(true);
    } finally {
      certs.cleanup();
    }
  });

  test("accounts: adding accounts {} to a server without them is refused", async () => {
    const s = await server();
    const withAccounts = { ...base, accounts: { A: {} } } as ServerOptionsInput;
    expect(() => s.reload(withAccounts)).toThrow("config reload not supported for accounts: adding or removing accounts {} needs a restart");
    expect(s.options.accounts).toBeNull();
  });

  test("accounts: users of an account can change (a password, a new user); its exports, or a user's account, cannot", async () => {
    const accounts = (aliceAcc: "A" | "B", alicePass: string, extra: { user: string; password: string }[] = [], exports: object[] = []): ServerOptionsInput => ({
      ...base,
      accounts: {
        A: { users: [...(aliceAcc === "A" ? [{ user: "alice", password: alicePass }] : []), { user: "carl", password: "c" }, ...extra], exports: exports as never },
        B: { users: [...(aliceAcc === "B" ? [{ user: "alice", password: alicePass }] : []), { user: "bob", password: "b" }] },
      },
    });
    const s = await server(accounts("A", "a"));
    const alice = await RawClient.open(s.port, { user: "alice", pass: "a" });
    const carl = await RawClient.open(s.port, { user: "carl", pass: "c" });
    raws.push(alice, carl);
    expect(() => s.reload(accounts("B", "a"))).toThrow("config reload not supported for accounts: user alice can only move from account A to B with a restart");
    expect(() => s.reload(accounts("A", "a", [], [{ stream: "x" }]))).toThrow("config reload not supported for accounts: the exports of account A can only change with a restart");
    // A new password for alice, and a new user in A: alice is closed, carl stays, dave joins A.
    s.reload(accounts("A", "a2", [{ user: "dave", password: "d" }]));
    await alice.waitClosed();
    expect(alice.afterInfo).toContain("-ERR 'Authorization Violation'");
    const dave = await RawClient.open(s.port, { user: "dave", pass: "d" });
    raws.push(dave);
    carl.send("SUB in.A 1\r\nPING\r\n");
    await carl.until((o) => o.split("PONG").length > 2);
    dave.send("PUB in.A 2\r\nhi\r\n");
    await carl.until((o) => o.includes("MSG in.A 1 2\r\nhi\r\n"));
    expect(s.accountFor({ name: "dave", permissions: null }).name).toBe("A");
  });

  test("the configLoader is what a plain reload() reads", async () => {
    const s = await server({ authorization: { token: "one" } });
    const c = await RawClient.open(s.port, { auth_token: "one" });
    raws.push(c);
    s.configLoader = () => ({ ...base, authorization: { token: "two" } });
    s.reload();
    await c.waitClosed();
    expect(c.afterInfo).toBe("PONG\r\n-ERR 'Authorization Violation'\r\n");
  });

  test("an embedder's configLoader can read a config file, as the CLI's does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-reload-file-"));
    const file = join(dir, "gnat.conf");
    writeFileSync(file, "max_payload: 2048\n");
    const s = await server(loadConfigFile(file).options);
    s.configLoader = () => ({ ...base, ...loadConfigFile(file).options });
    writeFileSync(file, "max_payload: 4096\n");
    s.reload();
    expect(s.options.maxPayload).toBe(4096);
    writeFileSync(file, "max_payload: {\n");
    expect(() => s.reload()).toThrow(ConfigError);
    expect(s.options.maxPayload).toBe(4096);
  });

  test("a reload that changes nothing keeps every client", async () => {
    const s = await server({ authorization: { users: [{ user: "a", password: "a" }] } });
    const c = await RawClient.open(s.port, { user: "a", pass: "a" });
    raws.push(c);
    s.reload({ ...base, authorization: { users: [{ user: "a", password: "a" }] } });
    await c.ping();
    expect(c.closed).toBe(false);
  });

  test("a new pid_file is written and the old one removed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-reload-pid-"));
    const first = join(dir, "a.pid");
    const second = join(dir, "b.pid");
    const s = await server({ pidFile: first });
    expect(readFileSync(first, "utf8")).toBe(String(process.pid));
    s.reload({ ...base, pidFile: second });
    expect(existsSync(first)).toBe(false);
    expect(readFileSync(second, "utf8")).toBe(String(process.pid));
  });

  test("/varz shows the new limits and a later config_load_time", async () => {
    const s = await server({ httpPort: 0 });
    const varz = async (): Promise<Record<string, unknown>> => (await (await fetch(`${s.monitorUrl}/varz`)).json()) as Record<string, unknown>;
    const before = await varz();
    s.reload({ ...base, httpPort: s.options.httpPort, maxPayload: 4096 });
    const after = await varz();
    expect(after.max_payload).toBe(4096);
    expect(Date.parse(String(after.config_load_time))).toBeGreaterThanOrEqual(Date.parse(String(before.config_load_time)));
    expect(after.config_load_time).not.toBe(before.config_load_time);
  });

  for (const kit of kits) {
    test(`${kit.name}: a client whose user was removed is closed, one still allowed keeps publishing`, async () => {
      const users = [{ user: "stay", password: "s" }, { user: "go", password: "g" }];
      const s = await server({ authorization: { users } });
      const stay = await kit.connect({ servers: s.url, user: "stay", pass: "s" });
      const go = await kit.connect({ servers: s.url, user: "go", pass: "g" });
      const sub = stay.subscribe("x", { max: 1 });
      await stay.flush();
      const goClosed = go.closed();
      s.reload({ ...base, authorization: { users: [users[0]!] } });
      await goClosed;
      expect(go.isClosed()).toBe(true);
      stay.publish("x", "still here");
      for await (const m of sub) expect(new TextDecoder().decode(m.data)).toBe("still here");
      expect(stay.isClosed()).toBe(false);
      await stay.close();
    });
  }
});

describe("nkey users across a reload", () => {
  for (const kit of kits) {
    test(`${kit.name}: an nkey user's signature of its nonce still holds; a removed nkey is closed`, async () => {
      const keep = createUser();
      const drop = createUser();
      const nkeys = [{ nkey: keep.getPublicKey() }, { nkey: drop.getPublicKey() }];
      const s = await server({ authorization: { nkeys } });
      const kept = await kit.connect({ servers: s.url, authenticator: kit.nkeyAuthenticator(keep.getSeed()) });
      const dropped = await kit.connect({ servers: s.url, authenticator: kit.nkeyAuthenticator(drop.getSeed()) });
      const droppedClosed = dropped.closed();
      s.reload({ ...base, authorization: { nkeys: [nkeys[0]!, { nkey: createUser().getPublicKey() }] } });
      await droppedClosed;
      await kept.flush();
      expect(kept.isClosed()).toBe(false);
      await kept.close();
    });
  }
});

describe("the reload table", () => {
  test("names nats-server's non-reloadable fields and the reloadable keys", () => {
    const refused = Object.entries(RELOAD_RULES).filter(([, r]) => !r.reload).map(([k]) => k);
    expect(refused).toEqual(expect.arrayContaining(["host", "port", "maxPending", "maxSubscriptions", "lameDuckDuration", "lameDuckGracePeriod", "websocket", "jetstream"]));
    const reloadable = Object.entries(RELOAD_RULES).filter(([, r]) => r.reload).map(([k]) => k);
    expect(reloadable).toEqual(expect.arrayContaining(["authorization", "maxPayload", "maxControlLine", "maxConnections", "pingInterval", "pingMax", "writeDeadline", "debug", "trace", "logFile", "tls", "accounts"]));
  });

  test("durations print as Go prints them", () => {
    expect([0, 500, 1000, 1500, 10_000, 60_000, 120_000, 90_500, 3_600_000, 3_723_000].map(goDuration))
      .toEqual(["0s", "500ms", "1s", "1.5s", "10s", "1m0s", "2m0s", "1m30.5s", "1h0m0s", "1h2m3s"]);
  });
});

describe("--signal", () => {
  function deps(pids: number[], files: Record<string, string> = {}): SignalDeps & { sent: [number, string][] } {
    const sent: [number, string][] = [];
    return {
      sent,
      findPids: () => pids,
      kill: (pid, sig) => {
        if (pid === 404) throw Object.assign(new Error("kill ESRCH"), { code: "ESRCH" });
        sent.push([pid, sig]);
      },
      readFile: (p) => files[p] ?? null,
    };
  }

  test("each command sends nats-server's signal", () => {
    const d = deps([]);
    for (const cmd of ["stop", "quit", "reopen", "reload", "ldm", "term"]) processSignal(`${cmd}=7`, "gnat", d);
    expect(d.sent).toEqual([[7, "SIGKILL"], [7, "SIGINT"], [7, "SIGUSR1"], [7, "SIGHUP"], [7, "SIGUSR2"], [7, "SIGTERM"]]);
  });

  test("a pid file is read (trailing newline and all)", () => {
    const d = deps([], { "/run/gnat.pid": "1234\n" });
    processSignal("reload=/run/gnat.pid", "gnat", d);
    expect(d.sent).toEqual([[1234, "SIGHUP"]]);
  });

  test("without a pid: the one gnat running, or nats-server's errors for none and several", () => {
    const one = deps([42]);
    processSignal("ldm", "gnat", one);
    expect(one.sent).toEqual([[42, "SIGUSR2"]]);
    expect(() => processSignal("ldm", "gnat", deps([]))).toThrow("no gnat processes running");
    expect(() => processSignal("ldm", "gnat", deps([42, 43]))).toThrow("multiple gnat processes running:\n42\n43");
  });

  test("a pid glob signals every match", () => {
    const d = deps([120, 125, 300]);
    processSignal("reopen=12*", "gnat", d);
    expect(d.sent).toEqual([[120, "SIGUSR1"], [125, "SIGUSR1"]]);
  });

  test("a process that is gone is reported as Go reports it", () => {
    expect(() => processSignal("reload=404", "gnat", deps([]))).toThrow(`\nsignal "reload" 404: no such process`);
  });

  test("the lookup finds a running gnat by its script", async () => {
    ensureBuilt();
    const child = spawn(process.execPath, [CLI, "-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "ignore", "pipe"] });
    try {
      await new Promise<void>((res) => child.stderr.on("data", (d: Buffer) => void (String(d).includes("Server is ready") ? res() : undefined)));
      expect(findGnatPids(CLI)).toContain(child.pid);
      expect(findGnatPids(CLI)).not.toContain(process.pid);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

beforeAll(() => ensureBuilt(), 120_000);

describe("regressions", () => {
  test("an authorization reload keeps a client whose user lives in an account (it was taken for a removed user)", async () => {
    const opts = (rootPass: string): ServerOptionsInput => ({
      ...base,
      authorization: { users: [{ user: "root", password: rootPass }] },
      accounts: { A: { users: [{ user: "carl", password: "c" }] } },
    });
    const s = await startServer(opts("r"));
    try {
      const carl = await RawClient.open(s.port, { user: "carl", pass: "c" });
      const root = await RawClient.open(s.port, { user: "root", pass: "r" });
      s.reload(opts("r2"));
      await root.waitClosed();
      carl.send("PING\r\n");
      await carl.until((o) => o.split("PONG").length > 2);
      expect(carl.closed).toBe(false);
      carl.close();
    } finally {
      await s.close();
    }
  });
});
