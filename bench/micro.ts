// Micro benchmarks: parser, sublist match, MSG encoding. Each task first checks that what it
// times is correct (a fast wrong answer is no result), then tinybench times it.
// Run: npm run bench   (or: node dist/bench/micro.js --time 1000)
import { Bench } from "tinybench";
import { msgHeaderLength, writeMsgHeader } from "../protocol/encode.js";
import { Parser, type ParserHandler } from "../protocol/parser.js";
import { InternTable } from "../protocol/intern.js";
import { copyWords, viewOf } from "../protocol/bytes.js";
import { Sublist } from "../server/core/sublist.js";
import { Router, Subscription, type Client } from "../server/core/router.js";

interface Row { name: string; opsPerSec: number; unit: string; perOp: number; extra: string }

const args = process.argv.slice(2);
const timeMs = Number(args[args.indexOf("--time") + 1]) || 500;

/** A handler that counts and checksums what the parser hands on. */
class CountingHandler implements ParserHandler {
  pubs = 0;
  bytes = 0;
  subjectChars = 0;
  onConnect(): void {}
  onInfo(): void {}
  onPub(subject: string, _reply: string, _hdrLen: number, _buf: Buffer, start: number, end: number): void {
    this.pubs++;
    this.bytes += end - start;
    this.subjectChars += subject.length;
  }
  onInvalidPublishSubject(): void {}
  onSub(): void {}
  onUnsub(): void {}
  onPing(): void {}
  onPong(): void {}
  onErr(): void {}
  onParseError(kind: number, detail: string): void {
    throw new Error(`parse error ${kind}: ${detail}`);
  }
}

/** A realistic client stream: mostly small PUBs, some with replies, some HPUBs. */
function pubStream(target: number): { buf: Buffer; pubs: number } {
  const parts: string[] = [];
  let size = 0;
  let pubs = 0;
  const payload16 = "0123456789abcdef";
  const payload128 = "p".repeat(128);
  for (let i = 0; size < target; i++) {
    let s: string;
    switch (i % 8) {
      case 0: s = `PUB orders.eu.${i % 100} _INBOX.abc.${i % 10} 128\r\n${payload128}\r\n`; break;
      case 1: s = `HPUB events.audit 22 38\r\nNATS/1.0\r\nX-Id: 12\r\n\r\n${payload16}\r\n`; break;
      default: s = `PUB sensor.temp.${i % 50} 16\r\n${payload16}\r\n`;
    }
    parts.push(s);
    size += s.length;
    pubs++;
  }
  return { buf: Buffer.from(parts.join(""), "latin1"), pubs };
}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

interface Sub { subject: string; queue: string; id: number }

function buildSublist(n: number, cacheMax: number): Sublist<Sub> {
  const l = new Sublist<Sub>(cacheMax);
  for (let i = 0; i < n; i++) {
    // 10k subscriptions: mostly literal, some `*` and `>` wildcards, as a busy server has.
    const subject = i % 10 === 0 ? `svc.${i % 1000}.*` : i % 25 === 1 ? `svc.${i % 1000}.>` : `svc.${i % 1000}.${i}`;
    l.insert({ subject, queue: "", id: i });
  }
  return l;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const bench = new Bench({ time: timeMs, warmup: true });

  // --- parser --------------------------------------------------------------------------------
  const stream = pubStream(4 * 1024 * 1024);
  const inChunks = chunks(stream.buf, 64 * 1024);
  {
    const check = new CountingHandler();
    const p = new Parser(check, { maxPayload: 1 << 20 });
    p.headers = true;
    for (const c of inChunks) p.parse(c);
    if (check.pubs !== stream.pubs) throw new Error(`parser check: ${check.pubs} pubs, want ${stream.pubs}`);
  }
  const intern = new InternTable(4096); // as a server shares one across its connections
  bench.add("parser: 4 MiB PUB/HPUB stream in 64 KiB reads", () => {
    const h = new CountingHandler();
    const p = new Parser(h, { maxPayload: 1 << 20, intern });
    p.headers = true;
    for (const c of inChunks) p.parse(c);
    if (h.pubs !== stream.pubs) throw new Error("parser lost messages");
  });

  // Publish-only as the load benchmark sends it, and 10k subjects round-robin: with a table
  // too small for them every PUB allocated its subject string.
  const pubOnly = Buffer.from("PUB bench.pub 16\r\n0123456789abcdef\r\n".repeat(20_000), "latin1");
  const pubOnlyChunks = chunks(pubOnly, 64 * 1024);
  const rr = Array.from({ length: 10_000 }, (_, i) => `s.${10_000 + i}`);
  const rrStream = Buffer.from(rr.map((s) => `PUB ${s} 16\r\n0123456789abcdef\r\n`).join(""), "latin1");
  const rrChunks = chunks(rrStream, 64 * 1024);
  const parseAll = (cs: Buffer[], want: number, table: InternTable): void => {
    const h = new CountingHandler();
    const p = new Parser(h, { maxPayload: 1 << 20, intern: table });
    for (const c of cs) p.parse(c);
    if (h.pubs !== want) throw new Error(`parser check: ${h.pubs} pubs, want ${want}`);
  };
  parseAll(pubOnlyChunks, 20_000, new InternTable(4096));
  parseAll(rrChunks, rr.length, new InternTable(4096));
  const rrIntern = new InternTable(4096);
  bench.add("parser: 20k × PUB bench.pub 16", () => parseAll(pubOnlyChunks, 20_000, intern));
  bench.add("parser: 10k subjects round-robin", () => parseAll(rrChunks, rr.length, rrIntern));

  // --- sublist -------------------------------------------------------------------------------
  const subjects = Array.from({ length: 1000 }, (_, i) => `svc.${i}.${i + 1000 * (i % 3)}`);
  const cached = buildSublist(10_000, 4096);
  const uncached = buildSublist(10_000, 4096);
  {
    // Each subject matches its `*` subscription, maybe a `>`, and maybe its literal one.
    for (const s of subjects) {
      const a = cached.match(s).psubs.length;
      const b = uncached.matchUncached(s).psubs.length;
      if (a !== b || a < 1) throw new Error(`sublist check failed for ${s}: ${a} vs ${b}`);
    }
  }
  // 10k literal subscriptions, matched round-robin through the default cache (nats-server's
  // 10k-subject case); the subjects are the same strings each time, as the intern table gives.
  // Literal subscriptions only use the literal index; one wildcard elsewhere sends them through
  // the cache.
  for (const wild of [false, true]) {
    const rrList = new Sublist<Sub>();
    if (wild) rrList.insert({ subject: "other.>", queue: "", id: -1 });
    rr.forEach((subject, id) => rrList.insert({ subject, queue: "", id }));
    for (const s of rr) if (rrList.match(s).psubs.length !== 1) throw new Error(`sublist check failed for ${s}`);
    bench.add(`sublist: 10k subjects round-robin, 10k subs${wild ? " + 1 wildcard (cache)" : " (literal index)"}`, () => {
      let n = 0;
      for (let i = 0; i < rr.length; i++) n += rrList.match(rr[i]!).psubs.length;
      if (n !== rr.length) throw new Error("lost matches");
    });
  }
  bench.add("sublist: 1000 matches, 10k subs, cached", () => {
    let n = 0;
    for (let i = 0; i < subjects.length; i++) n += cached.match(subjects[i]!).psubs.length;
    if (n === 0) throw new Error("no matches");
  });
  bench.add("sublist: 1000 matches, 10k subs, uncached", () => {
    let n = 0;
    for (let i = 0; i < subjects.length; i++) n += uncached.matchUncached(subjects[i]!).psubs.length;
    if (n === 0) throw new Error("no matches");
  });

  // --- parser → router ----------------------------------------------------------------------
  // What a publishing connection costs the server before any write: parse, intern, match, and
  // deliveries to a client that only counts them. Publish-only has no subscribers; the 10k case
  // has one subscription per subject.
  const routed = (cs: Buffer[], want: number, withSubs: boolean): (() => void) => {
    const router = new Router();
    let delivered = 0;
    const sink: Client = {
      cid: 1, echo: true, noResponders: false, deliver: () => ++delivered > 0,
      congested: false, holdProducer: () => {}, stallTtl: () => 0, stallOn: () => {}, release: () => {},
    };
    if (withSubs) rr.forEach((s, i) => router.subscribe(new Subscription(sink, s, "", String(i))));
    const h = new CountingHandler();
    h.onPub = (subject, reply, hdrLen, buf, start, end): void => {
      h.pubs++;
      router.publish(sink, subject, reply, hdrLen, buf, start, end);
    };
    const p = new Parser(h, { maxPayload: 1 << 20, intern: new InternTable(4096) });
    return () => {
      h.pubs = 0;
      delivered = 0;
      for (const c of cs) p.parse(c);
      if (h.pubs !== want || delivered !== (withSubs ? want : 0)) throw new Error(`routed: ${h.pubs} pubs, ${delivered} deliveries`);
    };
  };
  const routedPubOnly = routed(pubOnlyChunks, 20_000, false);
  const routed10k = routed(rrChunks, rr.length, true);
  routedPubOnly();
  routed10k();
  bench.add("parser → router: 20k × PUB bench.pub 16, no subscribers", routedPubOnly);
  bench.add("parser → router: 10k subjects round-robin, 10k subs", routed10k);

  // --- encoder -------------------------------------------------------------------------------
  const out = Buffer.allocUnsafe(1 << 20);
  const outView = viewOf(out);
  const payload = Buffer.from("0123456789abcdef\r\n");
  const payloadView = viewOf(payload);
  const encodeBatch = (): number => {
    let off = 0;
    for (let i = 0; i < 1000; i++) {
      off = writeMsgHeader(out, off, "sensor.temp.42", "17", i % 4 === 0 ? "_INBOX.abc.7" : "", -1, 16);
      off = copyWords(out, outView, off, payload, payloadView, 0, payload.length);
    }
    return off;
  };
  {
    const len = encodeBatch();
    const first = out.toString("latin1", 0, msgHeaderLength("sensor.temp.42", "17", "_INBOX.abc.7", -1, 16) + 18);
    if (first !== "MSG sensor.temp.42 17 _INBOX.abc.7 16\r\n0123456789abcdef\r\n") throw new Error(`encoder check: ${JSON.stringify(first)}`);
    if (len <= 0) throw new Error("encoder wrote nothing");
  }
  bench.add("encoder: 1000 MSG frames (16 B payload)", () => {
    encodeBatch();
  });

  await bench.run();

  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`);
    const perRun = r.period; // ms
    if (task.name.startsWith("parser")) { // parser and parser → router: per message
      const [pubs, bytes] = task.name.includes("20k") ? [20_000, pubOnly.length] : task.name.includes("10k") ? [rr.length, rrStream.length]
        : [stream.pubs, stream.buf.length];
      rows.push({ name: task.name, opsPerSec: pubs / (perRun / 1000), unit: "msgs/s", perOp: (perRun * 1e6) / pubs,
        extra: `${(bytes / 1048576 / (perRun / 1000)).toFixed(0)} MiB/s` });
    } else {
      const ops = task.name.includes("10k subjects") ? rr.length : 1000;
      rows.push({ name: task.name, opsPerSec: ops / (perRun / 1000), unit: "ops/s", perOp: (perRun * 1e6) / ops, extra: "" });
    }
  }
  console.log(`\nMicro benchmarks (node ${process.version}, tinybench, ${timeMs} ms per task)\n`);
  console.log("| benchmark | rate | ns/op | |");
  console.log("|---|---:|---:|---|");
  for (const r of rows) {
    console.log(`| ${r.name} | ${(r.opsPerSec / 1e6).toFixed(2)} M ${r.unit} | ${r.perOp.toFixed(1)} | ${r.extra} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
