// What a client receives when a config reload takes permissions or credentials away: the same
// bytes from nats-server and from gnat, both running as processes told to re-read their file.
import { describe, expect, test } from "vitest";
import { freePort, NATS_SERVER, normalise } from "./harness.js";
import { processSuite, RawClient, startProcess } from "../server/process-kit.js";

const { procs, clients } = processSuite();

const BEFORE = `authorization { users: [
  {user: alice, password: a, permissions: { subscribe: ["foo.>", "keep", "q.>"], publish: ["foo.>", "keep"] }},
  {user: bob, password: b},
  {user: carol, password: c}
] }
`;
const AFTER = `authorization { users: [
  {user: alice, password: a, permissions: { subscribe: ["keep"], publish: ["keep"] }},
  {user: carol, password: changed}
] }
`;

/** Each connection's output after the reload, INFO normalised, with a mark if it was closed. */
async function run(nats: string | undefined): Promise<string[]> {
  const opts = nats === undefined ? { port: await freePort() } : { port: await freePort(), nats };
  const p = await startProcess(BEFORE, opts);
  procs.push(p);
  const alice = await RawClient.open(p.port, { user: "alice", pass: "a" });
  const bob = await RawClient.open(p.port, { user: "bob", pass: "b" });
  const carol = await RawClient.open(p.port, { user: "carol", pass: "c" });
  clients.push(alice, bob, carol);
  // One subscription at a time, so the order of the -ERRs does not hang on map order.
  alice.send("SUB foo.x 1\r\n");
  await alice.ping();
  p.rewrite(AFTER);
  p.signal("SIGHUP");
  await p.waitLog(/Reloaded server configuration/);
  await Promise.all([bob.waitClosed(), carol.waitClosed()]);
  alice.send("PUB foo.x 1\r\nx\r\nSUB keep 2\r\nSUB q.a grp 3\r\n");
  await alice.ping();
  return [alice, bob, carol].map((c) => normalise(c.out) + (c.closed ? "<closed>" : ""));
}

describe.skipIf(NATS_SERVER === null)("reload against nats-server", () => {
  test("a dropped subscription, a denied publish, a removed user and a changed password", async () => {
    const theirs = await run(NATS_SERVER!);
    const ours = await run(undefined);
    expect(ours).toEqual(theirs);
    // And what that is, spelled out:
    expect(ours[0]).toBe("INFO <info>\r\nPONG\r\nPONG\r\n" +
      `-ERR 'Permissions Violation for Subscription to "foo.x" (sid "1")'\r\n` +
      `-ERR 'Permissions Violation for Publish to "foo.x"'\r\n` +
      `-ERR 'Permissions Violation for Subscription to "q.a" using queue "grp"'\r\nPONG\r\n`);
    expect(ours[1]).toBe("INFO <info>\r\nPONG\r\n<closed>");
    expect(ours[2]).toBe("INFO <info>\r\nPONG\r\n-ERR 'Authorization Violation'\r\n<closed>");
  });
});

/** The INFO a client gets on lame duck mode, and what follows until the server closes it. */
async function ldm(nats: string | undefined): Promise<{ keys: string[]; rest: string; code: number | null }> {
  const config = `lame_duck_duration: "30s"\nlame_duck_grace_period: "200ms"\n`;
  const port = await freePort();
  const p = await startProcess(config, nats === undefined ? { port } : { port, nats });
  procs.push(p);
  const c = await RawClient.open(p.port);
  clients.push(c);
  p.signal("SIGUSR2");
  await c.waitClosed();
  const code = await p.exited();
  const after = c.afterInfo;
  const m = /^PONG\r\nINFO (\{.*?\}) \r\n/.exec(after);
  if (m === null) throw new Error(`no ldm INFO: ${JSON.stringify(after)}`);
  const info = JSON.parse(m[1]!) as Record<string, unknown>;
  expect(info.ldm).toBe(true);
  return { keys: Object.keys(info).sort(), rest: after.slice(m[0].length), code };
}

describe.skipIf(NATS_SERVER === null)("lame duck against nats-server", () => {
  test("the INFO with ldm carries the same fields, nothing follows it, and the process exits 0", async () => {
    const [theirs, ours] = await Promise.all([ldm(NATS_SERVER!), ldm(undefined)]);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual({ keys: expect.arrayContaining(["ldm", "server_id", "client_id", "max_payload"]) as unknown, rest: "", code: 0 });
  });
});

/** A client connected before max_payload is lowered: what it gets (no INFO update), then a PUB over the new limit. */
async function payloadLowered(nats: string | undefined): Promise<string> {
  const port = await freePort();
  const p = await startProcess("", nats === undefined ? { port } : { port, nats });
  procs.push(p);
  const c = await RawClient.open(p.port);
  clients.push(c);
  p.rewrite("max_payload: 100\n");
  p.signal("SIGHUP");
  await p.waitLog(/Reloaded server configuration/);
  await c.ping();
  c.send(`PUB big 200\r\n${"x".repeat(200)}\r\n`);
  await c.waitClosed();
  return normalise(c.out);
}

describe.skipIf(NATS_SERVER === null)("limits reloaded against nats-server", () => {
  test("a lowered max_payload: no INFO update, and the next big PUB is a Maximum Payload Violation", async () => {
    const [theirs, ours] = await Promise.all([payloadLowered(NATS_SERVER!), payloadLowered(undefined)]);
    expect(ours).toBe(theirs);
    expect(ours).toBe("INFO <info>\r\nPONG\r\nPONG\r\n-ERR 'Maximum Payload Violation'\r\n");
  });
});
