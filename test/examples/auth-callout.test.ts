// examples/auth-callout.mjs against gnat started from examples/auth-callout.conf: the service's
// users get in with the permissions it gave them and land in its account; anyone else is refused;
// then the script itself, run as a user would run it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { serve } from "../../examples/auth-callout.mjs";
import { loadConfigFile } from "../../server/config/index.js";
import { startServer, type Server } from "../../server/index.js";

let server: Server;
const conns: NatsConnection[] = [];
const log: string[] = [];
let stop: () => void = () => {};

beforeAll(async () => {
  server = await startServer({ ...loadConfigFile("examples/auth-callout.conf").options, host: "127.0.0.1", port: 0 });
  const service = await connect({ servers: server.url, user: "auth", pass: "auth-secret" });
  conns.push(service);
  stop = await serve(service, (l) => log.push(l));
});
afterAll(async () => {
  stop();
  for (const c of conns) if (!c.isClosed()) await c.close();
  await server?.close();
});

describe("auth callout example", () => {
  test("alice gets in, in SHOP, with orders.> only; viewer may only subscribe; bob is refused", async () => {
    const alice = await connect({ servers: server.url, user: "alice", pass: "wonderland" });
    conns.push(alice);
    const viewer = await connect({ servers: server.url, user: "viewer", pass: "look-only" });
    conns.push(viewer);
    // Both in SHOP: what alice publishes reaches viewer.
    const got = viewer.subscribe("orders.new", { max: 1 });
    await viewer.flush();
    alice.publish("orders.new", "one book");
    for await (const m of got) expect(m.string()).toBe("one book");
    // alice may not publish outside orders.>.
    const denied = new Promise<string>((resolve) => {
      void (async () => {
        for await (const s of alice.status()) if (s.type === "error") resolve(String(s.error));
      })();
    });
    alice.publish("payments.new", "x");
    expect(await denied).toMatch(/Permissions Violation for Publish to "payments.new"/);
    await expect(connect({ servers: server.url, user: "bob", pass: "builder" })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: server.url, user: "alice", pass: "wrong" })).rejects.toThrow(/Authorization Violation/);
    expect(log).toEqual(expect.arrayContaining(["alice: allowed into SHOP", "viewer: allowed into SHOP", "bob: refused", "alice: refused"]));
  });

  test("the script, run as a user runs it", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/auth-callout.mjs"], {
      env: { ...process.env, NATS_URL: server.url },
      timeout: 20_000,
    });
    expect(stdout).toContain("auth service ready");
    expect(stdout).toContain("alice got orders.new: one book");
    expect(stdout).toContain("bob: Authorization Violation");
  }, 30_000);
});
