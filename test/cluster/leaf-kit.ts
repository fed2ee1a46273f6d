// Leafnode servers for tests, on loopback: gnat in-process (its options read from the very config
// text nats-server gets, through gnat's own config reader) or nats-server as a child process.
// Each has a client port, a monitoring port and, when asked, a leafnode port; a restart keeps
// the ports. Waits are on what the servers report (/leafz, the in-process leafnodes), never on time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startServer, type Server } from "../../server/index.js";
import { loadConfigFile } from "../../server/config/index.js";
import { freePort, spawnNatsServer, type Launched } from "../kit/processes.js";
import { until } from "./kit.js";

export type LeafKind = "gnat" | "nats";

export interface LeafServer {
  kind: LeafKind;
  name: string;
  url: string;
  port: number;
  /** The leafnode listener's port (0: none). */
  leafPort: number;
  monitorPort: number;
  /** The in-process server (kind "gnat"), until it is killed. */
  server: Server | null;
  /** Leafnode connections the server has registered now (-1: not answering). */
  leafCount(): Promise<number>;
  /** /leafz?subs=1, /varz. */
  monitor(path: string): Promise<Record<string, unknown>>;
  /** kill -9 (a process) or close (in-process). */
  kill(): Promise<void>;
  /** Start again on the same ports, with the same configuration. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** What it logged (gnat: its log lines, JSON). */
  log(): string;
}

export interface LeafServerOptions {
  kind: LeafKind;
  name: string;
  /** Accept leafnode connections (a leafnode port). */
  hub?: boolean;
  /** Its leafnode port (else a free one). */
  leafPort?: number;
  /** Config text of the leafnodes block's other keys (remotes, authorization …). */
  leafnodes?: string;
  /** Config text outside the leafnodes block (accounts …). */
  config?: string;
}

export async function startLeafServer(o: LeafServerOptions): Promise<LeafServer> {
  const port = await freePort();
  const monitorPort = await freePort();
  const leafPort = o.hub === true ? o.leafPort ?? await freePort() : 0;
  const dir = mkdtempSync(join(tmpdir(), "gnat-leaf-"));
  const conf = join(dir, "server.conf");
  const leafBlock = o.hub === true || o.leafnodes !== undefined
    ? [`leafnodes {`, ...(o.hub === true ? [`  listen: 127.0.0.1:${leafPort}`] : []), o.leafnodes ?? "", `}`]
    : [];
  writeFileSync(conf, [
    `listen: 127.0.0.1:${port}`,
    `http: 127.0.0.1:${monitorPort}`,
    `server_name: ${o.name}`,
    ...leafBlock,
    o.config ?? "",
  ].join("\n"));
  // What earlier runs logged (a restart keeps it), and the running nats-server's own log.
  let out = "";
  let server: Server | null = null;
  let proc: Launched | null = null;

  const start = async (): Promise<void> => {
    if (o.kind === "gnat") {
      const logger = pino({ level: "debug" }, { write: (s: string) => { out += s; } });
      server = await startServer({ ...loadConfigFile(conf).options, logger });
      return;
    }
    // The kit's launcher: output captured, ready when its port greets, tree killed on stop.
    proc = await spawnNatsServer(["-c", conf], port);
  };
  const kill = async (): Promise<void> => {
    if (server !== null) {
      const s = server;
      server = null;
      await s.close();
    }
    const p = proc;
    if (p !== null) {
      proc = null;
      await p.stop();
      out += p.log();
    }
  };
  await start();
  const monitor = async (path: string): Promise<Record<string, unknown>> =>
    (await (await fetch(`http://127.0.0.1:${monitorPort}${path}`)).json()) as Record<string, unknown>;
  return {
    kind: o.kind, name: o.name, url: `nats://127.0.0.1:${port}`, port, leafPort, monitorPort,
    get server() { return server; },
    leafCount: async () => {
      try {
        return ((await monitor("/leafz")) as { leafnodes: number }).leafnodes;
      } catch {
        return -1;
      }
    },
    monitor,
    kill,
    restart: start,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => out + (proc?.log() ?? ""),
  };
}

/** Until each server has `n` leafnode connections (15 s at most). */
export async function leafsUp(servers: LeafServer[], n = 1): Promise<void> {
  await until(async () => {
    for (const s of servers) if ((await s.leafCount()) !== n) return false;
    return true;
  }, `${n} leafnode connection(s) on ${servers.map((s) => `${s.kind}:${s.name}`).join(", ")}`, 15_000);
}

/** The leafnodes block of a leaf dialling `hub` (user:pass@ and account optional). */
export function remoteTo(hub: LeafServer, o: { user?: string; pass?: string; account?: string } = {}): string {
  const cred = o.user !== undefined ? `${o.user}:${o.pass ?? ""}@` : "";
  return `  remotes [ { url: "nats-leaf://${cred}127.0.0.1:${hub.leafPort}"${o.account !== undefined ? `, account: ${o.account}` : ""} } ]`;
}

/**
 * A suite's end: its clients closed, then its servers stopped, leaf before hub (listed so), and its
 * store folder removed. Whatever a failed start left undefined is passed over.
 */
export async function closeLeafSuite(conns: (NatsConnection | undefined)[], servers: (LeafServer | undefined)[], dir?: string): Promise<void> {
  for (const nc of conns) await nc?.close().catch(() => {});
  for (const s of servers) await s?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}
