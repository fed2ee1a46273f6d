// gnat stream … and gnat consumer … in-process (test/client/kit.ts), against gnat and nats-server with
// JetStream on: the same output and exit codes from both; destructive commands do nothing
// unless confirmed (-f, or "y" on stdin); server errors in the server's words, exit 1; usage
// errors exit 2.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startJetStreamTarget, startTarget, type Run, type Target } from "./kit.js";

const { env } = clientSuite();

/** A one-line error on stderr, nothing on stdout, this exit code. */
function expectError(r: Run, code: number, text: RegExp): void {
  expect(r.stderr).toMatch(/^gnat: [^\n]+\n$/);
  expect(r.stderr).toMatch(text);
  expect(r.stdout).toBe("");
  expect(r.code).toBe(code);
}

function ok(r: Run): Run {
  expect(r.stderr + r.stdout, `exit ${r.code}`).toBeDefined();
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

describe.each(KINDS)("against %s with JetStream", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  let s: string[];
  const run = (args: string[], input?: string): Promise<Run> => gnat([...args, ...s], env, input);
  beforeAll(async () => {
    if (skip) return;
    target = await startJetStreamTarget(kind, "gnat-client-jsm-");
    s = ["-s", target.url];
  });
  afterAll(async () => {
    if (skip) return;
    await target.close();
  });

  test.skipIf(skip)("stream add --defaults creates the stream and shows it as natscli does", async () => {
    const r = ok(await run(["stream", "add", "ORDERS", "--subjects", "orders.>", "--storage", "memory", "--defaults"]));
    expect(r.stdout).toMatch(/^Stream ORDERS was created\n\nInformation for Stream ORDERS created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n\n/);
    expect(r.stdout).toMatch(/^ +Subjects: orders\.>$/m);
    expect(r.stdout).toMatch(/^ +Storage: Memory$/m);
    expect(r.stdout).toMatch(/^ +Retention: Limits$/m);
    expect(r.stdout).toMatch(/^ +Duplicate Window: 2m0s$/m);
    expect(r.stdout).toMatch(/^ +Maximum Messages: unlimited$/m);
    expect(r.stdout).toMatch(/^State:\n\n +Messages: 0\n/m);
    // --json for scripts: the stream's info as the server gave it.
    const j = ok(await run(["stream", "add", "LOGS", "--subjects", "logs.a,logs.b", "--max-msgs", "10", "--max-age", "1d", "--retention", "limits", "--defaults", "--json"]));
    const info = JSON.parse(j.stdout) as { config: { name: string; subjects: string[]; max_msgs: number; max_age: number; storage: string } };
    expect(info.config).toMatchObject({ name: "LOGS", subjects: ["logs.a", "logs.b"], max_msgs: 10, max_age: 86_400e9, storage: "file" });
  });

  test.skipIf(skip)("stream ls is a table, --names and --json are the names", async () => {
    ok(await run(["pub", "orders.new", "order {{Count}}", "--count", "3", "-H", "k:v", "-q"]));
    ok(await run(["pub", "orders.old", "old one", "-q"]));
    const t = ok(await run(["stream", "ls"]));
    expect(t.stdout).toMatch(/^╭─+╮\n│ +Streams +│\n├/);
    expect(t.stdout).toMatch(/│ Name +│ Description +│ Created +│ Messages +│ Size +│ Last Message +│/);
    expect(t.stdout).toMatch(/│ ORDERS +│ +│ [\d-]+ [\d:]+ +│ 4 +│ \d+ B +│/);
    expect(t.stdout).toMatch(/│ LOGS +│ +│ [\d-]+ [\d:]+ +│ 0 +│ 0 B +│ never +│/);
    expect(ok(await run(["stream", "ls", "--names"])).stdout).toBe("LOGS\nORDERS\n");
    expect(JSON.parse(ok(await run(["stream", "ls", "--json", "--subject", "orders.new"])).stdout)).toEqual(["ORDERS"]);
  });

  test.skipIf(skip)("stream report: a row per stream with storage, consumers, messages, bytes, replicas; --json", async () => {
    const r = ok(await run(["stream", "report"]));
    expect(r.stderr).toBe("Obtaining Stream stats\n");
    expect(r.stdout).toMatch(/^╭─+╮\n│ +Stream Report +│\n├/);
    expect(r.stdout).toMatch(/│ Stream +│ Storage +│ Consumers +│ Messages +│ Bytes +│ Lost +│ Deleted +│ Replicas +│/);
    expect(r.stdout).toMatch(/│ ORDERS +│ Memory +│ 0 +│ 4 +│ \d+ B +│ 0 +│ 0 +│ 1 +│/);
    const rows = JSON.parse(ok(await run(["stream", "report", "--json"])).stdout) as { stream: string; messages: number; storage: string }[];
    expect(rows.map((x) => [x.stream, x.messages])).toEqual([["LOGS", 0], ["ORDERS", 4]]);
  });

  test.skipIf(skip)("stream info: readable, --state, --json", async () => {
    const r = ok(await run(["stream", "info", "ORDERS"]));
    expect(r.stdout).toMatch(/^Information for Stream ORDERS created /);
    expect(r.stdout).toMatch(/^ +Messages: 4$/m);
    expect(r.stdout).toMatch(/^ +First Sequence: 1 @ [\d-]+ [\d:]+$/m);
    expect(r.stdout).toMatch(/^ +Last Sequence: 4 @ /m);
    const st = ok(await run(["stream", "info", "ORDERS", "--state"]));
    expect(st.stdout).toMatch(/^State for Stream ORDERS created /);
    expect(st.stdout).not.toMatch(/Retention/);
    const j = JSON.parse(ok(await run(["stream", "info", "ORDERS", "--json"])).stdout) as { state: { messages: number; last_seq: number } };
    expect(j.state).toMatchObject({ messages: 4, last_seq: 4 });
  });

  test.skipIf(skip)("stream get by sequence and by --last-for, with headers; a missing one is exit 1", async () => {
    const r = ok(await run(["stream", "get", "ORDERS", "2"]));
    expect(r.stdout).toMatch(/^Item: ORDERS#2 received [\d-]+ [\d:]+ \(.+ ago\) on Subject orders\.new\n\nHeaders:\n  k: v\n\norder 2\n$/);
    expect(ok(await run(["stream", "get", "ORDERS", "--last-for", "orders.new"])).stdout).toMatch(/^Item: ORDERS#3 [^\n]+\n[^]*\norder 3\n$/);
    const j = JSON.parse(ok(await run(["stream", "get", "ORDERS", "4", "--json"])).stdout) as { seq: number; subject: string; data: string };
    expect(j).toMatchObject({ seq: 4, subject: "orders.old" });
    expect(Buffer.from(j.data, "base64").toString()).toBe("old one");
    expectError(await run(["stream", "get", "ORDERS", "99"]), 1, /could not retrieve ORDERS#99: no message found/);
    expectError(await run(["stream", "get", "ORDERS"]), 2, /a sequence or --last-for/);
  });

  test.skipIf(skip)("stream view pages through the messages and leaves no consumer behind", async () => {
    const r = ok(await run(["stream", "view", "ORDERS"]));
    expect(r.stdout).toMatch(/^\[1\] Subject: orders\.new Received: [\d-]+ [\d:]+\n\n  k: v\n\norder 1\n\n\[2\] /);
    expect(r.stdout).toMatch(/\[4\] Subject: orders\.old Received: [^\n]+\n\nold one\n\n$/);
    expect(r.stderr).toBe("Reached apparent end of data\n");
    // Not a terminal: one page, and how many are left.
    const page = ok(await run(["stream", "view", "ORDERS", "2", "--raw"]));
    expect(page.stdout).toBe("order 1\norder 2\n");
    expect(page.stderr).toMatch(/^2 more/);
    expect(ok(await run(["stream", "view", "ORDERS", "--id", "3", "--raw"])).stdout).toBe("order 3\nold one\n");
    expect(ok(await run(["stream", "view", "ORDERS", "--subject", "orders.old", "--raw"])).stdout).toBe("old one\n");
    expect(ok(await run(["consumer", "ls", "ORDERS", "--names"])).stdout).toBe("");
  });

  test.skipIf(skip)("stream edit changes the flags given (after the question), --dry-run changes nothing", async () => {
    const dry = ok(await run(["stream", "edit", "ORDERS", "--max-msgs", "100", "--dry-run"]));
    expect(dry.stderr).toContain("max_msgs: -1 → 100");
    expect(ok(await run(["stream", "info", "ORDERS"])).stdout).toMatch(/Maximum Messages: unlimited/);
    // Refused: the differences were shown (stderr), then the one-line refusal; nothing changed.
    const refused = await run(["stream", "edit", "ORDERS", "--max-msgs", "100"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^Differences \(old → new\):\n  max_msgs: -1 → 100\n\ngnat: Really edit Stream ORDERS: not confirmed, nothing done \(-f\/--force acts without asking\)\n$/);
    const r = ok(await run(["stream", "edit", "ORDERS", "--max-msgs", "100", "--description", "the orders"], "y\n"));
    expect(r.stdout).toMatch(/^Stream ORDERS was updated\n\n/);
    expect(r.stdout).toMatch(/^ +Maximum Messages: 100$/m);
    expect(r.stdout).toMatch(/^ +Description: the orders$/m);
    expect(r.stdout).toMatch(/^ +Messages: 4$/m);
    expectError(await run(["stream", "edit", "ORDERS"]), 2, /nothing to change/);
  });

  test.skipIf(skip)("consumer add --pull --deliver all --ack explicit --defaults, then ls and info", async () => {
    const r = ok(await run(["consumer", "add", "ORDERS", "PULL", "--pull", "--deliver", "all", "--ack", "explicit", "--filter", "orders.new", "--defaults"]));
    expect(r.stdout).toMatch(/^Information for Consumer ORDERS > PULL created [\d-]+ [\d:]+\n\nConfiguration:\n\n/);
    expect(r.stdout).toMatch(/^ +Pull Mode: true$/m);
    expect(r.stdout).toMatch(/^ +Filter Subject: orders\.new$/m);
    expect(r.stdout).toMatch(/^ +Deliver Policy: All$/m);
    expect(r.stdout).toMatch(/^ +Ack Policy: Explicit$/m);
    expect(r.stdout).toMatch(/^ +Unprocessed Messages: 3$/m);
    const push = ok(await run(["consumer", "add", "ORDERS", "PUSH", "--target", "out.orders", "--deliver", "new", "--ack", "none", "--defaults", "--json"]));
    expect(JSON.parse(push.stdout)).toMatchObject({ name: "PUSH", config: { deliver_subject: "out.orders", deliver_policy: "new", ack_policy: "none" } });
    const ls = ok(await run(["consumer", "ls", "ORDERS"]));
    expect(ls.stdout).toMatch(/│ +Consumers for Stream ORDERS +│/);
    expect(ls.stdout).toMatch(/│ PULL +│ +│ [\d-]+ [\d:]+ +│ 0 +│ 3 +│ never +│/);
    expect(JSON.parse(ok(await run(["consumer", "ls", "ORDERS", "--json"])).stdout)).toEqual(["PULL", "PUSH"]);
    expect(JSON.parse(ok(await run(["consumer", "info", "ORDERS", "PULL", "--json"])).stdout)).toMatchObject({ name: "PULL", num_pending: 3 });
  });

  test.skipIf(skip)("consumer next pulls, prints and acknowledges; --no-ack leaves it pending; none left is exit 1", async () => {
    const r = ok(await run(["consumer", "next", "ORDERS", "PULL", "--count", "2"]));
    expect(r.stdout).toMatch(/^\[[\d:]+\] subj: orders\.new \/ tries: 1 \/ cons seq: 1 \/ str seq: 1 \/ pending: 2\n\nHeaders:\n  k: v\n\norder 1\n\nAcknowledged message\n\n\[[\d:]+\] subj: orders\.new \/ tries: 1 \/ cons seq: 2 \/ str seq: 2 \/ pending: 1\n/);
    expect(ok(await run(["consumer", "next", "ORDERS", "PULL", "--raw", "--no-ack"])).stdout).toBe("order 3\n");
    const ci = JSON.parse(ok(await run(["consumer", "info", "ORDERS", "PULL", "--json"])).stdout) as { num_ack_pending: number; ack_floor: { stream_seq: number } };
    expect(ci.num_ack_pending).toBe(1);
    expect(ci.ack_floor.stream_seq).toBe(2);
    expect(ok(await run(["consumer", "info", "ORDERS", "PULL"])).stdout).toMatch(/^ +Outstanding Acks: 1 out of maximum [\d,]+$/m);
    expectError(await run(["consumer", "next", "ORDERS", "PULL", "--wait", "1s"]), 1, /no message received from ORDERS > PULL in 1s/);
    expectError(await run(["consumer", "next", "ORDERS", "PUSH"]), 1, /ORDERS > PUSH is a push consumer/);
  });

  test.skipIf(skip)("consumer report: mode, ack policy and wait, ack pending, redelivered, unprocessed, ack floor per consumer", async () => {
    const r = ok(await run(["consumer", "report", "ORDERS"]));
    expect(r.stdout).toMatch(/│ +Consumer report for ORDERS with 2 consumers +│/);
    expect(r.stdout).toMatch(/│ Consumer +│ Mode +│ Ack Policy +│ Ack Wait +│ Ack Pending +│ Redelivered +│ Unprocessed +│ Ack Floor +│/);
    expect(r.stdout).toMatch(/│ PULL +│ Pull +│ Explicit +│ 30s +│ 1 +│ 0 +│ 0 +│ 2 +│/);
    // The ack floor of a new deliver-new consumer: nats-server says 0, gnat the stream's last
    // sequence (a server difference, not the report's).
    expect(r.stdout).toMatch(/│ PUSH +│ Push +│ None +│ \S+ +│ 0 +│ 0 +│ 0 +│ \d+ +│/);
    const rows = JSON.parse(ok(await run(["consumer", "report", "ORDERS", "--json"])).stdout) as { consumer: string; ack_pending: number }[];
    expect(rows.map((x) => [x.consumer, x.ack_pending])).toEqual([["PULL", 1], ["PUSH", 0]]);
    expectError(await run(["consumer", "report", "NOPE"]), 1, /could not load stream NOPE: stream not found/);
  });

  test.skipIf(skip)("consumer rm asks first; -f removes; then the server says consumer not found", async () => {
    expectError(await run(["consumer", "rm", "ORDERS", "PUSH"]), 1, /Really delete Consumer ORDERS > PUSH: not confirmed/);
    expect(JSON.parse(ok(await run(["consumer", "ls", "ORDERS", "--json"])).stdout)).toEqual(["PULL", "PUSH"]);
    expect(ok(await run(["consumer", "rm", "ORDERS", "PUSH", "-f"])).stdout).toBe("");
    expectError(await run(["consumer", "info", "ORDERS", "PUSH"]), 1, /could not load consumer ORDERS > PUSH: consumer not found/);
    expectError(await run(["consumer", "rm", "ORDERS", "PUSH", "-f"]), 1, /consumer not found/);
  });

  test.skipIf(skip)("stream purge asks first; y on stdin purges; --subject and --keep", async () => {
    expectError(await run(["stream", "purge", "ORDERS"]), 1, /Really purge Stream ORDERS: not confirmed/);
    const keep = ok(await run(["stream", "purge", "ORDERS", "--keep", "2", "-f", "--json"]));
    expect((JSON.parse(keep.stdout) as { state: { messages: number; first_seq: number } }).state).toMatchObject({ messages: 2, first_seq: 3 });
    const some = ok(await run(["stream", "purge", "ORDERS", "--subject", "orders.old", "-f"]));
    expect(some.stdout).toMatch(/^Purged 1 messages from ORDERS\n\nState for Stream ORDERS created [^\n]+\n\nState:\n\n +Messages: 1\n/);
    const all = ok(await run(["stream", "purge", "ORDERS"], "y\n"));
    expect(all.stdout).toMatch(/^Purged 1 messages from ORDERS\n/);
    expect(all.stdout).toMatch(/^ +Messages: 0$/m);
    expectError(await run(["stream", "purge", "ORDERS", "--seq", "2", "--keep", "1", "-f"]), 2, /cannot be combined/);
  });

  test.skipIf(skip)("stream rm asks first, -f removes; a stream that is not there is the server's 'stream not found', exit 1", async () => {
    expectError(await run(["stream", "rm", "LOGS"]), 1, /Really delete Stream LOGS: not confirmed, nothing done/);
    expect(ok(await run(["stream", "info", "LOGS", "--json"])).stdout).toContain('"LOGS"');
    expect(ok(await run(["stream", "rm", "LOGS", "-f"])).stdout).toBe("");
    expectError(await run(["stream", "info", "LOGS"]), 1, /^gnat: could not load stream LOGS: stream not found\n$/);
    expectError(await run(["stream", "rm", "LOGS", "-f"]), 1, /stream not found/);
    expectError(await run(["consumer", "ls", "LOGS"]), 1, /stream not found/);
  });

  test.skipIf(skip)("bad flag values and a name already taken", async () => {
    expectError(await run(["stream", "add", "X", "--storage", "disk", "--defaults"]), 2, /invalid value "disk" for --storage: expected one of file, memory/);
    expectError(await run(["stream", "add", "X", "--max-bytes", "lots", "--defaults"]), 2, /invalid value "lots" for --max-bytes/);
    expectError(await run(["stream", "add", "X", "--max-age", "soon", "--defaults"]), 2, /invalid --max-age "soon"/);
    expectError(await run(["stream", "add", "--defaults"]), 2, /missing required argument 'stream'/);
    expectError(await run(["consumer", "add", "ORDERS", "C", "--ack", "maybe", "--defaults"]), 2, /invalid value "maybe" for --ack/);
    expectError(await run(["consumer", "add", "ORDERS", "C", "--deliver", "sometime", "--defaults"]), 2, /invalid value "sometime" for --deliver/);
    expectError(await run(["consumer", "add", "ORDERS", "--defaults"]), 2, /missing required argument 'consumer'/);
    // The server refuses: its words, exit 1.
    expectError(await run(["stream", "add", "OTHER", "--subjects", "orders.new", "--defaults"]), 1, /could not create stream OTHER: subjects overlap with an existing stream/);
  });
});

describe("without JetStream, and bad input", () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget("gnat");
  });
  afterAll(async () => {
    await target.close();
  });

  test("a server without JetStream is one line and exit 1", async () => {
    expectError(await gnat(["stream", "ls", "-s", target.url], env), 1, /jetstream is not enabled/i);
    expectError(await gnat(["consumer", "ls", "X", "-s", target.url], env), 1, /jetstream is not enabled/i);
  });

  test("unknown and missing subcommands, missing arguments: usage errors, exit 2", async () => {
    expectError(await gnat(["stream", "frob"], env), 2, /stream: unknown subcommand 'frob' \(ls, report, info, add, edit, rm, purge, get, view, backup, restore\)/);
    expectError(await gnat(["consumer"], env), 2, /consumer: missing subcommand/);
    expectError(await gnat(["stream", "info"], env), 2, /missing required argument 'stream'/);
    expectError(await gnat(["consumer", "next", "S"], env), 2, /missing required argument 'consumer'/);
    expectError(await gnat(["stream", "ls", "--bogus"], env), 2, /unknown option '--bogus'/);
  });
});
