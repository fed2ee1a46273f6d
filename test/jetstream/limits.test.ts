// Server-wide JetStream budgets (max_file_store / max_memory_store) and a full disk. The expected
// replies are nats-server's, byte for byte as 2.9.10 sends them with the same budget (20,000 bytes)
// and the same requests; the rules are 2.10's (jetstream.go checkBytesLimits / limitsExceeded).
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, test } from "vitest";
import { serveApi } from "../../server/jetstream/api.js";
import { JetStream } from "../../server/jetstream/jetstream.js";
import type { Server } from "../../server/index.js";
import { tempDir } from "./helpers.js";
import { startGnat } from "../kit/gnat.js";

const BUDGET = 20_000;
const opened: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const f of opened.splice(0).reverse()) await f();
});

async function serve(opts: { maxFileStore?: number; maxMemoryStore?: number; dir?: string; writeFault?: (bytes: number) => Error | null } = {}): Promise<{ server: Server; nc: NatsConnection; dir: string }> {
  const store = opts.dir === undefined ? tempDir("gnat-jslimits-") : null;
  const dir = opts.dir ?? store!.dir;
  let server: Server;
  if (opts.writeFault === undefined) {
    server = await startGnat({
      jetstream: true, storeDir: dir,
      maxFileStore: opts.maxFileStore ?? -1, maxMemoryStore: opts.maxMemoryStore ?? -1,
    });
  } else {
    // The server's own JetStream cannot take a fault hook: compose one by hand, as index.ts does.
    server = await startGnat();
    const js = new JetStream("$G", server.internalClient(), {
      storeDir: dir, maxMemory: -1, maxStore: -1, syncIntervalMs: 120_000, syncAlways: false,
      serverName: server.serverName, log: server.log, writeFault: opts.writeFault,
    });
    js.recover();
    serveApi(js);
    server.accounts.global.jetstream = js;
  }
  const nc = await connect({ servers: server.url });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await nc.close();
    await server.close();
    store?.remove();
  };
  opened.push(close);
  return { server, nc, dir };
}

async function req(nc: NatsConnection, subject: string, body: string | object = ""): Promise<string> {
  const m = await nc.request(subject, typeof body === "string" ? body : JSON.stringify(body), { timeout: 2000 });
  return m.string();
}

const createErr = (code: number, errCode: number, description: string, kind = "stream_create_response"): string =>
  `{"type":"io.nats.jetstream.api.v1.${kind}","error":{"code":${code},"err_code":${errCode},"description":"${description}"}}`;
const STORAGE = [500, 10047, "insufficient storage resources available"] as const;
const MEMORY = [500, 10028, "insufficient memory resources available"] as const;

describe("reservations: streams with max_bytes share the server's budget", () => {
  test("a stream whose max_bytes alone exceeds the budget is refused: insufficient storage / memory resources", async () => {
    const { nc } = await serve({ maxFileStore: BUDGET, maxMemoryStore: BUDGET });
    expect(await req(nc, "$JS.API.STREAM.CREATE.BIG", { name: "BIG", subjects: ["big"], max_bytes: 30_000 })).toBe(createErr(...STORAGE));
    expect(await req(nc, "$JS.API.STREAM.CREATE.BIGM", { name: "BIGM", subjects: ["bigm"], max_bytes: 30_000, storage: "memory" })).toBe(createErr(...MEMORY));
  });

  test("a stream whose max_bytes exceeds what is left is refused; deleting a stream gives its share back", async () => {
    const { nc } = await serve({ maxFileStore: BUDGET });
    expect(await req(nc, "$JS.API.STREAM.CREATE.R1", { name: "R1", subjects: ["r1"], max_bytes: 15_000 })).toContain('"did_create":true');
    expect(await req(nc, "$JS.API.STREAM.CREATE.R2", { name: "R2", subjects: ["r2"], max_bytes: 6_000 })).toBe(createErr(...STORAGE));
    expect(await req(nc, "$JS.API.STREAM.CREATE.R3", { name: "R3", subjects: ["r3"], max_bytes: 5_000 })).toContain('"did_create":true');
    // Fully reserved: even a stream without max_bytes needs one byte, and growing one is refused.
    expect(await req(nc, "$JS.API.STREAM.CREATE.R4", { name: "R4", subjects: ["r4"] })).toBe(createErr(...STORAGE));
    expect(await req(nc, "$JS.API.STREAM.UPDATE.R1", { name: "R1", subjects: ["r1"], max_bytes: 16_000 })).toBe(createErr(...STORAGE, "stream_update_response"));
    // Shrinking, or keeping the same max_bytes, is always allowed.
    expect(await req(nc, "$JS.API.STREAM.UPDATE.R1", { name: "R1", subjects: ["r1"], max_bytes: 15_000, max_msgs: 10 })).toContain('"max_msgs":10');
    expect(await req(nc, "$JS.API.STREAM.UPDATE.R1", { name: "R1", subjects: ["r1"], max_bytes: 10_000 })).toContain('"max_bytes":10000');
    expect(await req(nc, "$JS.API.STREAM.DELETE.R3")).toContain('"success":true');
    expect(await req(nc, "$JS.API.STREAM.CREATE.R4", { name: "R4", subjects: ["r4"], max_bytes: 10_000 })).toContain('"did_create":true');
  });

  test("memory and file budgets are separate", async () => {
    const { nc } = await serve({ maxFileStore: BUDGET, maxMemoryStore: BUDGET });
    expect(await req(nc, "$JS.API.STREAM.CREATE.F", { name: "F", subjects: ["f"], max_bytes: BUDGET })).toContain('"did_create":true');
    expect(await req(nc, "$JS.API.STREAM.CREATE.M", { name: "M", subjects: ["m"], max_bytes: BUDGET, storage: "memory" })).toContain('"did_create":true');
  });
});

describe("usage: publishing past the budget", () => {
  test.each(["file", "memory"])("a %s stream stores until the server's usage passes the budget, then the publisher gets insufficient resources", async (storage) => {
    const { nc } = await serve({ maxFileStore: BUDGET, maxMemoryStore: BUDGET });
    expect(await req(nc, "$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s"], storage })).toContain('"did_create":true');
    const body = "x".repeat(1000);
    const acks: string[] = [];
    for (let i = 0; i < 22; i++) acks.push(await req(nc, "s", body));
    // 1031 (file) / 1017 (memory) bytes each: the 20th takes usage past 20,000, the 21st is refused.
    expect(acks.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `{"stream":"S", "seq":${i + 1}}`));
    const full = '{"error":{"code":503,"err_code":10023,"description":"insufficient resources"},"stream":"S","seq":0}';
    expect(acks.slice(20)).toEqual([full, full]);
    const info = JSON.parse(await req(nc, "$JS.API.INFO")) as Record<string, number>;
    expect(info[storage === "file" ? "storage" : "memory"]).toBe(storage === "file" ? 20 * 1031 : 20 * 1017);
    // Reads go on; a purge frees the budget and publishing resumes with the next sequence.
    expect(await req(nc, "$JS.API.STREAM.MSG.GET.S", { seq: 20 })).toContain('"seq":20');
    expect(await req(nc, "$JS.API.STREAM.PURGE.S")).toContain('"purged":20');
    expect(await req(nc, "s", body)).toBe('{"stream":"S", "seq":21}');
  });

  test("a stream's own max_bytes with discard new answers maximum bytes exceeded", async () => {
    const { nc } = await serve();
    await req(nc, "$JS.API.STREAM.CREATE.DN", { name: "DN", subjects: ["dn"], max_bytes: 2_500, discard: "new" });
    const body = "x".repeat(1000);
    expect(await req(nc, "dn", body)).toBe('{"stream":"DN", "seq":1}');
    expect(await req(nc, "dn", body)).toBe('{"stream":"DN", "seq":2}');
    expect(await req(nc, "dn", body)).toBe('{"error":{"code":503,"err_code":10077,"description":"maximum bytes exceeded"},"stream":"DN","seq":0}');
  });
});

describe("disk full (ENOSPC) under a file stream", () => {
  const enospc = (): Error => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

  test("publishers get a store-failed error, nothing acknowledged is lost, and the server keeps serving", async () => {
    let full = false;
    const store = tempDir("gnat-jsfull-");
    opened.push(async () => store.remove());
    const { nc, server } = await serve({ dir: store.dir, writeFault: () => (full ? enospc() : null) });
    await req(nc, "$JS.API.STREAM.CREATE.D", { name: "D", subjects: ["d.>"] });
    const sent = new Map<number, string>();
    const publish = (i: number): Promise<string> => {
      const body = `message ${i} ${"y".repeat(i % 200)}`;
      sent.set(i, body);
      return req(nc, `d.${i % 5}`, body);
    };
    const first = await Promise.all(Array.from({ length: 100 }, (_, i) => publish(i)));
    expect(first.every((a, i) => a === `{"stream":"D", "seq":${i + 1}}`)).toBe(true);

    full = true;
    const failed = await Promise.all(Array.from({ length: 50 }, (_, i) => publish(100 + i)));
    for (const a of failed) {
      // nats-server's JSStreamStoreFailedF: 503, 10077, the store's error as the description.
      expect(a).toMatch(/^\{"error":\{"code":503,"err_code":10077,"description":"[^"]*no space left on device[^"]*"\},"stream":"D","seq":0\}$/);
    }
    // Reads and the API still answer while the disk is full.
    const info = JSON.parse(await req(nc, "$JS.API.STREAM.INFO.D")) as { state: { messages: number } };
    expect(info.state.messages).toBe(100);
    expect(JSON.parse(await req(nc, "$JS.API.STREAM.MSG.GET.D", { seq: 100 })).message.seq).toBe(100);

    full = false;
    const retried = await Promise.all(Array.from({ length: 50 }, (_, i) => publish(100 + i)));
    for (const a of retried) expect(a).toMatch(/^\{"stream":"D", "seq":\d+\}$/);

    const check = async (c: NatsConnection): Promise<void> => {
      const got: string[] = [];
      const st = (JSON.parse(await req(c, "$JS.API.STREAM.INFO.D")) as { state: { messages: number; first_seq: number; last_seq: number } }).state;
      expect(st.messages).toBe(150);
      for (let seq = st.first_seq; seq <= st.last_seq; seq++) {
        const r = JSON.parse(await req(c, "$JS.API.STREAM.MSG.GET.D", { seq })) as { message?: { data: string } };
        if (r.message !== undefined) got.push(Buffer.from(r.message.data, "base64").toString());
      }
      expect(got).toEqual([...sent.values()]);
    };
    await check(nc);
    // And after a restart on the same directory.
    await nc.close();
    await server.close();
    const again = await serve({ dir: store.dir });
    await check(again.nc);
  });
});
