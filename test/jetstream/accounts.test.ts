// JetStream per account: each account with JetStream enabled has its own streams, consumers and
// API, its own directory and its own limits; other accounts are told JetStream is not enabled.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";
import { tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

const store = tempDir("gnat-js-accounts-");
const options = (): ServerOptionsInput => ({
  host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: store.dir, httpPort: 0,
  accounts: {
    A: { users: [{ user: "a", password: "a" }], jetstream: true },
    B: { users: [{ user: "b", password: "b" }], jetstream: true },
    L: { users: [{ user: "l", password: "l" }], jetstream: { maxStreams: 1, maxConsumers: 1, maxMemory: 1000 } },
    N: { users: [{ user: "n", password: "n" }] },
  },
});

let server: Server;
const conns: NatsConnection[] = [];
async function as(user: string): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: server.url, user, pass: user });
  conns.push(nc);
  return { nc, jsm: await jetstreamManager(nc, { checkAPI: false }) };
}

/** The API error a promise rejects with: [err_code, description]. */
async function apiErrorOf(p: Promise<unknown>): Promise<[number, string]> {
  const e = (await p.then(() => null, (x: unknown) => x)) as { code?: unknown; message?: string } | null;
  expect(e, "expected an API error").not.toBeNull();
  return [Number(e!.code), String(e!.message)];
}

beforeAll(async () => {
  server = await startServer(options());
});
afterAll(async () => {
  for (const nc of conns) await nc.close();
  await server.close();
  store.remove();
});

describe("per-account JetStream", () => {
  test("two accounts may each have a stream of the same name on the same subjects; each stores its own account's messages", async () => {
    const a = await as("a");
    const b = await as("b");
    await a.jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    await b.jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    const ack = await jetstream(a.nc).publish("orders.1", "from a");
    expect(ack).toMatchObject({ stream: "ORDERS", seq: 1 });
    await jetstream(a.nc).publish("orders.2", "from a");
    await jetstream(b.nc).publish("orders.1", "from b");
    expect((await a.jsm.streams.info("ORDERS")).state.messages).toBe(2);
    expect((await b.jsm.streams.info("ORDERS")).state.messages).toBe(1);
    const m = await b.jsm.streams.getMessage("ORDERS", { seq: 1 });
    expect(m?.string()).toBe("from b");
    expect(existsSync(join(store.dir, "jetstream", "A", "streams", "ORDERS"))).toBe(true);
    expect(existsSync(join(store.dir, "jetstream", "B", "streams", "ORDERS"))).toBe(true);
  });

  test("an account's consumers see only its own stream", async () => {
    const a = await as("a");
    await a.jsm.consumers.add("ORDERS", { durable_name: "work", ack_policy: "explicit" as never });
    const c = await jetstream(a.nc).consumers.get("ORDERS", "work");
    const m = await c.next({ expires: 2000 });
    expect(m?.string()).toBe("from a");
    m?.ack();
    const b = await as("b");
    const [code] = await apiErrorOf(b.jsm.consumers.info("ORDERS", "work"));
    expect(code).toBe(10014);
  });

  test("account info counts the account's own streams and reports its limits", async () => {
    const l = await as("l");
    const info = await l.jsm.getAccountInfo();
    expect(info.streams).toBe(0);
    expect(info.limits).toMatchObject({ max_streams: 1, max_consumers: 1, max_memory: 1000, max_storage: -1 });
    const a = await as("a");
    expect((await a.jsm.getAccountInfo()).streams).toBe(1);
  });

  test("past max_streams an account gets 10027 maximum number of streams reached", async () => {
    const l = await as("l");
    await l.jsm.streams.add({ name: "ONE", subjects: ["one"], storage: "memory" as never });
    expect(await apiErrorOf(l.jsm.streams.add({ name: "TWO", subjects: ["two"], storage: "memory" as never })))
      .toEqual([10027, "maximum number of streams reached"]);
  });

  test("past max_consumers an account gets 10026 maximum consumers limit reached", async () => {
    const l = await as("l");
    await l.jsm.consumers.add("ONE", { durable_name: "c1", ack_policy: "explicit" as never });
    expect(await apiErrorOf(l.jsm.consumers.add("ONE", { durable_name: "c2", ack_policy: "explicit" as never })))
      .toEqual([10026, "maximum consumers limit reached"]);
  });

  test("a stream reserving more memory than the account has gets insufficient memory resources", async () => {
    const l = await as("l");
    await l.jsm.streams.delete("ONE");
    expect(await apiErrorOf(l.jsm.streams.add({ name: "BIG", subjects: ["big"], storage: "memory" as never, max_bytes: 5000 })))
      .toEqual([10028, "insufficient memory resources available"]);
  });

  test("a publish that would take the account past its memory limit gets 10002 resource limits exceeded for account", async () => {
    const l = await as("l");
    await l.jsm.streams.add({ name: "SMALL", subjects: ["small"], storage: "memory" as never });
    const js = jetstream(l.nc);
    await js.publish("small", "x".repeat(600));
    expect(await apiErrorOf(js.publish("small", "x".repeat(600)))).toEqual([10002, "resource limits exceeded for account"]);
    await l.jsm.streams.delete("SMALL");
  });

  test("an account without JetStream gets 10039 JetStream not enabled for account", async () => {
    const n = await as("n");
    // The client turns 10039 into its own JetStreamNotEnabled, with the server's error as the cause.
    const e = (await n.jsm.getAccountInfo().then(() => null, (x: unknown) => x)) as Error & { cause?: { code?: number } };
    expect(e.name).toBe("JetStreamNotEnabled");
    expect(e.message).toBe("JetStream not enabled for account");
    expect(e.cause?.code).toBe(10039);
    const r = await n.nc.request("$JS.API.STREAM.CREATE.X", JSON.stringify({ name: "X", subjects: ["x"] }));
    expect(r.json()).toEqual({
      type: "io.nats.jetstream.api.v1.stream_create_response",
      error: { code: 503, err_code: 10039, description: "JetStream not enabled for account" },
    });
  });

  test("/jsz sums every account's JetStream and details each account", async () => {
    const jsz = (await (await fetch(`${server.monitorUrl}/jsz?accounts=true`)).json()) as {
      streams: number; accounts: number; account_details: { name: string; streams?: number }[];
    };
    expect(jsz.streams).toBe(2);
    expect(jsz.accounts).toBe(3);
    expect(jsz.account_details.map((d) => d.name).sort()).toEqual(["A", "B", "L"]);
  });

  test("a key-value bucket of the same name in two accounts is two buckets", async () => {
    const a = await as("a");
    const b = await as("b");
    const ka = await new Kvm(a.nc).create("CFG", { storage: "memory" as never });
    const kb = await new Kvm(b.nc).create("CFG", { storage: "memory" as never });
    await ka.put("color", "red");
    await kb.put("color", "blue");
    expect((await ka.get("color"))?.string()).toBe("red");
    expect((await kb.get("color"))?.string()).toBe("blue");
    await a.jsm.streams.delete("KV_CFG");
    expect((await kb.get("color"))?.string()).toBe("blue");
    await b.jsm.streams.delete("KV_CFG");
  });

  test("a push consumer delivers within its account only", async () => {
    const a = await as("a");
    const b = await as("b");
    const spy = b.nc.subscribe("deliver.a");
    const sub = a.nc.subscribe("deliver.a");
    await Promise.all([a.nc.flush(), b.nc.flush()]);
    await a.jsm.consumers.add("ORDERS", { durable_name: "push", deliver_subject: "deliver.a", ack_policy: "none" as never });
    let got = 0;
    for await (const m of sub) {
      expect(m.subject).toMatch(/^orders\./);
      if (++got === 2) break;
    }
    await b.nc.flush();
    expect(spy.getReceived()).toBe(0);
    spy.unsubscribe();
    await a.jsm.consumers.delete("ORDERS", "push");
  });

  test("after a restart each account recovers its own streams from its own directory", async () => {
    for (const nc of conns.splice(0)) await nc.close();
    await server.close();
    server = await startServer(options());
    const a = await as("a");
    const b = await as("b");
    expect((await a.jsm.streams.info("ORDERS")).state.messages).toBe(2);
    expect((await b.jsm.streams.info("ORDERS")).state.messages).toBe(1);
    expect((await a.jsm.consumers.info("ORDERS", "work")).ack_floor.stream_seq).toBe(1);
  });
});

describe("JetStream API imported from another account", () => {
  test("an account without JetStream that imports another's API uses that account's JetStream", async () => {
    const dir = tempDir("gnat-js-import-");
    const s = await startGnat({
      jetstream: true, storeDir: dir.dir,
      accounts: {
        JS: { users: [{ user: "js", password: "js" }], jetstream: true, exports: [{ service: "$JS.API.>" }] },
        U: { users: [{ user: "u", password: "u" }], imports: [{ service: { account: "JS", subject: "$JS.API.>" } }] },
      },
    });
    const u = await connect({ servers: s.url, user: "u", pass: "u" });
    const r = await u.request("$JS.API.STREAM.CREATE.IMP", JSON.stringify({ name: "IMP", subjects: ["imp"], storage: "memory" }));
    expect((r.json() as { config?: { name: string } }).config?.name).toBe("IMP");
    const owner = await connect({ servers: s.url, user: "js", pass: "js" });
    expect((await (await jetstreamManager(owner)).streams.info("IMP")).config.name).toBe("IMP");
    await Promise.all([u.close(), owner.close()]);
    await s.close();
    dir.remove();
  });
});
