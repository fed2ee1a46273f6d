// examples/partitions.mjs against an in-process gnat started from examples/partitions.conf (its
// subject mapping): keys land in fixed partitions, each key's records are handled in order by one
// member at a time, a member leaving hands its partitions over without loss or repeat; then the
// script itself run as a user would run it. test/differential/examples.test.ts runs it against
// nats-server with the same config.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { assign, check, createTopic, drained, produce, startMember, PARTITIONS } from "../../examples/partitions.mjs";
import { loadConfigFile } from "../../server/config/index.js";
import { gnatSuite } from "../kit/gnat.js";
import { hashPartition } from "../../protocol/subject-transform.js";

const server = gnatSuite(() => ({ ...loadConfigFile("examples/partitions.conf").options, jetstream: true }), "gnat-ex-parts-");
let conns: NatsConnection[] = [];

beforeAll(async () => {
  conns = await Promise.all([0, 1, 2].map(() => connect({ servers: server().url })));
});

afterAll(async () => {
  for (const c of conns) await c.close();
});

type Handled = { member: string; partition: number; offset: number; key: string; value: string };

describe("partitions example", () => {
  test("each key lands in its hash partition, in order, at one member; a leaving member hands over", async () => {
    const admin = conns[0]!;
    await createTopic(admin);
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const records = Array.from({ length: 6 }, (_, n) => keys.map((key) => ({ key, value: `${key}#${n}` }))).flat();
    const log: Handled[] = [];
    const a = assign(2);
    expect(a).toEqual([[0, 2], [1, 3]]);
    let stopA = await startMember(conns[1]!, a[0]!, (r) => { log.push({ member: "a", ...r }); });
    const stopB = await startMember(conns[2]!, a[1]!, (r) => { log.push({ member: "b", ...r }); });
    const parts = await produce(admin, records.slice(0, 36));
    for (const [key, p] of parts) expect(p).toBe(Number(hashPartition(key, PARTITIONS)));
    expect(await drained(admin)).toBe(true);
    // b leaves: a takes every partition and carries on from each one's ack floor.
    await stopB();
    await stopA();
    stopA = await startMember(conns[1]!, assign(1)[0]!, (r) => { log.push({ member: "a", ...r }); });
    await produce(admin, records.slice(36));
    expect(await drained(admin)).toBe(true);
    await stopA();
    expect(check(log, records)).toEqual([]);
    expect(log).toHaveLength(records.length);
    expect(new Set(log.map((r) => r.offset)).size).toBe(records.length);
    // Before the handover each key was with the member owning its partition.
    for (const r of log.slice(0, 36)) expect(r.member).toBe(a[0]!.includes(r.partition) ? "a" : "b");
  }, 60_000);

  test("the script runs as a user would run it, and exits 0", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/partitions.mjs"], {
      env: { ...process.env, NATS_URL: server().url }, timeout: 60_000,
    });
    expect(stdout).toMatch(/done: 80 records, every key in order, each record once/);
  }, 60_000);
});
