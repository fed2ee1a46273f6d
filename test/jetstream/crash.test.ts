// kill -9 in the middle of acknowledged publishing: gnat as a real child process, a file stream,
// one publisher with many publishes in flight, SIGKILL after a random number of acks, a restart on
// the same store dir, and a full read-back. Every acknowledged message must be there, at the seq
// its ack named, in publish order, once, byte for byte; messages published but never acked may be
// there or not, but never twice and never corrupt. Seeded (GNAT_CRASH_SEED=… to replay one run).
// (Checked by breaking it: acks sent before the write reaches the OS fail here with hundreds lost.)
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "./helpers.js";
import { ensureBuilt, spawnGnat, stopAll, type Listening } from "../kit/processes.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

const ROUNDS = 5;
const IN_FLIGHT = 256;
const STREAM = "CRASH";
const cleanups: Array<() => void> = [];

beforeAll(ensureBuilt, 120_000);

afterEach(async () => {
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

const DIGEST = 16;

/** [ordinal u32][filler][sha256(ordinal + filler), 16 bytes]. */
function payload(ordinal: number, size: number, rand: () => number): Buffer {
  const b = Buffer.allocUnsafe(4 + size + DIGEST);
  b.writeUInt32BE(ordinal, 0);
  for (let i = 4; i < 4 + size; i++) b[i] = (rand() * 256) | 0;
  createHash("sha256").update(b.subarray(0, 4 + size)).digest().copy(b, 4 + size, 0, DIGEST);
  return b;
}

/** The ordinal a payload carries, or -1 when its checksum does not hold. */
function check(b: Uint8Array): number {
  if (b.length < 4 + DIGEST) return -1;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  const body = buf.subarray(0, buf.length - DIGEST);
  const want = createHash("sha256").update(body).digest().subarray(0, DIGEST);
  return want.equals(buf.subarray(buf.length - DIGEST)) ? buf.readUInt32BE(0) : -1;
}

interface Ledger {
  /** ordinal → the seq its ack named. */
  acked: Map<number, number>;
  /** Every ordinal sent so far (acked or not). */
  published: number;
}

/**
 * Publish with up to IN_FLIGHT unacknowledged, and SIGKILL the server from the ack handler as
 * soon as `killAfter` acks of this round arrived. Resolves once the server is dead and the
 * connection closed; every ack that reached the client counts as acknowledged.
 */
async function publishUntilKilled(r: Listening, ledger: Ledger, killAfter: number, rand: () => number): Promise<number> {
  const nc = await connect({ servers: r.url, reconnect: false });
  let inFlight = 0;
  let acksThisRound = 0;
  let killed = false;
  const errors: string[] = [];
  nc.subscribe("_INBOX.crash.>", {
    callback: (err, m) => {
      if (err !== null) return;
      const ordinal = Number(m.subject.slice("_INBOX.crash.".length));
      const ack = m.json<{ stream?: string; seq?: number; error?: unknown }>();
      if (ack.error !== undefined || ack.stream !== STREAM || typeof ack.seq !== "number") {
        errors.push(`ordinal ${ordinal}: ${m.string()}`);
        return;
      }
      if (ledger.acked.has(ordinal)) errors.push(`ordinal ${ordinal} acked twice`);
      ledger.acked.set(ordinal, ack.seq);
      inFlight--;
      acksThisRound++;
      if (acksThisRound >= killAfter && !killed) {
        killed = true;
        r.child.kill("SIGKILL");
        return;
      }
      pump();
    },
  });
  const pump = (): void => {
    if (killed || nc.isClosed()) return;
    while (inFlight < IN_FLIGHT) {
      const ordinal = ledger.published++;
      // Mostly small messages, now and then one of 64 KiB so blocks fill and roll over.
      const size = rand() < 0.02 ? 65536 : (rand() * 2048) | 0;
      try {
        nc.publish(`crash.${ordinal % 7}`, payload(ordinal, size, rand), { reply: `_INBOX.crash.${ordinal}` });
      } catch {
        return; // the connection is going down
      }
      inFlight++;
    }
  };
  await nc.flush();
  pump();
  await r.exited();
  await nc.closed();
  expect(errors).toEqual([]);
  return acksThisRound;
}

/** Read the whole stream back through the API and check it against the ledger. */
async function verify(url: string, ledger: Ledger): Promise<{ stored: number; unackedStored: number }> {
  const nc: NatsConnection = await connect({ servers: url, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const st = (await jsm.streams.info(STREAM)).state;
    const bySeq = new Map<number, Uint8Array>();
    const seqs: number[] = [];
    for (let s = st.first_seq; s <= st.last_seq && st.messages > 0; s++) seqs.push(s);
    for (let i = 0; i < seqs.length; i += 500) {
      const got = await Promise.all(seqs.slice(i, i + 500).map((seq) => jsm.streams.getMessage(STREAM, { seq })));
      for (const m of got) if (m !== null) bySeq.set(m.seq, m.data);
    }
    expect(bySeq.size).toBe(st.messages);

    const where = new Map<number, number>();
    let prev = -1;
    for (const seq of seqs) {
      const data = bySeq.get(seq);
      if (data === undefined) continue;
      const ordinal = check(data);
      expect(ordinal, `message ${seq} is corrupt`).toBeGreaterThanOrEqual(0);
      expect(ordinal, `message ${seq} out of publish order or duplicated`).toBeGreaterThan(prev);
      expect(ordinal).toBeLessThan(ledger.published);
      prev = ordinal;
      where.set(ordinal, seq);
    }
    const missing: string[] = [];
    for (const [ordinal, seq] of ledger.acked) {
      if (where.get(ordinal) !== seq) missing.push(`${ordinal}@${seq} (found at ${where.get(ordinal) ?? "nowhere"})`);
    }
    expect(missing.slice(0, 10), `${missing.length} acknowledged messages lost or moved`).toEqual([]);
    let unackedStored = 0;
    for (const ordinal of where.keys()) if (!ledger.acked.has(ordinal)) unackedStored++;
    return { stored: where.size, unackedStored };
  } finally {
    await nc.close();
  }
}

async function crashRounds(seed: number, startArgs: (dir: string) => string[]): Promise<void> {
  const store = tempDir("gnat-crash-");
  const ports = tempDir("gnat-crash-ports-");
  cleanups.push(store.remove, ports.remove);
  const rand = rng(seed);
  const args = startArgs(store.dir);
  const ledger: Ledger = { acked: new Map(), published: 0 };

  let r = await spawnGnat(args, ports.dir);
  const nc = await connect({ servers: r.url, reconnect: false });
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ["crash.>"], storage: StorageType.File });
  await nc.close();

  const log: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const killAfter = 1 + Math.floor(rand() * 1500);
    const acks = await publishUntilKilled(r, ledger, killAfter, rand);
    r = await spawnGnat(args, ports.dir);
    const { stored, unackedStored } = await verify(r.url, ledger);
    log.push(`round ${round}: killed after ${acks} acks; ${stored} stored, ${ledger.acked.size} acked, ${unackedStored} unacked kept, ${ledger.published} published`);
  }
  r.child.kill("SIGKILL");
  await r.exited();
  expect(ledger.acked.size).toBeGreaterThan(ROUNDS);
  console.log(`seed ${seed}:\n  ${log.join("\n  ")}`);
}

const seedBase = Number(process.env["GNAT_CRASH_SEED"] ?? 0x5eed);

describe("kill -9 while publishing to a file stream", () => {
  test(`default sync policy: nothing acknowledged is lost, nothing is duplicated or corrupt (seed ${seedBase})`, async () => {
    await crashRounds(seedBase, (dir) => ["-js", "-sd", dir]);
  }, 60_000);

  test(`sync_interval: always (config file): the same (seed ${seedBase + 1})`, async () => {
    await crashRounds(seedBase + 1, (dir) => {
      const conf = join(dir, "gnat.conf");
      writeFileSync(conf, `jetstream {\n  store_dir: ${JSON.stringify(dir)}\n  sync_interval: always\n}\n`);
      return ["-c", conf];
    });
  }, 60_000);
});
