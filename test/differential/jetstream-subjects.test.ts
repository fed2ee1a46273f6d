// A stream keeps a published subject's bytes exactly as they came off the wire, as nats-server
// does: ASCII, valid UTF-8 and bytes that are not UTF-8 at all (a lone 0xE9, 0xFF) are stored and
// delivered to a consumer byte for byte, and the publish acks agree. (nats-server 2.9 writes its
// acks as "MSG inbox 1  30": two spaces for the empty reply; gnat writes one.)
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type JetStreamPair, NATS_SERVER, SKIP_REASON, play, type Step } from "./harness.js";
import { startJetStreamPair } from "./harness.js";

const QUIET = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';
/** Subjects in wire form (one char per byte), under a prefix per stream. */
const TAILS = ["plain", "caf\u00c3\u00a9", "\u00e9", "\u00ff.\u00fe", "end"];
const subjects = (storage: string): string[] => TAILS.map((t) => `${storage}.${t}`);

function pub(subject: string, reply: string, body: string): string {
  return `PUB ${subject} ${reply} ${Buffer.byteLength(body, "latin1")}\r\n${body}\r\n`;
}

function transcript(storage: "file" | "memory"): Step[] {
  const stream = `RAW_${storage.toUpperCase()}`;
  const steps: Step[] = [
    { send: `${QUIET}SUB _INBOX.> 1\r\n` },
    { send: pub(`$JS.API.STREAM.CREATE.${stream}`, "_INBOX.create", JSON.stringify({ name: stream, subjects: [`${storage}.>`], storage })), waitFor: "MSG _INBOX.create " },
  ];
  subjects(storage).forEach((s, i) => steps.push({ send: pub(s, `_INBOX.p${i}`, `m${i}`), waitFor: `MSG _INBOX.p${i} ` }));
  steps.push({
    send: pub(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.C`, "_INBOX.consumer", JSON.stringify({ stream_name: stream, config: { durable_name: "C", ack_policy: "none" } })),
    waitFor: "MSG _INBOX.consumer ",
  });
  steps.push({ send: `SUB ${storage}.> 2\r\n${pub(`$JS.API.CONSUMER.MSG.NEXT.${stream}.C`, "_INBOX.next", JSON.stringify({ batch: TAILS.length }))}`, waitFor: `MSG ${storage}.end 1 ` });
  return steps;
}

/** The subjects of the consumer's deliveries, and the publish acks, in order. */
function summary(out: string): { delivered: string[]; acks: string[] } {
  const delivered: string[] = [];
  const acks: string[] = [];
  for (const m of out.matchAll(/(?:H?MSG) (\S+) (\d+) (\S+)(?: \d+)? \d+\r\n/g)) {
    if (m[2] === "1" && m[3]!.startsWith("$JS.ACK.")) delivered.push(m[1]!);
  }
  for (const m of out.matchAll(/MSG _INBOX\.p\d+ 1 +\d+\r\n([^\r]*)\r\n/g)) acks.push(m[1]!);
  return { delivered, acks };
}

const suite = NATS_SERVER ? describe : describe.skip;
if (!NATS_SERVER) console.warn(SKIP_REASON);

suite("JetStream subjects keep their wire bytes (vs nats-server)", () => {
  let pair: JetStreamPair;
  beforeAll(async () => {
    pair = await startJetStreamPair("subjects");
  });
  afterAll(async () => {
    await pair?.stop();
  });

  test.each(["file", "memory"] as const)("%s stream: stored and delivered byte for byte", async (storage) => {
    const natsPort = Number(new URL(pair.natsUrl).port);
    const steps = transcript(storage);
    const [g] = await play(pair.gnat.port, { steps, timeoutMs: 5000 });
    const [n] = await play(natsPort, { steps, timeoutMs: 5000 });
    const gs = summary(g!);
    const ns = summary(n!);
    expect(ns.delivered).toEqual(subjects(storage));
    expect(gs.delivered).toEqual(ns.delivered);
    expect(gs.acks).toEqual(ns.acks);
    expect(gs.acks).toHaveLength(TAILS.length);
  });
});
