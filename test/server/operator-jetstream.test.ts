// JetStream in operator mode: an account has JetStream when its JWT's limits grant storage, within
// the JWT's streams / consumer / storage limits; an account without gets "JetStream not enabled
// for account". The same accounts on nats-server (when installed) answer with the same codes. A
// claims update or delete changes an account's JetStream as nats-server's does.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startGnat } from "../kit/gnat.js";
import { connectNode } from "../kit/clients.js";
import { NATS_SERVER, freePort, spawnNatsServer, type Listening } from "../kit/processes.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import type { Server } from "../../server/server.js";
import { encodeGeneric } from "@nats-io/jwt";
import { until } from "../kit/wait.js";
import { makeAccount, makeOperator, makeUser, operatorConfig, OPEN_LIMITS, type TestUser } from "../helpers/operator.js";

describe("JetStream from account JWTs", () => {
  const dir = mkdtempSync(join(tmpdir(), "gnat-opjs-"));
  let gnat: Server;
  let nats: Listening | null = null;
  const urls: Record<string, string> = {};
  const users: Record<string, TestUser> = {};
  const conns: NatsConnection[] = [];

  beforeAll(async () => {
    const op = await makeOperator();
    const js = await makeAccount(op.okp, "JS", {
      limits: { ...OPEN_LIMITS, mem_storage: 1024 * 1024, disk_storage: 1024 * 1024, streams: 1, consumer: 1 },
    });
    const tiered = await makeAccount(op.okp, "T", {
      limits: { ...OPEN_LIMITS, tiered_limits: { R1: { mem_storage: 1024 * 1024, disk_storage: -1, streams: 2, consumer: -1 } } },
    });
    const none = await makeAccount(op.okp, "NONE");
    const ackLimited = await makeAccount(op.okp, "MAP", { limits: { ...OPEN_LIMITS, mem_storage: 1024 * 1024, disk_storage: 0, streams: -1, consumer: -1, max_ack_pending: 10 } });
    users.map = await makeUser(ackLimited.akp);
    const bytesLimited = await makeAccount(op.okp, "MB", {
      limits: { ...OPEN_LIMITS, mem_storage: 1024 * 1024, disk_storage: 1024 * 1024, streams: -1, consumer: -1, mem_max_stream_bytes: 1000, disk_max_stream_bytes: 2000, max_bytes_required: true },
    });
    users.mb = await makeUser(bytesLimited.akp);
    users.js = await makeUser(js.akp);
    users.tiered = await makeUser(tiered.akp);
    users.none = await makeUser(none.akp);
    const conf = (store: string): string => operatorConfig(op, [js, tiered, none, ackLimited, bytesLimited]) + `jetstream { store_dir: "${store}" }\n`;
    gnat = await startGnat(configToOptions(parseConfig(conf(join(dir, "gnat")))).options);
    urls.gnat = gnat.url;
    if (NATS_SERVER !== null) {
      const port = await freePort();
      writeFileSync(join(dir, "n.conf"), `listen: 127.0.0.1:${port}\n${conf(join(dir, "nats"))}`);
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

  async function jsm(server: string, user: string) {
    const nc = await connectNode(urls[server]!, { authenticator: credsAuthenticator(users[user]!.creds) });
    conns.push(nc);
    return jetstreamManager(nc);
  }
  const servers = (): string[] => Object.keys(urls);
  const codeOf = async (p: Promise<unknown>): Promise<number | string> => {
    try {
      await p;
      return "ok";
    } catch (e) {
      return (e as Error).message;
    }
  };

  test("an account whose JWT grants storage has JetStream, with the JWT's limits in its account info", async () => {
    for (const s of servers()) {
      const m = await jsm(s, "js");
      const info = await m.getAccountInfo();
      expect(info.limits, s).toMatchObject({ max_memory: 1024 * 1024, max_storage: 1024 * 1024, max_streams: 1, max_consumers: 1 });
    }
  });

  test("past the JWT's stream and consumer limits: nats-server's error codes", async () => {
    const got: Record<string, unknown[]> = {};
    for (const s of servers()) {
      const m = await jsm(s, "js");
      const first = await codeOf(m.streams.add({ name: "S1", subjects: ["s1"], storage: "memory" as never, max_bytes: 1024 }));
      const second = await codeOf(m.streams.add({ name: "S2", subjects: ["s2"], storage: "memory" as never, max_bytes: 1024 }));
      const c1 = await codeOf(m.consumers.add("S1", { durable_name: "c1", ack_policy: "explicit" as never }));
      const c2 = await codeOf(m.consumers.add("S1", { durable_name: "c2", ack_policy: "explicit" as never }));
      got[s] = [first, second, c1, c2];
    }
    expect(got.gnat).toEqual(["ok", "maximum number of streams reached", "ok", "maximum consumers limit reached"]);
    if (got.nats !== undefined) expect(got.gnat).toEqual(got.nats);
  });

  test("the R1 tier of tiered limits is the account's JetStream (nats-server 2.9 alone refuses streams under tiers only)", async () => {
    // Account info reports the tier as nats-server does: tiers.R1, the top-level limits zeroed.
    const infos: Record<string, unknown> = {};
    for (const s of servers()) {
      const nc = await connectNode(urls[s]!, { authenticator: credsAuthenticator(users.tiered!.creds) });
      conns.push(nc);
      const r = (await nc.request("$JS.API.INFO", "", { timeout: 3000 })).json<Record<string, unknown>>();
      infos[s] = { limits: r.limits, tiers: r.tiers };
    }
    expect(infos.gnat).toMatchObject({ tiers: { R1: { limits: { max_memory: 1024 * 1024, max_storage: -1, max_streams: 2, max_consumers: -1 } } } });
    if (infos.nats !== undefined) expect(infos.gnat).toEqual(infos.nats);
    const m = await jsm("gnat", "tiered");
    expect(await codeOf(m.streams.add({ name: "T1", subjects: ["t1"], storage: "memory" as never, max_bytes: 1024 }))).toBe("ok");
    const info = await m.getAccountInfo();
    expect(info.streams).toBe(1);
    expect(info.tiers?.R1?.limits).toMatchObject({ max_memory: 1024 * 1024, max_streams: 2 });
    if (urls.nats !== undefined) {
      const n = await jsm("nats", "tiered");
      expect(await codeOf(n.streams.add({ name: "T1", subjects: ["t1"], storage: "memory" as never, max_bytes: 1024 }))).toBe("no JetStream default or applicable tiered limit present");
    }
  });

  test("the JWT's max_ack_pending: a consumer's default when under 1000, and the most one may ask for (nats-server's 10121)", async () => {
    const got: Record<string, unknown[]> = {};
    for (const s of servers()) {
      const nc = await connectNode(urls[s]!, { authenticator: credsAuthenticator(users.map!.creds) });
      conns.push(nc);
      type Api = { error?: { err_code: number; description: string }; config?: { max_ack_pending?: number }; limits?: { max_ack_pending?: number } };
      const req = async (subject: string, body: unknown): Promise<Api> => (await nc.request(subject, JSON.stringify(body), { timeout: 3000 })).json<Api>();
      await req("$JS.API.STREAM.CREATE.M", { name: "M", subjects: ["m"], storage: "memory", num_replicas: 1 });
      const byDefault = await req("$JS.API.CONSUMER.DURABLE.CREATE.M.d", { stream_name: "M", config: { durable_name: "d", ack_policy: "explicit" } });
      const under = await req("$JS.API.CONSUMER.DURABLE.CREATE.M.u", { stream_name: "M", config: { durable_name: "u", ack_policy: "explicit", max_ack_pending: 5 } });
      const over = await req("$JS.API.CONSUMER.DURABLE.CREATE.M.o", { stream_name: "M", config: { durable_name: "o", ack_policy: "explicit", max_ack_pending: 20 } });
      const info = await req("$JS.API.INFO", "");
      got[s] = [byDefault.config?.max_ack_pending, under.config?.max_ack_pending, over.error, info.limits?.max_ack_pending];
    }
    expect(got.gnat).toEqual([10, 5, { code: 400, err_code: 10121, description: "consumer max ack pending exceeds system limit of 10" }, 10]);
    if (got.nats !== undefined) expect(got.gnat).toEqual(got.nats);
  });

  test("the JWT's max_bytes_required and max stream bytes: streams without max_bytes or above the limit are refused (10113, 10122)", async () => {
    const got: Record<string, unknown[]> = {};
    for (const s of servers()) {
      const nc = await connectNode(urls[s]!, { authenticator: credsAuthenticator(users.mb!.creds) });
      conns.push(nc);
      type Api = { error?: { err_code: number }; config?: { max_bytes: number }; limits?: Record<string, unknown> };
      const req = async (subject: string, body: unknown): Promise<Api> => (await nc.request(subject, JSON.stringify(body), { timeout: 3000 })).json<Api>();
      const stream = (name: string, storage: string, extra: Record<string, unknown> = {}) => ({ name, subjects: [name.toLowerCase()], storage, num_replicas: 1, ...extra });
      const out = (r: Api): unknown => r.error?.err_code ?? r.config?.max_bytes;
      got[s] = [
        out(await req("$JS.API.STREAM.CREATE.M0", stream("M0", "memory"))),
        out(await req("$JS.API.STREAM.CREATE.M1", stream("M1", "memory", { max_bytes: 1001 }))),
        out(await req("$JS.API.STREAM.CREATE.M2", stream("M2", "memory", { max_bytes: 1000 }))),
        out(await req("$JS.API.STREAM.CREATE.F1", stream("F1", "file", { max_bytes: 2001 }))),
        out(await req("$JS.API.STREAM.CREATE.F2", stream("F2", "file", { max_bytes: 2000 }))),
        out(await req("$JS.API.STREAM.UPDATE.M2", stream("M2", "memory", { max_bytes: 5000 }))),
        (await req("$JS.API.INFO", "")).limits,
      ];
    }
    expect(got.gnat!.slice(0, 6)).toEqual([10113, 10122, 1000, 10122, 2000, 10122]);
    expect(got.gnat![6]).toMatchObject({ memory_max_stream_bytes: 1000, storage_max_stream_bytes: 2000, max_bytes_required: true });
    if (got.nats !== undefined) expect(got.gnat).toEqual(got.nats);
  });

  test("an account whose JWT grants no storage is answered 'JetStream not enabled for account'", async () => {
    for (const s of servers()) {
      const m = await jsm(s, "none").then((x) => x, (e: unknown) => e);
      const code = m instanceof Error ? String(m.message) : await codeOf((m as Awaited<ReturnType<typeof jsm>>).getAccountInfo());
      expect(String(code), s).toMatch(/10039|not enabled/i);
    }
  });
});

describe("JetStream follows the account JWT: claims updates and deletes (full resolver)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gnat-opjs-del-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const JS_LIMITS = { ...OPEN_LIMITS, mem_storage: 1024 * 1024, disk_storage: 1024 * 1024, streams: -1, consumer: -1 };
  type Api = { error?: { code: number; err_code: number }; state?: { messages: number }; limits?: Record<string, number> };
  const api = async (nc: NatsConnection, subject: string, body = ""): Promise<Api> =>
    (await nc.request(subject, body, { timeout: 3000 })).json<Api>();

  test("deleted, the account's JetStream stops; back without JetStream it has none; back with it, its streams are there; new limits apply in place (a waiting pull is served); an update without it turns it off (as nats-server)", async () => {
    const op = await makeOperator();
    const conf = (name: string): string => {
      const d = join(dir, name);
      return `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\n` +
        `resolver { type: full, dir: "${join(d, "jwt")}", allow_delete: true }\n` +
        `resolver_preload: {\n  ${op.sys.getPublicKey()}: ${op.sysJwt}\n}\njetstream { store_dir: "${join(d, "js")}" }\n`;
    };
    const servers: [string, string, () => Promise<void>][] = [];
    const g = await startGnat(configToOptions(parseConfig(conf("gnat"))).options);
    servers.push(["gnat", g.url, () => g.close()]);
    if (NATS_SERVER !== null) {
      const port = await freePort();
      writeFileSync(join(dir, "n.conf"), `listen: 127.0.0.1:${port}\n${conf("nats")}`);
      const ns = await spawnNatsServer(["-c", join(dir, "n.conf")], port);
      servers.push(["nats", ns.url, () => ns.stop()]);
    }
    const got: Record<string, unknown[]> = {};
    try {
      for (const [name, url] of servers) {
        const akp = (await makeAccount(op.okp, "B")).akp;
        const withJs = await makeAccount(op.okp, "B", { limits: JS_LIMITS }, { akp });
        const u = await makeUser(akp);
        const sys = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(op.sys)).creds) });
        const push = async (jwt: string): Promise<void> => {
          const r = (await sys.request(`$SYS.REQ.ACCOUNT.${withJs.id}.CLAIMS.UPDATE`, jwt, { timeout: 3000 })).json<{ data?: { code: number } }>();
          expect(r.data?.code, name).toBe(200);
        };
        await push(withJs.jwt);
        const user = () => connectNode(url, { authenticator: credsAuthenticator(u.creds), reconnect: false });
        let nc = await user();
        const made = await api(nc, "$JS.API.STREAM.CREATE.S", JSON.stringify({ name: "S", subjects: ["s"], storage: "file", num_replicas: 1 }));
        expect(made.error, name).toBeUndefined();
        await nc.request("s", "one", { timeout: 3000 });
        const closed = nc.closed();
        const del = await encodeGeneric("delete", op.okp, "generic", { accounts: [withJs.id] });
        const d = (await sys.request("$SYS.REQ.CLAIMS.DELETE", del, { timeout: 3000 })).json<{ data?: { message: string } }>();
        expect(d.data?.message, name).toBe("deleted 1 accounts");
        await closed;
        // Back without JetStream: none.
        await push((await makeAccount(op.okp, "B", {}, { akp })).jwt);
        nc = await user();
        const without = await api(nc, "$JS.API.INFO");
        await nc.close();
        // Back with JetStream: the stream and its message, from the store.
        await push((await makeAccount(op.okp, "B", { limits: JS_LIMITS }, { akp })).jwt);
        nc = await user();
        let info: Api = {};
        await until(async () => {
          info = await api(nc, "$JS.API.STREAM.INFO.S");
          return info.error === undefined;
        }, { what: `${name}: stream S back`, timeout: 10_000 });
        // New limits in an update apply to the running account, in place: a pull request waiting
        // on a consumer is still served after it (nats-server updates the limits; it does not
        // restart the account's JetStream).
        const consumer = await api(nc, "$JS.API.CONSUMER.CREATE.S.C", JSON.stringify({ stream_name: "S", config: { durable_name: "C", ack_policy: "explicit", deliver_policy: "new" } }));
        expect(consumer.error, name).toBeUndefined();
        const inbox = `_INBOX.pull.${name}`;
        const pull = nc.subscribe(inbox, { max: 1, timeout: 25_000 });
        const waiting = (async () => {
          for await (const m of pull) return m.string();
          return "nothing";
        })().catch((e: unknown) => `${name}: ${String(e)}`);
        nc.publish("$JS.API.CONSUMER.MSG.NEXT.S.C", JSON.stringify({ batch: 1, expires: 20_000_000_000 }), { reply: inbox });
        await nc.flush();
        await push((await makeAccount(op.okp, "B", { limits: { ...JS_LIMITS, streams: 2 } }, { akp })).jwt);
        let limits: Record<string, number> | undefined;
        await until(async () => {
          limits = (await api(nc, "$JS.API.INFO")).limits;
          return limits?.max_streams === 2;
        }, { what: `${name}: the new stream limit`, timeout: 10_000 });
        await nc.request("s", "two", { timeout: 3000 });
        const pulled = await waiting;
        // And an update without JetStream turns it off for the connected user.
        await push((await makeAccount(op.okp, "B", {}, { akp })).jwt);
        let off: Api = {};
        await until(async () => {
          off = await api(nc, "$JS.API.INFO");
          return off.error !== undefined;
        }, { what: `${name}: JetStream off`, timeout: 10_000 });
        got[name] = [without.error?.err_code, info.state?.messages, limits?.max_streams, pulled, off.error?.err_code];
        await nc.close();
        await sys.close();
      }
    } finally {
      for (const [, , stop] of servers) await stop();
    }
    expect(got.gnat).toEqual([10039, 1, 2, "two", 10039]);
    if (got.nats !== undefined) expect(got.gnat).toEqual(got.nats);
  }, 60_000);
});
