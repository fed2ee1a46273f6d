// Differential advisories: the same JetStream actions on nats-server -js and on gnat, the
// $JS.EVENT.ADVISORY.> messages compared by subject, key order and values (id and timestamp
// only by shape). nats-server's API audit advisories (not sent by gnat) are left out.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JetStreamPair, NATS_SERVER, SKIP_REASON, startJetStreamPair } from "./harness.js";

async function scenario(nc: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const sub = nc.subscribe("$JS.EVENT.ADVISORY.>");
  // The last advisory of the scenario; nats-server sends it from another goroutine, sometimes late.
  let lastSeen!: () => void;
  const last = new Promise<void>((r) => (lastSeen = r));
  const reading = (async () => {
    for await (const m of sub) {
      if (m.subject === "$JS.EVENT.ADVISORY.API") continue;
      const body = m.json<Record<string, unknown>>();
      const shown = Object.entries(body).map(([k, v]) => {
        if (k === "id") return `id:${/^[0-9A-Za-z]{22}$/.test(String(v)) ? "nuid" : String(v)}`;
        if (k === "timestamp") return `timestamp:${/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(String(v)) ? "rfc3339" : String(v)}`;
        return `${k}:${JSON.stringify(v)}`;
      });
      out.push(`${m.subject} ${shown.join(" ")}`);
      if (m.subject === "$JS.EVENT.ADVISORY.STREAM.DELETED.S") lastSeen();
    }
  })();
  await nc.flush();
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"], storage: "memory" as never });
  await jsm.streams.update("S", { subjects: ["s.>", "t.>"] });
  await js.publish("s.a", "1");
  await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 1 });
  const c = await js.consumers.get("S", "D");
  (await c.next({ expires: 1000 }))!.nak();
  await c.next({ expires: 1000 }); // nothing more: the NAK went past max_deliver
  await jsm.consumers.delete("S", "D");
  await jsm.consumers.add("S", { durable_name: "E", ack_policy: AckPolicy.Explicit });
  await jsm.streams.delete("S");
  await nc.flush();
  await Promise.race([last, new Promise((r) => setTimeout(r, 5000))]);
  await nc.flush();
  sub.unsubscribe();
  await reading;
  return out;
}

describe.skipIf(NATS_SERVER === null)("advisories against nats-server -js", () => {
  let pair: JetStreamPair;
  let results: { gnat: string[]; nats: string[] };

  beforeAll(async () => {
    pair = await startJetStreamPair("advdiff");
    const [a, b] = await Promise.all([connect({ servers: pair.gnat.url }), connect({ servers: pair.natsUrl })]);
    results = { gnat: await scenario(a), nats: await scenario(b) };
    await Promise.all([a.close(), b.close()]);
  });

  afterAll(() => pair.stop());

  test("the same advisories, subjects and JSON", () => {
    expect(results.nats.length).toBeGreaterThanOrEqual(8);
    // gnat always ends with the stream's deletion. nats-server 2.9 now and then loses that one
    // when the stream still has a consumer (1 in 40 deletes here, on a busy machine): then it is
    // compared without it.
    const deleted = results.gnat.filter((a) => a.startsWith("$JS.EVENT.ADVISORY.STREAM.DELETED.S "));
    expect(deleted).toHaveLength(1);
    expect(results.gnat.at(-1)).toBe(deleted[0]);
    const natsLostIt = !results.nats.some((a) => a.startsWith("$JS.EVENT.ADVISORY.STREAM.DELETED.S "));
    expect(natsLostIt ? results.gnat.slice(0, -1) : results.gnat).toEqual(results.nats);
  });
});

if (NATS_SERVER === null) test.skip(SKIP_REASON, () => {});
