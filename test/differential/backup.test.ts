// Differential stream snapshot and restore: the same API requests to nats-server -js (2.9.10,
// installed) and to gnat, their answers compared field by field — the errors (code, err_code,
// description), the shapes of the snapshot and restore responses, and the end of a restore.
// The snapshot bytes themselves differ by design (nats-server: an s2 tar of its block files;
// gnat: backup-format.ts), so a nats-server snapshot restored on gnat must fail cleanly with
// nats-server's restore error, never crash.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { until } from "../kit/wait.js";
import { restoreSnapshot, takeSnapshot, type Json } from "../jetstream/backup-kit.js";
import { type JetStreamPair, NATS_SERVER, SKIP_REASON, startJetStreamPair } from "./harness.js";

let pair: JetStreamPair;
let gnat: NatsConnection;
let nats: NatsConnection;

beforeAll(async () => {
  if (NATS_SERVER === null) return;
  pair = await startJetStreamPair("backup");
  gnat = await connect({ servers: pair.gnat.url });
  nats = await connect({ servers: pair.natsUrl });
  for (const nc of [gnat, nats]) {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "S", subjects: ["s.>"], storage: "file" as never });
    await jsm.streams.add({ name: "MEM", subjects: ["mem.>"], storage: "memory" as never });
    const js = jetstream(nc);
    for (let i = 0; i < 10; i++) await js.publish(`s.${i % 3}`, `m${i}`);
    await jsm.consumers.add("S", { durable_name: "D", ack_policy: "explicit" as never });
  }
}, 60_000);

afterAll(async () => {
  if (NATS_SERVER === null) return;
  await gnat.close();
  await nats.close();
  await pair.stop();
});

async function api(nc: NatsConnection, subject: string, body: string): Promise<Json> {
  return (await nc.request(`$JS.API.${subject}`, body, { timeout: 5000 })).json<Json>();
}

/** The same request to both: the answers, with the parts that are the server's own (ids, times) masked. */
async function both(subject: string, body: string): Promise<[Json, Json]> {
  const mask = (r: Json): Json => {
    const o: Json = { ...r };
    if (typeof o.deliver_subject === "string" && o.deliver_subject !== "") o.deliver_subject = o.deliver_subject.replace(/\.[0-9A-Za-z]{22}$/, ".<nuid>");
    return o;
  };
  return [mask(await api(gnat, subject, body)), mask(await api(nats, subject, body))];
}

describe.skipIf(NATS_SERVER === null)(`differential stream snapshot and restore ${NATS_SERVER === null ? `(${SKIP_REASON})` : ""}`, () => {
  test.each([
    ["STREAM.SNAPSHOT.S", ""],
    ["STREAM.SNAPSHOT.S", "{}"],
    ["STREAM.SNAPSHOT.NOPE", '{"deliver_subject":"x"}'],
    ["STREAM.SNAPSHOT.NOPE", ""],
    ["STREAM.SNAPSHOT.S", "{"],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":""}'],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":"a..b"}'],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":"x","chunk_size":"big"}'],
    ["STREAM.SNAPSHOT.MEM", '{"deliver_subject":"x"}'],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":"x","chunk_size":1.5}'],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":null}'],
    ["STREAM.SNAPSHOT.S", '{"deliver_subject":"x","no_consumers":"yes"}'],
    ["STREAM.SNAPSHOT.S", "[]"],
    ["STREAM.RESTORE.S", ""],
    ["STREAM.RESTORE.S", "{}"],
    ["STREAM.RESTORE.S", "{"],
    ["STREAM.RESTORE.S", '{"config":5}'],
    ["STREAM.RESTORE.S", "[1]"],
    ["STREAM.RESTORE.NEW", '{"config":null,"state":{"messages":"x"}}'],
    ["STREAM.RESTORE.NEW", '{"config":{"subjects":["new"]},"state":{"messages":-1}}'],
    ["STREAM.RESTORE.NEW", '{"config":{"subjects":["new"]},"state":{"first_ts":"yesterday"}}'],
    ["STREAM.RESTORE.NEW", '{"config":{"subjects":["new"]},"state":7}'],
    ["STREAM.RESTORE.S", '{"config":{"name":"S","subjects":["s.>"]}}'],
    ["STREAM.RESTORE.S", '{"config":{"subjects":["s2.>"]}}'],
    ["STREAM.RESTORE.BAD", '{"config":{"name":"BAD","subjects":["bad"],"retention":"sometimes"}}'],
    ["STREAM.RESTORE.BAD", '{"config":{"name":"BAD","subjects":["bad"],"max_age":-5}}'],
    ["STREAM.RESTORE.BAD", '{"config":{"name":"BAD","subjects":["bad.*.>"],"storage":"file","discard":"new","max_msgs":-7}}'],
  ])("%s %s answers as nats-server does", async (subject, body) => {
    const [g, n] = await both(subject, body);
    expect(g).toEqual(n);
  });

  test("a snapshot's response carries the stream's config and state, as nats-server's", async () => {
    const [g, n] = await Promise.all([takeSnapshot(gnat, "S"), takeSnapshot(nats, "S")]);
    expect(Object.keys(g.response).sort()).toEqual(Object.keys(n.response).sort());
    expect(g.response.type).toBe(n.response.type);
    const keys = (o: unknown): string[] => Object.keys(o as Json).sort();
    expect(keys(g.response.state)).toEqual(keys(n.response.state));
    const pick = (s: unknown): Json => {
      const { messages, first_seq, last_seq, num_subjects, consumer_count } = s as Json;
      return { messages, first_seq, last_seq, num_subjects, consumer_count };
    };
    expect(pick(g.response.state)).toEqual(pick(n.response.state));
    expect((g.response.config as Json).name).toBe("S");
    expect(g.chunks).toBeGreaterThan(0);
    expect(n.chunks).toBeGreaterThan(0);
  });

  test("a restore's request and an empty end answer as nats-server's (the end: restore failed)", async () => {
    const body = '{"config":{"name":"EMPTY","subjects":["empty"],"storage":"file"}}';
    const [g, n] = await both("STREAM.RESTORE.EMPTY", body);
    expect(g).toEqual(n);
    expect(g.deliver_subject).toBe("$JS.SNAPSHOT.RESTORE.EMPTY.<nuid>");
    // The same request again gets a fresh subject; ending it at once is a failed restore on both.
    const ends = await Promise.all([gnat, nats].map(async (nc) => {
      const { final } = await restoreSnapshot(nc, "EMPTY2", { config: { name: "EMPTY2", subjects: ["empty2"], storage: "file" } }, Buffer.alloc(0));
      return final!;
    }));
    const [ge, ne] = ends as [Json, Json];
    expect(ge.type).toBe(ne.type);
    expect(ge.type).toBe("io.nats.jetstream.api.v1.stream_create_response");
    const code = (r: Json): Json => ({ code: (r.error as Json).code, err_code: (r.error as Json).err_code, prefix: String((r.error as Json).description).slice(0, 16) });
    expect(code(ge)).toEqual(code(ne));
  });

  test("a restore whose subjects overlap another stream's is answered, then refused at its end, as nats-server does", async () => {
    const finals = await Promise.all([gnat, nats].map(async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "T", subjects: ["t.>"], storage: "file" as never });
      await jetstream(nc).publish("t.1", "one");
      const snap = await takeSnapshot(nc, "T");
      await jsm.streams.delete("T");
      await jsm.streams.add({ name: "U", subjects: ["t.>"], storage: "file" as never });
      const { response, final } = await restoreSnapshot(nc, "T", { config: snap.response.config }, snap.data);
      expect(response.error).toBeUndefined();
      await jsm.streams.delete("U");
      return final!;
    }));
    expect(finals[0]).toEqual(finals[1]);
    expect((finals[0]!.error as Json).err_code).toBe(10065);
  });

  test("a snapshot restored under another name fails at its end: the names do not match, on both", async () => {
    const finals = await Promise.all([gnat, nats].map(async (nc) => {
      const snap = await takeSnapshot(nc, "S");
      const { response, final } = await restoreSnapshot(nc, "S2", { config: { ...(snap.response.config as Json), name: "S2", subjects: ["s2"] } }, snap.data);
      expect(response.error).toBeUndefined();
      return final!;
    }));
    expect(finals[0]).toEqual(finals[1]);
    expect(finals[0]!.error).toEqual({ code: 500, err_code: 10062, description: "restore failed: stream names do not match" });
  });

  test("a snapshot and a restore send nats-server's advisories: subjects, fields in order, their values' kinds", async () => {
    const seen = await Promise.all([gnat, nats].map(async (nc) => {
      const out: string[] = [];
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.>");
      void (async () => {
        for await (const m of sub) {
          if (!/SNAPSHOT|RESTORE/.test(m.subject)) continue;
          const body = m.json<Json>();
          const kinds = Object.entries(body).map(([k, v]) => {
            if (k === "type" || k === "stream") return `${k}=${String(v)}`;
            if (k === "bytes") return `${k}:${typeof v === "number" && v > 0 ? "positive" : String(v)}`;
            if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return `${k}:time`;
            return `${k}:${v === null ? "null" : Array.isArray(v) ? "array" : typeof v}`;
          });
          out.push(`${m.subject} ${kinds.join(" ")}`);
        }
      })();
      await nc.flush();
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "V", subjects: ["v.>"], storage: "file" as never });
      await jetstream(nc).publish("v.1", "one");
      const snap = await takeSnapshot(nc, "V");
      await jsm.streams.delete("V");
      const { final } = await restoreSnapshot(nc, "V", { config: snap.response.config, state: snap.response.state }, snap.data);
      expect(final!.error).toBeUndefined();
      await until(() => out.length >= 4, { what: "four snapshot and restore advisories" });
      sub.unsubscribe();
      await jsm.streams.delete("V");
      return out;
    }));
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]!.map((l) => l.split(" ")[0])).toEqual([
      "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.V", "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.V",
      "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.V", "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.V",
    ]);
  });

  test("a nats-server snapshot sent to gnat fails the restore with nats-server's restore error, and gnat goes on", async () => {
    const snap = await takeSnapshot(nats, "S");
    expect(snap.data.length).toBeGreaterThan(0);
    const { response, final } = await restoreSnapshot(gnat, "FROMNATS", { config: { ...(snap.response.config as Json), name: "FROMNATS", subjects: ["fromnats"] } }, snap.data);
    expect(response.error).toBeUndefined();
    expect(final!.type).toBe("io.nats.jetstream.api.v1.stream_create_response");
    expect((final!.error as Json).code).toBe(500);
    expect((final!.error as Json).err_code).toBe(10062);
    const jsm = await jetstreamManager(gnat);
    expect((await jsm.streams.info("S")).state.messages).toBe(10);
  });
});
