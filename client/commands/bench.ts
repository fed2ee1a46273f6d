// Tested by test/client/bench.test.ts (and test/client/terminal.test.ts: the progress bar).
// gnat bench SUBJECT: natscli's benchmark in the one-command form its `nats bench` had
// (`--pub N --sub M --msgs X --size S`, `--js`, `--request`/`--reply`, `--csv FILE`), one
// connection per client, a progress bar on a terminal, and a summary of rates, MiB/s and
// latency percentiles per publisher and subscriber.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectionOptions, natsOptions, timeoutMs, type ConnectionFlags } from "../connect.js";
import { parseCount } from "../duration.js";
import { ClientError, describeError, UsageError } from "../errors.js";
import { corePublisher, coreSubscriber, jsPublisher, jsPuller, replier, requester, split, type Progress } from "../bench/run.js";
import { csv, ibytes, report, type Group, type Sample } from "../bench/stats.js";
import { parseBytes, parseChoice } from "../ui.js";
import { jsText } from "./js.js";
import { io } from "../io.js";

interface BenchFlags extends ConnectionFlags {
  pub?: string;
  sub?: string;
  msgs: string;
  size: string;
  js?: boolean;
  request?: boolean;
  reply?: boolean;
  csv?: string;
  progress: boolean;
  pubbatch: string;
  pullbatch: string;
  stream: string;
  consumer: string;
  storage: string;
  replicas: string;
  purge?: boolean;
}

export function benchCommand(program: Command): void {
  connectionOptions(program.command("bench")
    .description("benchmark publishing and subscribing (core or JetStream) or request-reply; a summary of rates and latencies")
    .argument("<subject>", "subject to use")
    .option("--pub <n>", "number of concurrent publishers (requesters with --request; 1 when neither --pub nor --sub)")
    .option("--sub <n>", "number of concurrent subscribers (repliers with --request or --reply)")
    .option("--msgs <n>", "number of messages to publish (split over the publishers; each core subscriber expects all)", "100000")
    .option("--size <size>", "size of each message (128, 1KB, 1MiB …)", "128")
    .option("--js", "JetStream: publish into --stream, consume through a pull consumer")
    .option("--request", "request-reply: the publishers send requests and wait for each reply (the subscribers, if any, reply)")
    .option("--reply", "request-reply: the subscribers only reply, for requesters run elsewhere")
    .option("--csv <file>", "save each client's figures to a CSV file (- for stdout)")
    .option("--no-progress", "no progress bar")
    .option("--pubbatch <n>", "core: messages per flush; JetStream: publishes awaiting acks", "100")
    .option("--pullbatch <n>", "JetStream: messages per pull", "100")
    .option("--stream <name>", "JetStream: the stream to use (created if missing, on SUBJECT)", "benchstream")
    .option("--consumer <name>", "JetStream: the durable pull consumer the subscribers share (removed afterwards)", "gnat-bench")
    .option("--storage <type>", "JetStream: storage of a created stream (file, memory)", "memory")
    .option("--replicas <n>", "JetStream: replicas of a created stream", "1")
    .option("--purge", "JetStream: purge the stream first"))
    .action(async (subject: string, flags: BenchFlags) => runBench(subject, flags));
}

interface Plan {
  pubs: number;
  subs: number;
  msgs: number;
  size: number;
  pubBatch: number;
  pullBatch: number;
  mode: "core" | "js" | "request" | "reply";
}

function plan(flags: BenchFlags): Plan {
  const none = flags.pub === undefined && flags.sub === undefined;
  const p: Plan = {
    pubs: flags.pub === undefined ? (none && flags.reply !== true ? 1 : 0) : parseCount(flags.pub, "--pub", 0),
    subs: flags.sub === undefined ? (none && flags.reply === true ? 1 : 0) : parseCount(flags.sub, "--sub", 0),
    msgs: parseCount(flags.msgs, "--msgs"),
    size: parseBytes(flags.size, "--size"),
    pubBatch: parseCount(flags.pubbatch, "--pubbatch"),
    pullBatch: parseCount(flags.pullbatch, "--pullbatch"),
    mode: flags.js === true ? "js" : flags.request === true ? "request" : flags.reply === true ? "reply" : "core",
  };
  if ([flags.js, flags.request, flags.reply].filter((v) => v === true).length > 1) throw new UsageError("choose one of --js, --request, --reply");
  if (p.size < 0) throw new UsageError(`invalid value "${flags.size}" for --size: expected a size such as 128 or 1KB`);
  if (p.pubs + p.subs === 0) throw new UsageError("nothing to run: give --pub N and/or --sub M");
  if (p.mode === "reply" && p.pubs > 0) throw new UsageError("--reply runs repliers only (--sub M); requesters are --request --pub N");
  if (p.mode === "request" && p.pubs === 0) throw new UsageError("--request needs requesters: --pub N");
  return p;
}

const MODE_TITLE = { core: "Core NATS pub/sub", js: "JetStream publish and pull consume", request: "request-reply", reply: "request-reply (repliers)" } as const;

async function runBench(subject: string, flags: BenchFlags): Promise<void> {
  const p = plan(flags);
  if (p.mode === "js") {
    parseChoice(flags.storage, "--storage", ["file", "memory"] as const);
    parseCount(flags.replicas, "--replicas");
  }
  const timeout = Math.max(1, Math.round(timeoutMs(flags)));
  const { url, options } = await natsOptions(flags);
  const nats = await import("@nats-io/transport-node");
  const conns: NatsConnection[] = [];
  const open = async (name: string): Promise<NatsConnection> => {
    try {
      const nc = await nats.connect({ ...options, name: `gnat bench ${name}` });
      conns.push(nc);
      return nc;
    } catch (err) {
      throw new ClientError(`cannot connect to ${url}: ${describeError(err)}`);
    }
  };
  const progress: Progress = { sent: 0, received: 0 };
  let bar: { stop(): void } | undefined;
  try {
    const first = await open("setup");
    const run = async (start: () => void): Promise<Group[]> => {
      switch (p.mode) {
        case "core": return runCore(subject, p, open, progress, start);
        case "request":
        case "reply": return runRequestReply(subject, p, open, progress, timeout, start);
        case "js": return runJetStream(subject, p, flags, first, open, progress, timeout, start);
      }
    };
    // Said once every client is connected and every subscriber is ready: a requester run elsewhere
    // can start when it sees this.
    const groups = await run(() => {
      io().stderr.write(`Starting ${MODE_TITLE[p.mode]} benchmark [subject=${subject}, msgs=${p.msgs.toLocaleString("en-US")}, size=${ibytes(p.size)}, pubs=${p.pubs}, subs=${p.subs}${p.mode === "js" ? `, stream=${flags.stream}, storage=${flags.storage}` : ""}]\n`);
      if (flags.progress) bar = progressBars(p, progress);
    });
    bar?.stop();
    bar = undefined;
    io().stdout.write(`\n${report(`NATS ${p.mode === "js" ? "JetStream" : p.mode === "core" ? "Pub/Sub" : "Request/Reply"}`, groups)}`);
    if (flags.csv !== undefined) {
      const text = csv(new Date().toISOString(), groups);
      if (flags.csv === "-") io().stdout.write(`\n${text}`);
      else {
        try {
          writeFileSync(flags.csv, text);
        } catch (err) {
          throw new ClientError(`cannot write ${flags.csv}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
        }
        io().stderr.write(`Saved metric data in csv file ${flags.csv}\n`);
      }
    }
  } finally {
    bar?.stop();
    await Promise.all(conns.map((nc) => nc.close().catch(() => {})));
  }
}

type Open = (name: string) => Promise<NatsConnection>;

/** Subscribers first (each ready), then publishers; a subscriber that stops short is an error. */
async function runCore(subject: string, p: Plan, open: Open, progress: Progress, start: () => void): Promise<Group[]> {
  const subs = await Promise.all(Array.from({ length: p.subs }, async (_, i) => coreSubscriber(await open(`sub ${i + 1}`), subject, p.msgs, progress)));
  const pubConns = await Promise.all(Array.from({ length: p.pubs }, (_, i) => open(`pub ${i + 1}`)));
  start();
  const pubs = await Promise.all(split(p.msgs, p.pubs).map((n, i) => corePublisher(pubConns[i]!, subject, n, p.size, p.pubBatch, progress)));
  await Promise.all(subs.map((s, i) => p.pubs === 0 ? s.done : stalled(s.done, () => s.sample.msgs, p.msgs, `subscriber ${i + 1}`, "dropped by the server as a slow consumer?")));
  return [{ label: "Pub", samples: pubs }, { label: "Sub", samples: await Promise.all(subs.map((s) => s.done)) }];
}

/**
 * Resolve with `done`, or fail once the count stops moving for 5 s: messages the server dropped
 * (a slow consumer) never come.
 */
function stalled<T>(done: Promise<T>, count: () => number, expected: number, who: string, why: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let last = -1;
    let since = performance.now();
    const timer = setInterval(() => {
      const n = count();
      if (n !== last) {
        last = n;
        since = performance.now();
      } else if (performance.now() - since >= 5000) {
        clearInterval(timer);
        reject(new ClientError(`${who} received ${n.toLocaleString("en-US")} of ${expected.toLocaleString("en-US")} messages and nothing more for 5s (${why})`));
      }
    }, 250);
    done.then((v) => {
      clearInterval(timer);
      resolve(v);
    }, (e: unknown) => {
      clearInterval(timer);
      reject(e);
    });
  });
}

async function runRequestReply(subject: string, p: Plan, open: Open, progress: Progress, timeout: number, start: () => void): Promise<Group[]> {
  let finish!: () => void;
  const allAnswered = new Promise<void>((r) => (finish = r));
  const shared = { left: p.msgs, finish };
  const repliers = await Promise.all(Array.from({ length: p.subs }, async (_, i) => replier(await open(`reply ${i + 1}`), subject, shared, progress)));
  const reqConns = await Promise.all(Array.from({ length: p.pubs }, (_, i) => open(`request ${i + 1}`)));
  start();
  let reqs: Sample[] = [];
  try {
    reqs = await Promise.all(split(p.msgs, p.pubs).map((n, i) => requester(reqConns[i]!, subject, n, p.size, timeout, progress)));
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (e.name === "NoRespondersError" || /no responders/i.test(e.message ?? "")) throw new ClientError(`no responders available for request on "${subject}"`);
    if (e.name === "TimeoutError" || /timeout/i.test(e.message ?? "")) throw new ClientError(`no reply on "${subject}" within ${timeout}ms`);
    throw err;
  }
  if (p.subs > 0) await allAnswered;
  return [{ label: "Req", samples: reqs }, { label: "Rep", samples: repliers }];
}

async function runJetStream(subject: string, p: Plan, flags: BenchFlags, setup: NatsConnection, open: Open, progress: Progress, timeout: number, start: () => void): Promise<Group[]> {
  const { jetstreamManager, jetstream, AckPolicy, DeliverPolicy, StorageType } = await import("@nats-io/jetstream");
  let jsm;
  try {
    jsm = await jetstreamManager(setup, { timeout });
  } catch (err) {
    throw new ClientError(`JetStream is not available: ${jsText(err)}`);
  }
  const stream = flags.stream;
  try {
    await jsm.streams.info(stream);
  } catch {
    try {
      await jsm.streams.add({ name: stream, subjects: [subject], storage: flags.storage === "file" ? StorageType.File : StorageType.Memory, num_replicas: Number(flags.replicas) });
      io().stderr.write(`Created stream "${stream}" on ${subject} (${flags.storage}); 'gnat stream rm ${stream}' removes it\n`);
    } catch (err) {
      const text = jsText(err);
      // The subject is another stream's already: name that one.
      throw new ClientError(`cannot create stream "${stream}": ${text}${/overlap/i.test(text) ? " (--stream NAME uses an existing stream)" : ""}`);
    }
  }
  if (flags.purge === true) await jsm.streams.purge(stream);
  let consumerMade = false;
  try {
    let finish!: () => void;
    const allConsumed = new Promise<void>((r) => (finish = r));
    const shared = { left: p.msgs, finish };
    const pullers: Promise<Sample>[] = [];
    if (p.subs > 0) {
      // A run stopped before its clean-up (Ctrl-C) leaves its durable behind, perhaps with the
      // other deliver policy: the name is bench's own, so start from a new one.
      await jsm.consumers.delete(stream, flags.consumer).catch(() => {});
      try {
        await jsm.consumers.add(stream, {
          durable_name: flags.consumer,
          ack_policy: AckPolicy.Explicit,
          // Publishing here too: read only what this run publishes; else what the stream holds.
          deliver_policy: p.pubs > 0 ? DeliverPolicy.New : DeliverPolicy.All,
          filter_subject: subject,
          max_ack_pending: Math.max(1000, p.pullBatch * p.subs * 2),
        });
        consumerMade = true;
      } catch (err) {
        throw new ClientError(`cannot create consumer "${flags.consumer}" on stream "${stream}": ${jsText(err)}`);
      }
      for (let i = 0; i < p.subs; i++) {
        const nc = await open(`pull ${i + 1}`);
        const consumer = await jetstream(nc).consumers.get(stream, flags.consumer);
        pullers.push(jsPuller(consumer, p.pullBatch, shared, allConsumed, progress));
      }
    }
    const pubJs = await Promise.all(Array.from({ length: p.pubs }, async (_, i) => jetstream(await open(`js pub ${i + 1}`), { timeout })));
    start();
    let pubs: Sample[];
    try {
      pubs = await Promise.all(split(p.msgs, p.pubs).map((n, i) => jsPublisher(pubJs[i]!, subject, n, p.size, p.pubBatch, progress)));
    } catch (err) {
      throw new ClientError(`cannot publish to "${subject}": ${jsText(err)}`);
    }
    // A stream holding fewer messages than --msgs stalls too: an error rather than a wait forever.
    if (p.subs > 0) await stalled(allConsumed, () => progress.received, p.msgs, "the pull consumers", p.pubs > 0 ? "messages lost?" : "does the stream hold that many?");
    const subs = await Promise.all(pullers);
    return [{ label: "JS Pub", samples: pubs }, { label: "JS Pull", samples: subs }];
  } finally {
    if (consumerMade) await jsm.consumers.delete(stream, flags.consumer).catch(() => {});
  }
}

/** cli-progress bars on stderr, when it is a terminal, updated from the counters every 100 ms. */
function progressBars(p: Plan, progress: Progress): { stop(): void } {
  if (io().stderr.isTTY !== true) return { stop: () => {} };
  let stopped = false;
  let bars: { stop(): void } | undefined;
  void import("cli-progress").then(({ default: cp }) => {
    if (stopped) return;
    const multi = new cp.MultiBar({
      stream: io().stderr,
      format: "{label} [{bar}] {percentage}% | {value}/{total} | {rate} msgs/s",
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    }, cp.Presets.shades_classic);
    const started = performance.now();
    const rate = (n: number): string => Math.round(n / Math.max(0.001, (performance.now() - started) / 1000)).toLocaleString("en-US");
    const pubLabel = p.mode === "request" ? "Requests " : "Published";
    const subLabel = p.mode === "request" || p.mode === "reply" ? "Replied  " : "Received ";
    const subTotal = p.mode === "core" && p.pubs > 0 ? p.msgs * p.subs : p.msgs;
    const pb = p.pubs > 0 ? multi.create(p.msgs, 0, { label: pubLabel, rate: "0" }) : undefined;
    const sb = p.subs > 0 ? multi.create(subTotal, 0, { label: subLabel, rate: "0" }) : undefined;
    const tick = setInterval(() => {
      pb?.update(Math.min(p.msgs, progress.sent), { label: pubLabel, rate: rate(progress.sent) });
      sb?.update(Math.min(subTotal, progress.received), { label: subLabel, rate: rate(progress.received) });
    }, 100);
    bars = {
      stop() {
        clearInterval(tick);
        pb?.update(Math.min(p.msgs, progress.sent), { label: pubLabel, rate: rate(progress.sent) });
        sb?.update(Math.min(subTotal, progress.received), { label: subLabel, rate: rate(progress.received) });
        multi.stop();
      },
    };
  });
  return {
    stop() {
      stopped = true;
      bars?.stop();
      bars = undefined;
    },
  };
}
