// Route faults: three nodes (gnat and nats-server mixed) whose route links pass through a proxy
// (fault-proxy.ts) that delays, black-holes, cuts and partitions them, and heals them, on a
// schedule drawn from a seed. While every node's client publishes (fan-out and a queue group)
// and subscriptions come and go, after each heal:
//   - every node routes to every other again, and /routez never counts more routes than nodes;
//   - /routez's subscription lists of every route are exactly the other node's interest (no
//     subscription lost, none left behind);
//   - a subscriber on any node hears a publisher on any other again, within a bound;
//   - every client's connect_urls lists every node again;
// and over the whole run no queue-group message reached two members and no subscriber got a
// message twice. The seed is printed; FAULT_SEED=<n> replays one (with -t naming the mix); a seed
// that failed once is kept in REGRESSION_SEEDS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { FaultNet, pairKey, type Fault } from "./fault-proxy.js";
import { connectTo, startNode, until, type Kind, type Node, type Routez } from "./kit.js";
import { prng as rng } from "../../bench/fuzz/engine.js";

/**
 * How the nodes find each other: "seed", the others dial the first and learn the rest by gossip
 * (one dialler per link); "all", every node is given every node's route URL, its own included
 * (nats-server's usual cluster config: links dialled from both ends, duplicates and a route to
 * self to drop).
 */
type Topology = "seed" | "all";

/** Seeds that once failed: each runs on every run, with the mix it failed in. */
const REGRESSION_SEEDS: { seed: number; kinds: Kind[]; topology: Topology }[] = [
  // After a black hole on the gnat–nats-server link, the nats-server (its route had seen a
  // duplicate of itself) dialled the route back at gnat's listen port, past the advertised
  // proxy: gnat's route INFO gave its listen host:port, the advertise only in ip (see
  // advertise.test.ts).
  { seed: 1356524042, kinds: ["nats", "gnat", "nats"], topology: "seed" },
];

const STEPS = 4;
/** Pings every second, two missed make a route stale: a black hole of 2-3 s drops it. */
const PING_MS = 1000;
const PING_MAX = 2;
/** How long a heal may take to show (mesh, interest). */
const HEAL_BOUND_MS = 15_000;

type Step = { fault: "delay" | "blackhole" | "cut" | "partition"; pair: [number, number] | null; node: number; ms: number; holdMs: number; churnOn: number; unchurn: boolean };

export function schedule(seed: number, steps = STEPS): Step[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    const x = r();
    const fault = x < 0.25 ? "delay" : x < 0.55 ? "blackhole" : x < 0.75 ? "cut" : "partition";
    // A link (a pair of nodes) or every link of one node.
    const node = int(0, 2);
    const pair: [number, number] | null = r() < 0.6 ? [node, (node + int(1, 2)) % 3] : null;
    const ms = fault === "delay" ? int(20, 250) : 0;
    const holdMs = fault === "delay" ? int(400, 1500) : fault === "blackhole" ? int(300, 4500) : fault === "partition" ? int(200, 1500) : 0;
    out.push({ fault, pair, node, ms, holdMs, churnOn: int(0, 2), unchurn: r() < 0.5 });
  }
  return out;
}

function describeStep(s: Step, names: string[]): string {
  const where = s.pair !== null ? `${names[s.pair[0]]}–${names[s.pair[1]]}` : `every link of ${names[s.node]}`;
  const what = s.fault === "delay" ? `delay ${s.ms} ms for ${s.holdMs} ms` : s.fault === "blackhole" ? `black hole for ${s.holdMs} ms`
    : s.fault === "cut" ? "cut" : `partition for ${s.holdMs} ms after the routes go`;
  return `${what} on ${where}`;
}

const envSeed = process.env["FAULT_SEED"];
const randomSeed = envSeed !== undefined ? Number(envSeed) : (Date.now() ^ (process.pid << 8)) >>> 0;
const note = envSeed !== undefined ? "FAULT_SEED" : "random";
// Each mix draws its own seed from the run's; FAULT_SEED gives every mix that very seed.
const seedFor = (salt: number): number => (envSeed !== undefined ? randomSeed : (randomSeed ^ salt) >>> 0);
const CASES: { seed: number; kinds: Kind[]; topology: Topology; note: string }[] = [
  { seed: seedFor(0), kinds: ["gnat", "nats", "gnat"], topology: "seed", note },
  { seed: seedFor(0x5eed), kinds: ["nats", "gnat", "nats"], topology: "seed", note },
  { seed: seedFor(0xfa17), kinds: ["gnat", "gnat", "gnat"], topology: "seed", note },
  { seed: seedFor(0xb0b), kinds: ["gnat-process", "gnat-process", "nats"], topology: "all", note },
  ...REGRESSION_SEEDS.map((r) => ({ ...r, note: "regression" })),
];

for (const c of CASES) {
  const needsNats = c.kinds.includes("nats");
  const title = `${c.kinds.join(" + ")}, ${c.topology === "all" ? "every route configured" : "gossip from a seed"}, seed ${c.seed} (${c.note})`;
  describe.skipIf(needsNats && NATS_SERVER === null)(`route faults in ${title}${needsNats && NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, () => {
    const names = c.kinds.map((_, i) => `s${c.seed % 10000}-${i}`);
    const steps = schedule(c.seed);
    const net = new FaultNet(120_000);
    const nodes: Node[] = [];
    /** Per node: the client that publishes and subscribes the traffic, and a quiet one for probes. */
    const conns: NatsConnection[] = [];
    const probers: NatsConnection[] = [];
    /** Node index by server id (from /routez). */
    const byId = new Map<string, number>();
    /** Each node's subjects of interest now ("t." ones), as its client subscribed them. */
    const interest: Set<string>[] = [new Set(), new Set(), new Set()];
    const churn: { node: number; subject: string; sub: Subscription }[] = [];
    /** Deliveries: per fan-out subscriber id → count; queue group id → count over all members. */
    const fanout: Map<string, number>[] = [new Map(), new Map(), new Map()];
    const queued = new Map<string, number>();
    const probes: Set<string>[] = [new Set(), new Set(), new Set()];
    const dupes: string[] = [];
    /** Per subscriber node, per publishing node: the last fan-out message heard (when, which). */
    const lastFrom = [0, 1, 2].map(() => [0, 1, 2].map(() => ({ at: 0, seq: 0 })));
    const published = [0, 0, 0];
    let maxRoutes = 0;
    let running = false;
    let pumps: Promise<void>[] = [];
    const log: string[] = [];
    /** The clients' disconnects, reconnects, errors (printed: none is expected). */
    const events: string[] = [];
    const t0 = Date.now();

    beforeAll(async () => {
      console.log(`route faults: seed ${c.seed} (${c.note}) in ${c.kinds.join(" + ")} (${c.topology}); replay with FAULT_SEED=${c.seed} and -t "${c.kinds.join(" \\+ ")}, ${c.topology === "all" ? "every route" : "gossip"}"`);
      for (const [i, s] of steps.entries()) console.log(`  step ${i}: ${describeStep(s, names)}`);
      const clusterPorts = await Promise.all(c.kinds.map(() => freePort()));
      const proxies = await Promise.all(c.kinds.map((_, i) => net.proxy(names[i]!, clusterPorts[i]!)));
      for (let i = 0; i < c.kinds.length; i++) {
        nodes.push(await startNode({
          name: names[i]!, kind: c.kinds[i]!, clusterPort: clusterPorts[i]!,
          // Through the proxies only; gossip leads the nodes to each other's proxies too.
          routes: c.topology === "all" ? proxies.map((p) => `nats-route://127.0.0.1:${p.port}`)
            : i === 0 ? [] : [`nats-route://127.0.0.1:${proxies[0]!.port}`],
          advertise: `127.0.0.1:${proxies[i]!.port}`,
          config: `ping_interval: "${PING_MS}ms"\nping_max: ${PING_MAX}${c.kinds[i] === "nats" ? "\ndebug: true" : ""}`,
          gnat: { pingInterval: PING_MS, pingMax: PING_MAX },
        }));
      }
      for (const n of nodes) byId.set((await n.routez()).server_id, nodes.indexOf(n));
      await healed("start");
      for (let i = 0; i < nodes.length; i++) {
        // Should the client be cut off (a stale ping on this busy machine), it comes back to its
        // own node, so each node's interest stays what the test says it is.
        const nc = await connectTo(nodes[i]!, {
          name: `client-${names[i]}`, noRandomize: true, ignoreClusterUpdates: true, maxReconnectAttempts: -1, reconnectTimeWait: 100,
        });
        conns.push(nc);
        void (async () => {
          for await (const st of nc.status()) {
            if (st.type === "ping") continue;
            const t = `${((Date.now() - t0) / 1000).toFixed(2)}s client of ${names[i]}: ${st.type} ${JSON.stringify(st).slice(0, 200)}`;
            events.push(t);
          }
        })();
        nc.subscribe("t.all", {
          callback: (_e, m) => {
            const id = m.string();
            count(fanout[i]!, id, `fan-out at ${names[i]}`);
            const from = Number(id.slice(0, id.indexOf(":")));
            lastFrom[i]![from] = { at: Date.now(), seq: Number(id.slice(id.indexOf(":") + 1)) };
          },
        });
        for (let k = 0; k < 2; k++) nc.subscribe("t.q", { queue: "workers", callback: (_e, m) => count(queued, m.string(), "queue group") });
        // Probes go through a connection of their own that carries little else: one whose reader
        // fell behind may sit still for seconds on this VM's loopback (the sender's kernel keeps
        // megabytes unsent while the receiver's queue is empty: a window update lost, retried on
        // a backed-off timer; seen with ss -ti), which says nothing about the routes.
        const pc = await connectTo(nodes[i]!, {
          name: `prober-${names[i]}`, noRandomize: true, ignoreClusterUpdates: true, maxReconnectAttempts: -1, reconnectTimeWait: 100,
        });
        probers.push(pc);
        pc.subscribe(`t.probe.${i}`, { callback: (_e, m) => void probes[i]!.add(m.string()) });
        await pc.flush();
        // Interest only (nothing is published there): a wildcard must come back too.
        nc.subscribe(`t.wild.${i}.*`);
        for (const s of ["t.all", "t.q", `t.probe.${i}`, `t.wild.${i}.*`]) interest[i]!.add(s);
        await nc.flush();
      }
      await converged("start");
      running = true;
      pumps = conns.map((nc, i) => publish(nc, i));
    }, 60_000);

    afterAll(async () => {
      running = false;
      await Promise.all(pumps).catch(() => {});
      for (const nc of [...conns, ...probers]) await nc.close().catch(() => {});
      for (const n of nodes) await n.stop();
      await net.close();
    });

    /** What the process nodes logged about connections (nats-server runs with debug on), and their counters. */
    async function printLogs(): Promise<void> {
      for (const n of nodes) {
        if (n.monitorUrl === null) continue;
        try {
          const rz = (await (await fetch(`${n.monitorUrl}/routez`)).json()) as { routes: Record<string, unknown>[] };
          const cz = (await (await fetch(`${n.monitorUrl}/connz`)).json()) as { connections: Record<string, unknown>[] };
          const pick = (o: Record<string, unknown>, ks: string[]): string => ks.map((k) => `${k}=${JSON.stringify(o[k])}`).join(" ");
          console.log(`${n.kind} ${n.name} routes: ${rz.routes.map((r) => pick(r, ["rid", "remote_id", "in_msgs", "out_msgs", "pending_size", "rtt"])).join(" | ")}`);
          console.log(`${n.kind} ${n.name} clients: ${cz.connections.map((r) => pick(r, ["cid", "name", "in_msgs", "out_msgs", "pending_bytes", "subscriptions"])).join(" | ")}`);
        } catch (e) {
          console.log(`${n.name}: ${(e as Error).message}`);
        }
      }
      for (const n of nodes) {
        const lines = n.log().split("\n").filter((l) => /slow|stale|closed|error|ERR|WRN|stall|duplicate|route/i.test(l) && !/\$SYS|RS[+-]/.test(l));
        if (lines.length > 0) console.log(`${n.kind} ${n.name}:\n${lines.slice(-120).join("\n")}`);
      }
    }

    /**
     * On a failure: what each traffic client last heard from each node, the client sockets as
     * the kernel sees them, and (traffic stopped) which hop loses a probe.
     */
    async function diagnose(): Promise<void> {
      const now = Date.now();
      console.log(`published so far: ${published.join("/")}`);
      for (let i = 0; i < nodes.length; i++) {
        console.log(`${names[i]}'s client last heard: ${lastFrom[i]!.map((l, j) => `from ${names[j]} #${l.seq} ${((now - l.at) / 1000).toFixed(2)}s ago`).join(", ")}`);
      }
      try {
        const { execSync } = await import("node:child_process");
        for (const n of nodes) console.log(`sockets of ${n.name}'s client port:\n${execSync(`ss -tniH "( sport = :${n.port} or dport = :${n.port} )"`, { encoding: "utf8" })}`);
      } catch { /* no ss */ }
      running = false;
      await Promise.all(pumps);
      for (let from = 0; from < nodes.length; from++) {
        for (let to = 0; to < nodes.length; to++) {
          if (from === to) continue;
          const had = probes[to]!.size;
          for (let k = 0; k < 10; k++) probers[from]!.publish(`t.probe.${to}`, `diagnose ${from}→${to} ${k}`);
          await Promise.race([probers[from]!.flush(), new Promise((r) => setTimeout(r, 1000))]);
          await until(() => probes[to]!.size - had === 10, "").catch(() => {});
          console.log(`diagnose ${names[from]} → ${names[to]}, traffic stopped: ${probes[to]!.size - had} of 10 probes arrived`);
        }
      }
    }

    function count(m: Map<string, number>, id: string, what: string): void {
      const n = (m.get(id) ?? 0) + 1;
      m.set(id, n);
      if (n === 2) dupes.push(`${what}: ${id}`);
    }

    /** A node's client publishes to the fan-out subject and the queue group, paced, until stopped. */
    async function publish(nc: NatsConnection, i: number): Promise<void> {
      let seq = 0;
      while (running && !nc.isClosed()) {
        for (let k = 0; k < 10; k++) {
          seq++;
          published[i] = seq;
          nc.publish("t.all", `${i}:${seq}`);
          nc.publish("t.q", `${i}:${seq}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    /**
     * Until every node routes to each of the others (and never to more), each route through a
     * proxy: one open connection per pair there (a direct one would leave the proxy none).
     */
    async function healed(what: string): Promise<Routez[]> {
      let last: Routez[] = [];
      const allPairs = [[0, 1], [0, 2], [1, 2]].map(([a, b]) => pairKey(names[a!]!, names[b!]!));
      await until(async () => {
        last = await Promise.all(nodes.map((n) => n.routez()));
        for (const rz of last) maxRoutes = Math.max(maxRoutes, rz.num_routes);
        return last.every((rz) => rz.num_routes === nodes.length - 1) && allPairs.every((k) => net.live(k) === 1);
      }, `a full mesh again, through the proxies (${what})`, HEAL_BOUND_MS).catch(async (e: Error) => {
        await printLogs();
        throw new Error(`${e.message}: routes ${last.map((rz) => rz.num_routes).join("/")}, connections per pair `
          + `${allPairs.map((k) => `${k} ${net.live(k)}`).join(", ")}\n${net.describe().join("\n")}`);
      });
      return last;
    }

    /** The routes' subscription lists, as every node reports them, are the other nodes' interest. */
    function routezMismatch(rzs: Routez[]): string | null {
      for (const [x, rz] of rzs.entries()) {
        const others = rz.routes.map((r) => byId.get(r.remote_id)).sort();
        const want = [0, 1, 2].filter((o) => o !== x);
        if (JSON.stringify(others) !== JSON.stringify(want)) return `${names[x]} routes to ${JSON.stringify(others)}`;
        for (const r of rz.routes) {
          const y = byId.get(r.remote_id)!;
          const got = [...new Set((r.subscriptions_list ?? []).filter((s) => s.startsWith("t.")))].sort();
          const exp = [...interest[y]!].sort();
          if (JSON.stringify(got) !== JSON.stringify(exp)) return `${names[x]}'s route from ${names[y]}: ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`;
        }
      }
      return null;
    }

    let marker = 0;

    /** After a heal: the mesh, the routes' interest, and messages from every node to every node. */
    async function converged(what: string): Promise<void> {
      await healed(what);
      events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s meshed`);
      let mismatch: string | null = "not checked";
      await until(async () => {
        const rzs = await Promise.all(nodes.map((n) => n.routez()));
        for (const rz of rzs) maxRoutes = Math.max(maxRoutes, rz.num_routes);
        mismatch = routezMismatch(rzs);
        return mismatch === null;
      }, `/routez subscriptions converge (${what})`, HEAL_BOUND_MS).catch((e: Error) => {
        throw new Error(`${e.message}: ${mismatch}`);
      });
      events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s routez subscriptions converged`);
      // Every client is told of every node's client URL again.
      const urls = JSON.stringify(nodes.map((n) => `127.0.0.1:${n.port}`).sort());
      await until(() => probers.every((nc) => JSON.stringify([...(nc.info?.connect_urls ?? [])].sort()) === urls),
        `every client's connect_urls list every node (${what}): ${probers.map((nc) => JSON.stringify(nc.info?.connect_urls)).join(" ")}`, HEAL_BOUND_MS);
      events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s connect_urls converged`);
      for (let to = 0; to < nodes.length; to++) {
        for (let from = 0; from < nodes.length; from++) {
          if (from === to) continue;
          const prefix = `${what} ${from}→${to} `;
          // A fresh payload each try: the probe subscriber hears one of them within the bound.
          await until(async () => {
            probers[from]!.publish(`t.probe.${to}`, `${prefix}${++marker}`);
            // (A flush waits for a PONG however long it takes: bounded here, so `until` is.)
            await Promise.race([probers[from]!.flush().catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
            for (const p of probes[to]!) if (p.startsWith(prefix)) return true;
            return false;
          }, `${names[to]} hears ${names[from]} (${what})`, HEAL_BOUND_MS);
        }
      }
      events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s every node hears every other`);
    }

    it(`keeps routes, interest and exactly-once queue delivery through ${STEPS} faults`, async () => {
      for (const [i, s] of steps.entries()) {
        const what = `step ${i} (${describeStep(s, names)})`;
        events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${what}`);
        const pairs = s.pair !== null ? [pairKey(names[s.pair[0]]!, names[s.pair[1]]!)]
          : [0, 1, 2].filter((o) => o !== s.node).map((o) => pairKey(names[s.node]!, names[o]!));
        const fault: Fault | null = s.fault === "delay" ? { kind: "delay", ms: s.ms } : s.fault === "blackhole" ? { kind: "blackhole" }
          : s.fault === "partition" ? { kind: "partition" } : null;
        if (fault !== null) net.set(pairs, fault);
        else net.cut(pairs);
        // Interest changes while the links are down or slow: a new subscription, a gone one.
        const subject = `t.churn.${s.churnOn}.${i}`;
        const sub = conns[s.churnOn]!.subscribe(subject);
        churn.push({ node: s.churnOn, subject, sub });
        interest[s.churnOn]!.add(subject);
        if (s.unchurn && churn.length > 1) {
          const gone = churn.splice(0, 1)[0]!;
          gone.sub.unsubscribe();
          interest[gone.node]!.delete(gone.subject);
        }
        if (s.fault === "partition") {
          // Held until the nodes on both sides report the routes gone, then for its time.
          await until(async () => {
            for (const k of pairs) {
              const [a, b] = k.split("|").map((n) => names.indexOf(n));
              const ra = await nodes[a!]!.routez();
              const rb = await nodes[b!]!.routez();
              if (ra.routes.some((r) => byId.get(r.remote_id) === b)) return false;
              if (rb.routes.some((r) => byId.get(r.remote_id) === a)) return false;
            }
            return true;
          }, `the partitioned routes are gone (${what})`);
        }
        // The fault's own duration: the network stays this way for a while whatever the nodes do.
        // (What the nodes report meanwhile goes to the log: whether a route was dropped.)
        const fewest = nodes.map(() => nodes.length - 1);
        if (s.holdMs > 0) {
          const end = Date.now() + s.holdMs;
          while (Date.now() < end) {
            const counts = await Promise.all(nodes.map((n) => n.routeCount()));
            counts.forEach((n, x) => (fewest[x] = Math.min(fewest[x]!, n)));
            await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, end - Date.now()))));
          }
        }
        net.heal();
        events.push(`${((Date.now() - t0) / 1000).toFixed(2)}s healed`);
        try {
          await converged(what);
        } catch (e) {
          console.log(events.join("\n"));
          await printLogs();
          await diagnose();
          throw e;
        }
        log.push(`${what}: fewest routes while it lasted ${fewest.join("/")}; healed`);
      }
      running = false;
      await Promise.all(pumps);
      // Late deliveries of the last messages would show duplicates: one more round trip everywhere.
      await converged("end");
      expect(dupes).toEqual([]);
      expect(maxRoutes).toBe(nodes.length - 1);
      // Traffic did flow: every subscriber heard every node, and the queue group most messages.
      for (const f of fanout) for (let n = 0; n < nodes.length; n++) expect([...f.keys()].some((id) => id.startsWith(`${n}:`))).toBe(true);
      expect(queued.size).toBeGreaterThan(0);
      for (const l of log) console.log(`  ${l}`);
      // A client's disconnect is no failure (the servers may drop a client whose pings lag on a
      // loaded machine) but is worth seeing.
      const drops = events.filter((e) => / client of .*: disconnect/.test(e));
      if (drops.length > 0) {
        console.log(`client disconnects:\n${events.join("\n")}`);
        await printLogs();
      }
      console.log(`route faults seed ${c.seed}: ${log.length} faults healed; ${queued.size} queue messages, ${fanout.map((f) => f.size).join("/")} fan-out deliveries; connections per pair ${JSON.stringify(Object.fromEntries(net.accepted))}`);
    }, 60_000);
  });
}
