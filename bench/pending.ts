// A pull consumer's delivery rate on a stream of many subjects, with a wildcard filter and with
// none: every delivery's ack subject carries the consumer's num_pending, so what it costs to know
// that count is paid per message. gnat in-process (file store in a temp dir), N messages of 16 B
// on S subjects published first, then one pull consumer (ack none) fetching batches of 1000 until
// it has them all; each run checks it got exactly N messages and that the last ack subject said 0
// pending before its rate counts.
//
// With --nats the same run goes to a nats-server (-js, its own temp store) instead, for its figure.
// With --rare K one message in K goes to p.rare.<0-9> instead, and a third consumer reads only
// those (`p.rare.*`: a sparse match among many subjects).
//
//   npm run build && node dist/bench/pending.js [--msgs 200000] [--subjects 10000] [--rounds 3] [--rare K] [--only p.*|none|p.rare.*] [--nats]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer } from "../server/index.js";
import { freePort, waitListening } from "./procs.js";

const argv = process.argv.slice(2);
const num = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const N = num("msgs", 200_000);
const SUBJECTS = num("subjects", 10_000);
const ROUNDS = num("rounds", 3);
const NATS = argv.includes("--nats");
const RARE = num("rare", 0);
const payload = new Uint8Array(16).fill(120);

/** The server under test: gnat in-process, or a nats-server child. */
async function serve(dir: string): Promise<{ port: number; close: () => Promise<void> }> {
  if (!NATS) {
    const server = await startServer({ host: "127.0.0.1", port: 0, noLog: true, jetstream: true, storeDir: dir });
    return { port: server.port, close: () => server.close() };
  }
  const port = await freePort();
  const child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  await waitListening(port, child);
  return { port, close: () => new Promise<void>((r) => { child.once("exit", () => r()); child.kill("SIGTERM"); }) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "gnat-bench-pending-"));
  const server = await serve(dir);
  const nc = await connect({ port: server.port });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "P", subjects: ["p.>"] });
    let rare = 0;
    for (let i = 0; i < N; i++) {
      if (RARE > 0 && i % RARE === RARE - 1) { nc.publish(`p.rare.${rare++ % 10}`, payload); continue; }
      nc.publish(`p.${i % SUBJECTS}`, payload);
      if (i % 10_000 === 9_999) await nc.flush();
    }
    await nc.flush();
    for (let t = 0; (await jsm.streams.info("P")).state.messages < N; t++) {
      if (t > 600) throw new Error("stream did not fill");
      await new Promise((r) => setTimeout(r, 50));
    }
    const js = jetstream(nc);
    const runs: [string, number][] = [["p.*", N - rare], ["", N]];
    if (RARE > 0) runs.push(["p.rare.*", rare]);
    const only = argv.indexOf("--only") >= 0 ? argv[argv.indexOf("--only") + 1] : undefined;
    for (const [filter, expect] of runs) {
      if (only !== undefined && (only === "none" ? filter !== "" : filter !== only)) continue;
      const rates: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const name = `c${r}${filter === "" ? "all" : filter === "p.*" ? "wc" : "rare"}`;
        await jsm.consumers.add("P", { durable_name: name, ack_policy: AckPolicy.None, ...(filter === "" ? {} : { filter_subject: filter }) });
        const c = await js.consumers.get("P", name);
        let got = 0;
        let lastPending = -1;
        const t0 = performance.now();
        while (got < expect) {
          const it = await c.fetch({ max_messages: Math.min(1000, expect - got), expires: 5000 });
          for await (const m of it) { got++; lastPending = m.info.pending; }
        }
        const secs = (performance.now() - t0) / 1000;
        if (got !== expect || lastPending !== 0) throw new Error(`got ${got} of ${expect}, last pending ${lastPending}`);
        const info = await jsm.consumers.info("P", name);
        if (info.num_pending !== 0) throw new Error(`num_pending ${info.num_pending} after the run`);
        await jsm.consumers.delete("P", name);
        rates.push(expect / secs);
      }
      rates.sort((a, b) => a - b);
      const med = rates[Math.floor(rates.length / 2)]!;
      console.log(`${NATS ? "nats-server" : "gnat"} filter ${filter === "" ? "(none)" : filter}: ${expect} of ${N} msgs on ${SUBJECTS} subjects, median ${Math.round(med).toLocaleString("en")} deliveries/s (rounds: ${rates.map((x) => Math.round(x)).join(", ")})`);
    }
  } finally {
    await nc.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
