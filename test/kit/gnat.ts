// gnat in-process for a test: on 127.0.0.1, port 0, quiet; JetStream on a temp store dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { afterAll, afterEach, beforeAll } from "vitest";
import { startServer, type Server, type ServerOptionsInput } from "../../server/index.js";

/** What every test server shares unless a test says otherwise. */
export const GNAT_DEFAULTS = { host: "127.0.0.1", port: 0, noLog: true } as const;

/** A temp directory and the function that removes it. */
export function tempDir(prefix = "gnat-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start gnat with `opts` over GNAT_DEFAULTS. */
export function startGnat(opts: ServerOptionsInput = {}): Promise<Server> {
  return startServer({ ...GNAT_DEFAULTS, ...opts });
}

/** Run `fn` with a started gnat, closed afterwards whatever happens. */
export async function withGnat<T>(opts: ServerOptionsInput, fn: (s: Server) => Promise<T>): Promise<T> {
  const s = await startGnat(opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/**
 * One gnat for a test file (or describe block): started in beforeAll, closed in afterAll. With
 * `jetstream: true` and no `storeDir` it gets a temp store dir, removed afterwards. `opts` may
 * be a function, called in beforeAll (for options computed by then). Returns a getter.
 */
export function gnatSuite(opts: ServerOptionsInput | (() => ServerOptionsInput) = {}, storePrefix = "gnat-suite-"): () => Server {
  let server: Server | null = null;
  let store: { remove: () => void } | null = null;
  beforeAll(async () => {
    const o = typeof opts === "function" ? opts() : opts;
    let storeDir: { storeDir?: string } = {};
    if (o.jetstream !== undefined && o.jetstream !== false && o.storeDir === undefined) {
      const t = tempDir(storePrefix);
      store = t;
      storeDir = { storeDir: t.dir };
    }
    server = await startGnat({ ...o, ...storeDir });
  });
  afterAll(async () => {
    await server?.close();
    store?.remove();
  });
  return () => {
    if (server === null) throw new Error("gnatSuite: the server is not started yet (use it inside a test or hook)");
    return server;
  };
}

export interface JetStreamSuite {
  server: Server;
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/**
 * The setup a JetStream test file shares: a JetStream server on port 0 with a store dir of its
 * own, one connection and its manager (handed to `ready` before the tests), every stream deleted
 * after each test, all of it closed and removed after the file.
 */
export function jetStreamSuite(prefix: string, ready: (t: JetStreamSuite) => void): void {
  const store = tempDir(prefix);
  let t: JetStreamSuite | null = null;
  beforeAll(async () => {
    const server = await startGnat({ jetstream: true, storeDir: store.dir });
    const nc = await connect({ servers: server.url });
    t = { server, nc, jsm: await jetstreamManager(nc) };
    ready(t);
  });
  afterAll(async () => {
    await t?.nc.close();
    await t?.server.close();
    store.remove();
  });
  afterEach(async () => {
    if (t === null) return;
    for await (const name of t.jsm.streams.names()) await t.jsm.streams.delete(name);
  });
}
