// Hostile clients, one test each: many subscriptions on one connection, a flood of connections
// past max_connections, a half-closed socket. (A never-ending control line, a huge announced
// payload and garbage are in robustness.test.ts and fuzz.test.ts; a client that never reads in
// test/flow/ and the write-deadline regression.)
import { connect, type Socket } from "node:net";
import { afterEach, expect, test } from "vitest";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";

let server: Server | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(opts: ServerOptionsInput = {}): Promise<Server> {
  server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, ...opts });
  return server;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Send, then collect until `until` appears (or the socket closes). */
function exchange(s: Socket, bytes: string, until: string, ms = 10_000): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(until)}; got ${JSON.stringify(out.slice(-200))}`)), ms);
    const onData = (d: Buffer): void => {
      out += d.toString("latin1");
      if (out.includes(until)) {
        clearTimeout(t);
        s.off("data", onData);
        resolve({ out, closed: false });
      }
    };
    s.on("data", onData);
    s.once("close", () => {
      clearTimeout(t);
      resolve({ out, closed: true });
    });
    s.write(bytes);
  });
}

test("100,000 subscriptions on one connection: accepted, matched, and all gone when it closes", async () => {
  const s = await start();
  const c = await open(s.port);
  c.on("error", () => {});
  const subs: string[] = ['CONNECT {"verbose":false}\r\n'];
  for (let i = 0; i < 100_000; i++) subs.push(`SUB many.${i} ${i}\r\n`);
  await exchange(c, subs.join("") + "PING\r\n", "PONG\r\n", 30_000);
  expect(s.router.sublist.size).toBe(100_000);
  const r = await exchange(c, "PUB many.99999 2\r\nok\r\nPING\r\n", "PONG\r\n");
  expect(r.out).toContain("MSG many.99999 99999 2\r\nok\r\n");
  c.destroy();
  await expect.poll(() => s.router.sublist.size, { timeout: 10_000 }).toBe(0);
}, 60_000);

test("a flood of connections past max_connections: the excess is refused, the rest are served", async () => {
  const s = await start({ maxConnections: 20 });
  const socks = await Promise.all(Array.from({ length: 100 }, () => open(s.port)));
  const results = await Promise.all(socks.map((c) => {
    c.on("error", () => {});
    return exchange(c, 'CONNECT {"verbose":false}\r\nPING\r\n', "PONG\r\n").catch(() => ({ out: "", closed: true }));
  }));
  const served = results.filter((r) => r.out.includes("PONG\r\n")).length;
  const refused = results.filter((r) => r.out.includes("-ERR 'maximum connections exceeded'\r\n") && r.closed).length;
  expect(served).toBe(20);
  expect(refused).toBe(80);
  expect(s.clients.size).toBe(20);
  for (const c of socks) c.destroy();
  await expect.poll(() => s.clients.size).toBe(0);
  // Room again for a newcomer.
  const late = await open(s.port);
  expect((await exchange(late, "PING\r\n", "PONG\r\n")).out).toContain("PONG");
  late.destroy();
}, 30_000);

test("a half-closed socket (FIN sent, still reading) is closed and its subscriptions removed", async () => {
  const s = await start();
  const c = await open(s.port);
  c.on("error", () => {});
  await exchange(c, 'CONNECT {"verbose":false}\r\nSUB half 1\r\nPING\r\n', "PONG\r\n");
  expect(s.router.sublist.size).toBe(1);
  const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
  c.end();
  await closed;
  await expect.poll(() => s.router.sublist.size).toBe(0);
  expect(s.clients.size).toBe(0);
});
