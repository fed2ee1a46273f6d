// JetStream used from another account (issue #23; nats.js `jetstream - cross account pull`,
// `cross account subscribe`, `kv - cross account history`): account JS has JetStream and exports
// its API, its ack subjects, $KV.> and the deliver subjects A.> and forb.>; A and B import them
// (A's API under IPA.>, B's under froma.>). Pull requests are answered through the service
// import's reply route, push deliveries cross the stream import, and a push consumer is bound
// only once someone in the importing account subscribes (nats-server's shadow subscriptions).
// The same config through the gnat command and through nats-server.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectNode } from "../kit/clients.js";
import { CLI, ensureBuilt, freePort, launch, NATS_SERVER, spawnNatsServer, type Launched } from "../kit/processes.js";
import { waitForPort } from "../kit/wait.js";

const conf = (port: number, store: string): string => `
listen: 127.0.0.1:${port}
jetstream { store_dir: "${store}" }
accounts {
  JS {
    jetstream: enabled
    users: [{ user: js, password: js }]
    exports: [
      { service: "$JS.API.>", response_type: stream }
      { service: "$JS.ACK.>", response_type: stream }
      { service: "$KV.>" }
      { stream: "A.>", accounts: [A] }
      { stream: "forb.>" }
    ]
  }
  A {
    users: [{ user: a, password: s3cret }]
    imports: [
      { service: { subject: "$JS.API.>", account: JS }, to: "IPA.>" }
      { service: { subject: "$JS.ACK.>", account: JS } }
      { stream: { subject: "A.>", account: JS } }
    ]
  }
  B {
    users: [{ user: b, password: b }]
    imports: [
      { service: { subject: "$KV.>", account: JS }, to: "froma.$KV.>" }
      { service: { subject: "$JS.API.>", account: JS }, to: "froma.>" }
      { stream: { subject: "forb.>", account: JS } }
    ]
  }
}
`;

beforeAll(ensureBuilt, 120_000);

const servers: Array<[string, ((cfg: string, port: number) => Promise<Launched>) | null]> = [
  ["gnat", async (cfg, port) => {
    const p = launch(process.execPath, [CLI, "-c", cfg]);
    await waitForPort(port, { child: p.child, stderr: p.log, name: "gnat", timeout: 10_000 });
    return p;
  }],
  ["nats-server", NATS_SERVER === null ? null : (cfg, port) => spawnNatsServer(["-c", cfg], port)],
];

describe.each(servers)("%s", (_name, start) => {
  let server: Launched | null = null;
  let dir = "";
  let port = 0;
  const conns: NatsConnection[] = [];
  const as = async (user: string, pass: string, inboxPrefix?: string): Promise<NatsConnection> => {
    const nc = await connectNode(`nats://127.0.0.1:${port}`, { user, pass, ...(inboxPrefix === undefined ? {} : { inboxPrefix }) });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    if (start === null) return;
    dir = mkdtempSync(join(tmpdir(), "gnat-js-xacct-"));
    port = await freePort();
    writeFileSync(join(dir, "server.conf"), conf(port, join(dir, "store")));
    server = await start(join(dir, "server.conf"), port);
  }, 20_000);
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(start === null)("a pull consumer of another account is served through the imported API", async () => {
    const admin = await as("js", "js");
    await (await jetstreamManager(admin)).streams.add({ name: "XPULL", subjects: ["xpull"] });
    for (let i = 0; i < 2; i++) await jetstream(admin).publish("xpull");
    await (await jetstreamManager(admin)).consumers.add("XPULL", { durable_name: "me", ack_policy: AckPolicy.None });
    const nc = await as("a", "s3cret", "A");
    const c = await jetstream(nc, { apiPrefix: "IPA" }).consumers.get("XPULL", "me");
    expect((await c.next({ expires: 2000 }))?.seq).toBe(1);
    expect((await c.next({ expires: 2000 }))?.seq).toBe(2);
    expect(await c.next({ expires: 1000 })).toBeNull();
  }, 20_000);

  test.skipIf(start === null)("a push consumer of another account delivers across the stream import and takes acks", async () => {
    const admin = await as("js", "js");
    await (await jetstreamManager(admin)).streams.add({ name: "XPUSH", subjects: ["xpush"] });
    for (let i = 0; i < 2; i++) await jetstream(admin).publish("xpush");
    const nc = await as("a", "s3cret", "A");
    const js = jetstream(nc, { apiPrefix: "IPA" });
    const jsm = await js.jetstreamManager();
    await jsm.consumers.add("XPUSH", { durable_name: "me", ack_policy: AckPolicy.Explicit, deliver_subject: createInbox("A") });
    // Nobody in A listens yet: the stream import alone does not bind it.
    expect((await jsm.consumers.info("XPUSH", "me")).push_bound ?? false).toBe(false);
    const pc = await js.consumers.getPushConsumer("XPUSH", "me");
    const acks: Promise<boolean>[] = [];
    for await (const m of await pc.consume()) {
      acks.push(m.ackAck());
      if (m.seq === 2) break;
    }
    expect(await Promise.all(acks)).toEqual([true, true]);
    const ci = await pc.info();
    expect(ci.delivered.stream_seq).toBe(2);
    expect(ci.ack_floor.stream_seq).toBe(2);
    expect(ci.num_pending).toBe(0);
  }, 20_000);

  test.skipIf(start === null)("a key-value bucket's history is watched from another account", async () => {
    const owner = await as("js", "js");
    const kva = await new Kvm(jetstream(owner)).create("xa");
    await kva.put("A", "A");
    await kva.put("B", "B");
    await kva.delete("B");
    const nb = await as("b", "b", "forb");
    const kvb = await new Kvm(jetstream(nb, { apiPrefix: "froma" })).create("xa");
    await kvb.put("C", "C");
    for (const kv of [kva, kvb]) {
      const seen: string[] = [];
      const it = await kv.history();
      for await (const e of it) {
        seen.push(`${e.key}:${e.operation}`);
        if (e.key === "C") break;
      }
      expect(seen).toEqual(["A:PUT", "B:DEL", "C:PUT"]);
    }
  }, 20_000);
});
