// Accounts: each its own subject space; stream and service imports the only way across; the
// system account's events; no_auth_user. Raw sockets and both official clients, against the
// README's example configuration.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import type { Server } from "../../server/index.js";
import { kits, take, text } from "../clients/kits.js";
import { readmeAccountsConfig } from "./readme-accounts.js";
import { rawPublish, rawSubscriber } from "../flow/raw.js";
import { createUser } from "@nats-io/nkeys";
import { startGnat } from "../kit/gnat.js";


/** A raw client: everything it received, and waits on what is to come. */
class Raw {
  out = "";
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly sock: Socket) {
    sock.on("data", (d) => {
      this.out += d.toString("latin1");
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }

  static async open(port: number, creds: Record<string, unknown> = {}): Promise<Raw> {
    const r = new Raw(connect(port, "127.0.0.1"));
    await r.until("\r\n");
    r.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, ...creds })}\r\n`);
    await r.sync();
    return r;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(s: string): void {
    this.sock.write(s);
  }

  /** Resolves once `s` has arrived (counting from `from` in the output), or rejects on close / timeout. */
  until(s: string, from = 0, ms = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(s)}; got ${JSON.stringify(this.out)}`)), ms);
      const check = (): void => {
        if (this.out.indexOf(s, from) >= 0) {
          clearTimeout(t);
          resolve();
        } else if (this.closed) {
          clearTimeout(t);
          reject(new Error(`closed; got ${JSON.stringify(this.out)}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Round-trip a PING: the server has handled everything sent before. */
  async sync(): Promise<void> {
    const n = this.out.split("PONG\r\n").length - 1;
    this.send("PING\r\n");
    for (;;) {
      if (this.out.split("PONG\r\n").length - 1 > n) return;
      await this.until("PONG\r\n", this.out.lastIndexOf("PONG\r\n") + 1);
    }
  }

  /** What arrived after the INFO line, PONGs removed. */
  get body(): string {
    return this.out.slice(this.out.indexOf("\r\n") + 2).replaceAll("PONG\r\n", "");
  }

  close(): void {
    this.sock.destroy();
  }
}

const SHOP = { user: "shop", pass: "s3cret" };
const SUPPORT = { user: "support", pass: "h3lp" };
const ADMIN = { user: "admin", pass: "adm1n" };

let server: Server;
/** What a `watcher` connection that sent `subs` receives while a `from` connection sends `protocol`. */
async function received(watcher: typeof SHOP, subs: string, from: typeof SHOP, protocol: string): Promise<string> {
  const w = await Raw.open(server.port, watcher);
  w.send(subs);
  await w.sync();
  const p = await Raw.open(server.port, from);
  p.send(protocol);
  await p.sync();
  await w.sync();
  w.close();
  p.close();
  return w.body;
}

/** What a SHOP connection subscribed to everything receives while a SUPPORT one sends `protocol`. */
const shopReceives = (protocol: string): Promise<string> => received(SHOP, "SUB > 1\r\n", SUPPORT, protocol);

beforeAll(async () => {
  const { options } = configToOptions(parseConfig(readmeAccountsConfig()));
  server = await startGnat({ httpPort: 0, ...options });
});
afterAll(async () => {
  await server.close();
});

describe("isolation", () => {
  test("the same subject in two accounts is two subjects", async () => {
    const shop = await Raw.open(server.port, SHOP);
    const support = await Raw.open(server.port, SUPPORT);
    shop.send("SUB news 1\r\n");
    support.send("SUB news 1\r\n");
    await Promise.all([shop.sync(), support.sync()]);
    shop.send("PUB news 4\r\nshop\r\n");
    support.send("PUB news 7\r\nsupport\r\n");
    await Promise.all([shop.sync(), support.sync()]);
    await shop.sync();
    expect(shop.body).toBe("MSG news 1 4\r\nshop\r\n");
    expect(support.body).toBe("MSG news 1 7\r\nsupport\r\n");
    shop.close();
    support.close();
  });

  test("a wildcard subscriber sees nothing of another account", async () => {
    expect(await received(ADMIN, "SUB > 1\r\n", SHOP, "PUB anything.at.all 2\r\nhi\r\n")).not.toContain("anything.at.all");
  });

  test("a request nobody in the account answers gets no responders, though another account has a responder", async () => {
    const support = await Raw.open(server.port, SUPPORT);
    support.send("SUB help.me 1\r\n");
    await support.sync();
    const shop = await Raw.open(server.port, SHOP);
    shop.send("SUB _INBOX.1 9\r\nPUB help.me _INBOX.1 0\r\n\r\n");
    await shop.until("HMSG _INBOX.1 9 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
    await support.sync();
    expect(support.body).toBe("");
    shop.close();
    support.close();
  });

  test("queue groups pick one member per account", async () => {
    const a1 = await Raw.open(server.port, SHOP);
    const a2 = await Raw.open(server.port, SHOP);
    const b1 = await Raw.open(server.port, SUPPORT);
    for (const c of [a1, a2, b1]) c.send("SUB work q 1\r\n");
    await Promise.all([a1.sync(), a2.sync(), b1.sync()]);
    const pub = await Raw.open(server.port, SHOP);
    for (let i = 0; i < 10; i++) pub.send("PUB work 1\r\nx\r\n");
    await pub.sync();
    await Promise.all([a1.sync(), a2.sync(), b1.sync()]);
    const count = (r: Raw): number => r.body.split("MSG work").length - 1;
    expect(count(a1) + count(a2)).toBe(10);
    expect(count(b1)).toBe(0);
    for (const c of [a1, a2, b1, pub]) c.close();
  });

  test("echo off is per connection within its account", async () => {
    const shop = await Raw.open(server.port, { ...SHOP, echo: false });
    shop.send("SUB e 1\r\nPUB e 1\r\nx\r\n");
    await shop.sync();
    expect(shop.body).toBe("");
    shop.close();
  });
});

describe("a second CONNECT", () => {
  test("into another account leaves earlier subscriptions in the first, and UNSUB and close still remove them there", async () => {
    // A server of its own: subscriptions of other tests' closing clients would move the counts.
    const s = await startGnat({ ...configToOptions(parseConfig(readmeAccountsConfig())).options });
    const shopSubs = (): number => s.accounts!.get("SHOP")!.router.sublist.size;
    const before = shopSubs();
    const c = await Raw.open(s.port, SHOP);
    c.send("SUB left.1 1\r\nSUB left.2 2\r\n");
    await c.sync();
    expect(shopSubs()).toBe(before + 2);
    c.send(`CONNECT ${JSON.stringify({ verbose: false, user: SUPPORT.user, pass: SUPPORT.pass })}\r\nSUB mine 3\r\n`);
    await c.sync();
    expect(shopSubs()).toBe(before + 2);
    c.send("UNSUB 1\r\n");
    await c.sync();
    expect(shopSubs()).toBe(before + 1);
    // The server closes it (an unknown op), so its subscriptions are gone once the socket is.
    const closed = new Promise((r) => c.sock.once("close", r));
    c.send("FOO\r\n");
    await closed;
    expect(shopSubs()).toBe(before);
    await s.close();
  });
});

describe("no_auth_user", () => {
  test("a client without credentials is the no_auth_user, in its account", async () => {
    const anon = await Raw.open(server.port, {});
    const support = await Raw.open(server.port, SUPPORT);
    support.send("SUB hello 1\r\n");
    await support.sync();
    anon.send("PUB hello 2\r\nhi\r\n");
    await anon.sync();
    await support.until("MSG hello 1 2\r\nhi\r\n");
    anon.close();
    support.close();
  });

  test("INFO does not ask for authentication, and wrong credentials are still refused", async () => {
    const r = await Raw.open(server.port, { user: "support", pass: "nope" }).catch((e: Error) => e);
    expect(r).toBeInstanceOf(Error);
    expect(String(r)).toContain("-ERR 'Authorization Violation'");
    const s = connect(server.port, "127.0.0.1");
    const info = await new Promise<string>((res) => s.once("data", (d) => res(d.toString())));
    s.destroy();
    expect(info).not.toContain("auth_required");
  });
});

describe("stream import", () => {
  test("the exporter's messages arrive in the importer under the prefix, and nowhere else", async () => {
    const support = await Raw.open(server.port, SUPPORT);
    support.send("SUB shop.orders.> 1\r\nSUB orders.> 2\r\n");
    await support.sync();
    const shop = await Raw.open(server.port, SHOP);
    shop.send("PUB orders.new 3\r\none\r\nPUB other 1\r\nx\r\n");
    await shop.sync();
    await support.until("MSG shop.orders.new 1 3\r\none\r\n");
    await support.sync();
    expect(support.body).toBe("MSG shop.orders.new 1 3\r\none\r\n");
    shop.close();
    support.close();
  });

  test("headers and reply subjects travel with an imported message", async () => {
    const support = await Raw.open(server.port, SUPPORT);
    support.send("SUB shop.orders.* 1\r\n");
    await support.sync();
    const shop = await Raw.open(server.port, SHOP);
    shop.send("HPUB orders.h r.1 12 14\r\nNATS/1.0\r\n\r\nok\r\n");
    await support.until("HMSG shop.orders.h 1 r.1 12 14\r\nNATS/1.0\r\n\r\nok\r\n");
    shop.close();
    support.close();
  });

  test("the importer's own publishes on the prefixed subject stay in the importer", async () => {
    expect(await shopReceives("PUB shop.orders.x 1\r\nx\r\nPUB orders.x 1\r\ny\r\n")).toBe("");
  });
});

describe("service import", () => {
  test("a request on the mapped subject reaches the exporter's responder, with a _R_ reply, and the answer comes back", async () => {
    const shop = await Raw.open(server.port, SHOP);
    shop.send("SUB stock.check 1\r\n");
    await shop.sync();
    const support = await Raw.open(server.port, SUPPORT);
    support.send("SUB _INBOX.x 5\r\nPUB stock _INBOX.x 3\r\nsku\r\n");
    await shop.until("sku\r\n");
    // As from nats-server: the request names the requesting account (and its RTT) in a header.
    const m = /^HMSG stock\.check 1 (_R_\.[A-Za-z0-9]{6}\.[A-Za-z0-9]+) (\d+) (\d+)\r\nNATS\/1\.0\r\nNats-Request-Info: \{"acc":"SUPPORT","rtt":\d+\}\r\n\r\nsku\r\n$/.exec(shop.body);
    expect(m, shop.body).not.toBeNull();
    const reply = m![1]!;
    shop.send(`PUB ${reply} 2\r\n42\r\n`);
    await support.until("MSG _INBOX.x 5 2\r\n42\r\n");
    // Singleton: the reply subject works once.
    shop.send(`PUB ${reply} 2\r\n43\r\n`);
    await shop.sync();
    await support.sync();
    expect(support.body).toBe("MSG _INBOX.x 5 2\r\n42\r\n");
    shop.close();
    support.close();
  });

  test("the importer cannot reach the exporter's other subjects, nor the service under its exported name", async () => {
    expect(await shopReceives("PUB stock.check 1\r\nx\r\nPUB orders.new 1\r\ny\r\n")).toBe("");
  });

  for (const kit of kits) {
    test(`request-reply across accounts with ${kit.name}`, async () => {
      const shop = await kit.connect({ servers: server.url, ...SHOP });
      const support = await kit.connect({ servers: server.url, ...SUPPORT });
      const sub = shop.subscribe("stock.check", { callback: (_e, m) => m.respond(`in stock: ${text(m)}`) });
      await shop.flush();
      const r = await support.request("stock", "apple", { timeout: 2000 });
      expect(text(r)).toBe("in stock: apple");
      sub.unsubscribe();
      await Promise.all([shop.close(), support.close()]);
    });

    test(`a stream import with ${kit.name}`, async () => {
      const shop = await kit.connect({ servers: server.url, ...SHOP });
      const support = await kit.connect({ servers: server.url, ...SUPPORT });
      const sub = support.subscribe("shop.orders.>");
      const own = support.subscribe("orders.>");
      await support.flush();
      shop.publish("orders.1", "pear");
      const [m] = await take(sub, 1);
      expect(m!.subject).toBe("shop.orders.1");
      expect(text(m!)).toBe("pear");
      await support.flush();
      expect(own.getReceived()).toBe(0);
      await Promise.all([shop.close(), support.close()]);
    });

    test(`no_auth_user with ${kit.name}: connecting without credentials lands in that user's account`, async () => {
      const anon = await kit.connect({ servers: server.url });
      const support = await kit.connect({ servers: server.url, ...SUPPORT });
      const sub = support.subscribe("anon.hello");
      await support.flush();
      anon.publish("anon.hello", "hi");
      const [m] = await take(sub, 1);
      expect(text(m!)).toBe("hi");
      await Promise.all([anon.close(), support.close()]);
    });

    test(`isolation with ${kit.name}`, async () => {
      const shop = await kit.connect({ servers: server.url, ...SHOP });
      const admin = await kit.connect({ servers: server.url, ...ADMIN });
      const sub = admin.subscribe("x");
      await admin.flush();
      shop.publish("x", "1");
      await shop.flush();
      admin.publish("x", "2");
      const [m] = await take(sub, 1);
      expect(text(m!)).toBe("2");
      await Promise.all([shop.close(), admin.close()]);
    });
  }
});

describe("system account", () => {
  test("connect and disconnect events of an account reach the system account only, naming the account and user", async () => {
    const admin = await Raw.open(server.port, ADMIN);
    admin.send("SUB $SYS.ACCOUNT.> 1\r\n");
    await admin.sync();
    const spy = await Raw.open(server.port, SUPPORT);
    spy.send("SUB $SYS.> 1\r\n");
    await spy.sync();
    const shop = await Raw.open(server.port, { ...SHOP, name: "till" });
    await admin.until("$SYS.ACCOUNT.SHOP.CONNECT");
    shop.close();
    await admin.until("$SYS.ACCOUNT.SHOP.DISCONNECT");
    const events = admin.body.split("\r\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { type: string; client?: Record<string, unknown> });
    const mine = events.filter((e) => e.client?.name === "till");
    expect(mine.map((e) => e.type)).toEqual(["io.nats.server.advisory.v1.client_connect", "io.nats.server.advisory.v1.client_disconnect"]);
    expect(mine[0]!.client!.acc).toBe("SHOP");
    expect(mine[0]!.client!.user).toBe("shop");
    await spy.sync();
    expect(spy.body).not.toContain("CONNECT");
    spy.close();
    admin.close();
  });
});

describe("account connection events", () => {
  test("each connect and disconnect in an account reports its connection count and traffic to the system account, on both subjects", async () => {
    // A server of its own: other tests' clients closing late would add events.
    const s = await startGnat({ ...configToOptions(parseConfig(readmeAccountsConfig())).options });
    const admin = await Raw.open(s.port, ADMIN);
    admin.send("SUB $SYS.ACCOUNT.SUPPORT.SERVER.CONNS 1\r\nSUB $SYS.SERVER.ACCOUNT.SUPPORT.CONNS 2\r\n");
    await admin.sync();
    const c = await Raw.open(s.port, SUPPORT);
    c.send("PUB conns.test 3\r\nabc\r\n");
    await c.sync();
    c.close();
    // Two events (connect, disconnect), each on both subjects.
    while ((admin.out.match(/"acc":"SUPPORT"/g) ?? []).length < 4) await admin.until('"acc":"SUPPORT"', admin.out.lastIndexOf('"acc":"SUPPORT"') + 1);
    const events = admin.body.split("\r\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(admin.body.match(/^MSG \$SYS\.ACCOUNT\.SUPPORT\.SERVER\.CONNS 1 /gm)).toHaveLength(2);
    expect(admin.body.match(/^MSG \$SYS\.SERVER\.ACCOUNT\.SUPPORT\.CONNS 2 /gm)).toHaveLength(2);
    const last = events[events.length - 1]!;
    const before = last.conns as number;
    expect(last).toMatchObject({ type: "io.nats.server.advisory.v1.account_connections", acc: "SUPPORT", leafnodes: 0, total_conns: before });
    // What the account's clients sent the server (one 3-byte PUB), and were delivered (nothing).
    expect(last.received).toEqual({ msgs: 1, bytes: 3 });
    expect(last.sent).toEqual({ msgs: 0, bytes: 0 });
    expect(events[0]).toMatchObject({ conns: before + 1, total_conns: before + 1 });
    expect(before).toBe(0);
    admin.close();
    await s.close();
  });
});

describe("monitoring", () => {
  test("/connz names each connection's account and /accountz lists the accounts", async () => {
    const shop = await Raw.open(server.port, { ...SHOP, name: "connz-shop" });
    const connz = (await (await fetch(`${server.monitorUrl}/connz?auth=true`)).json()) as { connections: { name?: string; account?: string }[] };
    expect(connz.connections.find((c) => c.name === "connz-shop")?.account).toBe("SHOP");
    const accountz = (await (await fetch(`${server.monitorUrl}/accountz`)).json()) as { accounts: string[]; system_account: string };
    expect([...accountz.accounts].sort()).toEqual(["$G", "SHOP", "SUPPORT", "SYS"]);
    expect(accountz.system_account).toBe("SYS");
    shop.close();
  });

  test("/accountz?acc= details an account's exports and imports as nats-server does; an unknown one is a 400", async () => {
    const shop = await Raw.open(server.port, SHOP);
    type Detail = { account_detail: Record<string, unknown> };
    const d = ((await (await fetch(`${server.monitorUrl}/accountz?acc=SHOP`)).json()) as Detail).account_detail;
    expect(d).toMatchObject({ account_name: "SHOP", expired: false, complete: true, jetstream_enabled: false, leafnode_connections: 0 });
    expect(d.client_connections).toBeGreaterThanOrEqual(1);
    expect(d.exports).toEqual([
      { subject: "orders.>", type: "stream" },
      { subject: "stock.check", type: "service", response_type: "Singleton" },
      { subject: "audit.>", type: "stream", approved_accounts: ["SYS"] },
    ]);
    const i = ((await (await fetch(`${server.monitorUrl}/accountz?acc=SUPPORT`)).json()) as Detail).account_detail;
    expect(i.imports).toEqual([
      { subject: "orders.>", account: "SHOP", local_subject: "shop.orders.>", type: "stream", invalid: false, share: false, tracking: false },
      { subject: "stock", account: "SHOP", to: "stock.check", type: "service", invalid: false, share: false, tracking: false },
    ]);
    const bad = await fetch(`${server.monitorUrl}/accountz?acc=NOPE`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe("Account NOPE does not exist");
    shop.close();
  });

  test("/connz?acc= lists that account's connections only", async () => {
    const shop = await Raw.open(server.port, { ...SHOP, name: "by-acc" });
    const support = await Raw.open(server.port, { ...SUPPORT, name: "other" });
    const connz = (await (await fetch(`${server.monitorUrl}/connz?acc=SHOP`)).json()) as { total: number; connections: { name?: string }[] };
    expect(connz.connections.some((c) => c.name === "by-acc")).toBe(true);
    expect(connz.connections.some((c) => c.name === "other")).toBe(false);
    expect(connz.total).toBe(connz.connections.length);
    const none = (await (await fetch(`${server.monitorUrl}/connz?acc=NOPE`)).json()) as Record<string, unknown>;
    expect(none).toMatchObject({ server_id: "", num_connections: 0, total: 0, connections: null });
    shop.close();
    support.close();
  });

  test("/subsz lists every account's subscriptions, each with its account; /varz counts them all", async () => {
    const shop = await Raw.open(server.port, SHOP);
    const support = await Raw.open(server.port, SUPPORT);
    shop.send("SUB subsz.probe 7\r\n");
    support.send("SUB subsz.probe 8\r\n");
    await Promise.all([shop.sync(), support.sync()]);
    const subsz = (await (await fetch(`${server.monitorUrl}/subsz?subs=1&test=subsz.probe`)).json()) as { subscriptions_list: { account: string; sid: string }[]; num_subscriptions: number };
    expect(subsz.subscriptions_list.map((x) => [x.account, x.sid]).sort()).toEqual([["SHOP", "7"], ["SUPPORT", "8"]]);
    const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as { subscriptions: number; system_account: string };
    expect(varz.system_account).toBe("SYS");
    expect(varz.subscriptions).toBe(subsz.num_subscriptions);
    expect(varz.subscriptions).toBeGreaterThanOrEqual(2);
    const metrics = await (await fetch(`${server.monitorUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^gnat_subscriptions ${subsz.num_subscriptions}$`, "m"));
    shop.close();
    support.close();
  });
});

describe("configuration", () => {
  const load = (text: string): unknown => configToOptions(parseConfig(text)).options;
  const startWith = (text: string): Promise<unknown> =>
    startGnat({ ...(load(text) as object) }).then((s) => s.close(), (e: Error) => e.message);

  test("an import the export's accounts list does not name is not authorized, as nats-server words it", () => {
    expect(() => load('accounts { A: { exports: [ {stream: "x", accounts: [B]} ] }, B: {}, C: { imports: [ {stream: {account: A, subject: "x"}} ] } }'))
      .toThrow('Error adding stream import "x": stream import not authorized');
  });

  test("a service import of a subject nobody exports is not authorized", () => {
    expect(() => load('accounts { A: { exports: [ {service: "help"} ] }, B: { imports: [ {service: {account: A, subject: "nothelp"}} ] } }'))
      .toThrow('Error adding service import "nothelp": service import not authorized');
  });

  test("an import from an account that does not exist is refused", () => {
    expect(() => load('accounts { B: { imports: [ {stream: {account: Q, subject: "x"}} ] } }')).toThrow('"Q" account not defined for stream import');
  });

  test("the same user in two accounts is a duplicate", () => {
    expect(() => load("accounts { A: { users: [ {user: a, password: a} ] }, B: { users: [ {user: a, password: b} ] } }")).toThrow('Duplicate user "a" detected');
  });

  test("a user both in authorization and in an account is a duplicate", () => {
    expect(() => load("authorization { users: [ {user: a, password: a} ] }\naccounts { A: { users: [ {user: a, password: a} ] } }")).toThrow('Duplicate user "a" detected');
  });

  test("an unknown no_auth_user stops the server with nats-server's text", async () => {
    expect(await startWith("accounts { A: { users: [ {user: a, password: a} ] } }\nno_auth_user: zz"))
      .toBe('no_auth_user: "zz" not present as user in authorization block or account configuration');
  });

  test("a system_account that is not an account stops the server", async () => {
    expect(await startWith("accounts { A: { users: [ {user: a, password: a} ] } }\nsystem_account: NOPE")).toBe("error resolving system account: account missing");
  });

  test("stream imports that feed each other are a cycle, as nats-server words it", () => {
    expect(() => load('accounts { A: { exports: [ {stream: "x"} ], imports: [ {stream: {account: B, subject: "x"}} ] }, B: { exports: [ {stream: "x"} ], imports: [ {stream: {account: A, subject: "x"}} ] } }'))
      .toThrow('Error adding stream import "x": import forms a cycle');
  });

  test("service imports that answer each other are a cycle", () => {
    expect(() => load('accounts { A: { exports: [ {service: "s"} ], imports: [ {service: {account: B, subject: "s"}} ] }, B: { exports: [ {service: "s"} ], imports: [ {service: {account: A, subject: "s"}} ] } }'))
      .toThrow('Error adding service import "s": import forms a cycle');
  });

  test("imports both ways on subjects the prefixes keep apart are no cycle", () => {
    expect(() => load('accounts { A: { exports: [ {stream: "x.>"} ], imports: [ {stream: {account: B, subject: "y.>"}, prefix: "q"} ] }, B: { exports: [ {stream: "y.>"} ], imports: [ {stream: {account: A, subject: "x.>"}, prefix: "y"} ] } }'))
      .not.toThrow();
  });

  test("a system_account without any accounts stops the server too", async () => {
    expect(await startWith("system_account: SYS")).toBe("error resolving system account: account missing");
  });

  test("an unknown key inside an account is refused rather than ignored", () => {
    expect(() => load("accounts { A: { limits: { max_conn: 1 } } }")).toThrow("is not supported by gnat yet");
    expect(load("accounts { A: { mappings: { a: b } } }")).toMatchObject({ accounts: { A: { mappings: { a: "b" } } } });
  });

  test("response types and JetStream limits are read", () => {
    const o = load('accounts { A: { exports: [ {service: "s", response_type: stream, response_threshold: "5s"} ], jetstream: { max_mem: 1M, max_file: "2G", max_streams: 3, max_consumers: 4 } } }') as { accounts: Record<string, unknown> };
    expect(o.accounts.A).toEqual({
      exports: [{ service: "s", responseType: "stream", responseThreshold: 5000 }],
      jetstream: { maxMemory: 1_000_000, maxStore: 2 * 1024 ** 3, maxStreams: 3, maxConsumers: 4 },
    });
  });
});

describe("stream responses", () => {
  test("a service exported with response_type stream may answer a request several times", async () => {
    const s = await startGnat({
      accounts: {
        A: { users: [{ user: "a", password: "a" }], exports: [{ service: "feed", responseType: "stream" }] },
        B: { users: [{ user: "b", password: "b" }], imports: [{ service: { account: "A", subject: "feed" } }] },
      },
    });
    const a = await Raw.open(s.port, { user: "a", pass: "a" });
    a.send("SUB feed 1\r\n");
    await a.sync();
    const b = await Raw.open(s.port, { user: "b", pass: "b" });
    b.send("SUB in 1\r\nPUB feed in 0\r\n\r\n");
    await a.until("MSG feed 1 _R_.");
    const reply = /MSG feed 1 (\S+) /.exec(a.body)![1]!;
    a.send(`PUB ${reply} 1\r\n1\r\nPUB ${reply} 1\r\n2\r\n`);
    await b.until("MSG in 1 1\r\n2\r\n");
    expect(b.body).toBe("MSG in 1 1\r\n1\r\nMSG in 1 1\r\n2\r\n");
    a.close();
    b.close();
    await s.close();
  });
});

describe("response threshold", () => {
  test("a reply route lives as long as the export's response_threshold, then the answers are dropped", async () => {
    const { options } = configToOptions(parseConfig(`accounts {
      A: { users: [ {user: a, password: a} ], exports: [ {service: "feed", response_type: stream, response_threshold: "1s"} ] }
      B: { users: [ {user: b, password: b} ], imports: [ {service: {account: A, subject: "feed"}} ] }
    }`));
    const s = await startGnat({ ...options });
    const a = await Raw.open(s.port, { user: "a", pass: "a" });
    a.send("SUB feed 1\r\n");
    await a.sync();
    const b = await Raw.open(s.port, { user: "b", pass: "b" });
    b.send("SUB in 1\r\nPUB feed in 0\r\n\r\n");
    await a.until("MSG feed 1 _R_.");
    const reply = /MSG feed 1 (\S+) /.exec(a.body)![1]!;
    a.send(`PUB ${reply} 1\r\n1\r\n`);
    await b.until("MSG in 1 1\r\n1\r\n");
    // Only the clock moves on: the route is past its threshold.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 1500 });
    try {
      a.send(`PUB ${reply} 1\r\n2\r\n`);
      await a.sync();
      await b.sync();
    } finally {
      vi.useRealTimers();
    }
    expect(b.body).toBe("MSG in 1 1\r\n1\r\n");
    a.close();
    b.close();
    await s.close();
  });
});

describe("flow control across accounts", () => {
  test("a slow subscriber behind a stream import stalls the exporter's producer instead of being cut off", async () => {
    const s = await startGnat({
      accounts: {
        E: { users: [{ user: "e", password: "e" }], exports: [{ stream: "flow" }] },
        I: { users: [{ user: "i", password: "i" }], imports: [{ stream: { account: "E", subject: "flow" } }] },
      },
    });
    const n = 400;
    const sub = await rawSubscriber(s.port, "flow", n, { slowMs: 2, connect: { user: "i", pass: "i" } });
    const pub = await rawPublish(s.port, "flow", n, 64 * 1024, { user: "e", pass: "e" });
    await sub.done;
    expect(sub.received()).toBe(n);
    expect(s.slowConsumers).toBe(0);
    expect(s.stalledClients).toBeGreaterThan(0);
    pub.destroy();
    sub.socket.destroy();
    await s.close();
  }, 60_000);
});

describe("users outside any account", () => {
  test("authorization users are in $G, apart from every account; account users keep their permissions", async () => {
    const s = await startGnat({
      authorization: { users: [{ user: "g", password: "g" }] },
      accounts: { A: { users: [{ user: "a", password: "a", permissions: { publish: { deny: ["secret.>"] } } }] } },
    });
    const g = await Raw.open(s.port, { user: "g", pass: "g" });
    const a = await Raw.open(s.port, { user: "a", pass: "a" });
    const a2 = await Raw.open(s.port, { user: "a", pass: "a" });
    g.send("SUB > 1\r\n");
    a2.send("SUB > 1\r\n");
    await Promise.all([g.sync(), a2.sync()]);
    a.send("PUB secret.x 1\r\nx\r\nPUB open 1\r\ny\r\n");
    await a.sync();
    expect(a.body).toBe("-ERR 'Permissions Violation for Publish to \"secret.x\"'\r\n");
    await a2.until("MSG open 1 1\r\ny\r\n");
    await g.sync();
    expect(g.body).toBe("");
    for (const c of [g, a, a2]) c.close();
    await s.close();
  });

  test("no_auth_user works without accounts too: an anonymous client has that user's permissions", async () => {
    const { options } = configToOptions(parseConfig(`authorization { users: [
      { user: guest, password: x, permissions: { publish: "public.>" } }
      { user: admin, password: y }
    ] }
    no_auth_user: guest`));
    const s = await startGnat({ ...options });
    const anon = await Raw.open(s.port);
    anon.send("SUB public.news 1\r\nPUB public.news 1\r\nx\r\nPUB private 1\r\ny\r\n");
    await anon.until("-ERR 'Permissions Violation for Publish to \"private\"'\r\n");
    expect(anon.body).toContain("MSG public.news 1 1\r\nx\r\n");
    const admin = await Raw.open(s.port, { user: "admin", pass: "y" });
    admin.send("PUB private 1\r\ny\r\n");
    await admin.sync();
    expect(admin.body).toBe("");
    anon.close();
    admin.close();
    await s.close();
  });

  test("with accounts but no users anywhere, everyone shares $G", async () => {
    const s = await startGnat({
      accounts: { A: { exports: [{ stream: "x" }] }, B: { imports: [{ stream: { account: "A", subject: "x" } }] } },
    });
    const c1 = await Raw.open(s.port);
    const c2 = await Raw.open(s.port);
    c1.send("SUB y 1\r\n");
    await c1.sync();
    c2.send("PUB y 1\r\nz\r\n");
    await c1.until("MSG y 1 1\r\nz\r\n");
    c1.close();
    c2.close();
    await s.close();
  });
});

describe("nkey users and mapped imports", () => {
  test("an nkey user lands in its account; a stream import with `to` arrives under the mapped subject", async () => {
    const kp = createUser();
    const s = await startGnat({
      accounts: {
        A: { users: [{ user: "a", password: "a" }], exports: [{ stream: "metrics.*" }] },
        B: { nkeys: [{ nkey: kp.getPublicKey() }], imports: [{ stream: { account: "A", subject: "metrics.*" }, to: "a.metrics.*" }] },
      },
    });
    for (const kit of kits) {
      const b = await kit.connect({ servers: s.url, authenticator: kit.nkeyAuthenticator(kp.getSeed()) });
      const a = await kit.connect({ servers: s.url, user: "a", pass: "a" });
      const sub = b.subscribe("a.metrics.*");
      await b.flush();
      a.publish("metrics.cpu", "42");
      const [m] = await take(sub, 1);
      expect(m!.subject).toBe("a.metrics.cpu");
      expect(text(m!)).toBe("42");
      await Promise.all([a.close(), b.close()]);
    }
    await s.close();
  });
});
