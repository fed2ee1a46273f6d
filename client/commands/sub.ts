// Tested by test/client/commands.test.ts (and test/client/stream.test.ts: --stream).
// gnat sub SUBJECT: natscli's `nats sub`. "Subscribing on …" goes to stderr once the server has
// the subscription, so a script (or a test) can wait for it before publishing. With --stream it
// reads a JetStream stream through an ordered consumer (ephemeral, nothing to clean up).
import type { Command } from "commander";
import { connectionOptions, connectWith, type ConnectionFlags } from "../connect.js";
import { parseCount, parseDuration } from "../duration.js";
import { ClientError, UsageError } from "../errors.js";
import { formatMsg } from "./common.js";
import { io } from "../io.js";

interface SubFlags extends ConnectionFlags {
  queue?: string;
  count?: string;
  raw?: boolean;
  headersOnly?: boolean;
  stream?: string;
  all?: boolean;
  new?: boolean;
  last?: boolean;
  lastPerSubject?: boolean;
  startSeq?: string;
  since?: string;
}

export function subCommand(program: Command): void {
  connectionOptions(program.command("sub")
    .description("subscribe to a subject and print the messages")
    .argument("<subject>", "subject (wildcards allowed)")
    .option("--queue <group>", "join this queue group")
    .option("--count <n>", "exit after this many messages")
    .option("-r, --raw", "print the bodies only")
    .option("--headers-only", "print the headers only")
    .option("--stream <name>", "read this JetStream stream (an ordered consumer filtered on SUBJECT)")
    .option("--all", "with --stream: from the first message")
    .option("--new", "with --stream: new messages only (the default)")
    .option("--last", "with --stream: from the last message")
    .option("--last-per-subject", "with --stream: the last message of each subject, then new ones")
    .option("--start-seq <seq>", "with --stream: from this stream sequence")
    .option("--since <duration>", "with --stream: from messages this old (e.g. 1h)"))
    .action(async (subject: string, flags: SubFlags) => {
      const count = flags.count === undefined ? 0 : parseCount(flags.count, "--count");
      if (flags.stream !== undefined) return subStream(subject, flags.stream, count, flags);
      if (flags.all === true || flags.new === true || flags.last === true || flags.lastPerSubject === true || flags.startSeq !== undefined || flags.since !== undefined) {
        throw new UsageError("--all, --new, --last, --last-per-subject, --start-seq and --since need --stream");
      }
      const { nc } = await connectWith(flags);
      const sub = nc.subscribe(subject, {
        ...(flags.queue === undefined ? {} : { queue: flags.queue }),
        ...(count === 0 ? {} : { max: count }),
      });
      await nc.flush();
      io().stderr.write(`Subscribing on ${subject}${flags.queue === undefined ? "" : ` in group ${flags.queue}`}\n`);
      const stop = (): void => void nc.close();
      io().onInterrupt(stop);
      let n = 0;
      for await (const m of sub) {
        n++;
        io().stdout.write(formatMsg(m, n, { raw: flags.raw === true, headersOnly: flags.headersOnly === true }));
      }
      await nc.close();
    });
}

async function subStream(subject: string, stream: string, count: number, flags: SubFlags): Promise<void> {
  const chosen = [flags.all, flags.new, flags.last, flags.lastPerSubject, flags.startSeq !== undefined, flags.since !== undefined].filter((v) => v === true).length;
  if (chosen > 1) throw new UsageError("choose one of --all, --new, --last, --last-per-subject, --start-seq, --since");
  const { DeliverPolicy, jetstream } = await import("@nats-io/jetstream");
  const opts: { filter_subjects: string; deliver_policy: import("@nats-io/jetstream").DeliverPolicy; opt_start_seq?: number; opt_start_time?: string; headers_only?: boolean } = {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.New,
  };
  if (flags.all === true) opts.deliver_policy = DeliverPolicy.All;
  else if (flags.last === true) opts.deliver_policy = DeliverPolicy.Last;
  else if (flags.lastPerSubject === true) opts.deliver_policy = DeliverPolicy.LastPerSubject;
  else if (flags.startSeq !== undefined) {
    opts.deliver_policy = DeliverPolicy.StartSequence;
    opts.opt_start_seq = parseCount(flags.startSeq, "--start-seq");
  } else if (flags.since !== undefined) {
    opts.deliver_policy = DeliverPolicy.StartTime;
    opts.opt_start_time = new Date(Date.now() - parseDuration(flags.since, "--since")).toISOString();
  }
  if (flags.headersOnly === true) opts.headers_only = true;
  const { nc } = await connectWith(flags);
  try {
    const js = jetstream(nc);
    let consumer;
    try {
      consumer = await js.consumers.get(stream, opts);
      // The ordered consumer is made lazily: ask for its info so a missing stream fails here.
      await consumer.info();
    } catch (err) {
      throw new ClientError(`cannot read stream "${stream}": ${describe(err)}`);
    }
    const messages = await consumer.consume();
    io().stderr.write(`Subscribing to JetStream stream "${stream}" on ${subject}\n`);
    const stop = (): void => void messages.stop();
    io().onInterrupt(stop);
    let n = 0;
    for await (const m of messages) {
      n++;
      const title = `[#${n}] Received JetStream message: stream: ${m.info.stream} seq ${m.seq} / subject: ${m.subject} / time: ${m.time.toISOString()}`;
      io().stdout.write(formatMsg(m, n, { raw: flags.raw === true, headersOnly: flags.headersOnly === true, title }));
      if (count > 0 && n >= count) break;
    }
  } finally {
    await nc.close();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
