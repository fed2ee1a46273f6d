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
  "test/flow/**/*.test.ts",
  "test/differential/monitor.test.ts",
];

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

const shared = {
  testTimeout: 20_000,
  hookTimeout: 20_000,
  pool: "forks" as const,
  // Fails the run, and kills them, if the tests leave gnat (or nats-server) processes running.
  globalSetup: ["test/helpers/leftovers.ts"],
};

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: "default", include: ["test/**/*.test.ts"] } },
      ...(uwsLoads() && process.env["GNAT_HTTP_ENGINE"] === undefined
        ? [{ test: { ...shared, name: "node-http", include: HTTP_AND_WEBSOCKET, env: { GNAT_HTTP_ENGINE: "node" } } }]
        : []),
    ],
  },
});
