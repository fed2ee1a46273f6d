// Monitoring over NATS in the system account ($SYS.REQ.SERVER.PING…, $SYS.REQ.ACCOUNT.<acc>.CONNZ),
// asked of gnat and of nats-server with the same accounts: the same envelopes, the same keys.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { startGnat } from "../kit/gnat.js";
import { connectNode } from "../kit/clients.js";
import { NATS_SERVER, freePort, spawnNatsServer, type Listening } from "../kit/processes.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import type { Server } from "../../server/server.js";

const CONFIG = `accounts {
  SYS: { users: [ { user: sys, password: sys } ] }
  A: { users: [ { user: a, password: a } ] }
  B: { users: [ { user: b, password: b } ] }
}
system_account: SYS
`;

type Reply = { server?: Record<string, unknown>; data?: Record<string, unknown>; statsz?: Record<string, unknown>; error?: Record<string, unknown> };

describe("$SYS.REQ requests", () => {
  let gnat: Server;
  let nats: Listening | null = null;
  const dir = mkdtempSync(join(tmpdir(), "gnat-sysreq-"));
  const conns: NatsConnection[] = [];
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    gnat = await startGnat(configToOptions(parseConfig(CONFIG)).options);
    urls.gnat = gnat.url;
    if (NATS_SERVER !== null) {
      const port = await freePort();
      writeFileSync(join(dir, "n.conf"), `listen: 127.0.0.1:${port}\n${CONFIG}`);
      nats = await spawnNatsServer(["-c", join(dir, "n.conf")], port);
      urls.nats = nats.url;
    }
  });
  afterAll(async () => {
    for (const c of conns) await c.close().catch(() => {});
    await nats?.stop();
    await gnat?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function as(server: string, user: string): Promise<NatsConnection> {
    const nc = await connectNode(urls[server]!, { user, pass: user, name: `${user}-client` });
    conns.push(nc);
    return nc;
  }
  async function ask(server: string, subject: string, body = ""): Promise<Reply> {
    const nc = await as(server, "sys");
    const m = await nc.request(subject, body, { timeout: 3000 });
    return m.json<Reply>();
  }
  /** gnat's reply, and nats-server's when it is installed. */
  async function both(subject: string, body = ""): Promise<[Reply, Reply | null]> {
    const g = await ask("gnat", subject, body);
    const n = urls.nats === undefined ? null : await ask("nats", subject, body);
    return [g, n];
  }
  const keys = (o: Record<string, unknown> | undefined): string[] => Object.keys(o ?? {}).sort();

  test("SERVER.PING answers with the server and its statsz", async () => {
    const [g, n] = await both("$SYS.REQ.SERVER.PING");
    expect(keys(g.server)).toEqual(expect.arrayContaining(["host", "id", "name", "seq", "time", "ver"]));
    expect(g.statsz).toMatchObject({ connections: expect.any(Number), subscriptions: expect.any(Number), sent: { msgs: expect.any(Number) } });
    if (n !== null) {
      expect(keys(g)).toEqual(keys(n as Record<string, unknown>));
      expect(keys(n.statsz).filter((k) => !keys(g.statsz).includes(k) && !["routes", "gateways"].includes(k))).toEqual([]);
    }
  });

  test("SERVER.PING.VARZ and the server's own subject answer with /varz's data", async () => {
    const [g, n] = await both("$SYS.REQ.SERVER.PING.VARZ");
    expect(g.data?.server_id).toBe(gnat.serverId);
    const direct = await ask("gnat", `$SYS.REQ.SERVER.${gnat.serverId}.VARZ`);
    expect(direct.data?.server_id).toBe(gnat.serverId);
    if (n !== null) expect(keys(n as Record<string, unknown>)).toEqual(keys(g as Record<string, unknown>));
  });

  test("SERVER.PING.CONNZ takes connz options as JSON", async () => {
    await as("gnat", "a");
    const [g, n] = await both("$SYS.REQ.SERVER.PING.CONNZ", JSON.stringify({ subscriptions: true, auth: true }));
    const names = (g.data?.connections as { name: string; subscriptions_list?: unknown }[]).map((c) => c.name);
    expect(names).toContain("a-client");
    if (n !== null) expect(keys(n.data)).toEqual(keys(g.data));
  });

  test("ACCOUNT.<acc>.CONNZ lists that account's connections only", async () => {
    await as("gnat", "b");
    if (urls.nats !== undefined) await as("nats", "b");
    const [g, n] = await both("$SYS.REQ.ACCOUNT.B.CONNZ");
    const accs = (r: Reply): string[] => [...new Set((r.data?.connections as { account?: string; name: string }[]).map((c) => c.name))];
    expect(accs(g)).toEqual(["b-client"]);
    if (n !== null) expect(accs(n)).toEqual(["b-client"]);
  });

  test("options that are not JSON get a 400 error, as nats-server's", async () => {
    const [g, n] = await both("$SYS.REQ.SERVER.PING.CONNZ", "{nope");
    expect(g.error?.code).toBe(400);
    expect(g.data).toBeUndefined();
    if (n !== null) expect(n.error?.code).toBe(400);
  });

  test("a refused CONNECT is an auth error event in the system account, shaped as nats-server's", async () => {
    const events: Record<string, Record<string, unknown>> = {};
    for (const server of Object.keys(urls)) {
      const sys = await as(server, "sys");
      const sub = sys.subscribe("$SYS.SERVER.*.CLIENT.AUTH.ERR", { max: 1 });
      await sys.flush();
      await expect(connectNode(urls[server]!, { user: "a", pass: "wrong", name: "intruder", reconnect: false })).rejects.toThrow(/Authorization Violation/);
      for await (const m of sub) events[server] = m.json<Record<string, unknown>>();
    }
    const g = events.gnat!;
    expect(g).toMatchObject({ type: "io.nats.server.advisory.v1.client_disconnect", reason: "Authentication Failure", client: { name: "intruder" } });
    if (events.nats !== undefined) {
      const n = events.nats;
      expect(keys(g)).toEqual(keys(n));
      expect(g.reason).toBe(n.reason);
      const missing = keys(n.client as Record<string, unknown>).filter((k) => !keys(g.client as Record<string, unknown>).includes(k));
      expect(missing.filter((k) => !["rtt", "user", "acc", "server", "name_tag"].includes(k))).toEqual([]);
    }
  });

  test("a client of another account gets no responder", async () => {
    const nc = await as("gnat", "a");
    await expect(nc.request("$SYS.REQ.SERVER.PING.VARZ", "", { timeout: 1000 })).rejects.toThrow(/no responders|503/i);
  });
});

describe("$SYS.REQ.USER.INFO", () => {
  test("a client of any account learns its user, account and permissions; with a JWT, when it expires", async () => {
    const gnat = await startGnat(configToOptions(parseConfig(`accounts {
  SYS: { users: [ { user: sys, password: sys } ] }
  A: { users: [ { user: a, password: a, permissions: { publish: ["x", "$SYS.REQ.USER.INFO"], subscribe: "_INBOX.>" } } ] }
}
system_account: SYS
`)).options);
    try {
      const nc = await connectNode(gnat.url, { user: "a", pass: "a" });
      const r = (await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 3000 })).json<Reply>();
      expect(r.data).toEqual({ user: "a", account: "A", permissions: { publish: { allow: ["x", "$SYS.REQ.USER.INFO"] }, subscribe: { allow: ["_INBOX.>"] } } });
      expect(r.server?.id).toBe(gnat.serverId);
      await nc.close();
    } finally {
      await gnat.close();
    }
  });

  test("in the global account too (nats-server 2.10 imports it into $G): with users, and with no auth at all", async () => {
    const users = await startGnat(configToOptions(parseConfig(`authorization { users: [ { user: u, password: p, permissions: { publish: ["$SYS.REQ.USER.INFO"], subscribe: "_INBOX.>" } } ] }\n`)).options);
    const open = await startGnat();
    try {
      const nc = await connectNode(users.url, { user: "u", pass: "p" });
      const r = (await nc.request("$SYS.REQ.USER.INFO", "", { timeout: 3000 })).json<Reply>();
      expect(r.data).toEqual({ user: "u", account: "$G", permissions: { publish: { allow: ["$SYS.REQ.USER.INFO"] }, subscribe: { allow: ["_INBOX.>"] } } });
      await nc.close();
      const anon = await connectNode(open.url);
      expect((await anon.request("$SYS.REQ.USER.INFO", "", { timeout: 3000 })).json<Reply>().data).toEqual({ user: "", account: "$G" });
      await anon.close();
    } finally {
      await users.close();
      await open.close();
    }
  });
});
