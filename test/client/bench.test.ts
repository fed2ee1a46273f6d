// gnat bench (in-process, test/client/kit.ts) against gnat and nats-server: each mode runs to the end with
// small, bounded counts on loopback, prints a summary with rates and latency percentiles, and
// bad input is one line with exit 2 (usage) or 1.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SKIP_REASON } from "../differential/harness.js";
import { freePort } from "../kit/processes.js";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, start, startTarget, type Run, type Target } from "./kit.js";

const { env, running } = clientSuite();

function ok(r: Run): Run {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

const RATE = String.raw`[\d,]+ msgs/sec ~ [\d.]+ (B|KiB|MiB|GiB)/sec`;
const LAT = String.raw` ~ p50 \S+ ~ p90 \S+ ~ p99 \S+ ~ max \S+`;

/** The "[n] … (N msgs)" lines of a group, as message counts. */
function clientCounts(stdout: string, label: string): number[] {
  const block = stdout.split(new RegExp(`^ ?${label} stats:`, "m"))[1]!.split(/\n ?[A-Z]/)[0]!;
  return [...block.matchAll(/^ {2}\[\d+\] .*\(([\d,]+) msgs\)$/gm)].map((m) => Number(m[1]!.replace(/,/g, "")));
}

describe.each(KINDS)("gnat bench against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  if (skip) console.warn(`\n*** ${SKIP_REASON} ***\n`);
  let target: Target;
  let dir: string;
  let s: string[];
  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "gnat-client-bench-"));
    target = await startTarget(kind, `jetstream { store_dir: "${dir}" }\n`);
    s = ["-s", target.url];
  });
  afterAll(async () => {
    if (skip) return;
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(skip)("core pub/sub: every subscriber gets every message; rates and percentiles per client", async () => {
    const r = ok(await gnat(["bench", "bench.core", "--pub", "2", "--sub", "2", "--msgs", "4000", "--size", "64", ...s], env));
    expect(r.stderr).toMatch(/^Starting Core NATS pub\/sub benchmark \[subject=bench\.core, msgs=4,000, size=64 B, pubs=2, subs=2\]$/m);
    expect(r.stdout).toMatch(new RegExp(`^NATS Pub/Sub stats: ${RATE}$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^ Pub stats: ${RATE}${LAT}$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^ Sub stats: ${RATE}${LAT}$`, "m"));
    expect(clientCounts(r.stdout, "Pub")).toEqual([2000, 2000]);
    expect(clientCounts(r.stdout, "Sub")).toEqual([4000, 4000]);
  });

  test.skipIf(skip)("--csv writes one row per client with natscli's columns", async () => {
    const file = join(dir, "bench.csv");
    const r = ok(await gnat(["bench", "bench.csv", "--pub", "1", "--sub", "1", "--msgs", "500", "--csv", file, ...s], env));
    expect(r.stderr).toContain(`Saved metric data in csv file ${file}`);
    const rows = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => l.split(","));
    expect(rows[0]!.slice(0, 4)).toEqual(["#RunID", "ClientID", "MsgCount", "MsgBytes"]);
    expect(rows.slice(1).map((row) => [row[1], row[2], row[3]])).toEqual([["PUB0", "500", "64000"], ["SUB0", "500", "64000"]]);
  });

  test.skipIf(skip)("--request with repliers: each request answered once, the repliers share them", async () => {
    const r = ok(await gnat(["bench", "bench.svc", "--request", "--pub", "2", "--sub", "2", "--msgs", "400", ...s], env));
    expect(r.stdout).toMatch(new RegExp(`^ Req stats: ${RATE}${LAT}$`, "m"));
    expect(clientCounts(r.stdout, "Req")).toEqual([200, 200]);
    const replies = clientCounts(r.stdout, "Rep");
    expect(replies).toHaveLength(2);
    expect(replies[0]! + replies[1]!).toBe(400);
  });

  test.skipIf(skip)("--reply serves requesters run by another gnat bench", async () => {
    const server = start(["bench", "bench.split", "--reply", "--sub", "1", "--msgs", "300", "--no-progress", ...s], env);
    running.push(server);
    await server.wait(/Starting request-reply \(repliers\) benchmark/);
    // The start line comes once the replier is subscribed: requests from here find it.
    const req = ok(await gnat(["bench", "bench.split", "--request", "--pub", "1", "--msgs", "300", ...s], env));
    expect(clientCounts(req.stdout, "Req")).toEqual([300]);
    const rep = await server.exited();
    expect(rep.code).toBe(0);
    expect(rep.stdout).toMatch(new RegExp(`^Rep stats: ${RATE}${LAT}$`, "m"));
  });

  test.skipIf(skip)("--js publishes into a stream it creates and pull-consumes every message once", async () => {
    const r = ok(await gnat(["bench", "bench.js", "--js", "--stream", "BENCH", "--pub", "1", "--sub", "2", "--msgs", "1000", ...s], env));
    expect(r.stderr).toContain(`Created stream "BENCH" on bench.js (memory)`);
    expect(r.stdout).toMatch(new RegExp(`^NATS JetStream stats: ${RATE}$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^ JS Pub stats: ${RATE}${LAT}$`, "m"));
    const pulled = clientCounts(r.stdout, "JS Pull");
    expect(pulled[0]! + pulled[1]!).toBe(1000);
    const info = JSON.parse(ok(await gnat(["stream", "info", "BENCH", "--json", ...s], env)).stdout) as { state: { messages: number; consumer_count: number } };
    expect(info.state.messages).toBe(1000);
    // The durable it made is gone afterwards.
    expect(info.state.consumer_count).toBe(0);
    // Consuming alone reads what the stream holds, even with a durable of bench's name left behind
    // (by a run stopped with Ctrl-C) that delivers only new messages.
    ok(await gnat(["consumer", "add", "BENCH", "gnat-bench", "--pull", "--deliver", "new", "--defaults", ...s], env));
    const again = ok(await gnat(["bench", "bench.js", "--js", "--stream", "BENCH", "--sub", "1", "--msgs", "1000", ...s], env));
    expect(clientCounts(again.stdout, "JS Pull")).toEqual([1000]);
  });

  test.skipIf(skip)("--js consuming more than the stream holds fails after a stall instead of waiting forever", async () => {
    ok(await gnat(["bench", "bench.short", "--js", "--stream", "SHORT", "--pub", "1", "--msgs", "10", ...s], env));
    const r = await gnat(["bench", "bench.short", "--js", "--stream", "SHORT", "--sub", "1", "--msgs", "20", ...s], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gnat: the pull consumers received 10 of 20 messages and nothing more for 5s \(does the stream hold that many\?\)\n$/);
  }, 20_000);

  test.skipIf(skip)("--request with nobody replying is an error, exit 1", async () => {
    const r = await gnat(["bench", "bench.nobody", "--request", "--pub", "1", "--msgs", "5", ...s], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gnat: no responders available for request on "bench\.nobody"\n$/);
  });
});

describe("gnat bench: bad input", () => {
  const oneLine = (r: Run, code: number, re: RegExp): void => {
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^gnat: [^\n]+\n$/);
    expect(r.stderr).toMatch(re);
    expect(r.code).toBe(code);
  };
  test("missing subject, bad counts and sizes, conflicting modes are usage errors (exit 2)", async () => {
    oneLine(await gnat(["bench"], env), 2, /missing required argument 'subject'/);
    oneLine(await gnat(["bench", "x", "--msgs", "0"], env), 2, /invalid value "0" for --msgs/);
    oneLine(await gnat(["bench", "x", "--size", "big"], env), 2, /invalid value "big" for --size/);
    oneLine(await gnat(["bench", "x", "--js", "--request"], env), 2, /choose one of --js, --request, --reply/);
    oneLine(await gnat(["bench", "x", "--pub", "0", "--sub", "0"], env), 2, /nothing to run/);
    oneLine(await gnat(["bench", "x", "--js", "--storage", "disk"], env), 2, /invalid value "disk" for --storage/);
  });

  test("an unreachable server is one line, exit 1", async () => {
    const port = await freePort();
    oneLine(await gnat(["bench", "x", "--msgs", "10", "-s", `nats://127.0.0.1:${port}`], env), 1, /cannot connect to nats:\/\/127\.0\.0\.1:\d+: .*refused/);
  });
});
