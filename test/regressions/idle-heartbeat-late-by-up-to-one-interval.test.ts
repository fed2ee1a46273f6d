// Regression: a push consumer's idle heartbeat came anywhere between one and two idle_heartbeat
// intervals after its last message (a fixed interval timer that skipped a tick when the consumer
// had pushed within it). nats-server resets its heartbeat timer on each delivery, so the
// heartbeat comes one interval after; nats.go checks for activity every two intervals and could
// report an active consumer as inactive. Found by a nats.go probe next to go/jsconform
// (max heartbeat gap 200 ms at idle_heartbeat 100 ms; nats-server ~104 ms). Pull requests with an
// idle_heartbeat had the same timer; nats-server sends theirs one interval after the last message.
import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, test } from "vitest";
import { jetStreamSuite } from "../jetstream/helpers.js";

let nc: NatsConnection;
jetStreamSuite("gnat-hbgap-", (t) => { nc = t.nc; });

const EVERY = 200;

/**
 * Watch `subject` for messages and heartbeats (status 100); `wait(kind)` resolves with the time
 * the next one of that kind arrives.
 */
function watch(subject: string): (kind: "msg" | "hb") => Promise<number> {
  let next: ((kind: "msg" | "hb", at: number) => void) | null = null;
  nc.subscribe(subject, {
    callback: (_err, m) => {
      const at = performance.now();
      next?.(m.headers?.code === 100 ? "hb" : "msg", at);
    },
  });
  return (kind) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind}`)), 5000);
      next = (k, at) => {
        if (k !== kind) return;
        clearTimeout(timer);
        next = null;
        resolve(at);
      };
    });
}

/** Five rounds of: publish at some phase of the heartbeat cycle, then time the next heartbeat. */
async function expectHeartbeatOneIntervalAfter(wait: (kind: "msg" | "hb") => Promise<number>, publish: () => Promise<unknown>): Promise<void> {
  const gaps: number[] = [];
  for (let round = 0; round < 5; round++) {
    await new Promise((r) => setTimeout(r, 37 * (round + 1)));
    const got = wait("msg");
    await publish();
    const t0 = await got;
    const t1 = await wait("hb");
    gaps.push(Math.round(t1 - t0));
  }
  for (const g of gaps) {
    expect(g, `gaps ${gaps.join(", ")} ms`).toBeGreaterThanOrEqual(EVERY - 15);
    expect(g, `gaps ${gaps.join(", ")} ms`).toBeLessThan(EVERY * 1.3);
  }
}

test("the idle heartbeat comes one interval after the last message, not up to two", async () => {
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  await jsm.streams.add({ name: "HBG", subjects: ["hbg"], storage: "memory" });
  const wait = watch("hbg.deliver");
  await jsm.consumers.add("HBG", { durable_name: "hbg", deliver_subject: "hbg.deliver", ack_policy: AckPolicy.None, idle_heartbeat: EVERY * 1e6 });
  await wait("hb");
  await expectHeartbeatOneIntervalAfter(wait, () => js.publish("hbg", "x"));
});

test("a pull request's idle heartbeat comes one interval after its last message", async () => {
  const jsm = await jetstreamManager(nc);
  const js = jsm.jetstream();
  await jsm.streams.add({ name: "HBP", subjects: ["hbp"], storage: "memory" });
  await jsm.consumers.add("HBP", { durable_name: "hbp", ack_policy: AckPolicy.None });
  const inbox = createInbox();
  const wait = watch(inbox);
  const first = wait("hb");
  nc.publish("$JS.API.CONSUMER.MSG.NEXT.HBP.hbp", JSON.stringify({ batch: 10, expires: 20e9, idle_heartbeat: EVERY * 1e6 }), { reply: inbox });
  await first;
  await expectHeartbeatOneIntervalAfter(wait, () => js.publish("hbp", "x"));
});
