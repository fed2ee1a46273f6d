#!/usr/bin/env node
// npm run test:peer: the official JavaScript client's own Deno test suites (nats.js core,
// jetstream, kv and obj) run against the built gnat by the shared peer runner, one file at a
// time, each file's count printed beside nats-server 2.9.10's (the runner's baselines).
// About 40 minutes: too long for CI. `npm run test:peer -- kv/tests/kv_test.ts` runs one file.
//   PEER_RUNNER   the runner (default: ../shared/peer/run-peer.sh above the package root)
//   PEER_GNAT     the gnat CLI to run (default: dist/server/process/cli.js)
//   PEER_WORK     its work folder (default /tmp/peer-work-gnat): logs in $PEER_WORK/logs
//   NATSJS_GIT, PEER_FILE_TIMEOUT, PEER_IGNORE: passed on to the runner (see its README).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = process.cwd();
// PEER_GNAT: another built gnat (a copy of dist/, say, so a build during the run changes nothing).
const CLI = process.env.PEER_GNAT ? resolve(process.env.PEER_GNAT) : join(root, "dist", "server", "process", "cli.js");
const DIRS = ["core/tests", "jetstream/tests", "kv/tests", "obj/tests"];

/** The runner: PEER_RUNNER, or the first shared/peer/run-peer.sh in a folder above the package. */
function findRunner() {
  if (process.env.PEER_RUNNER) return resolve(process.env.PEER_RUNNER);
  for (let d = root; ; d = dirname(d)) {
    const f = join(d, "shared", "peer", "run-peer.sh");
    if (existsSync(f)) return f;
    if (dirname(d) === d) return null;
  }
}

/** "file → passed count" from the runner's baseline-*.txt files beside it. */
function baselines(dir) {
  const counts = new Map();
  for (const f of readdirSync(dir).filter((n) => /^baseline-.*\.txt$/.test(n))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      const m = /^(\S+_test\.ts): (\d+) passed(?:, (\d+) failed)?/.exec(line);
      if (m) counts.set(m[1], { passed: Number(m[2]), failed: Number(m[3] ?? 0) });
    }
  }
  return counts;
}

const runner = findRunner();
if (runner === null) {
  console.error("test:peer: no shared/peer/run-peer.sh found above the package: set PEER_RUNNER");
  process.exit(2);
}
if (!existsSync(CLI)) {
  console.error("test:peer: no build: run npm run build first");
  process.exit(2);
}
const base = baselines(dirname(runner));
const args = process.argv.slice(2);
const env = { ...process.env, SUT_CMD: CLI, PEER_WORK: process.env.PEER_WORK ?? "/tmp/peer-work-gnat" };
const child = spawn("bash", [runner, ...(args.length > 0 ? args : DIRS)], { env, stdio: ["ignore", "pipe", "inherit"] });

let short = 0;
let files = 0;
let buffered = "";
console.log(`${"file".padEnd(52)} ${"gnat".padStart(14)}  ${"nats-server 2.9.10".padStart(18)}`);
child.stdout.on("data", (chunk) => {
  buffered += chunk.toString();
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    const m = /^(\S+_test\.ts): (\d+) passed, (\d+) failed, (\d+) ignored/.exec(line);
    const err = /^ERROR (\S+)/.exec(line);
    if (m === null && err === null) {
      console.log(line);
      continue;
    }
    files++;
    const file = m ? m[1] : err[1];
    const passed = m ? Number(m[2]) : 0;
    const b = base.get(file);
    const below = b !== undefined && passed < b.passed;
    if (below || err) short++;
    const gnat = m ? `${m[2]} ok ${m[3]} failed` : "no summary";
    const ref = b === undefined ? "(none)" : `${b.passed} ok ${b.failed} failed`;
    console.log(`${file.padEnd(52)} ${gnat.padStart(14)}  ${ref.padStart(18)}${below || err ? "  SHORT" : ""}`);
  }
});
child.on("exit", (code) => {
  console.log(`test:peer: ${files} files, ${short} short of nats-server's count (logs: ${env.PEER_WORK}/logs)`);
  process.exit(code === 0 && short === 0 ? 0 : 1);
});
