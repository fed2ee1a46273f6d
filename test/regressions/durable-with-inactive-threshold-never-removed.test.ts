// Regression: a durable consumer with an inactive_threshold stayed for ever; only ephemerals
// were timed out. nats-server (2.9 on) removes a durable too once it has been inactive for its
// inactive_threshold, and one without a threshold never. Found by go/jsconform's pull
// check (nats.go: AddConsumer{Durable, InactiveThreshold}, ConsumerInfo never said not found).
import { type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, test } from "vitest";
import { jetStreamSuite } from "../jetstream/helpers.js";

let nc: NatsConnection;
jetStreamSuite("gnat-durable-idle-", (t) => { nc = t.nc; });

test("an unused durable with an inactive_threshold is removed; one without stays", async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "IDLE", subjects: ["idle"], storage: "memory" });
  const deleted = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.DELETED.IDLE.*", { max: 1 });
  await nc.flush();
  await jsm.consumers.add("IDLE", { durable_name: "keeps", ack_policy: AckPolicy.Explicit });
  const ci = await jsm.consumers.add("IDLE", { durable_name: "goes", ack_policy: AckPolicy.Explicit, inactive_threshold: 200_000_000 });
  expect(ci.config.inactive_threshold).toBe(200_000_000);
  const started = Date.now();
  for await (const m of deleted) {
    expect(m.subject).toBe("$JS.EVENT.ADVISORY.CONSUMER.DELETED.IDLE.goes");
  }
  expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  await expect(jsm.consumers.info("IDLE", "goes")).rejects.toThrow(/consumer not found/);
  expect((await jsm.consumers.info("IDLE", "keeps")).name).toBe("keeps");
}, 10_000);
