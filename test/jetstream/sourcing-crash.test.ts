// kill -9 while a mirror and a source are copying: gnat as a real child process, an origin file
// stream taking acknowledged publishes with many in flight, a mirror and a sourcing stream (file)
// catching up behind it, SIGKILL at a seeded point, a restart on the same store dir, more
// publishes, and a full comparison once both report lag 0: the mirror holds exactly the origin's
// messages at the origin's sequences; the source holds each origin message once, in origin order
// (its Nats-Stream-Source sequences are 1, 2, 3 … with no gap and no repeat).
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { tempDir } from "./helpers.js";
import { ensureBuilt, spawnGnat, stopAll, type Listening } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

const ROUNDS = 3;
const IN_FLIGHT = 128;
const cleanups: Array<() => void> = [];

beforeAll(ensureBuilt, 120_000);

afterEach(async () => {
  await stopAll();
  for (const f of cleanups.splice(0)) f();
});

/** Publish to the origin with up to IN_FLIGHT unacknowledged; SIGKILL after `killAfter` acks. */
async function publishUntilKilled(r: Listening, next: { n: number }, killAfter: number): Promise<void> {
  const nc = await connect({ servers: r.url, reconnect: false });
  let inFlight = 0;
  let acks = 0;
  let killed = false;
  nc.subscribe("_INBOX.sc.>", {
    callback: () => {
      inFlight--;
      if (++acks >= killAfter && !killed) {
        killed = true;
        r.child.kill("SIGKILL");
        return;
      }
      pump();
    },
  });
  const pump = (): void => {
    while (!killed && !nc.isClosed() && inFlight < IN_FLIGHT) {
      const i = next.n++;
      try {
        nc.publish(`o.${i % 5}`, `msg-${i}-${"x".repeat(i % 300)}`, { reply: `_INBOX.sc.${i}` });
      } catch {
        return;
      }
      inFlight++;
    }
  };
  await nc.flush();
  pump();
  await r.exited();
  await nc.closed();
}

async function allData(jsm: JetStreamManager, name: string): Promise<Map<number, { data: string; src: string }>> {
  const st = (await jsm.streams.info(name)).state;
  const out = new Map<number, { data: string; src: string }>();
  const seqs: number[] = [];
  for (let s = st.first_seq; s <= st.last_seq && st.messages > 0; s++) seqs.push(s);
  for (let i = 0; i < seqs.length; i += 500) {
    const got = await Promise.all(seqs.slice(i, i + 500).map((seq) => jsm.streams.getMessage(name, { seq }).catch(() => null)));
    for (const m of got) if (m !== null) out.set(m.seq, { data: m.string(), src: m.header?.get("Nats-Stream-Source") ?? "" });
  }
  expect(out.size).toBe(st.messages);
  return out;
}

async function verify(url: string): Promise<string> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const o = await jsm.streams.info("O");
    await until(async () => {
      const [m, s] = [await jsm.streams.info("M"), await jsm.streams.info("S")];
      return m.mirror?.lag === 0 && s.sources?.[0]?.lag === 0 && m.state.last_seq === o.state.last_seq;
    }, { timeout: 20_000, what: "mirror and source caught up" });
    const [origin, mirror, source] = [await allData(jsm, "O"), await allData(jsm, "M"), await allData(jsm, "S")];
    // The mirror: the origin, message for message, at the same sequences.
    const diff: string[] = [];
    for (const [seq, m] of origin) if (mirror.get(seq)?.data !== m.data) diff.push(`seq ${seq}`);
    expect(diff.slice(0, 10), `${diff.length} origin messages missing or different in the mirror`).toEqual([]);
    expect(mirror.size).toBe(origin.size);
    // The source: origin sequences 1.. in order, once each, payloads equal.
    const srcSeqs = [...source.values()].map((x) => Number(x.src.split(" ")[1]));
    expect(srcSeqs).toEqual([...origin.keys()]);
    for (const x of source.values()) expect(x.data).toBe(origin.get(Number(x.src.split(" ")[1]))!.data);
    return `${origin.size} in origin, mirror and source`;
  } finally {
    await nc.close();
  }
}

const seed = Number(process.env["GNAT_CRASH_SEED"] ?? 0x5eed);

describe("kill -9 while a mirror and a source copy", () => {
  test(`mirror and source resume without gaps or duplicates (seed ${seed})`, async () => {
    const store = tempDir("gnat-sourcing-crash-");
    const ports = tempDir("gnat-sourcing-crash-ports-");
    cleanups.push(store.remove, ports.remove);
    const args = ["-js", "-sd", store.dir];
    const rand = rng(seed);
    let r = await spawnGnat(args, ports.dir);
    const nc = await connect({ servers: r.url, reconnect: false });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "O", subjects: ["o.>"] });
    await jsm.streams.add({ name: "M", mirror: { name: "O" } });
    await jsm.streams.add({ name: "S", sources: [{ name: "O" }] });
    await nc.close();
    const next = { n: 0 };
    const log: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await publishUntilKilled(r, next, 200 + Math.floor(rand() * 3000));
      r = await spawnGnat(args, ports.dir);
      log.push(`round ${round}: ${await verify(r.url)}`);
    }
    r.child.kill("SIGKILL");
    await r.exited();
    console.log(`seed ${seed}:\n  ${log.join("\n  ")}`);
  }, 90_000);
});
