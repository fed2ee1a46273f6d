// kill -9 while a durable consumer is being worked: gnat as a real child process, a file stream
// of N messages, a worker that fetches and double-acks (ackAck: the server confirms), SIGKILL after
// a random number of confirmed acks, a restart on the same store dir, and the work resumed. Every
// message must end up acked and the consumer drained (nothing unacknowledged is lost: an ack the
// server took but whose confirmation the kill cut off counts as acked), and no message whose ack
// was confirmed before a kill may be delivered again after the restart (a confirmed ack is
// durable); unconfirmed ones may come again, as at-least-once allows. Seeded (GNAT_CRASH_SEED=…).
// (Checked by breaking it: confirming before the state write fails here after the first kill.)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "./helpers.js";
import { ensureBuilt, spawnGnat, stopAll, type Listening } from "../kit/processes.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

const N = 3000;
const ROUNDS = 4;
const STREAM = "CCRASH";
const DURABLE = "worker";
const cleanups: Array<() => void> = [];

beforeAll(ensureBuilt, 120_000);
afterEach(async () => {
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

interface Ledger {
  /** Stream seqs whose ack the server confirmed. */
  confirmed: Set<number>;
  /** Stream seqs the worker sent an ack for (confirmed or not). */
  acked: Set<number>;
  /** Confirmed before the latest kill: these must never be delivered again. */
  durable: Set<number>;
  /** Deliveries of a durable seq after a restart (should stay empty). */
  violations: number[];
  deliveries: number;
}

/** Fetch and ackAck until `killAfter` confirms arrived (then SIGKILL), or everything is confirmed. */
async function work(r: Listening, ledger: Ledger, killAfter: number | null): Promise<number> {
  const nc = await connect({ servers: r.url, reconnect: false });
  const c = await jetstream(nc).consumers.get(STREAM, DURABLE);
  let confirmsThisRound = 0;
  let killed = false;
  try {
    while (!killed && ledger.acked.size < N) {
      const batch = await c.fetch({ max_messages: 100, expires: 1000 });
      const acks: Promise<void>[] = [];
      for await (const m of batch) {
        ledger.deliveries++;
        const seq = m.seq;
        if (ledger.durable.has(seq)) ledger.violations.push(seq);
        ledger.acked.add(seq);
        acks.push(m.ackAck({ timeout: 5000 }).then((ok) => {
          if (!ok || killed) return;
          ledger.confirmed.add(seq);
          confirmsThisRound++;
          if (killAfter !== null && confirmsThisRound >= killAfter) {
            killed = true;
            r.child.kill("SIGKILL");
          }
        }, () => { /* the server died first: not confirmed */ }));
      }
      await Promise.all(acks);
    }
  } catch (e) {
    if (!killed) throw new Error(`${(e as Error).message} (round state: ${confirmsThisRound} confirmed this round, ${ledger.confirmed.size}/${N} in all, ${ledger.deliveries} deliveries, killAfter ${killAfter})`);
  }
  if (killed) await r.exited();
  await nc.close().catch(() => {});
  return confirmsThisRound;
}

async function crashRounds(seed: number, startArgs: (dir: string) => string[]): Promise<void> {
  const store = tempDir("gnat-ccrash-");
  const ports = tempDir("gnat-ccrash-ports-");
  cleanups.push(store.remove, ports.remove);
  const rand = rng(seed);
  const args = startArgs(store.dir);
  let r = await spawnGnat(args, ports.dir);
  {
    const nc = await connect({ servers: r.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ["ccrash.>"], storage: StorageType.File });
    const js = jetstream(nc);
    for (let i = 0; i < N; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, N - i) }, (_, k) => js.publish(`ccrash.${(i + k) % 5}`, `job ${i + k}`)));
    }
    // ack_wait 1 s: what a kill left delivered but unconfirmed comes back soon after the restart.
    await jsm.consumers.add(STREAM, { durable_name: DURABLE, ack_policy: AckPolicy.Explicit, ack_wait: 1_000_000_000, max_ack_pending: 1000 });
    await nc.close();
  }
  const ledger: Ledger = { confirmed: new Set(), acked: new Set(), durable: new Set(), violations: [], deliveries: 0 };
  const log: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const killAfter = 50 + Math.floor(rand() * (N / ROUNDS));
    const got = await work(r, ledger, killAfter);
    for (const s of ledger.confirmed) ledger.durable.add(s);
    log.push(`round ${round}: killed after ${got} confirmed acks; ${ledger.confirmed.size}/${N} confirmed, ${ledger.acked.size} acked, ${ledger.deliveries} deliveries`);
    r = await spawnGnat(args, ports.dir);
  }
  await work(r, ledger, null);
  // Acks sent just before a kill may never have reached the server: those messages are still
  // pending there and come back after ack_wait. Work on until the server has nothing left.
  const nc = await connect({ servers: r.url, reconnect: false });
  const jsm = await jetstreamManager(nc);
  const c = await jetstream(nc).consumers.get(STREAM, DURABLE);
  let info = await jsm.consumers.info(STREAM, DURABLE);
  const deadline = Date.now() + 30_000;
  while ((info.num_ack_pending > 0 || info.num_pending > 0) && Date.now() < deadline) {
    const acks: Promise<unknown>[] = [];
    for await (const m of await c.fetch({ max_messages: 100, expires: 1500 })) {
      if (ledger.durable.has(m.seq)) ledger.violations.push(m.seq);
      acks.push(m.ackAck({ timeout: 5000 }));
    }
    await Promise.all(acks);
    info = await jsm.consumers.info(STREAM, DURABLE);
  }
  await nc.close();
  r.child.kill("SIGKILL");
  await r.exited();
  console.log(`seed ${seed}:\n  ${log.join("\n  ")}`);
  expect(ledger.violations.slice(0, 10), "messages confirmed before a kill were delivered again").toEqual([]);
  expect(ledger.acked.size).toBe(N);
  expect(ledger.confirmed.size).toBeGreaterThan(N / 2);
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
  expect(info.ack_floor.stream_seq).toBe(N);
}

const seedBase = Number(process.env["GNAT_CRASH_SEED"] ?? 0xacc);

describe("kill -9 while a durable consumer is worked", () => {
  test(`default sync policy: confirmed acks survive, nothing unacknowledged is lost (seed ${seedBase})`, async () => {
    await crashRounds(seedBase, (dir) => ["-js", "-sd", dir]);
  }, 90_000);

  test(`sync_interval: always: the same (seed ${seedBase + 1})`, async () => {
    await crashRounds(seedBase + 1, (dir) => {
      const conf = join(dir, "gnat.conf");
      writeFileSync(conf, `jetstream {\n  store_dir: ${JSON.stringify(dir)}\n  sync_interval: always\n}\n`);
      return ["-c", conf];
    });
  }, 90_000);
});
