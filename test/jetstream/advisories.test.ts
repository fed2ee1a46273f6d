// JetStream advisories on $JS.EVENT.ADVISORY.>: stream and consumer lifecycle, NAK, TERM and
// MAX_DELIVERIES, with nats-server's subjects and JSON shapes, seen by a subscriber and by a stream.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { AckPolicy, jetstream, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { jetStreamSuite } from "./helpers.js";
import { settle } from "../kit/wait.js";

let server: Server;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
jetStreamSuite("gnat-jsadv-", (t) => {
  ({ server, nc, jsm } = t); js = jetstream(t.nc);
});

interface Seen { subject: string; body: Record<string, unknown>; raw: string }

/** Collect advisories from now on. */
function collect(subject = "$JS.EVENT.ADVISORY.>"): { seen: Seen[]; sub: Subscription; until: (n: number, ms?: number) => Promise<Seen[]> } {
  const seen: Seen[] = [];
  const sub = nc.subscribe(subject);
  // API audits ($JS.EVENT.ADVISORY.API) come with every request; the tests below look at the rest.
  const audits = subject === "$JS.EVENT.ADVISORY.API";
  (async () => {
    for await (const m of sub) {
      if (!audits && m.subject === "$JS.EVENT.ADVISORY.API") continue;
      seen.push({ subject: m.subject, body: m.json(), raw: m.string() });
    }
  })().catch(() => {});
  const until = async (n: number, ms = 5000): Promise<Seen[]> => {
    const end = Date.now() + ms;
    while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return seen;
  };
  return { seen, sub, until };
}

const NUID = /^[0-9A-Za-z]{22}$/;
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

describe("advisories", () => {
  test("every API request is audited on $JS.EVENT.ADVISORY.API with the requester's client info", async () => {
    const c = collect("$JS.EVENT.ADVISORY.API");
    await nc.flush();
    await jsm.streams.add({ name: "AUDIT", subjects: ["audit.>"] });
    await jsm.streams.info("NOPE").catch(() => {});
    const seen = await c.until(2);
    c.sub.unsubscribe();
    expect(seen.map((s) => s.body.subject)).toEqual(["$JS.API.STREAM.CREATE.AUDIT", "$JS.API.STREAM.INFO.NOPE"]);
    const [created, missing] = seen;
    // nats-server's JSAPIAudit: TypedEvent, then server, client, subject, request, response.
    expect(Object.keys(created!.body)).toEqual(["type", "id", "timestamp", "server", "client", "subject", "request", "response"]);
    expect(created!.body.type).toBe("io.nats.jetstream.advisory.v1.api_audit");
    expect(created!.body.id).toMatch(NUID);
    expect(created!.body.timestamp).toMatch(TS);
    expect(created!.body.server).toBe(server.serverName);
    expect(JSON.parse(String(created!.body.request))).toMatchObject({ name: "AUDIT", subjects: ["audit.>"] });
    expect(JSON.parse(String(created!.body.response))).toMatchObject({ type: "io.nats.jetstream.api.v1.stream_create_response" });
    const client = created!.body.client as Record<string, unknown>;
    expect(client).toMatchObject({ host: "127.0.0.1", acc: "$G", lang: "nats.js", kind: "Client", client_type: "nats", server: server.serverName });
    expect(typeof client.id).toBe("number");
    expect(JSON.parse(String(missing!.body.response))).toMatchObject({ error: { code: 404, err_code: 10059 } });
    await jsm.streams.delete("AUDIT");
  });

  test("stream and consumer created, updated and deleted, with nats-server's field order", async () => {
    const c = collect();
    await nc.flush();
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await jsm.streams.update("S", { subjects: ["s.>", "t.>"] });
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    await jsm.consumers.delete("S", "D");
    await jsm.consumers.add("S", { durable_name: "E", ack_policy: AckPolicy.Explicit });
    await jsm.streams.delete("S");
    const seen = await c.until(7);
    c.sub.unsubscribe();
    expect(seen.map((s) => s.subject)).toEqual([
      "$JS.EVENT.ADVISORY.STREAM.CREATED.S",
      "$JS.EVENT.ADVISORY.STREAM.UPDATED.S",
      "$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.D",
      "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.D",
      "$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.E",
      "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.E",
      "$JS.EVENT.ADVISORY.STREAM.DELETED.S",
    ]);
    expect(seen.map((s) => Object.keys(s.body).join(","))).toEqual([
      "type,id,timestamp,stream,action",
      "type,id,timestamp,stream,action",
      "type,id,timestamp,stream,consumer,action",
      "type,id,timestamp,stream,consumer,action",
      "type,id,timestamp,stream,consumer,action",
      "type,id,timestamp,stream,consumer,action",
      "type,id,timestamp,stream,action",
    ]);
    expect(seen[0]!.body).toMatchObject({ type: "io.nats.jetstream.advisory.v1.stream_action", stream: "S", action: "create" });
    expect(seen[1]!.body).toMatchObject({ action: "modify" });
    expect(seen[2]!.body).toMatchObject({ type: "io.nats.jetstream.advisory.v1.consumer_action", stream: "S", consumer: "D", action: "create" });
    expect(seen[3]!.body).toMatchObject({ action: "delete" });
    for (const s of seen) {
      expect(s.body.id).toMatch(NUID);
      expect(s.body.timestamp).toMatch(TS);
    }
  });

  test("an ephemeral consumer that times out sends CONSUMER.DELETED", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    const c = collect("$JS.EVENT.ADVISORY.CONSUMER.>");
    await nc.flush();
    const ci = await jsm.consumers.add("S", { ack_policy: AckPolicy.Explicit, inactive_threshold: 200_000_000 });
    const seen = await c.until(2, 5000);
    c.sub.unsubscribe();
    expect(seen.map((s) => s.subject)).toEqual([
      `$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.${ci.name}`,
      `$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.${ci.name}`,
    ]);
  });

  test("+TERM sends MSG_TERMINATED with the reason; -NAK sends MSG_NAKED", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await js.publish("s.a", "x");
    await js.publish("s.a", "y");
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit });
    const c = collect("$JS.EVENT.ADVISORY.CONSUMER.>");
    await nc.flush();
    const cons = await js.consumers.get("S", "D");
    const a = (await cons.next({ expires: 1000 }))!;
    a.term("bad payload");
    const b = (await cons.next({ expires: 1000 }))!;
    b.nak();
    const seen = await c.until(2);
    c.sub.unsubscribe();
    expect(seen[0]!.subject).toBe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.D");
    expect(Object.keys(seen[0]!.body)).toEqual(["type", "id", "timestamp", "stream", "consumer", "consumer_seq", "stream_seq", "deliveries", "reason"]);
    expect(seen[0]!.body).toMatchObject({
      type: "io.nats.jetstream.advisory.v1.terminated", stream: "S", consumer: "D", consumer_seq: 1, stream_seq: 1, deliveries: 1, reason: "bad payload",
    });
    expect(seen[1]!.subject).toBe("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.S.D");
    expect(seen[1]!.body).toMatchObject({ type: "io.nats.jetstream.advisory.v1.nak", consumer_seq: 2, stream_seq: 2, deliveries: 1 });
    // A terminated message is not redelivered.
    const next = (await cons.next({ expires: 1000 }))!;
    expect(next.seq).toBe(2);
    next.ack();
  });

  test("a message unacked max_deliver times gets MAX_DELIVERIES at its last ack deadline, no pull needed", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await js.publish("s.a", "poison");
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, ack_wait: 200_000_000, max_deliver: 2 });
    const c = collect("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
    await nc.flush();
    const cons = await js.consumers.get("S", "D");
    expect((await cons.next({ expires: 1000 }))!.info.deliveryCount).toBe(1);
    expect((await cons.next({ expires: 2000 }))!.info.deliveryCount).toBe(2);
    const seen = await c.until(1);
    c.sub.unsubscribe();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.subject).toBe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.D");
    expect(Object.keys(seen[0]!.body)).toEqual(["type", "id", "timestamp", "stream", "consumer", "stream_seq", "deliveries"]);
    expect(seen[0]!.body).toMatchObject({ type: "io.nats.jetstream.advisory.v1.max_deliver", stream: "S", consumer: "D", stream_seq: 1, deliveries: 2 });
    expect(await cons.next({ expires: 1000 })).toBeNull();
    const ci = await jsm.consumers.info("S", "D");
    expect(ci.num_ack_pending).toBe(0);
    expect(ci.num_redelivered).toBe(1);
    expect(ci.ack_floor).toMatchObject({ consumer_seq: 2, stream_seq: 1 }); // as nats-server's checkPending
  });

  test("a NAK past max_deliver sends MAX_DELIVERIES too", async () => {
    await jsm.streams.add({ name: "S", subjects: ["s.>"] });
    await js.publish("s.a", "poison");
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 1 });
    const c = collect("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>");
    await nc.flush();
    const cons = await js.consumers.get("S", "D");
    (await cons.next({ expires: 1000 }))!.nak();
    expect(await cons.next({ expires: 1000 })).toBeNull();
    const seen = await c.until(1);
    c.sub.unsubscribe();
    expect(seen[0]?.body).toMatchObject({ stream_seq: 1, deliveries: 1 });
  });

  test("a stream on the advisory subject captures MAX_DELIVERIES (a dead-letter index)", async () => {
    await jsm.streams.add({ name: "WORK", subjects: ["work.>"], retention: "workqueue" as never });
    await jsm.streams.add({ name: "DLQ", subjects: ["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.WORK.>"] });
    await js.publish("work.x", "poison");
    await jsm.consumers.add("WORK", { durable_name: "W", ack_policy: AckPolicy.Explicit, ack_wait: 100_000_000, max_deliver: 1 });
    const cons = await js.consumers.get("WORK", "W");
    expect((await cons.next({ expires: 1000 }))!.string()).toBe("poison");
    await settle(async () => (await jsm.streams.info("DLQ")).state.messages >= 1, { timeout: 3000, interval: 20 });
    const m = await jsm.streams.getMessage("DLQ", { seq: 1 });
    expect(m!.json()).toMatchObject({ stream: "WORK", consumer: "W", stream_seq: 1, deliveries: 1 });
    // The poison message stays in the work-queue stream, so it can be copied from there.
    expect((await jsm.streams.getMessage("WORK", { seq: 1 }))!.string()).toBe("poison");
  });
});
