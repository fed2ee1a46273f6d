// gnat server check stream|consumer|jetstream against gnat and nats-server: natscli's Nagios
// lines (jsm.go's monitor format) and exit codes 0 OK, 1 WARNING, 2 CRITICAL. The account has
// JetStream limits so that usage in percent means something.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../differential/harness.js";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startTarget, type Run, type Target } from "./kit.js";

const { env } = clientSuite();

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** One Nagios line on stdout, nothing on stderr, the exit code of its status. */
function nagios(r: Run, line: RegExp): void {
  expect(r.stdout).toMatch(/^(OK|WARNING|CRITICAL) [^\n]+\n$/);
  expect(r.stdout).toMatch(line);
  expect(r.stderr).toBe("");
  expect(r.code).toBe({ OK: 0, WARNING: 1, CRITICAL: 2 }[r.stdout.split(" ")[0] as "OK"]);
}

describe.each(KINDS)("server check against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  let dir: string;
  let s: string[];
  const run = (args: string[]): Promise<Run> => gnat([...args, ...s], env);
  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "gnat-client-check-"));
    target = await startTarget(kind, `jetstream { store_dir: "${dir}" }
accounts { APP: { jetstream: { max_streams: 4, max_consumers: 10, max_mem: 1M, max_file: 10M }, users: [{ user: app, password: pw }] } }
`);
    s = ["-s", target.url.replace("nats://", "nats://app:pw@")];
    ok(await run(["stream", "add", "CHK", "--subjects", "chk.*", "--storage", "memory", "--defaults"]));
    ok(await run(["pub", "chk.a", "one", "-q"]));
    ok(await run(["pub", "chk.b", "two", "-q"]));
    ok(await run(["consumer", "add", "CHK", "WORK", "--pull", "--deliver", "all", "--ack", "explicit", "--defaults"]));
  });
  afterAll(async () => {
    if (skip) return;
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(skip)("stream: OK, WARNING and CRITICAL on messages, subjects and sources", async () => {
    nagios(await run(["server", "check", "stream", "--stream", "CHK"]), /^OK CHK OK:0 sources \| sources=0\n$/);
    nagios(await run(["server", "check", "stream", "--stream", "CHK", "--msgs-warn", "5", "--msgs-critical", "1"]), /^WARNING CHK Warn:2 messages OK:0 sources \| messages=2;5;1 sources=0\n$/);
    nagios(await run(["server", "check", "stream", "--stream", "CHK", "--msgs-critical", "2"]), /^CRITICAL CHK Crit:2 messages OK:0 sources \| messages=2;;2 sources=0\n$/);
    nagios(await run(["server", "check", "stream", "--stream", "CHK", "--msgs-warn", "1"]), /^OK CHK OK:2 messages OK:0 sources \| messages=2;1 sources=0\n$/);
    nagios(await run(["server", "check", "stream", "--stream", "CHK", "--subjects-warn", "2", "--subjects-critical", "5"]), /^WARNING CHK Warn:2 subjects OK:0 sources \| subjects=2;2;5 sources=0\n$/);
    nagios(await run(["server", "check", "stream", "--stream", "CHK", "--min-sources", "1"]), /^CRITICAL CHK Crit:0 sources \| sources=0;1\n$/);
    // A stream that is not there: CRITICAL with the server's words, as natscli says it.
    nagios(await run(["server", "check", "stream", "--stream", "NOPE"]), /^CRITICAL NOPE Crit:could not load info: stream not found\n$/);
  });

  test.skipIf(skip)("consumer: unprocessed, outstanding acks, last ack", async () => {
    nagios(await run(["server", "check", "consumer", "--stream", "CHK", "--consumer", "WORK", "--unprocessed-critical", "2"]),
      /^CRITICAL CHK_WORK Crit:Unprocessed Messages: 2 \| ack_pending=0 pull_waiting=0 pending=2;;2 redelivered=0\n$/);
    nagios(await run(["server", "check", "consumer", "--stream", "CHK", "--consumer", "WORK", "--last-ack-critical", "1h"]), /^CRITICAL CHK_WORK Crit:No acks \|/);
    ok(await run(["consumer", "next", "CHK", "WORK", "--no-ack"]));
    nagios(await run(["server", "check", "consumer", "--stream", "CHK", "--consumer", "WORK", "--unprocessed-critical", "2", "--outstanding-ack-critical", "5"]),
      /^OK CHK_WORK OK:Ack Pending: 1 OK:Unprocessed Messages: 1 \| ack_pending=1;;5 pull_waiting=0 pending=1;;2 redelivered=0 last_delivery=[\d.]+s\n$/);
    nagios(await run(["server", "check", "consumer", "--stream", "CHK", "--consumer", "WORK", "--outstanding-ack-critical", "1"]), /^CRITICAL CHK_WORK Crit:Ack Pending: 1 \|/);
    nagios(await run(["server", "check", "consumer", "--stream", "CHK", "--consumer", "NOPE"]), /^CRITICAL CHK_NOPE Crit:could not load info: consumer not found\n$/);
  });

  test.skipIf(skip)("connection takes natscli's --rtt-warn as well as --rtt-warning", async () => {
    const r = await run(["server", "check", "connection", "--rtt-warn", "1ns"]);
    expect(r.stdout).toMatch(/^WARNING Connection WARN:rtt time /);
    expect(r.code).toBe(1);
  });

  test.skipIf(skip)("jetstream: the account's usage in percent of its limits", async () => {
    nagios(await run(["server", "check", "jetstream"]), /^OK JetStream \| memory=\d+B memory_pct=0%;75;90 storage=0B storage_pct=0%;75;90 streams=1 streams_pct=25% consumers=1 consumers_pct=10% replicas_ok=1 replicas_no_leader=0 replicas_missing_replicas=0 replicas_lagged=0;;200 replicas_not_seen=0\.0000s;;5\.0000 replicas_fail=0\n$/);
    nagios(await run(["server", "check", "jetstream", "--streams-warn", "20", "--streams-critical", "50", "--no-replicas"]), /^WARNING JetStream Warn:25% streams \| [^\n]* streams_pct=25%;20;50 consumers=1 consumers_pct=10%\n$/);
    nagios(await run(["server", "check", "jetstream", "--consumers-warn", "1", "--consumers-critical", "5"]), /^CRITICAL JetStream Crit:10% consumers \|/);
    nagios(await run(["server", "check", "jetstream", "--consumers-warn", "5", "--consumers-critical", "5"]), /^CRITICAL JetStream Crit:consumers: invalid thresholds \|/);
    const j = await run(["server", "check", "jetstream", "--format", "json", "--no-replicas"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ name: "JetStream", check: "jetstream", status: "OK", perf_data: expect.arrayContaining([{ name: "streams", value: 1, warning: 0, critical: 0 }]) });
  });
});

describe("server check, bad input", () => {
  test("an unreachable server is CRITICAL, exit 2", async () => {
    const port = await freePort();
    const r = await gnat(["server", "check", "jetstream", "-s", `nats://127.0.0.1:${port}`], env);
    expect(r.stdout).toMatch(/^CRITICAL JetStream Crit:could not load info: cannot connect to nats:\/\/127\.0\.0\.1:\d+: [^\n|]+\n$/);
    expect(r.code).toBe(2);
  });

  test("a bad threshold or a missing --stream is a usage error, exit 2", async () => {
    const bad = await gnat(["server", "check", "stream", "--stream", "X", "--msgs-warn", "lots"], env);
    expect(bad.stderr).toMatch(/^gnat: invalid value "lots" for --msgs-warn/);
    expect(bad.code).toBe(2);
    const missing = await gnat(["server", "check", "consumer", "--stream", "X"], env);
    expect(missing.stderr).toMatch(/^gnat: required option '--consumer <name>' not specified\n$/);
    expect(missing.code).toBe(2);
    const fmt = await gnat(["server", "check", "stream", "--stream", "X", "--format", "xml", "-s", "nats://127.0.0.1:1"], env);
    expect(fmt.stderr).toMatch(/invalid value "xml" for --format: expected one of nagios, json/);
    expect(fmt.code).toBe(2);
  });
});
