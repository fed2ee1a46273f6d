// Lame duck mode: no new clients, an INFO with "ldm":true to the connected ones, a grace
// period, then every client closed, spread over the lame duck duration, then shutdown.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { configToOptions, ConfigError, parseConfig } from "../../server/config/index.js";
import { freePort } from "../differential/harness.js";
import { kits } from "../clients/kits.js";
import { CLI, ensureBuilt, RawClient, refused, startProcess, type ServerProcess } from "./process-kit.js";
import { startGnat } from "../kit/gnat.js";

const servers: Server[] = [];
const procs: ServerProcess[] = [];
const raws: RawClient[] = [];

beforeAll(() => ensureBuilt(), 120_000);

afterEach(async () => {
  for (const c of raws.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const p of procs.splice(0)) await p.stop();
});

async function server(opts: Parameters<typeof startServer>[0] = {}): Promise<Server> {
  const s = await startGnat({ ...opts });
  servers.push(s);
  return s;
}

async function raw(port: number, opts: Record<string, unknown> = {}): Promise<RawClient> {
  const c = await RawClient.open(port, opts);
  raws.push(c);
  return c;
}

describe("lame duck mode, embedded", () => {
  test("new connections are refused at once, connected clients get INFO with ldm and are closed within the duration", async () => {
    const s = await server({ lameDuckDuration: 600, lameDuckGracePeriod: 200 });
    const a = await raw(s.port);
    const b = await raw(s.port);
    const started = Date.now();
    const done = s.lameDuck();
    expect(s.inLameDuckMode).toBe(true);
    expect(await refused(s.port)).toBe(true);
    await a.until((o) => /INFO \{[^\r]*"ldm":true\} \r\n/.test(o.slice(o.indexOf("\r\n") + 2)));
    const ldmInfo = JSON.parse(a.afterInfo.match(/INFO (\{.*\}) \r\n/)![1]!) as Record<string, unknown>;
    expect(ldmInfo.ldm).toBe(true);
    expect(ldmInfo.server_id).toBe(s.serverId);
    // Nobody is closed during the grace period.
    expect(a.closed || b.closed).toBe(false);
    await Promise.all([a.waitClosed(), b.waitClosed()]);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    // Within the duration, give or take a busy machine.
    expect(elapsed).toBeLessThan(600 + 1000);
    await done;
    expect(s.clients.size).toBe(0);
  });

  test("the WebSocket listener stops accepting too", async () => {
    const s = await server({ websocket: { port: 0, noTls: true }, lameDuckDuration: 400, lameDuckGracePeriod: 100 });
    const wsPort = Number(new URL(s.websocketUrl).port);
    expect(await refused(wsPort)).toBe(false);
    const c = await raw(s.port);
    const done = s.lameDuck();
    await c.until((o) => o.includes(`"ldm":true`));
    expect(await refused(wsPort)).toBe(true);
    await done;
  });

  test("with no clients, lame duck mode shuts down at once", async () => {
    const s = await server({ lameDuckDuration: 60_000, lameDuckGracePeriod: 30_000 });
    const started = Date.now();
    await s.lameDuck();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await refused(s.port)).toBe(true);
  });

  test("close() during the grace period ends it early and lameDuck() resolves", async () => {
    const s = await server({ lameDuckDuration: 60_000, lameDuckGracePeriod: 30_000 });
    const c = await raw(s.port);
    const done = s.lameDuck();
    await c.until((o) => o.includes(`"ldm":true`));
    await s.close();
    await done;
    await c.waitClosed();
  });

  test("JetStream is shut down cleanly: a stream written before survives a restart", async () => {
    const storeDir = mkdtempSync(join(tmpdir(), "gnat-ldm-js-"));
    const s = await server({ jetstream: true, storeDir, lameDuckDuration: 400, lameDuckGracePeriod: 100 });
    const nc = await kits[0]!.connect({ servers: s.url });
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const jsm = await jetstreamManager(nc as never);
    await jsm.streams.add({ name: "LDM", subjects: ["ldm.>"] });
    const js = jsm.jetstream();
    await js.publish("ldm.a", "one");
    const closed = nc.closed();
    await s.lameDuck();
    await closed;
    const again = await server({ jetstream: true, storeDir });
    const nc2 = await kits[0]!.connect({ servers: again.url });
    const jsm2 = await jetstreamManager(nc2 as never);
    const info = await jsm2.streams.info("LDM");
    expect(info.state.messages).toBe(1);
    await nc2.close();
  });

  for (const kit of kits) {
    test(`${kit.name}: the client sees the ldm status event, then is closed`, async () => {
      const s = await server({ lameDuckDuration: 500, lameDuckGracePeriod: 100 });
      const nc = await kit.connect({ servers: s.url });
      const statuses = (nc as unknown as { status(): AsyncIterable<{ type: string }> }).status();
      const sawLdm = (async () => {
        for await (const st of statuses) if (st.type === "ldm") return true;
        return false;
      })();
      const closed = nc.closed();
      const done = s.lameDuck();
      expect(await sawLdm).toBe(true);
      await closed;
      expect(nc.isClosed()).toBe(true);
      await done;
    });
  }

  test("a grace period not below the duration is refused, with nats-server's text", async () => {
    await expect(startServer({ port: 0, noLog: true, lameDuckDuration: 5000, lameDuckGracePeriod: 5000 }))
      .rejects.toThrow("lame duck grace period (5s) should be strictly lower than lame duck duration (5s)");
  });
});

describe("lame duck config keys", () => {
  test("lame_duck_duration and lame_duck_grace_period are durations", () => {
    const o = configToOptions(parseConfig(`lame_duck_duration: "45s"\nlame_duck_grace_period: "2s"\n`)).options;
    expect(o.lameDuckDuration).toBe(45_000);
    expect(o.lameDuckGracePeriod).toBe(2000);
  });

  test("nats-server's minimum of 30 seconds and a negative grace period are errors", () => {
    expect(() => configToOptions(parseConfig(`lame_duck_duration: "10s"\n`))).toThrow("invalid lame_duck_duration of 10s, minimum is 30 seconds");
    expect(() => configToOptions(parseConfig(`lame_duck_grace_period: "-1s"\n`))).toThrow("invalid lame_duck_grace_period, needs to be positive");
    expect(() => configToOptions(parseConfig(`lame_duck_duration: "soon"\n`))).toThrow(ConfigError);
  });
});

describe("lame duck mode of a gnat process", () => {
  test("gnat --signal ldm: log lines, new clients refused, every client closed, exit 0", async () => {
    const port = await freePort();
    const p = await startProcess(`lame_duck_duration: "30s"\nlame_duck_grace_period: "500ms"\n`, { port });
    procs.push(p);
    const a = await raw(port);
    const b = await raw(port);
    const pid = readFileSync(p.pidFile, "utf8");
    const started = Date.now();
    const r = spawnSync(process.execPath, [CLI, "--signal", `ldm=${pid}`], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(0);
    await p.waitLog(/Entering lame duck mode, stop accepting new clients/);
    expect(await refused(port)).toBe(true);
    await a.until((o) => o.includes(`"ldm":true`));
    // SIGTERM does not cut a lame duck shutdown short, as in nats-server.
    p.signal("SIGTERM");
    await Promise.all([a.waitClosed(10_000), b.waitClosed(10_000)]);
    expect(await p.exited()).toBe(0);
    // One client closed when the grace ends, the other at most a second later.
    expect(Date.now() - started).toBeLessThan(8000);
    const log = p.log();
    expect(log).toContain("Closing existing clients");
    expect(log.indexOf("Entering lame duck mode")).toBeLessThan(log.indexOf("Closing existing clients"));
    expect(log).toContain("Server Exiting..");
  });
});
