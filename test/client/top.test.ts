// gnat top: the view built from two polls of the monitoring endpoints (rates, RTTs, queues), the
// screen cut to a terminal's size, and `-o -` snapshots (in-process, test/client/kit.ts) against gnat and
// nats-server with traffic flowing. The live screen is driven in tmux in terminal.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SKIP_REASON } from "../differential/harness.js";
import { freePort } from "../kit/processes.js";
import { buildView, monitorBase, rttMs, type Poll } from "../../client/top/model.js";
import { renderScreen } from "../../client/top/screen.js";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startTarget, type Run, type Target } from "./kit.js";

const { env } = clientSuite();

function poll(at: number, inMsgs: number, conns: { cid: number; in: number; out: number; rtt: string; pending?: number }[], consumerSeq = 0): Poll {
  return {
    at,
    varz: { server_name: "S", version: "2.9.10", uptime: "1m", in_msgs: inMsgs, out_msgs: inMsgs * 2, in_bytes: inMsgs * 100, out_bytes: 0, connections: conns.length, subscriptions: 3 },
    connz: { total: conns.length, connections: conns.map((c) => ({ cid: c.cid, name: `c${c.cid}`, in_msgs: c.in, out_msgs: c.out, rtt: c.rtt, pending_bytes: c.pending ?? 0, subscriptions: 1 })) },
    jsz: { account_details: [{ name: "$G", stream_detail: [{ name: "ORDERS", state: { messages: 10, bytes: 1000, last_seq: consumerSeq + 10, consumer_count: 1 }, consumer_detail: [{ name: "worker", stream_name: "ORDERS", num_pending: 7, num_ack_pending: 2, num_redelivered: 1, delivered: { stream_seq: consumerSeq, consumer_seq: consumerSeq } }] }] }] },
  };
}

describe("the top view", () => {
  test("rates are the difference between two polls over the time between them", () => {
    const a = poll(0, 1000, [{ cid: 1, in: 100, out: 0, rtt: "1.5ms" }, { cid: 2, in: 0, out: 0, rtt: "250µs" }], 0);
    const b = poll(2000, 3000, [{ cid: 1, in: 500, out: 0, rtt: "2ms" }, { cid: 2, in: 0, out: 600, rtt: "500µs", pending: 4096 }], 40);
    const first = buildView(a, null);
    expect(first.inRate).toBe(0);
    const v = buildView(b, a);
    expect(v.inRate).toBe(1000);
    expect(v.outRate).toBe(2000);
    expect(v.inBytesRate).toBe(100_000);
    expect(v.conns.map((c) => [c.cid, c.inRate, c.outRate])).toEqual([[1, 200, 0], [2, 0, 300]]);
    expect(v.rttP50).toBe(0.5);
    expect(v.rttMax).toBe(2);
    expect(v.pending).toBe(4096);
    expect(v.streams).toEqual([{ name: "ORDERS", account: "$G", messages: 10, bytes: 1000, rate: 20, consumers: 1 }]);
    expect(v.consumers).toEqual([{ stream: "ORDERS", name: "worker", pending: 7, ackPending: 2, redelivered: 1, waiting: 0, rate: 20 }]);
  });

  test("Go durations become milliseconds; monitoring addresses get a scheme and a host", () => {
    expect(rttMs("1.5ms")).toBe(1.5);
    expect(rttMs("152µs")).toBeCloseTo(0.152);
    expect(rttMs("1m2s")).toBe(62_000);
    expect(rttMs(undefined)).toBeNaN();
    expect(monitorBase("8222")).toBe("http://127.0.0.1:8222");
    expect(monitorBase("nats.example:8222/")).toBe("http://nats.example:8222");
    expect(monitorBase("https://m.example")).toBe("https://m.example");
  });

  test.each([[80, 24, true], [120, 40, true], [60, 12, false]])("at %i×%i every line fits and every part shows, with '… N more' for what does not (consumer rows: %s)", (width, height, consumerRows) => {
    const conns = Array.from({ length: 40 }, (_, i) => ({ cid: i + 1, in: i * 10, out: 0, rtt: "1ms" }));
    const a = poll(0, 0, conns);
    const b = poll(1000, 500, conns);
    const lines = renderScreen(buildView(b, a), { width, height, url: "http://127.0.0.1:8222", sort: "cid", interval: 1 });
    expect(lines).toHaveLength(height);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(width);
    const text = lines.join("\n");
    expect(text).toMatch(/^Throughput +in 500 msgs\/s/m);
    expect(text).toMatch(/^ +CID NAME/m);
    expect(text).toMatch(/… \d+ more/);
    expect(text).toMatch(/^STREAM/m);
    expect(text).toMatch(/^CONSUMER/m);
    // Too short a terminal keeps the tables' headers and drops rows, never the summary or the footer.
    expect(/^ORDERS > worker +7 +2 +1/m.test(text)).toBe(consumerRows);
    expect(lines[height - 1]).toMatch(/^sort: cid \(s: next\) +q: quit/);
  });
});

describe.each(KINDS)("gnat top -o against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  if (skip) console.warn(`\n*** ${SKIP_REASON} ***\n`);
  let target: Target;
  let dir: string;
  let monitor: string;
  let nc: NatsConnection;
  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "gnat-client-top-"));
    const port = await freePort();
    monitor = `127.0.0.1:${port}`;
    target = await startTarget(kind, `http: "${monitor}"\njetstream { store_dir: "${dir}" }\n`);
    nc = await connect({ servers: target.url, name: "top-test" });
  });
  afterAll(async () => {
    if (skip) return;
    await nc.close();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(skip)("a snapshot taken while messages flow shows the rates, the connections, the stream and its consumer", async () => {
    const s = ["-s", target.url];
    expect((await gnat(["stream", "add", "TOP", "--subjects", "top.>", "--storage", "memory", "--defaults", ...s], env)).code).toBe(0);
    expect((await gnat(["consumer", "add", "TOP", "reader", "--pull", "--defaults", ...s], env)).code).toBe(0);
    nc.subscribe("top.>", { callback: () => {} });
    // Publish until top has exited: a bounded stream of small messages, 20 per 10 ms.
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop && i < 2000; i++) {
        for (let j = 0; j < 20; j++) nc.publish("top.x", "hello");
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let r: Run;
    try {
      r = await gnat(["top", monitor, "-o", "-", "-d", "500ms"], env);
    } finally {
      stop = true;
      await traffic;
    }
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const inRate = Number(/^Throughput +in ([\d.]+)K? msgs\/s/m.exec(r.stdout)?.[1]);
    expect(inRate).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^Latency +rtt p50 \S+ +max \S+ +Queue +pending \S+/m);
    expect(r.stdout).toMatch(/^ +\d+ top-test +1 /m);
    const stream = /^TOP +([\d.]+K?) /m.exec(r.stdout);
    expect(stream).not.toBeNull();
    expect(r.stdout).toMatch(/^TOP > reader +[1-9][\d.]*K? +0 +0 +[01] +0$/m);
  });

  test.skipIf(skip)("bad input: an unreachable monitor is exit 1, a bad --sort or --interval exit 2, one line each", async () => {
    const port = await freePort();
    const oneLine = (res: Run, code: number, re: RegExp): void => {
      expect(res.stdout).toBe("");
      expect(res.stderr).toMatch(/^gnat: [^\n]+\n$/);
      expect(res.stderr).toMatch(re);
      expect(res.code).toBe(code);
    };
    oneLine(await gnat(["top", String(port), "-o", "-"], env), 1, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/varz: connection refused`));
    oneLine(await gnat(["top", monitor, "--sort", "size"], env), 2, /invalid value "size" for --sort: expected one of cid, subs/);
    oneLine(await gnat(["top", monitor, "-d", "soon"], env), 2, /invalid --interval "soon"/);
    // Not on a terminal and no -o: it says what to do instead.
    oneLine(await gnat(["top", monitor], env), 1, /draws on a terminal; -o FILE/);
  });
});
