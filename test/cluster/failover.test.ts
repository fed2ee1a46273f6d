// Failover: kill -9 one node of a three-node cluster (gnat and nats-server mixed) and restart it.
// A nats.js client of the killed node reconnects to another node it learnt from the gossiped
// connect_urls and keeps its subscriptions (plain, wildcard, queue); the surviving nodes lose
// none of theirs; the node restarted on the same ports joins the mesh again (every node routes
// to every other) and interest converges both ways. Every wait is on what a node or a client
// reports (routes, connect_urls, the server a client is on, messages), never on time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { connectTo, interestArrived, meshed, startNode, until, type Kind, type Node } from "./kit.js";

interface Mix {
  kinds: Kind[];
  /** The node killed and restarted (a "gnat-process", so it can be SIGKILLed). */
  victim: number;
}

const MIXES: Mix[] = [
  // The seed dies: the others dial it again (configured routes) when it is back.
  { kinds: ["gnat-process", "nats", "nats"], victim: 0 },
  // A node the seed told the others of dies: back, it dials the seed, which gossips it again.
  { kinds: ["gnat", "gnat-process", "nats"], victim: 1 },
  { kinds: ["gnat", "gnat", "gnat-process"], victim: 2 },
];

/** Messages a subscription received, by payload. */
function collect(into: string[]): (err: Error | null, m: Msg) => void {
  return (_e, m) => into.push(m.string());
}

/** Publish `payload` on `subject` from `pub` until `got` has it (interest may still be travelling). */
async function reaches(pub: NatsConnection, subject: string, payload: string, got: string[], what: string): Promise<void> {
  await until(async () => {
    if (got.includes(payload)) return true;
    pub.publish(subject, payload);
    await pub.flush();
    return got.includes(payload);
  }, what);
}

for (const mix of MIXES) {
  const needsNats = mix.kinds.includes("nats");
  const title = mix.kinds.map((k, i) => (i === mix.victim ? `${k} (killed)` : k)).join(" + ");
  describe.skipIf(needsNats && NATS_SERVER === null)(`failover in ${title}${needsNats && NATS_SERVER === null ? ` (${SKIP_REASON})` : ""}`, () => {
    const tag = mix.kinds.join("-") + `-v${mix.victim}`;
    let nodes: Node[] = [];
    const routesOf: string[][] = [];
    /** One plain client per node (the victim's is replaced by `back` after the restart). */
    let conns: (NatsConnection | null)[] = [];
    /** The victim's client that is to reconnect elsewhere. */
    let roamer: NatsConnection;
    const roamerEvents: string[] = [];
    const roamPlain: string[] = [];
    const roamWild: string[] = [];
    const roamQueue: string[] = [];
    /** What each survivor's own subscription received, by node. */
    const keep: string[][] = [[], [], []];
    const dead: Node[] = [];
    const extra: NatsConnection[] = [];
    const survivors = [0, 1, 2].filter((i) => i !== mix.victim);

    beforeAll(async () => {
      const seed = await startNode({ name: `${tag}-0`, kind: mix.kinds[0]! });
      nodes.push(seed);
      routesOf.push([]);
      for (let i = 1; i < mix.kinds.length; i++) {
        const routes = [`nats-route://127.0.0.1:${seed.clusterPort}`];
        routesOf.push(routes);
        nodes.push(await startNode({ name: `${tag}-${i}`, kind: mix.kinds[i]!, routes }));
      }
      await meshed(nodes);
      conns = await Promise.all(nodes.map((n, i) => (i === mix.victim ? null : connectTo(n))));
      roamer = await connect({
        servers: nodes[mix.victim]!.url, name: "roamer",
        maxReconnectAttempts: -1, reconnectTimeWait: 100, reconnectJitter: 50, waitOnFirstConnect: false,
      });
      void (async () => {
        for await (const s of roamer.status()) roamerEvents.push(s.type);
      })();
      roamer.subscribe(`roam.${tag}`, { callback: collect(roamPlain) });
      roamer.subscribe(`roam.${tag}.w.>`, { callback: collect(roamWild) });
      roamer.subscribe(`roam.${tag}.q`, { queue: "rq", callback: collect(roamQueue) });
      for (const s of survivors) conns[s]!.subscribe(`keep.${tag}.${s}`, { callback: collect(keep[s]!) });
      for (const s of survivors) await interestArrived(roamer, conns[s]!);
      for (const a of survivors) for (const b of survivors) if (a !== b) await interestArrived(conns[b]!, conns[a]!);
    }, 30_000);

    afterAll(async () => {
      for (const c of [...conns, roamer, ...extra]) await c?.close().catch(() => {});
      for (const n of [...nodes, ...dead]) await n.stop();
    });

    it("a client of the killed node reconnects to another node from connect_urls and keeps its subscriptions", async () => {
      const victim = nodes[mix.victim]!;
      // It learnt every node's client URL before its node dies.
      await until(() => (roamer.info?.connect_urls?.length ?? 0) === nodes.length, "the roamer's connect_urls of every node");
      expect(roamer.info?.server_name).toBe(victim.name);
      await victim.kill();
      dead.push(victim);
      await until(() => roamerEvents.includes("reconnect") && roamer.info?.server_name !== victim.name,
        "the roamer reconnected to another node", 15_000);
      const now = roamer.info!.server_name;
      expect(survivors.map((s) => nodes[s]!.name)).toContain(now);
      // Its subscriptions were made again there and travel on to the other survivor.
      for (const s of survivors) {
        await interestArrived(roamer, conns[s]!);
        const from = nodes[s]!.name;
        conns[s]!.publish(`roam.${tag}`, `plain from ${from}`);
        conns[s]!.publish(`roam.${tag}.w.x`, `wild from ${from}`);
        conns[s]!.publish(`roam.${tag}.q`, `queue from ${from}`);
        await conns[s]!.flush();
      }
      await until(() => roamPlain.length >= 2 && roamWild.length >= 2 && roamQueue.length >= 2, "the roamer's messages from both survivors");
      const want = (k: string): string[] => survivors.map((s) => `${k} from ${nodes[s]!.name}`).sort();
      expect([...roamPlain].sort()).toEqual(want("plain"));
      expect([...roamWild].sort()).toEqual(want("wild"));
      expect([...roamQueue].sort()).toEqual(want("queue"));
    });

    it("the surviving nodes lose no route to each other and no subscription", async () => {
      await until(async () => {
        for (const s of survivors) if ((await nodes[s]!.routeCount()) !== 1) return false;
        return true;
      }, "each survivor down to one route (the other survivor)");
      for (const a of survivors) {
        const rz = await nodes[a]!.routez();
        expect(rz.num_routes).toBe(1);
        const other = survivors.find((b) => b !== a)!;
        expect(rz.routes[0]!.remote_id).toBe((await nodes[other]!.routez()).server_id);
        // The other survivor's interest: its own client's subscription and the roamer's, if
        // the roamer went there.
        expect(rz.routes[0]!.subscriptions_list).toContain(`keep.${tag}.${other}`);
      }
      for (const a of survivors) {
        for (const b of survivors) {
          if (a === b) continue;
          const payload = `keep from ${nodes[a]!.name}`;
          conns[a]!.publish(`keep.${tag}.${b}`, payload);
          await conns[a]!.flush();
          await until(() => keep[b]!.includes(payload), `${nodes[b]!.name}'s subscriber hears ${nodes[a]!.name}`);
        }
      }
      // Nothing was delivered twice, nothing arrived that was not sent.
      for (const s of survivors) expect(keep[s]!).toEqual([`keep from ${nodes[survivors.find((b) => b !== s)!]!.name}`]);
    });

    it("the killed node restarted on the same ports: the mesh heals and interest converges both ways", async () => {
      const was = nodes[mix.victim]!;
      const back = await startNode({
        name: was.name, kind: was.kind, port: was.port, clusterPort: was.clusterPort, routes: routesOf[mix.victim]!,
      });
      nodes[mix.victim] = back;
      await meshed(nodes);
      const rzs = await Promise.all(nodes.map((n) => n.routez()));
      for (const rz of rzs) {
        expect(rz.num_routes).toBe(2);
        expect(rz.routes.map((r) => r.remote_id).sort()).toEqual(rzs.filter((o) => o !== rz).map((o) => o.server_id).sort());
      }
      // A subscriber on the restarted node hears every other node ...
      const bc = await connectTo(back);
      extra.push(bc);
      const heard: string[] = [];
      bc.subscribe(`back.${tag}`, { callback: collect(heard) });
      for (const s of survivors) {
        await interestArrived(bc, conns[s]!);
        await reaches(conns[s]!, `back.${tag}`, `to the restarted node from ${nodes[s]!.name}`, heard, `the restarted node hears ${nodes[s]!.name}`);
      }
      // ... and the survivors' subscribers (the roamer among them) hear the restarted node.
      for (const s of survivors) await interestArrived(conns[s]!, bc);
      await interestArrived(roamer, bc);
      bc.publish(`roam.${tag}`, "plain from the restarted node");
      for (const s of survivors) bc.publish(`keep.${tag}.${s}`, "keep from the restarted node");
      await bc.flush();
      await until(() => roamPlain.includes("plain from the restarted node")
        && survivors.every((s) => keep[s]!.includes("keep from the restarted node")), "the restarted node's messages");
      // Every client learns the restarted node's URL again.
      for (const c of [...survivors.map((s) => conns[s]!), roamer, bc]) {
        await until(() => (c.info?.connect_urls?.length ?? 0) === nodes.length, "connect_urls of every node after the restart");
        expect([...(c.info?.connect_urls ?? [])].sort()).toEqual(nodes.map((n) => `127.0.0.1:${n.port}`).sort());
      }
    });
  });
}
