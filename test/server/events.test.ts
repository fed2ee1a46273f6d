// nats-server's account connect / disconnect events on $SYS.ACCOUNT.<acc>.CONNECT / .DISCONNECT,
// in its ConnectEventMsg / DisconnectEventMsg shapes (server/events.go, v2.10). They are seen in the
// system account only, and never for $G, as in nats-server; without `accounts` the system account
// ($SYS) is there all the same, and a client of $G sees none of them.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { startGnat } from "../kit/gnat.js";

let server: Server | null = null;
const conns: NatsConnection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) if (!c.isClosed()) await c.close();
  await server?.close();
  server = null;
});

type Obj = Record<string, unknown>;

// A system account user and an application account, as a deployment with accounts has them.
const ACCOUNTS = {
  accounts: {
    APP: { users: [{ user: "app", password: "a" }] },
    SYS: { users: [{ user: "admin", password: "s" }] },
  },
  systemAccount: "SYS",
};

test("a subscriber to $SYS.ACCOUNT.*.CONNECT and .DISCONNECT sees clients come and go, in nats-server's shapes", async () => {
  server = await startGnat(ACCOUNTS);
  const watcher = await connect({ servers: server.url, user: "admin", pass: "s" });
  conns.push(watcher);
  const connects = watcher.subscribe("$SYS.ACCOUNT.*.CONNECT", { max: 1 });
  const disconnects = watcher.subscribe("$SYS.ACCOUNT.*.DISCONNECT", { max: 1 });
  await watcher.flush();

  const app = await connect({ servers: server.url, name: "billing", user: "app", pass: "a" });
  conns.push(app);
  let subject = "";
  let ev: Obj = {};
  for await (const m of connects) { subject = m.subject; ev = m.json<Obj>(); }
  expect(subject).toBe("$SYS.ACCOUNT.APP.CONNECT");
  expect(Object.keys(ev)).toEqual(["type", "id", "timestamp", "server", "client"]);
  expect(ev.type).toBe("io.nats.server.advisory.v1.client_connect");
  expect(ev.id).toMatch(/^[0-9A-Za-z]{22}$/);
  expect(ev.server).toMatchObject({ id: server.serverId, name: server.serverName, ver: server.version, jetstream: false, seq: 1 });
  const client = ev.client as Obj;
  expect(client).toMatchObject({ host: "127.0.0.1", acc: "APP", user: "app", name: "billing", lang: "nats.js", kind: "Client", client_type: "nats" });
  expect(typeof client.id).toBe("number");
  expect(Date.parse(client.start as string)).not.toBeNaN();
  expect(client.stop).toBeUndefined();

  app.publish("work", "12345");
  await app.flush();
  await app.close();
  for await (const m of disconnects) { subject = m.subject; ev = m.json<Obj>(); }
  expect(subject).toBe("$SYS.ACCOUNT.APP.DISCONNECT");
  expect(Object.keys(ev)).toEqual(["type", "id", "timestamp", "server", "client", "sent", "received", "reason"]);
  expect(ev.type).toBe("io.nats.server.advisory.v1.client_disconnect");
  expect(ev.reason).toBe("Client Closed");
  expect(ev.sent).toEqual({ msgs: 1, bytes: 5 });
  expect(ev.received).toEqual({ msgs: 0, bytes: 0 });
  expect((ev.client as Obj).id).toBe(client.id);
  expect(Date.parse((ev.client as Obj).stop as string)).not.toBeNaN();
  expect((ev.server as Obj).seq).toBe(2);
});

test("without a subscriber no event is built or published", async () => {
  server = await startGnat();
  const before = server.router.inMsgs;
  const c = await connect({ servers: server.url });
  await c.close();
  expect(server.router.inMsgs).toBe(before);
});

test("without accounts a client of $G sees no system events: they stay in $SYS, as nats-server keeps them", async () => {
  server = await startGnat();
  const watcher = await connect({ servers: server.url });
  conns.push(watcher);
  const seen: string[] = [];
  watcher.subscribe("$SYS.>", { callback: (_e, m) => seen.push(m.subject) });
  await watcher.flush();
  const app = await connect({ servers: server.url });
  await app.close();
  // A message published after the close arrives after anything the close would have sent.
  const marker = watcher.subscribe("marker", { max: 1 });
  watcher.publish("marker");
  for await (const _ of marker) break;
  expect(seen).toEqual([]);
  // /varz and /accountz name the system account as nats-server's do.
  expect(server.accounts.system.name).toBe("$SYS");
  expect([...server.accounts.accounts.keys()].sort()).toEqual(["$G", "$SYS"]);
});
