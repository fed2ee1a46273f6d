// Regression (issue #23, nats.js `jetstream - durable resumes`): a durable push consumer whose
// client stayed connected through a server restart (SIGKILL, then a new server on the same store
// and port) never delivered again: the client resubscribed to the deliver subject after the
// reconnect and published three more messages, and nats-server delivered them; gnat did not.
// Run against gnat and nats-server, each as a child process killed with SIGKILL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInbox } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { connectNode } from "../kit/clients.js";
import { CLI, ensureBuilt, freePort, launch, NATS_SERVER, stopAll, type Launched } from "../kit/processes.js";
import { until, waitForPort } from "../kit/wait.js";

const dirs: string[] = [];
beforeAll(ensureBuilt, 120_000);
afterEach(async () => {
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Start = (port: number, store: string) => Launched;
const servers: Array<[string, Start | null]> = [
  ["gnat", (port, store) => launch(process.execPath, [CLI, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store])],
  ["nats-server", NATS_SERVER === null ? null : (port, store) => launch(NATS_SERVER!, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store])],
];

describe.each(servers)("%s", (name, start) => {
  test.skipIf(start === null)("a durable push consumer delivers what is published after a restart", async () => {
    const store = mkdtempSync(join(tmpdir(), "gnat-push-restart-"));
    dirs.push(store);
    const port = await freePort();
    const up = async (): Promise<Launched> => {
      const p = start!(port, store);
      await waitForPort(port, { child: p.child, stderr: p.log, name, timeout: 10_000 });
      return p;
    };
    let server = await up();
    const nc = await connectNode(`nats://127.0.0.1:${port}`, { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    /** SIGKILL, a new server on the same store and port, and the client back on it. */
    const restart = async (): Promise<void> => {
      const back = (async () => { for await (const s of nc.status()) if (s.type === "reconnect") return; })();
      server.child.kill("SIGKILL");
      await server.exited();
      server = await up();
      await back;
    };
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "RESUME", subjects: ["resume.>"] });
      const js = jetstream(nc);
      for (const v of ["a", "b", "c"]) await js.publish("resume.x", v);
      await jsm.consumers.add("RESUME", { durable_name: "me", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, deliver_subject: createInbox() });
      // Killed as soon as the create is answered: it must already be on disk.
      await restart();
      const seen: number[] = [];
      const pc = await js.consumers.getPushConsumer("RESUME", "me");
      const msgs = await pc.consume({ callback: (m: JsMsg) => { m.ack(); seen.push(m.seq); } });
      await until(() => seen.length >= 3, { timeout: 5000, what: "the first three messages" });
      await nc.flush();
      // The client reconnects and resubscribes to the deliver subject on its own.
      await restart();
      for (const v of ["d", "e", "f"]) await js.publish("resume.x", v, { timeout: 5000 });
      // Acks the kill cut off may bring some back (at-least-once); all six must come.
      await until(() => [1, 2, 3, 4, 5, 6].every((s) => seen.includes(s)), { timeout: 5000, what: `all six delivered after the restarts (seen ${seen.join(",")})` });
      const ci = await pc.info();
      expect(ci.delivered.stream_seq).toBe(6);
      expect(ci.num_pending).toBe(0);
      await msgs.close();
    } finally {
      await nc.close();
    }
  }, 40_000);
});
