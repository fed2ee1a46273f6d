// A gnat restarted on its WebSocket port while a nats.ws client keeps reconnecting to it starts,
// and the client gets back in (nats-server does the same), on each HTTP/WebSocket engine.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, StringCodec, type NatsConnection } from "nats.ws";
import WebSocket from "ws";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { ENGINES } from "../helpers/engines.js";
import { killTree } from "../helpers/processes.js";
import { startGnat } from "../kit/gnat.js";
import { ensureBuilt, spawnGnat, stopAll } from "../kit/processes.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;

const sc = StringCodec();
const servers: Server[] = [];
const clients: NatsConnection[] = [];
beforeAll(() => ensureBuilt(), 120_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await stopAll();
});

/** A gnat process on `engine`; resolves with its WebSocket URL once its ports file is written. */
async function startProcess(engine: string, dir: string, wsPort: number): Promise<{ child: ChildProcess; ws: string }> {
  const conf = join(dir, `ws-${wsPort}.conf`);
  writeFileSync(conf, `listen: 127.0.0.1:-1\nports_file_dir: ${JSON.stringify(dir)}\nwebsocket { host: 127.0.0.1, port: ${wsPort}, no_tls: true }\n`);
  const p = await spawnGnat(["-c", conf], dir, { env: { ...process.env, GNAT_HTTP_ENGINE: engine } });
  return { child: p.child, ws: p.ports["websocket"]![0]! };
}

function start(engine: (typeof ENGINES)[number], wsPort: number): Promise<Server> {
  return startGnat({ httpEngine: engine, websocket: { host: "127.0.0.1", port: wsPort, noTls: true } });
}

/** Resolves at the client's first status event of `type` from now on. */
function next(nc: NatsConnection, type: string, times = 1): Promise<void> {
  return (async () => {
    let seen = 0;
    for await (const s of nc.status()) if (s.type === type && ++seen >= times) return;
  })();
}

describe.each(ENGINES)("engine %s", (engine) => {
  test("restarted on the same WebSocket port while a client reconnects: it starts and the client is back", async () => {
    const first = await start(engine, 0);
    servers.push(first);
    const port = Number(new URL(first.websocketUrl).port);
    const nc = await connect({ servers: first.websocketUrl, maxReconnectAttempts: -1, reconnectTimeWait: 20, reconnectJitter: 0, pingInterval: 60_000 });
    clients.push(nc);
    const tries = next(nc, "reconnecting", 3);
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await tries; // the client is knocking on the closed port
    const back = next(nc, "reconnect");
    const second = await start(engine, port);
    servers.push(second);
    expect(second.websocketUrl).toBe(`ws://127.0.0.1:${port}`);
    await back;
    const sub = nc.subscribe("after.restart", { max: 1 });
    await nc.flush();
    nc.publish("after.restart", sc.encode("hello again"));
    for await (const m of sub) expect(sc.decode(m.data)).toBe("hello again");
  });

  test("a gnat process killed (-9) and started again on its WebSocket port while a client reconnects", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-ws-restart-"));
    const first = await startProcess(engine, dir, -1);
    const port = Number(new URL(first.ws).port);
    const nc = await connect({ servers: first.ws, maxReconnectAttempts: -1, reconnectTimeWait: 20, reconnectJitter: 0, pingInterval: 60_000 });
    clients.push(nc);
    const tries = next(nc, "reconnecting", 3);
    // A crash: the kernel closes the server's end first, so the port has connections in TIME_WAIT.
    await killTree(first.child);
    await tries;
    const back = next(nc, "reconnect");
    const second = await startProcess(engine, dir, port);
    expect(second.ws).toBe(`ws://127.0.0.1:${port}`);
    await back;
    const sub = nc.subscribe("after.crash", { max: 1 });
    await nc.flush();
    nc.publish("after.crash", sc.encode("back"));
    for await (const m of sub) expect(sc.decode(m.data)).toBe("back");
  });
});
