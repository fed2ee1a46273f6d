// A short soak across routes: three mixed nodes (gnat as a process, nats-server, gnat in-process);
// in turn on each node a fast producer publishes numbered messages (16 B and 1 KiB) on a fan-out
// subject and a queue group's subject, and the other two nodes' clients read them (a fan-out
// subscriber and two queue members each). Every fan-out subscriber gets every message once, the
// queue group every message once in all: none lost, none duplicated, counted by id. Bounded by
// message counts (and each wait by a time-out); an end marker sent after the data, on the same
// routes, shows when everything sent has arrived.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, startCluster, until, type Kind, type Node } from "./kit.js";

const KINDS: Kind[] = ["gnat-process", "nats", "gnat"];
const SIZES = [
  { size: 16, count: 100_000 },
  { size: 1024, count: 12_000 },
];

/** `seq` as a payload of exactly `size` bytes (the id first, padded). */
function payload(seq: number, size: number): string {
  const id = `${seq}`;
  return id + ".".repeat(size - id.length);
}

function idOf(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length && data[i] !== 0x2e; i++) n = n * 10 + (data[i]! - 0x30);
  return n;
}

describe.skipIf(NATS_SERVER === null)(`soak across routes in ${KINDS.join(" + ")}${NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, () => {
  let nodes: Node[] = [];
  const conns: NatsConnection[] = [];

  beforeAll(async () => {
    nodes = await startCluster(KINDS, "soak");
    for (const n of nodes) conns.push(await connectTo(n, { name: `soak-${n.name}` }));
  }, 30_000);

  afterAll(async () => {
    for (const c of conns) await c.close().catch(() => {});
    for (const n of nodes) await n.stop();
  });

  for (let p = 0; p < KINDS.length; p++) {
    it(`a fast producer on ${KINDS[p]}: subscribers on the other nodes get every message once`, async () => {
      const producer = conns[p]!;
      const readers = [0, 1, 2].filter((k) => k !== p);
      const tag = `soak.p${p}`;
      /** Per size: per reader node, fan-out deliveries by id; the queue group's, over all members. */
      const fan = SIZES.map(() => readers.map(() => new Uint8Array(0)));
      const queue = SIZES.map(({ count }) => new Uint8Array(count));
      const fanDup = SIZES.map(() => readers.map(() => 0));
      const queueDup = SIZES.map(() => 0);
      const ended = readers.map(() => false);
      for (const [si, { count }] of SIZES.entries()) for (let r = 0; r < readers.length; r++) fan[si]![r] = new Uint8Array(count);
      for (const [r, k] of readers.entries()) {
        const c = conns[k]!;
        for (const [si, { size }] of SIZES.entries()) {
          c.subscribe(`${tag}.fan.${size}`, {
            callback: (_e, m) => {
              const id = idOf(m.data);
              if (m.data.length !== size || fan[si]![r]![id]++ !== 0) fanDup[si]![r]!++;
            },
          });
          for (let q = 0; q < 2; q++) {
            c.subscribe(`${tag}.q.${size}`, {
              queue: "workers",
              callback: (_e, m) => {
                const id = idOf(m.data);
                if (m.data.length !== size || queue[si]![id]++ !== 0) queueDup[si]!++;
              },
            });
          }
        }
        c.subscribe(`${tag}.end`, { callback: () => (ended[r] = true) });
        await interestArrived(c, producer);
      }
      const t0 = Date.now();
      for (const { size, count } of SIZES) {
        for (let seq = 0; seq < count; seq++) {
          const body = payload(seq, size);
          producer.publish(`${tag}.fan.${size}`, body);
          producer.publish(`${tag}.q.${size}`, body);
          // A fast producer, but one that lets its own server's flow control reach it.
          if (seq % 2000 === 1999) await producer.flush();
        }
      }
      // After everything, on the same routes: once it arrives, whatever was sent has.
      producer.publish(`${tag}.end`);
      await producer.flush();
      await until(() => ended.every(Boolean), "the end marker on every reader node", 20_000);
      const ms = Date.now() - t0;
      for (const [si, { size, count }] of SIZES.entries()) {
        for (let r = 0; r < readers.length; r++) {
          const got = fan[si]![r]!;
          const missing = got.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
          expect({ size, reader: nodes[readers[r]!]!.name, missing, dup: fanDup[si]![r] }).toEqual({ size, reader: nodes[readers[r]!]!.name, missing: 0, dup: 0 });
        }
        const missing = queue[si]!.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
        expect({ size, queueMissing: missing, dup: queueDup[si] }).toEqual({ size, queueMissing: 0, dup: 0 });
        expect(count).toBeGreaterThan(0);
      }
      const total = SIZES.reduce((n, s) => n + s.count * 2, 0);
      console.log(`soak, producer on ${nodes[p]!.kind} ${nodes[p]!.name}: ${total} messages in ${ms} ms, none lost or duplicated`);
    }, 30_000);
  }
});
