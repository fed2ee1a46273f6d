// Each client command (in-process, the first test as processes of the bin), against gnat and against nats-server: the same
// output and exit codes from both.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SKIP_REASON } from "../differential/harness.js";
import { until } from "../kit/wait.js";
import { clientSuite, gnat, gnatProcess, HAS_NATS_SERVER, KINDS, start, startProcess, startTarget, type Running, type Target } from "./kit.js";

const { env, running } = clientSuite();

const track = <T extends Running>(r: T): T => {
  running.push(r);
  return r;
};

describe.each(KINDS)("against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  if (skip) console.warn(`\n*** ${SKIP_REASON} ***\n`);
  let target: Target;
  let s: string[];
  beforeAll(async () => {
    if (skip) return;
    target = await startTarget(kind);
    s = ["-s", target.url];
  });
  afterAll(async () => {
    if (!skip) await target.close();
  });

  // As processes of the bin, as users run them (the rest run in-process).
  test.skipIf(skip)("pub --count with a header reaches sub --count, which exits after that many", async () => {
    const sub = track(startProcess(["sub", "rt.>", "--count", "2", ...s], env));
    await sub.wait(/Subscribing on rt\.>/);
    const pub = await gnatProcess(["pub", "rt.one", "hello", "--count", "2", "-H", "X-Trace:abc", ...s], env);
    expect(pub.code).toBe(0);
    expect(pub.stderr).toContain('Published 5 bytes to "rt.one"');
    const done = await sub.exited();
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('[#1] Received on "rt.one"\nX-Trace: abc\n\nhello\n\n[#2] Received on "rt.one"\nX-Trace: abc\n\nhello\n\n');
  });

  test.skipIf(skip)("body templates are filled per message, in either spacing", async () => {
    const sub = track(start(["sub", "tpl", "--count", "3", "--raw", ...s], env));
    await sub.wait(/Subscribing on tpl/);
    const pub = await gnat(["pub", "tpl", "n={{Count}} r={{ Random 6 6 }} t={{ TimeStamp }}", "--count", "3", ...s], env);
    expect(pub.code).toBe(0);
    const lines = (await sub.exited()).stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^n=${i + 1} r=[A-Za-z0-9]{6} t=\\d{4}-\\d\\d-\\d\\dT`)));
  });

  test.skipIf(skip)("with no BODY, pub sends its stdin", async () => {
    const sub = track(start(["sub", "stdin.body", "--count", "1", "--raw", ...s], env));
    await sub.wait(/Subscribing on/);
    const pub = await gnat(["pub", "stdin.body", ...s], env, "line one\nline two");
    expect(pub.code).toBe(0);
    expect((await sub.exited()).stdout).toBe("line one\nline two\n");
  });

  test.skipIf(skip)("sub --queue members share the messages, each delivered once", async () => {
    const a = track(start(["sub", "work", "--queue", "q", "--raw", ...s], env));
    const b = track(start(["sub", "work", "--queue", "q", "--raw", ...s], env));
    await a.wait(/Subscribing on work in group q/);
    await b.wait(/Subscribing on work in group q/);
    expect((await gnat(["pub", "work", "m{{Count}}", "--count", "20", "-q", ...s], env)).code).toBe(0);
    const lines = (): string[] => (a.stdout() + b.stdout()).split("\n").filter((l) => l !== "");
    await until(() => lines().length >= 20, { timeout: 10_000, interval: 20, what: "20 messages between the queue members" });
    expect(new Set(lines()).size).toBe(20);
    expect(lines()).toHaveLength(20);
  });

  test.skipIf(skip)("req gets the reply's body on stdout; reply --count exits after answering", async () => {
    const reply = track(start(["reply", "svc.echo", "pong {{ Count }}: {{ Request }}", "--count", "1", ...s], env));
    await reply.wait(/Listening on "svc.echo"/);
    const req = await gnat(["req", "svc.echo", "ping", ...s], env);
    expect(req.code).toBe(0);
    expect(req.stdout).toBe("pong 1: ping\n");
    expect(req.stderr).toMatch(/Received with rtt/);
    expect((await reply.exited()).code).toBe(0);
  });

  test.skipIf(skip)("reply --command answers with the program's output, the request on its stdin", async () => {
    const reply = track(start(["reply", "svc.upper", "--command", "tr a-z A-Z", "--count", "1", ...s], env));
    await reply.wait(/Listening on/);
    const req = await gnat(["request", "svc.upper", "shout this", "--raw", ...s], env);
    expect(req.code).toBe(0);
    expect(req.stdout).toBe("SHOUT THIS\n");
  });

  test.skipIf(skip)("req --replies 2 prints both repliers' answers", async () => {
    const r1 = track(start(["reply", "svc.many", "one", "--queue", "a", ...s], env));
    const r2 = track(start(["reply", "svc.many", "two", "--queue", "b", ...s], env));
    await r1.wait(/Listening on/);
    await r2.wait(/Listening on/);
    const req = await gnat(["req", "svc.many", "x", "--replies", "2", "--raw", ...s], env);
    expect(req.code).toBe(0);
    expect(req.stdout.trimEnd().split("\n").sort()).toEqual(["one", "two"]);
  });

  test.skipIf(skip)("req with no responders is one line on stderr and exit 1", async () => {
    const req = await gnat(["req", "nobody.home", "x", ...s], env);
    expect(req.code).toBe(1);
    expect(req.stdout).toBe("");
    expect(req.stderr).toBe('gnat: no responders available for request on "nobody.home"\n');
  });

  test.skipIf(skip)("server ping --count prints a round trip per ping and a summary", async () => {
    const r = await gnat(["server", "ping", "--count", "3", ...s], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(0, 3).every((l) => l.startsWith(`${target.url}: rtt `))).toBe(true);
    expect(lines[3]).toMatch(/^--- 3 pings: min \S+ avg \S+ max \S+$/);
  });

  test.skipIf(skip)("server info prints the server's INFO, readably and as JSON", async () => {
    const r = await gnat(["server", "info", ...s], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server ID: +N[A-Z0-9]{55}\n/);
    expect(r.stdout).toMatch(/Max payload: +1048576 bytes/);
    const j = await gnat(["server", "info", "--json", ...s], env);
    const info = JSON.parse(j.stdout) as { server_id: string; max_payload: number; headers: boolean };
    expect(info.server_id).toMatch(/^N/);
    expect(info.max_payload).toBe(1048576);
    expect(info.headers).toBe(true);
  });

  const nagios = /^(OK|WARNING|CRITICAL) Connection [^|\n]+ \| connect_time=[\d.]+s;[\d.]+;[\d.]+ rtt=[\d.]+s;[\d.]+;[\d.]+ request_time=[\d.]+s;[\d.]+;[\d.]+\n$/;

  test.skipIf(skip)("server check connection is OK, exit 0, in Nagios's format", async () => {
    const r = await gnat(["server", "check", "connection", ...s], env);
    expect(r.stdout).toMatch(nagios);
    expect(r.stdout).toMatch(new RegExp(`^OK Connection OK:connected to ${target.url} in `));
    expect(r.code).toBe(0);
  });

  test.skipIf(skip)("server check connection is CRITICAL (exit 2) past --connect-critical, WARNING (exit 1) past --rtt-warning", async () => {
    const crit = await gnat(["server", "check", "connection", "--connect-critical", "1ns", ...s], env);
    expect(crit.stdout).toMatch(nagios);
    expect(crit.stdout).toMatch(/^CRITICAL Connection CRIT:connected to .* > 1ns/);
    expect(crit.code).toBe(2);
    const warn = await gnat(["server", "check", "connection", "--rtt-warning", "1ns", ...s], env);
    expect(warn.stdout).toMatch(/^WARNING Connection WARN:rtt time /);
    expect(warn.code).toBe(1);
  });
});

describe.each(KINDS)("auth against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  beforeAll(async () => {
    if (!skip) target = await startTarget(kind, "authorization { user: bob, password: s3cret }\n");
  });
  afterAll(async () => {
    if (!skip) await target.close();
  });

  test.skipIf(skip)("--user and --password (or in the URL) connect", async () => {
    const sub = track(start(["sub", "auth.x", "--count", "1", "--raw", "-s", target.url, "--user", "bob", "--password", "s3cret"], env));
    await sub.wait(/Subscribing on/);
    const url = target.url.replace("nats://", "nats://bob:s3cret@");
    expect((await gnat(["pub", "auth.x", "in", "-s", url], env)).code).toBe(0);
    expect((await sub.exited()).stdout).toBe("in\n");
  });

  test.skipIf(skip)("a wrong password is the server's text in one line, exit 1, the password not shown", async () => {
    const r = await gnat(["pub", "auth.x", "in", "-s", target.url.replace("nats://", "nats://bob:wrong@")], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^gnat: cannot connect to nats:\/\/bob:\*\*\*@127\.0\.0\.1:\d+: Authorization Violation\n$/);
  });
});
