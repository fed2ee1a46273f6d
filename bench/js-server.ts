// A gnat or nats-server process with JetStream in a temporary store, and a client connection to
// it: what the side-by-side JetStream benches (backup.ts, mirrors.ts) start and stop. Every
// process started is SIGKILLed when the bench exits, however it exits.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { freePort, waitListening } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The gnat bin the benches run (GNAT_CLI: another build's). */
export const GNAT_CLI = process.env["GNAT_CLI"] ?? join(here, "../..", "dist/server/process/cli.js");

export type Kind = "gnat" | "nats";
export interface Running { kind: Kind; pid: number; child: ChildProcess; dir: string; nc: NatsConnection; jsm: JetStreamManager }

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Start `kind` on loopback with JetStream in a new temporary folder (its name starts `prefix`). */
export async function startJs(kind: Kind, natsServer: string, prefix: string): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-${kind}-`));
  const args = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir];
  const child = kind === "nats" ? spawn(natsServer, args, { stdio: "ignore" }) : spawn(process.execPath, [GNAT_CLI, ...args], { stdio: "ignore" });
  children.add(child);
  await waitListening(port, child);
  const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
  return { kind, pid: child.pid!, child, dir, nc, jsm: await jetstreamManager(nc) };
}

/** Close the connection, kill the process and remove its store. */
export async function stopJs(s: Running): Promise<void> {
  await s.nc.close();
  if (s.child.exitCode === null) s.child.kill("SIGKILL");
  children.delete(s.child);
  rmSync(s.dir, { recursive: true, force: true });
}
