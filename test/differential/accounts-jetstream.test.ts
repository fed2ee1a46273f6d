// Per-account JetStream against nats-server: an account without JetStream is told so on every
// API subject nats-server serves (with that subject's response type), the global account too
// once accounts are configured, and an account past its stream / consumer limits gets the same
// error bytes.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import type { Server } from "../../server/index.js";
import { NATS_SERVER, play, type Transcript } from "./harness.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, spawnNatsServer, type Launched } from "../kit/processes.js";

const accounts = `
authorization { users: [ { user: g, password: g } ] }
accounts {
  L: { users: [ { user: l, password: l } ], jetstream: { max_streams: 1, max_consumers: 1 } }
  N: { users: [ { user: n, password: n } ] }
  M: { users: [ { user: m, password: m } ], jetstream: { max_mem: 1000 } }
}
`;
const config = (dir: string): string => `jetstream { store_dir: "${dir}" }\n${accounts}`;

const as = (user: string): string => `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user, pass: user })}\r\n`;
const req = (subject: string, body: string, reply = "r.1"): string => `PUB ${subject} ${reply} ${Buffer.byteLength(body)}\r\n${body}\r\n`;
/** Wait for the reply to arrive before the transcript ends (API replies may come after a PONG). */
const until = (send: string, text: string): Transcript => ({ steps: [{ send, waitFor: text }] });

/** Every API subject nats-server answers, one request each; the last reply is waited for. */
const API: [subject: string, body: string][] = [
  ["$JS.API.INFO", ""],
  ["$JS.API.STREAM.CREATE.S", '{"name":"S","subjects":["s"]}'],
  ["$JS.API.STREAM.UPDATE.S", '{"name":"S"}'],
  ["$JS.API.STREAM.NAMES", ""],
  ["$JS.API.STREAM.LIST", ""],
  ["$JS.API.STREAM.INFO.S", ""],
  ["$JS.API.STREAM.DELETE.S", ""],
  ["$JS.API.STREAM.PURGE.S", ""],
  ["$JS.API.STREAM.MSG.GET.S", '{"seq":1}'],
  ["$JS.API.STREAM.MSG.DELETE.S", '{"seq":1}'],
  ["$JS.API.DIRECT.GET.S", '{"seq":1}'],
  ["$JS.API.CONSUMER.CREATE.S", '{"stream_name":"S","config":{}}'],
  ["$JS.API.CONSUMER.CREATE.S.C.x", '{"stream_name":"S","config":{"name":"C","filter_subject":"x"}}'],
  ["$JS.API.CONSUMER.DURABLE.CREATE.S.C", '{"stream_name":"S","config":{"durable_name":"C"}}'],
  ["$JS.API.CONSUMER.INFO.S.C", ""],
  ["$JS.API.CONSUMER.DELETE.S.C", ""],
  ["$JS.API.CONSUMER.NAMES.S", ""],
  ["$JS.API.CONSUMER.LIST.S", ""],
  ["$JS.API.CONSUMER.MSG.NEXT.S.C", ""],
  ["$JS.API.NOPE", ""],
];
const notEnabled = (user: string): Transcript => ({
  steps: [
    { send: as(user) + "SUB r.> 1\r\n" + API.map(([s, b], i) => req(s, b, `r.${i}`)).join("") + req("$JS.API.INFO", "", "r.last") },
    { send: "", waitFor: 'MSG r.last 1 145\r\n{"type":"io.nats.jetstream.api.v1.account_info_response","error":{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}}\r\n' },
  ],
});

describe.skipIf(NATS_SERVER === null)("per-account JetStream (differential)", () => {
  let gnat: Server;
  let nats: Launched;
  let natsPort = 0;
  const dirs = [mkdtempSync(join(tmpdir(), "gnat-accjs-")), mkdtempSync(join(tmpdir(), "nats-accjs-"))];
  beforeAll(async () => {
    gnat = await startGnat({ ...configToOptions(parseConfig(config(dirs[0]!))).options });
    natsPort = await freePort();
    const conf = join(dirs[1]!, "nats.conf");
    writeFileSync(conf, `listen: 127.0.0.1:${natsPort}\n${config(dirs[1]!)}`);
    nats = await spawnNatsServer(["-c", conf], natsPort);
  });
  afterAll(async () => {
    await nats.stop();
    await gnat.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cases: [string, Transcript][] = [
    ["an account without JetStream is told so on every API subject nats-server answers", notEnabled("n")],
    ["so is the global account once accounts are configured", notEnabled("g")],
    ["past max_streams: maximum number of streams reached", until(as("l") + "SUB r.> 1\r\n"
      + req("$JS.API.STREAM.CREATE.ONE", '{"name":"ONE","subjects":["one"],"storage":"memory"}', "x.1")
      + req("$JS.API.STREAM.CREATE.TWO", '{"name":"TWO","subjects":["two"],"storage":"memory"}'), "}}\r\n")],
    ["past max_consumers: maximum consumers limit reached", until(as("l") + "SUB r.> 1\r\n"
      + req("$JS.API.CONSUMER.CREATE.ONE.C1", '{"stream_name":"ONE","config":{"name":"C1","ack_policy":"explicit"}}', "x.2")
      + req("$JS.API.CONSUMER.CREATE.ONE.C2", '{"stream_name":"ONE","config":{"name":"C2","ack_policy":"explicit"}}'), "}}\r\n")],
  ];
  const body = "x".repeat(600);
  cases.push(["storing past the account's max_mem: resource limits exceeded for account (10002)", {
    steps: [
      { send: as("m") + "SUB r.> 1\r\n" + req("$JS.API.STREAM.CREATE.M", '{"name":"M","subjects":["m"],"storage":"memory"}', "x.1") },
      { send: req("m", body, "r.1") + req("m", body, "r.2"), waitFor: '"seq":0}\r\n' },
    ],
  }]);
  // nats-server 2.9 writes some internal replies with two spaces before the size (an empty reply field).
  const norm = (out: string[]): string[] => out.map((o) => o.replace(/^(MSG \S+ \S+) {2}/gm, "$1 "));
  for (const [name, t] of cases) {
    test(name, async () => {
      const [g, n] = await Promise.all([play(gnat.port, t), play(natsPort, t)]);
      expect(n[0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
      expect(norm(g)).toEqual(norm(n));
    });
  }
});
