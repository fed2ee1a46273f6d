// Mirrors across a leafnode link under faults (issue #19): a gnat leaf (domain edge) and a hub
// (domain hub, gnat or nats-server) whose leafnode link passes through the fault proxy
// (fault-proxy.ts). Each side has an origin stream, a mirror of the other side's and a stream
// sourcing it (`external: { api: "$JS.<domain>.API" }`): the hub copies the edge's stream, the
// edge the hub's. Both origins take acked publishes all along while the proxy delays, black-holes,
// cuts and partitions the link on a schedule drawn from a seed, and heals it. Checked:
//   - at every sample (during faults and after heals), read origin, then copy, then origin
//     again: the copy never holds more than the origin (last_seq), and its `lag` never says
//     more than there is (copy last_seq + lag <= the origin's last_seq read after it), lag >= 0;
//   - while the link is black-holed or partitioned, each copy's `active` grows past 1.5 s;
//   - after each heal each copy hears from its origin again and copies on;
//   - after the last heal and the publishers' end, each copy converges to lag 0 and holds
//     exactly its origin's messages (sequences, subjects, payloads): no gap, no duplicate.
// A copy cannot see messages published while it is cut off, so its lag then under-reports;
// how much (origin last_seq read first − mirror last_seq − lag) is printed, not asserted.
// The seed is printed; FAULT_SEED=<n> replays one; a seed that failed once goes in REGRESSION_SEEDS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { until } from "../kit/wait.js";
import { contents } from "./external-kit.js";
import { FaultNet, pairKey, type Fault } from "./fault-proxy.js";
import { closeLeafSuite, leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

const REGRESSION_SEEDS: { seed: number; hub: LeafKind }[] = [];
const STEPS = 3;
/** Publishes per origin at most (bounded traffic); paced so a run stays small. */
const MAX_MSGS = 5000;
const PACE_MS = 3;
const LINK = pairKey("hub", "edge");

type StepKind = "delay" | "blackhole" | "cut" | "partition";
interface Step { fault: StepKind; ms: number; holdMs: number }

function schedule(seed: number): Step[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const kinds: StepKind[] = ["delay", "blackhole", "cut", "partition"];
  const out: Step[] = [];
  for (let i = 0; i < STEPS; i++) {
    // At least one step stops the link (to see `active` grow): the first one drawn is forced.
    const fault = i === 0 ? (r() < 0.5 ? "blackhole" : "partition") : kinds[int(0, 3)]!;
    out.push({ fault, ms: fault === "delay" ? int(20, 200) : 0, holdMs: fault === "cut" ? 0 : int(200, 1200) });
  }
  // The order of the steps is drawn too.
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const envSeed = process.env["FAULT_SEED"];
const runSeed = envSeed !== undefined ? Number(envSeed) : (Date.now() ^ (process.pid << 8)) >>> 0;
const note = envSeed !== undefined ? "FAULT_SEED" : "random";
const CASES: { seed: number; hub: LeafKind; note: string }[] = [
  { seed: runSeed, hub: "gnat", note },
  { seed: envSeed !== undefined ? runSeed : (runSeed ^ 0x5eed) >>> 0, hub: "nats", note },
  ...REGRESSION_SEEDS.map((r) => ({ ...r, note: "regression" })),
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One origin and its copy on the other side: a mirror, or a stream with it as its one source. */
interface Pair {
  label: string;
  source: boolean;
  origin: string;
  mirror: string;
  originJsm: () => JetStreamManager;
  mirrorJsm: () => JetStreamManager;
  /**
   * Largest under-report seen (origin last_seq read first − mirror last_seq − lag): while the
   * link is faulted, and while it is healed and the mirror hears from its origin again.
   */
  under: { fault: number; healed: number };
  samples: number;
}

for (const c of CASES) {
  const needsNats = c.hub === "nats";
  describe.skipIf(needsNats && NATS_SERVER === null)(`mirrors and sources over a faulty leaf link: gnat edge, ${c.hub} hub, seed ${c.seed} (${c.note})${needsNats && NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, () => {
    let hub: LeafServer;
    let edge: LeafServer;
    let onHub: NatsConnection;
    let onEdge: NatsConnection;
    let net: FaultNet;
    const dir = mkdtempSync(join(tmpdir(), "gnat-mirror-faults-"));
    const ping = `ping_interval: "1s"\nping_max: 2`;

    beforeAll(async () => {
      net = new FaultNet(60_000);
      // The hub advertises the proxy as its leafnode URL: a leaf that reconnects to the URLs its
      // hub told it comes back through the proxy too.
      const leafPort = await freePort();
      const proxy = await net.proxy("hub", leafPort, "edge");
      hub = await startLeafServer({
        kind: c.hub, name: `mfhub-${c.hub}`, hub: true, leafPort, leafnodes: `  advertise: "127.0.0.1:${proxy.port}"`,
        config: `${ping}\njetstream { domain: hub, store_dir: "${join(dir, "hub")}" }`,
      });
      edge = await startLeafServer({
        kind: "gnat", name: `mfedge-${c.hub}`,
        leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${proxy.port}" } ]`,
        config: `${ping}\njetstream { domain: edge, store_dir: "${join(dir, "edge")}" }`,
      });
      await leafsUp([hub, edge]);
      onHub = await connect({ servers: hub.url });
      onEdge = await connect({ servers: edge.url });
    }, 30_000);

    afterAll(async () => {
      await net?.close();
      await closeLeafSuite([onHub, onEdge], [edge, hub], dir);
    });

    it("each mirror and source converges to exactly its origin, its lag never overstates, its active grows while cut off", async () => {
      const steps = schedule(c.seed);
      console.log(`mirror faults: seed ${c.seed} (${c.note}), ${c.hub} hub: ${steps.map((s) => `${s.fault}${s.ms > 0 ? ` ${s.ms} ms` : ""}${s.holdMs > 0 ? ` for ${s.holdMs} ms` : ""}`).join(", ")}; replay with FAULT_SEED=${c.seed} -t "${c.hub} hub"`);
      const hubJsm = await jetstreamManager(onHub);
      const edgeJsm = await jetstreamManager(onEdge);
      await edgeJsm.streams.add({ name: "EO", subjects: ["eo.>"] });
      await hubJsm.streams.add({ name: "HO", subjects: ["ho.>"] });
      await hubJsm.streams.add({ name: "HM", mirror: { name: "EO", external: { api: "$JS.edge.API", deliver: "" } } });
      await edgeJsm.streams.add({ name: "EM", mirror: { name: "HO", external: { api: "$JS.hub.API", deliver: "dlv.edge" } } });
      await hubJsm.streams.add({ name: "HS", sources: [{ name: "EO", external: { api: "$JS.edge.API", deliver: "dlv.hub" } }] });
      await edgeJsm.streams.add({ name: "ES", sources: [{ name: "HO", external: { api: "$JS.hub.API", deliver: "" } }] });
      const pair = (label: string, source: boolean, origin: string, mirror: string, originJsm: JetStreamManager, mirrorJsm: JetStreamManager): Pair =>
        ({ label, source, origin, mirror, originJsm: () => originJsm, mirrorJsm: () => mirrorJsm, under: { fault: 0, healed: 0 }, samples: 0 });
      const pairs: Pair[] = [
        pair("hub mirror of the edge", false, "EO", "HM", edgeJsm, hubJsm),
        pair("edge mirror of the hub", false, "HO", "EM", hubJsm, edgeJsm),
        pair("hub source of the edge", true, "EO", "HS", edgeJsm, hubJsm),
        pair("edge source of the hub", true, "HO", "ES", hubJsm, edgeJsm),
      ];
      // The copy's info (a source's sequences are its own, but with one unfiltered origin they
      // are the origin's: the same invariants hold).
      const copyOf = (p: Pair, i: StreamInfo): { lag: number; active: number } | undefined => (p.source ? i.sources?.[0] : i.mirror);

      // The publishers: acked, on each origin's own server (the link is not in their way).
      let stop = false;
      const publisher = async (nc: NatsConnection, prefix: string): Promise<number> => {
        const js = jetstream(nc);
        let i = 0;
        while (!stop && i < MAX_MSGS) {
          i++;
          await js.publish(`${prefix}.${["a", "b", "c"][i % 3]}`, `${prefix}${i}`);
          await sleep(PACE_MS);
        }
        return i;
      };
      const pubs = Promise.all([publisher(onEdge, "eo"), publisher(onHub, "ho")]);

      let phase: "fault" | "healed" = "healed";
      const sample = async (p: Pair): Promise<{ active: number; last: number }> => {
        const before = (await p.originJsm().streams.info(p.origin)).state.last_seq;
        const mi = await p.mirrorJsm().streams.info(p.mirror);
        const after = (await p.originJsm().streams.info(p.origin)).state.last_seq;
        const m = mi.state.last_seq;
        const lag = copyOf(p, mi)?.lag ?? -1;
        const what = `${p.label}: origin last_seq ${before}..${after}, mirror last_seq ${m}, lag ${lag}`;
        expect(lag, what).toBeGreaterThanOrEqual(0);
        expect(m, what).toBeLessThanOrEqual(after);
        expect(m + lag, what).toBeLessThanOrEqual(after);
        p.under[phase] = Math.max(p.under[phase], before - m - lag);
        p.samples++;
        return { active: copyOf(p, mi)?.active ?? -1, last: m };
      };
      const sampleAll = async (): Promise<void> => {
        for (const p of pairs) await sample(p);
      };

      // Both mirrors under way before the first fault.
      for (const p of pairs) {
        await until(async () => (await p.mirrorJsm().streams.info(p.mirror)).state.messages > 0, { timeout: 15_000, what: `${p.label} started` });
      }
      for (const s of steps) {
        const fault: Fault | null = s.fault === "delay" ? { kind: "delay", ms: s.ms } : s.fault === "blackhole" ? { kind: "blackhole" } : s.fault === "partition" ? { kind: "partition" } : null;
        phase = "fault";
        if (fault === null) net.cut([LINK]);
        else net.set([LINK], fault);
        await sampleAll();
        if (s.fault === "blackhole" || s.fault === "partition") {
          // Nothing from the origin: `active` (ns since the mirror last heard from it) grows.
          for (const p of pairs) {
            await until(async () => (await sample(p)).active > 1.5e9, { timeout: 15_000, interval: 100, what: `${p.label}: active past 1.5 s while the link is down` });
          }
        }
        await sleep(s.holdMs);
        await sampleAll();
        net.heal();
        await leafsUp([hub, edge]);
        // Each mirror hears from its origin again and copies on (the publishers are still going).
        for (const p of pairs) {
          const from = (await sample(p)).last;
          await until(async () => {
            const x = await sample(p);
            return x.active >= 0 && x.active < 1e9 && x.last > from;
          }, { timeout: 15_000, interval: 50, what: `${p.label}: copying again after the heal` });
        }
        phase = "healed";
        await sampleAll();
      }

      stop = true;
      const [edgeN, hubN] = await pubs;
      const counts = { EO: edgeN, HO: hubN } as Record<string, number>;
      for (const p of pairs) {
        const n = counts[p.origin]!;
        const done = await until(async () => {
          const mi = await p.mirrorJsm().streams.info(p.mirror);
          await sample(p);
          return mi.state.last_seq === n && copyOf(p, mi)?.lag === 0 ? mi : null;
        }, { timeout: 20_000, interval: 50, what: `${p.label} at lag 0 with ${n} messages` });
        expect(done.state.messages, p.label).toBe(n);
        expect(done.state.first_seq, p.label).toBe(1);
        const prefix = p.origin === "EO" ? "eo" : "ho";
        const want = Array.from({ length: n }, (_, i) => [i + 1, `${prefix}.${["a", "b", "c"][(i + 1) % 3]}`, `${prefix}${i + 1}`]);
        const originNc = p.origin === "EO" ? onEdge : onHub;
        const mirrorNc = p.origin === "EO" ? onHub : onEdge;
        expect((await contents(originNc, p.origin, n)).map(([seq, subj, d]) => [seq, subj, d]), `${p.label}: the origin`).toEqual(want);
        expect((await contents(mirrorNc, p.mirror, n)).map(([seq, subj, d]) => [seq, subj, d]), `${p.label}: the mirror`).toEqual(want);
      }
      console.log(`mirror faults seed ${c.seed} (${c.hub} hub): ${edgeN}/${hubN} messages on EO/HO; lag under-reported by at most ${pairs.map((p) => `${p.under.fault} in faults, ${p.under.healed} healed (${p.label}, ${p.samples} samples)`).join("; ")}; link connections ${JSON.stringify(Object.fromEntries(net.accepted))}`);
    }, 90_000);
  });
}
