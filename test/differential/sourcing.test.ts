// Differential mirrors, sources and republish: the same requests and publishes to nats-server -js
// (2.9.10, installed) and to gnat, and what each stores and reports compared. Where gnat follows
// 2.10 the test says so and normalises only that: 2.10 writes Nats-Stream-Source as
// "<stream> <seq> <filter> <dest>" (2.9: "<stream> <seq>"; 2.10.29 server/stream.go
// genSourceHeader) and reports a source's filter_subject in stream info (StreamSourceInfo).
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { until } from "../kit/wait.js";
import { type JetStreamPair, NATS_SERVER, startJetStreamPair } from "./harness.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

async function request(nc: NatsConnection, subject: string, body: object): Promise<Json> {
  return (await nc.request(`$JS.API.${subject}`, JSON.stringify(body), { timeout: 2000 })).json<Json>();
}

/** The error part of an API reply, or "ok". */
function outcome(r: Json): Json {
  const e = (r as { error?: Json }).error;
  return e ?? "ok";
}

async function caughtUp(jsm: JetStreamManager, name: string, msgs: number): Promise<StreamInfo> {
  return until(async () => {
    const si = await jsm.streams.info(name);
    return si.state.messages === msgs ? si : null;
  }, { timeout: 5000, interval: 20, what: `${name} holds ${msgs}` });
}

interface Seen {
  errors: Json[];
  mirror: Array<[number, string, string]>;
  mirrorState: [number, number, number];
  source: Array<[string, string, string]>;
  info: Json[];
  republished: Array<Record<string, string>>;
  direct: [string, string];
}

/** The same scenario against one server. */
async function scenario(url: string): Promise<Seen> {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  try {
    const errors: Json[] = [];
    await request(nc, "STREAM.CREATE.O", { name: "O", subjects: ["o.>"], allow_direct: true, max_msg_size: 1000 });
    for (const [subject, body] of [
      ["STREAM.CREATE.M1", { name: "M1", mirror: { name: "O" }, subjects: ["x"] }],
      ["STREAM.CREATE.M2", { name: "M2", mirror: { name: "O" }, sources: [{ name: "O" }] }],
      ["STREAM.CREATE.M3", { name: "M3", mirror: { name: "O" }, max_msg_size: 10 }],
      ["STREAM.CREATE.SELF", { name: "SELF", sources: [{ name: "SELF" }] }],
      ["STREAM.CREATE.R1", { name: "R1", subjects: ["r1.*"], republish: { src: "r1.*", dest: "r1.x" } }],
      ["STREAM.CREATE.CA", { name: "CA", sources: [{ name: "CB" }] }],
      ["STREAM.CREATE.CB", { name: "CB", sources: [{ name: "CA" }] }],
      ["STREAM.CREATE.M", { name: "M", mirror: { name: "O", filter_subject: "o.b" } }],
      ["STREAM.UPDATE.M", { name: "M", mirror: { name: "O" } }],
      ["STREAM.UPDATE.M", { name: "M", mirror: { name: "O", filter_subject: "o.b" }, subjects: ["m"] }],
      ["STREAM.CREATE.S", { name: "S", sources: [{ name: "O", filter_subject: "o.a" }, { name: "NOPE" }] }],
      ["STREAM.CREATE.FULL", { name: "FULL", mirror: { name: "O" } }],
      ["STREAM.CREATE.R", { name: "R", subjects: ["r.*"], republish: { src: "r.*", dest: "rp.{{wildcard(1)}}" } }],
    ] as const) {
      errors.push(outcome(await request(nc, subject, body)));
    }

    for (const s of ["o.a", "o.b", "o.a", "o.b"]) {
      const h = headers();
      h.set("X-Subj", s);
      await js.publish(s, `data ${s}`, { headers: h });
    }
    await caughtUp(jsm, "M", 2);
    await caughtUp(jsm, "S", 2);
    await caughtUp(jsm, "FULL", 4);
    await jsm.streams.purge("O");
    await js.publish("o.b", "after purge");
    await caughtUp(jsm, "M", 3);
    await caughtUp(jsm, "FULL", 5);

    const mirror: Array<[number, string, string]> = [];
    const mi = await jsm.streams.info("M");
    for (let seq = mi.state.first_seq; seq <= mi.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("M", { seq }).catch(() => null);
      if (m !== null) mirror.push([m.seq, m.subject, m.string()]);
    }
    const source: Array<[string, string, string]> = [];
    const si = await jsm.streams.info("S");
    for (let seq = si.state.first_seq; seq <= si.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage("S", { seq });
      // 2.10 adds "<filter> <dest>" after "<stream> <seq>": compared up to there.
      source.push([m.subject, m.string(), (m.header?.get("Nats-Stream-Source") ?? "").split(" ").slice(0, 2).join(" ")]);
    }

    const info: Json[] = [];
    for (const name of ["M", "S", "FULL"]) {
      const r = (await request(nc, `STREAM.INFO.${name}`, {})) as { mirror?: Json; sources?: Json[] };
      const strip = (x: Json): Json => {
        const { active, filter_subject: _f, ...rest } = x as Record<string, Json>;
        return { ...rest, active: typeof active === "number" ? (active >= 0 ? "≥0" : active) : "missing" };
      };
      // nats-server 2.9 lists sources from a map, in no fixed order: they are compared by name.
      const byName = (x: Json, y: Json): number => String((x as Record<string, Json>)["name"]).localeCompare(String((y as Record<string, Json>)["name"]));
      info.push({ mirror: r.mirror === undefined ? null : strip(r.mirror), sources: r.sources === undefined ? null : r.sources.map(strip).sort(byName) });
    }

    const republished: Array<Record<string, string>> = [];
    const sub = nc.subscribe("rp.>", { max: 2 });
    await nc.flush();
    await js.publish("r.a", "one");
    await js.publish("r.a", "two");
    for await (const m of sub) {
      const h: Record<string, string> = { subject: m.subject, data: m.string() };
      for (const k of m.headers?.keys() ?? []) if (k !== "Nats-Time-Stamp") h[k] = m.headers!.get(k);
      republished.push(h);
    }

    // Direct get on the origin's name, answered by the origin or its mirror (mirror_direct).
    const d = await nc.request("$JS.API.DIRECT.GET.O", JSON.stringify({ last_by_subj: "o.b" }), { timeout: 2000 });
    return {
      errors, mirror, source, info, republished,
      mirrorState: [mi.state.first_seq, mi.state.last_seq, mi.state.messages],
      direct: [d.string(), d.headers?.get("Nats-Subject") ?? ""],
    };
  } finally {
    await nc.close();
  }
}

describe.skipIf(NATS_SERVER === null)("mirrors, sources and republish against nats-server -js", () => {
  let pair: JetStreamPair;
  let seen: { gnat: Seen; nats: Seen };

  beforeAll(async () => {
    pair = await startJetStreamPair("srcdiff");
    const [gnat, nats] = await Promise.all([scenario(pair.gnat.url), scenario(pair.natsUrl)]);
    seen = { gnat, nats };
  }, 30_000);

  afterAll(() => pair.stop());

  test("config errors: codes and texts", () => {
    expect(seen.gnat.errors).toEqual(seen.nats.errors);
  });

  test("a filtered mirror keeps the origin's sequences, across a purge of the origin", () => {
    expect(seen.gnat.mirror).toEqual(seen.nats.mirror);
    expect(seen.gnat.mirrorState).toEqual(seen.nats.mirrorState);
    expect(seen.gnat.mirror.map(([seq]) => seq)).toEqual([2, 4, 5]);
  });

  test("a filtered source copies in order with Nats-Stream-Source", () => {
    expect(seen.gnat.source).toEqual(seen.nats.source);
  });

  test("stream info: mirror and sources with lag, active and a missing origin's error", () => {
    expect(seen.gnat.info).toEqual(seen.nats.info);
  });

  test("republish: subject and headers", () => {
    expect(seen.gnat.republished).toEqual(seen.nats.republished);
  });

  test("direct get through the origin's name", () => {
    expect(seen.gnat.direct).toEqual(seen.nats.direct);
  });
});
