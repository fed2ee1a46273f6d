// Regression: a push consumer with flow control sent its first flow-control request only after
// 16 MiB and held back only at 32 MiB, where nats-server starts with a 2 MiB window (1/16 of
// JsFlowControlMaxPending): it asks once more than 1 MiB is unanswered, stops at 2 MiB, and
// doubles the window with each reply. Found by go/jsconform's push check (nats.go saw no
// flow-control request over 5,000 messages of 1 KiB; nats-server sent them).
import { type Msg, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, test } from "vitest";
import { jetStreamSuite } from "../jetstream/helpers.js";

let nc: NatsConnection;
jetStreamSuite("gnat-fcwindow-", (t) => { nc = t.nc; });

test("a flow-controlled push consumer asks after 1 MiB, stalls at the 2 MiB window, and resumes on the reply", async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "FCW", subjects: ["fcw"], storage: "memory" });
  const total = 3000;
  const payload = new Uint8Array(1024);
  const pubs: Promise<unknown>[] = [];
  const js = jsm.jetstream();
  for (let i = 0; i < total; i++) pubs.push(js.publish("fcw", payload));
  await Promise.all(pubs);

  let received = 0;
  let receivedBytes = 0;
  const fcRequests: Msg[] = [];
  let bytesAtFirstRequest = -1;
  let stalledAt = -1;
  let onEvent = (): void => {};
  const sub = nc.subscribe("fcw.deliver", {
    callback: (_err, m) => {
      const code = m.headers?.code ?? 0;
      if (code === 100 && m.headers?.description === "FlowControl Request") {
        if (bytesAtFirstRequest < 0) bytesAtFirstRequest = receivedBytes;
        fcRequests.push(m);
      } else if (code === 100 && m.headers?.get("Nats-Consumer-Stalled")) {
        if (stalledAt < 0) stalledAt = received;
      } else if (m.data.length > 0) {
        received++;
        receivedBytes += m.data.length;
      }
      onEvent();
    },
  });
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${received} received, ${fcRequests.length} flow-control requests`)), 10_000);
      onEvent = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        }
      };
      onEvent();
    });

  await jsm.consumers.add("FCW", {
    durable_name: "fcw", deliver_subject: "fcw.deliver", ack_policy: AckPolicy.None,
    flow_control: true, idle_heartbeat: 100_000_000,
  });
  // Nobody answers: the consumer asks, then stalls and says so in its heartbeats.
  await until(() => stalledAt >= 0);
  expect(fcRequests.length).toBe(1);
  // The server counts subject and headers too, so the payload bytes come in a little under.
  const MiB = 1024 * 1024;
  expect(bytesAtFirstRequest).toBeGreaterThan(0.95 * MiB);
  expect(bytesAtFirstRequest).toBeLessThanOrEqual(MiB);
  expect(receivedBytes).toBeGreaterThan(1.9 * MiB);
  expect(receivedBytes).toBeLessThanOrEqual(2 * MiB);
  expect(received).toBeLessThan(total);

  // Answering each request lets the rest through.
  onEvent = () => {};
  let answered = 0;
  await until(() => {
    while (answered < fcRequests.length) nc.publish(fcRequests[answered++]!.reply!);
    return received === total;
  });
  expect(received).toBe(total);
  sub.unsubscribe();
});
