// The gnat command's start as clients' test harnesses see it (issue #23): nats.js's harness
// writes a config with JetStream, monitoring, a websocket and a leafnode port, spawns
// `gnat -c FILE` and waits for the ports file; then it dials. Features a config leaves out are
// not read at all (their modules are imported when configured), which a module-load hook
// checks. No timing is asserted: the bench (bench/startup.ts) measures.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { RawClient } from "../kit/clients.js";
import { ensureBuilt, spawnGnat, stopAll } from "../kit/processes.js";
import { tempDir } from "../kit/gnat.js";

const dir = tempDir("gnat-startup-");

beforeAll(() => {
  ensureBuilt();
}, 120_000);
afterEach(stopAll);
afterAll(() => dir.remove());

/** A preload that appends every module Node loads (ESM imports and CommonJS requires) to `log`. */
function moduleLogger(log: string): string {
  const hooks = join(dir.dir, "hooks.mjs");
  writeFileSync(hooks, `import { appendFileSync } from "node:fs";
export async function load(url, ctx, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, ctx); }
`);
  const preload = join(dir.dir, "preload.cjs");
  writeFileSync(preload, `const M = require("node:module"); const fs = require("node:fs"); 
M.register(${JSON.stringify(`file://${hooks}`)});
const load = M._load;
M._load = function (request, parent, isMain) {
  try { fs.appendFileSync(${JSON.stringify(log)}, M._resolveFilename(request, parent) + "\\n"); } catch {}
  return load.apply(this, arguments);
};
`);
  return preload;
}

describe("gnat -c FILE, as nats.js's harness starts it", () => {
  test("with JetStream, monitoring, websocket and leafnodes: the ports file lists each, and the client port answers", async () => {
    const store = join(dir.dir, "store");
    const conf = join(dir.dir, "harness.conf");
    writeFileSync(conf, [
      `jetstream { max_file_store: 1048576, max_mem_store: 1048576, store_dir: "${store}" }`,
      `http: "127.0.0.1:-1"`,
      `leafnodes { listen: "127.0.0.1:-1" }`,
      `server_tags: ["id:startup"]`,
      `websocket { port: -1, no_tls: true }`,
      "",
    ].join("\n"));
    const g = await spawnGnat(["-c", conf], dir.dir);
    expect(Object.keys(g.ports).sort()).toEqual(["monitoring", "nats", "websocket"]);
    const c = await RawClient.open(g.port);
    const info = JSON.parse(/^INFO (.*) \r\n/.exec(c.text())![1]!) as Record<string, unknown>;
    expect(info).toMatchObject({ jetstream: true, port: g.port, headers: true });
    // JetStream is up, not only announced: its API answers.
    c.send("SUB _INBOX.js 1\r\nPUB $JS.API.INFO _INBOX.js 0\r\n\r\nPING\r\n");
    await c.waitFor(/MSG _INBOX\.js 1 \d+\r\n.*"type":"io\.nats\.jetstream\.api\.v1\.account_info_response"/);
    // As do the monitoring port, and /metrics (prom-client is read after the start).
    const varz = await (await fetch(`${g.ports["monitoring"]![0]}/varz`)).json() as { jetstream?: { config?: { store_dir?: string } } };
    expect(varz.jetstream?.config?.store_dir).toContain(store);
    const metrics = await (await fetch(`${g.ports["monitoring"]![0]}/metrics`)).text();
    expect(metrics).toMatch(/^gnat_connections 1$/m);
    expect(metrics).toMatch(/^gnat_jetstream_store_latency_seconds_count 0$/m);
    c.close();
  });

  test("a bare config reads none of JetStream, monitoring, websocket, routes, prom-client, ws, nkeys or jwt", async () => {
    const log = join(dir.dir, "modules.txt");
    writeFileSync(log, "");
    const conf = join(dir.dir, "bare.conf");
    writeFileSync(conf, "max_payload: 1048576\n");
    const g = await spawnGnat(["-c", conf], dir.dir, { env: { ...process.env, NODE_OPTIONS: `--require ${moduleLogger(log)}` } });
    const c = await RawClient.open(g.port);
    c.send("PING\r\n");
    await c.waitFor(/PONG\r\n.*PONG\r\n/s);
    c.close();
    const loaded = readFileSync(log, "utf8").split("\n");
    // The hook saw the server's own files: it works. The bin runs the build's bundle
    // (scripts/build.mjs), whose dynamic imports are chunks named after the module imported.
    expect(loaded.some((f) => f.endsWith("/dist/server/process/bundle/serve.js"))).toBe(true);
    expect(loaded.some((f) => /\/dist\/server\/(server|core\/connection)\.js$/.test(f))).toBe(false);
    const chunks = loaded.filter((f) => /\/dist\/server\/process\/bundle\/(jetstream|store-lock|http|websocket|engine-\w+|cluster|leafnodes)-\w+\.js$/.test(f));
    expect(chunks).toEqual([]);
    // jetstream/store.ts (the store contract: types and one time formatter, no imports) is read by
    // the $SYS.REQ.SERVER.PING.JSZ answer, which every server has. The server's identity is made
    // with node:crypto: @nats-io/nkeys, @nats-io/jwt and tweetnacl wait for a key or JWT to check.
    const unwanted = loaded.filter((f) => /\/dist\/server\/jetstream\/(?!store\.js$)|\/monitor\/http\.js|\/transport\/websocket\.js|\/cluster\/(cluster|leafnodes)\.js|node_modules\/(prom-client|@opentelemetry|ws|uWebSockets\.js|@nats-io\/(nkeys|jwt)|tweetnacl)\//.test(f));
    expect(unwanted).toEqual([]);
  });
});
