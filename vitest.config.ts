import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineConfig } from "vitest/config";

// The tests that HTTP and WebSocket serve: they run on the engine this Node picks (uWebSockets.js
// where its binary loads, else node:http), and again on node:http where that was uWS, so both
// engines are proven on every run that can have both.
const HTTP_AND_WEBSOCKET = [
  "test/monitor/**/*.test.ts",
  "test/transport/websocket.test.ts",
  "test/transport/ws-*.test.ts",
  "test/transport/http-engine.test.ts",
  "test/clients/nats-ws.test.ts",
  "test/e2e/**/*.test.ts",
  "test/differential/monitor.test.ts",
];
// (test/flow/ is not among them: its servers listen on TCP only and never load an HTTP engine, so
// a second run on node:http ran the same code again, 12 s of the serial phase.)

function uwsLoads(): boolean {
  const require = createRequire(import.meta.url);
  try {
    const dir = dirname(require.resolve("uWebSockets.js"));
    require(join(dir, "..", "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`));
    return true;
  } catch {
    return false;
  }
}

// Files that load the CPU or measure time (fuzzing, floods, soaks, kill -9 loops, fault injection,
// heartbeat timing): `npm test` runs them after the rest, one at a time, so they never share the
// machine with each other (scripts/test.mjs). The rest wait on sockets and child processes more
// than they compute, and run several at once.
const SERIAL = [
  "test/flow/**/*.test.ts",
  "test/transport/ws-producer-stall.test.ts",
  "test/server/fuzz.test.ts",
  "test/server/hostile.test.ts",
  "test/cluster/soak.test.ts",
  "test/cluster/faults.test.ts",
  "test/cluster/mirror-faults.test.ts",
  "test/cluster/edge-to-cluster.test.ts",
  "test/jetstream/crash.test.ts",
  "test/jetstream/consumer-crash.test.ts",
  "test/jetstream/sourcing-crash.test.ts",
  "test/clients/go-jetstream.test.ts",
  "test/clients/go-client.test.ts",
  "test/examples/**/*.test.ts",
  "test/client/bench.test.ts",
  "test/regressions/idle-heartbeat-late-by-up-to-one-interval.test.ts",
  "test/regressions/fast-producer-cuts-reading-consumer.test.ts",
  "test/regressions/write-deadline-progress.test.ts",
];
// The serial files that HTTP or WebSocket serve (run again on node:http, as above).
const SERIAL_HTTP = ["test/transport/ws-producer-stall.test.ts"];

const shared = {
  testTimeout: 20_000,
  hookTimeout: 20_000,
  pool: "forks" as const,
  // Fails the run, and kills them, if the tests leave gnat (or nats-server) processes running.
  globalSetup: ["test/helpers/leftovers.ts"],
};

// GNAT_TEST_PHASE (set by scripts/test.mjs): "parallel" or "serial" runs that half alone;
// unset (a plain `npx vitest run`), both halves in one run.
const phase = process.env["GNAT_TEST_PHASE"];
const parallel = phase !== "serial";
const serial = phase !== "parallel";
const nodeHttp = uwsLoads() && process.env["GNAT_HTTP_ENGINE"] === undefined;
const onNode = { GNAT_HTTP_ENGINE: "node" };

export default defineConfig({
  test: {
    ...(phase === "parallel" ? { maxWorkers: 3, minWorkers: 1 } : phase === "serial" ? { maxWorkers: 1, minWorkers: 1 } : {}),
    projects: [
      ...(parallel ? [{ test: { ...shared, name: "default", include: ["test/**/*.test.ts"], exclude: SERIAL } }] : []),
      ...(parallel && nodeHttp ? [{ test: { ...shared, name: "node-http", include: HTTP_AND_WEBSOCKET, exclude: SERIAL, env: onNode } }] : []),
      ...(serial ? [{ test: { ...shared, name: "serial", include: SERIAL } }] : []),
      ...(serial && nodeHttp ? [{ test: { ...shared, name: "serial-node-http", include: SERIAL_HTTP, env: onNode } }] : []),
    ],
  },
});
