// examples/consumer-groups.mjs against an in-process gnat: its functions driven step by step,
// then the script itself run as a user would run it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGroup, createTopic, drainGroup, produce, startMember } from "../../examples/consumer-groups.mjs";
import { gnatSuite } from "../kit/gnat.js";
import { settle } from "../kit/wait.js";

const server = gnatSuite({ jetstream: true }, "gnat-ex-cg-");
let conns: NatsConnection[] = [];

beforeAll(async () => {
  conns = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: server().url })));
});

afterAll(async () => {
  for (const c of conns) await c.close();
});

type Rec = { offset: number; value: string };
const all = (seen: Map<string, Rec[]>): Rec[] => [...seen.values()].flat().sort((a, b) => a.offset - b.offset);

describe("consumer groups example", () => {
  test("each group sees every record once, shared between its members; late groups replay from an offset or a time", async () => {
    const admin = conns[0]!;
    const members = conns.slice(1);
    await createTopic(admin);
    const first = await produce(admin, Array.from({ length: 60 }, (_, i) => `r${i}`));
    await new Promise((r) => setTimeout(r, 20));
    const middle = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const second = await produce(admin, Array.from({ length: 40 }, (_, i) => `r${60 + i}`));
    const values = Array.from({ length: 100 }, (_, i) => `r${i}`);

    await createGroup(admin, "group-a");
    await createGroup(admin, "group-b");
    const [a, b] = await Promise.all([drainGroup(members, "group-a"), drainGroup(members.slice(0, 2), "group-b")]);
    for (const seen of [a, b]) {
      expect(all(seen).map((r) => r.value)).toEqual(values); // every record, once, in offset order
      expect([...seen.values()].filter((rs) => rs.length > 0).length).toBeGreaterThan(1); // shared
    }

    // A group keeps its place: new records go to it, old ones are not seen again.
    await produce(admin, ["late"]);
    const again = all(await drainGroup(members, "group-a"));
    expect(again.map((r) => r.value)).toEqual(["late"]);

    await createGroup(admin, "from-offset", { fromOffset: 55 });
    expect(all(await drainGroup(members, "from-offset")).map((r) => r.offset)).toEqual(Array.from({ length: 47 }, (_, i) => 55 + i));
    await createGroup(admin, "from-time", { fromTime: middle });
    const fromTime = all(await drainGroup(members, "from-time"));
    expect(fromTime[0]!.offset).toBe(second[0]);
    expect(fromTime.map((r) => r.value)).toEqual([...values.slice(60), "late"]);
    expect(first.at(-1)).toBe(60);
  });

  test("a member that leaves hands its share to the others", async () => {
    const admin = conns[0]!;
    await createTopic(admin);
    await produce(admin, Array.from({ length: 30 }, (_, i) => `r${i}`));
    await createGroup(admin, "g");
    const got: Rec[] = [];
    const stop = await startMember(conns[1]!, "g", (r: Rec) => { got.push(r); });
    await settle(() => got.length >= 5, { timeout: 3000, interval: 5 });
    await stop();
    const rest = all(await drainGroup([conns[2]!, conns[3]!], "g"));
    expect([...got.map((r) => r.value), ...rest.map((r) => r.value)].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`).sort());
    expect(got.length + rest.length).toBe(30);
  });

  test("the script runs against gnat and exits 0", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/consumer-groups.mjs"], {
      env: { ...process.env, NATS_URL: server().url }, timeout: 55_000,
    });
    expect(stdout).toContain("[group-a] 100 records");
    expect(stdout).toContain("[group-b] 100 records");
    expect(stdout).toContain("[replay-from-offset] offsets 90..100 (11 records)");
    expect(stdout).toMatch(/\[replay-from-time\] offsets 51\.\.100 \(50 records/);
  }, 60_000);
});
