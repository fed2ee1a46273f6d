// Cluster nodes for tests, on loopback: gnat in-process or as a child process, nats-server as a
// child process, all in one cluster ("c1") and meshed by gossip from the first node's route
// URL. Waits are on what the nodes report (/routez, the in-process cluster), never on time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";
import { pino } from "pino";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { CLI, ensureBuilt, freePort, launch, spawnNatsServer, type Launched } from "../kit/processes.js";
import { until as kitUntil, waitForPort } from "../kit/wait.js";

export type Kind = "gnat" | "nats" | "gnat-process";

export interface Node {
  kind: Kind;
  name: string;
  /** Client URL. */
  url: string;
  port: number;
  clusterPort: number;
  /** The in-process server (kind "gnat"). */
  server: Server | null;
  /** A process's monitoring URL (http://127.0.0.1:port); null in-process. */
  monitorUrl: string | null;
  /** How many routes the node has registered now. */
  routeCount(): Promise<number>;
  /** What /routez?subs=1 says (nats-server, gnat as a process) or the in-process cluster's stats. */
  routez(): Promise<Routez>;
  /** kill -9 (a process) or close (in-process). */
  kill(): Promise<void>;
  /** Send a process a signal (SIGUSR2: nats-server's lame duck mode). */
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
  /** Everything a process logged. */
  log(): string;
}

export interface NodeOptions {
  name: string;
  kind: Kind;
  /** Route URLs to dial (nats-route://127.0.0.1:port). */
  routes?: string[];
  /** Use these ports (a restart on the same ports). */
  port?: number;
  clusterPort?: number;
  /** Extra config text (every kind reads it). */
  config?: string;
  /** A nats-server's monitoring port (else a free one). */
  monitorPort?: number;
  /** Extra lines inside the cluster block. */
  clusterConfig?: string;
  /** Extra options for an in-process gnat. */
  gnat?: ServerOptionsInput;
  clusterName?: string;
  /** host:port the other nodes are to dial for this one (cluster advertise). */
  advertise?: string;
}

/** The parts of /routez the tests read. */
export interface Routez {
  /** The node's own id. */
  server_id: string;
  num_routes: number;
  /** (nats-server 2.9 has no remote_name: the other node is known by its id.) */
  routes: { remote_id: string; subscriptions_list?: string[] }[];
}

/**
 * Start a node. The ports it picks are free when asked for but not reserved: on this shared
 * machine another process may bind one (or use it as a connection's local port) before the node
 * does. A node that fails to bind is started again on newly picked ports (3 tries in all).
 */
export async function startNode(o: NodeOptions): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOnce(o);
    } catch (e) {
      if (attempt === 3 || !/address already in use|EADDRINUSE/i.test(String(e))) throw e;
    }
  }
}

async function startNodeOnce(o: NodeOptions): Promise<Node> {
  const port = o.port ?? await freePort();
  const clusterPort = o.clusterPort ?? await freePort();
  const routes = o.routes ?? [];
  const name = o.clusterName ?? "c1";
  // One config for every kind: nats-server and a gnat process read it from a file, an
  // in-process gnat through gnat's own config reader.
  const clusterBlock = [
    `cluster {`,
    `  name: ${name}`,
    `  listen: 127.0.0.1:${clusterPort}`,
    `  connect_retries: 5`,
    ...(o.advertise !== undefined ? [`  advertise: "${o.advertise}"`] : []),
    ...(routes.length > 0 ? [`  routes: [${routes.map((r) => JSON.stringify(r)).join(", ")}]`] : []),
    o.clusterConfig ?? "",
    `}`,
    o.config ?? "",
  ].join("\n");
  if (o.kind === "gnat") {
    // Its log lines, kept for tests that look for what it said.
    const lines: string[] = [];
    const logger = pino({ level: "debug", base: null }, { write: (l: string) => void lines.push(l) });
    const server = await startServer({
      ...configToOptions(parseConfig(clusterBlock)).options,
      host: "127.0.0.1", port, logger, serverName: o.name,
      ...o.gnat,
    });
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await server.close();
    };
    return {
      kind: o.kind, name: o.name, url: `nats://127.0.0.1:${port}`, port, clusterPort, server, monitorUrl: null,
      routeCount: async () => server.cluster?.remotes.size ?? 0,
      routez: async () => {
        const st = server.cluster?.stats();
        const routes = (st?.routes ?? []).map((r) => ({ remote_id: r.remoteId, subscriptions_list: r.subscriptions }));
        return { server_id: server.serverId, num_routes: routes.length, routes };
      },
      kill: stop, stop,
      signal: (sig) => {
        if (sig === "SIGUSR2") void server.lameDuck();
        else throw new Error(`in-process gnat takes no ${sig}`);
      },
      log: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg).join("\n"),
    };
  }
  const monitorPort = o.monitorPort ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gnat-cluster-"));
  const conf = join(dir, "node.conf");
  writeFileSync(conf, [
    `listen: 127.0.0.1:${port}`,
    `http: 127.0.0.1:${monitorPort}`,
    `server_name: ${o.name}`,
    clusterBlock,
  ].join("\n"));
  // The kit's launcher: output captured, the process tree killed (SIGKILL) and waited for on stop.
  let p: Launched | undefined;
  try {
    if (o.kind === "nats") {
      p = await spawnNatsServer(["-c", conf], port);
    } else {
      ensureBuilt();
      p = launch(process.execPath, [CLI, "-c", conf]);
      await waitForPort(port, { timeout: 15_000, child: p.child, stderr: p.log, name: "gnat" });
    }
    // nats-server opens its route port only after its client port (StartRouting waits for the
    // client listener), so a test dialling the route port straight away could be refused.
    // Accepted is enough: with route TLS, nats-server waits for a handshake before its INFO.
    await waitForPort(clusterPort, { timeout: 15_000, child: p.child, stderr: p.log, name: `${o.kind} route port`, accepted: true });
  } catch (e) {
    // spawnNatsServer stops its process itself when it fails; a gnat process is stopped here.
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const proc = p;
  const kill = (): Promise<void> => proc.stop();
  return {
    kind: o.kind, name: o.name, url: `nats://127.0.0.1:${port}`, port, clusterPort, server: null,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    routeCount: async () => {
      try {
        const r = (await (await fetch(`http://127.0.0.1:${monitorPort}/routez`)).json()) as { num_routes: number };
        return r.num_routes;
      } catch {
        return -1;
      }
    },
    routez: async () => (await (await fetch(`http://127.0.0.1:${monitorPort}/routez?subs=1`)).json()) as Routez,
    kill,
    signal: (sig) => void proc.child.kill(sig),
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    log: proc.log,
  };
}

/** Poll `f` until it is true (10 s at most, every 20 ms): the kit's until; throws naming `what`. */
export async function until(f: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  await kitUntil(f, { timeout: ms, interval: 20, what });
}

/** Until every node has a route to every other. */
export async function meshed(nodes: Node[]): Promise<void> {
  await until(async () => {
    for (const n of nodes) if ((await n.routeCount()) !== nodes.length - 1) return false;
    return true;
  }, `a full mesh of ${nodes.map((n) => `${n.kind}:${n.name}`).join(", ")}`, 15_000);
}

/** Start nodes of the given kinds: the first is the seed, the rest dial it and learn the others. */
export async function startCluster(kinds: Kind[], prefix = "n"): Promise<Node[]> {
  const nodes: Node[] = [];
  const seed = await startNode({ name: `${prefix}0`, kind: kinds[0]! });
  nodes.push(seed);
  for (let i = 1; i < kinds.length; i++) {
    nodes.push(await startNode({ name: `${prefix}${i}`, kind: kinds[i]!, routes: [`nats-route://127.0.0.1:${seed.clusterPort}`] }));
  }
  await meshed(nodes);
  return nodes;
}

let probes = 0;

/**
 * Until `pub`'s server knows every subscription `sub` made so far: `sub` answers a probe subject
 * subscribed last, and interest travels in order, so once the probe is answered across the
 * cluster the earlier subscriptions have arrived too.
 */
export async function interestArrived(sub: NatsConnection, pub: NatsConnection): Promise<void> {
  const subject = `probe.${process.pid}.${++probes}`;
  const s = sub.subscribe(subject, { callback: (_e, m) => m.respond() });
  await sub.flush();
  try {
    await until(async () => {
      try {
        await pub.request(subject, undefined, { timeout: 200 });
        return true;
      } catch {
        return false;
      }
    }, `interest from one node to another (${subject})`);
  } finally {
    s.unsubscribe();
  }
}

export function connectTo(n: Node, opts: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> {
  return connect({ servers: n.url, ...opts });
}

/**
 * Start nodes that each list every node's route URL, their own included (the usual way a
 * cluster's config is written): routes to self are dropped, routes dialled both ways at once
 * settle on one per pair.
 */
export async function startFullyConfigured(kinds: Kind[], prefix = "f"): Promise<Node[]> {
  const ports = await Promise.all(kinds.map(async () => ({ port: await freePort(), clusterPort: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.clusterPort}`);
  const nodes = await Promise.all(kinds.map((kind, i) => startNode({ name: `${prefix}${i}`, kind, routes, ...ports[i]! })));
  await meshed(nodes);
  return nodes;
}
