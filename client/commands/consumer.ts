// Tested by test/client/jetstream.test.ts.
// gnat consumer ls|report|info|add|rm|next: natscli's `nats consumer`. add takes natscli's flags
// (--pull, --deliver, --ack, --filter, …) and asks on a terminal for what they leave out unless
// --defaults; next pulls from a pull consumer and acknowledges what it prints (--no-ack not to).
import type { Command } from "commander";
import type { ConsumerConfig, ConsumerInfo } from "@nats-io/jetstream";
import { connectionOptions, timeoutMs, type ConnectionFlags } from "../connect.js";
import { parseCount, parseDuration } from "../duration.js";
import { ClientError, UsageError } from "../errors.js";
import {
  ago, askChoice, askInput, Columns, confirm, count, goDuration, interactive, parseChoice, parseInteger, printJson,
  renderTable, when,
} from "../ui.js";
import { collect } from "./common.js";
import { api, cap, parseAge, splitList, withJetStream } from "./js.js";
import { io } from "../io.js";

interface AddFlags extends ConnectionFlags {
  pull?: boolean;
  target?: string;
  deliverGroup?: string;
  deliver?: string;
  ack?: string;
  filter?: string[];
  replay?: string;
  maxDeliver?: string;
  maxPending?: string;
  maxWaiting?: string;
  wait?: string;
  description?: string;
  ephemeral?: boolean;
  inactiveThreshold?: string;
  headersOnly?: boolean;
  heartbeat?: string;
  flowControl?: boolean;
  replicas?: string;
  memory?: boolean;
  defaults?: boolean;
  json?: boolean;
}

const ACK = ["explicit", "all", "none"] as const;
const REPLAY = ["instant", "original"] as const;

/** natscli's --deliver: all, new, last, subject (last per subject), a sequence, or a duration ago. */
function deliverPolicy(text: string): Partial<ConsumerConfig> {
  const t = text.trim().toLowerCase();
  if (t === "all") return { deliver_policy: "all" as ConsumerConfig["deliver_policy"] };
  if (t === "new") return { deliver_policy: "new" as ConsumerConfig["deliver_policy"] };
  if (t === "last") return { deliver_policy: "last" as ConsumerConfig["deliver_policy"] };
  if (t === "subject" || t === "last_per_subject" || t === "last-per-subject") return { deliver_policy: "last_per_subject" as ConsumerConfig["deliver_policy"] };
  if (/^\d+$/.test(t)) return { deliver_policy: "by_start_sequence" as ConsumerConfig["deliver_policy"], opt_start_seq: parseCount(t, "--deliver") };
  try {
    const ns = parseAge(t, "--deliver");
    if (ns > 0) return { deliver_policy: "by_start_time" as ConsumerConfig["deliver_policy"], opt_start_time: new Date(Date.now() - ns / 1e6).toISOString() };
  } catch {
    // fall through to the usage error below
  }
  throw new UsageError(`invalid value "${text}" for --deliver: expected all, new, last, subject, a sequence or a duration such as 1h`);
}

const policyName = (p: string): string => ({
  all: "All", new: "New", last: "Last", last_per_subject: "Last Per Subject", by_start_sequence: "From Sequence", by_start_time: "Since",
  explicit: "Explicit", none: "None", instant: "Instant", original: "Original",
})[p] ?? cap(p);

/** natscli's "Information for Consumer STREAM > NAME …". */
export function consumerInfoText(ci: ConsumerInfo): string {
  const c = ci.config;
  const cols = new Columns(`Information for Consumer ${ci.stream_name} > ${ci.name} created ${when(ci.created)}`);
  cols.section("Configuration");
  cols.row("Name", ci.name);
  cols.rowIf((c.description ?? "") !== "", "Description", c.description);
  if (c.deliver_subject !== undefined && c.deliver_subject !== "") cols.row("Delivery Subject", c.deliver_subject);
  else cols.row("Pull Mode", true);
  const filters = c.filter_subjects ?? (c.filter_subject !== undefined && c.filter_subject !== "" ? [c.filter_subject] : []);
  cols.rowIf(filters.length === 1, "Filter Subject", filters[0]);
  cols.rowIf(filters.length > 1, "Filter Subjects", filters);
  let deliver = policyName(c.deliver_policy);
  if (c.deliver_policy === "by_start_sequence") deliver = `From Sequence ${c.opt_start_seq}`;
  if (c.deliver_policy === "by_start_time") deliver = `Since ${when(c.opt_start_time ?? "")}`;
  cols.row("Deliver Policy", deliver);
  cols.rowIf((c.deliver_group ?? "") !== "", "Deliver Queue Group", c.deliver_group);
  cols.row("Ack Policy", policyName(c.ack_policy));
  cols.rowIf(c.ack_policy !== "none", "Ack Wait", goDuration(c.ack_wait ?? 0));
  cols.row("Replay Policy", policyName(c.replay_policy));
  cols.rowIf((c.max_deliver ?? -1) > 0, "Maximum Deliveries", c.max_deliver);
  cols.rowIf((c.max_ack_pending ?? -1) > 0, "Max Ack Pending", c.max_ack_pending);
  cols.rowIf((c.max_waiting ?? 0) > 0, "Max Waiting Pulls", c.max_waiting);
  cols.rowIf((c.idle_heartbeat ?? 0) > 0, "Idle Heartbeat", goDuration(c.idle_heartbeat ?? 0));
  cols.rowIf(c.flow_control === true, "Flow Control", true);
  cols.rowIf(c.headers_only === true, "Headers Only", true);
  cols.rowIf((c.inactive_threshold ?? 0) > 0, "Inactive Threshold", goDuration(c.inactive_threshold ?? 0));
  if (ci.cluster?.name !== undefined && ci.cluster.name !== "") {
    cols.section("Cluster Information");
    cols.row("Name", ci.cluster.name);
    cols.row("Leader", ci.cluster.leader ?? "");
  }
  cols.section("State");
  const seq = (s: { consumer_seq: number; stream_seq: number }): string => `Consumer sequence: ${count(s.consumer_seq)} Stream sequence: ${count(s.stream_seq)}`;
  cols.row("Last Delivered Message", seq(ci.delivered));
  cols.row("Acknowledgment Floor", seq(ci.ack_floor));
  cols.row("Outstanding Acks", (c.max_ack_pending ?? -1) > 0 ? `${count(ci.num_ack_pending)} out of maximum ${count(c.max_ack_pending!)}` : count(ci.num_ack_pending));
  cols.row("Redelivered Messages", ci.num_redelivered);
  cols.row("Unprocessed Messages", ci.num_pending);
  if (c.deliver_subject === undefined || c.deliver_subject === "") cols.row("Waiting Pulls", (c.max_waiting ?? 0) > 0 ? `${count(ci.num_waiting)} of maximum ${count(c.max_waiting!)}` : count(ci.num_waiting));
  else cols.row("Active Interest", ci.push_bound === true ? "Active" : "No interest");
  return cols.toString();
}

async function configFromFlags(f: AddFlags, name: string | undefined): Promise<Partial<ConsumerConfig>> {
  const defaults = f.defaults === true;
  const c: Partial<ConsumerConfig> = {};
  if (name !== undefined) {
    c.durable_name = name;
    c.name = name;
  }
  if (f.description !== undefined) c.description = f.description;
  if (f.pull === true && f.target !== undefined) throw new UsageError("--pull and --target cannot be combined");
  let target = f.target;
  if (target === undefined && f.pull !== true) target = await askInput(defaults, "Delivery target (empty for Pull Consumers)", "");
  if (target !== undefined && target !== "") {
    c.deliver_subject = target;
    if (f.deliverGroup !== undefined) c.deliver_group = f.deliverGroup;
    if (f.heartbeat !== undefined) c.idle_heartbeat = Math.round(parseDuration(f.heartbeat, "--heartbeat") * 1e6);
    if (f.flowControl === true) c.flow_control = true;
  } else if (f.deliverGroup !== undefined || f.heartbeat !== undefined || f.flowControl === true) {
    throw new UsageError("--deliver-group, --heartbeat and --flow-control are for push consumers (with --target)");
  }
  Object.assign(c, deliverPolicy(f.deliver ?? await askInput(defaults, "Start policy (all, new, last, subject, 1h, msg sequence)", "all")));
  c.ack_policy = (f.ack !== undefined ? parseChoice(f.ack, "--ack", ACK) : await askChoice(defaults, "Acknowledgment policy", ACK, "explicit")) as ConsumerConfig["ack_policy"];
  c.replay_policy = (f.replay !== undefined ? parseChoice(f.replay, "--replay", REPLAY) : await askChoice(defaults, "Replay policy", REPLAY, "instant")) as ConsumerConfig["replay_policy"];
  const filters = f.filter !== undefined ? splitList(f.filter) : splitList([await askInput(defaults, "Filter Stream by subjects (blank for all)", "")]);
  if (filters.length === 1) c.filter_subject = filters[0]!;
  else if (filters.length > 1) c.filter_subjects = filters;
  if (f.maxDeliver !== undefined) c.max_deliver = parseInteger(f.maxDeliver, "--max-deliver", -1);
  else if (!defaults && interactive()) c.max_deliver = parseInteger(await askInput(false, "Maximum Allowed Deliveries", "-1"), "deliveries", -1);
  if (f.maxPending !== undefined) c.max_ack_pending = parseInteger(f.maxPending, "--max-pending", -1);
  if (f.maxWaiting !== undefined) c.max_waiting = parseCount(f.maxWaiting, "--max-waiting");
  if (f.wait !== undefined) c.ack_wait = Math.round(parseDuration(f.wait, "--wait") * 1e6);
  if (f.inactiveThreshold !== undefined) c.inactive_threshold = Math.round(parseAge(f.inactiveThreshold, "--inactive-threshold"));
  if (f.headersOnly === true) c.headers_only = true;
  if (f.replicas !== undefined) c.num_replicas = parseCount(f.replicas, "--replicas");
  if (f.memory === true) c.mem_storage = true;
  return c;
}

interface Common extends ConnectionFlags {
  json?: boolean;
  force?: boolean;
}

export function consumerCommand(program: Command): void {
  const consumer = program.command("consumer").alias("con").description("JetStream consumer management: ls, info, add, rm, next");

  connectionOptions(consumer.command("ls").alias("list")
    .description("list a stream's consumers")
    .argument("<stream>", "stream name")
    .option("-n, --names", "the names alone, one a line")
    .option("-j, --json", "the names as JSON"))
    .action(async (stream: string, f: Common & { names?: boolean }) => withJetStream(f, async ({ jsm }) => {
      await api(`could not load stream ${stream}`, () => jsm.streams.info(stream));
      const infos: ConsumerInfo[] = [];
      await api(`could not list consumers of ${stream}`, async () => {
        for await (const ci of jsm.consumers.list(stream)) infos.push(ci);
      });
      const names = infos.map((ci) => ci.name).sort();
      if (f.json === true) return printJson(names);
      if (f.names === true) return void io().stdout.write(names.map((n) => `${n}\n`).join(""));
      if (infos.length === 0) return void io().stdout.write("No Consumers defined\n");
      infos.sort((a, b) => a.name.localeCompare(b.name));
      io().stdout.write(await renderTable(`Consumers for Stream ${stream}`,
        ["Name", "Description", "Created", "Ack Pending", "Unprocessed", "Last Delivery"],
        infos.map((ci) => [ci.name, ci.config.description ?? "", when(ci.created), count(ci.num_ack_pending), count(ci.num_pending),
          ci.delivered.stream_seq === 0 ? "never" : ci.delivered.last_active === undefined ? "" : `${ago(ci.delivered.last_active as unknown as string)}`])));
    }));

  connectionOptions(consumer.command("report")
    .description("a table of a stream's consumers: mode, ack policy and wait, ack pending, redelivered, unprocessed, ack floor")
    .argument("<stream>", "stream name")
    .option("-j, --json", "the rows as JSON"))
    .action(async (stream: string, f: Common) => withJetStream(f, async ({ jsm }) => {
      await api(`could not load stream ${stream}`, () => jsm.streams.info(stream));
      const infos: ConsumerInfo[] = [];
      await api(`could not list consumers of ${stream}`, async () => {
        for await (const ci of jsm.consumers.list(stream)) infos.push(ci);
      });
      infos.sort((a, b) => a.name.localeCompare(b.name));
      const rows = infos.map((ci) => ({
        consumer: ci.name,
        mode: ci.config.deliver_subject === undefined || ci.config.deliver_subject === "" ? "Pull" : "Push",
        ack_policy: cap(ci.config.ack_policy),
        ack_wait: goDuration(ci.config.ack_wait ?? 0),
        ack_pending: ci.num_ack_pending,
        redelivered: ci.num_redelivered,
        unprocessed: ci.num_pending,
        ack_floor: ci.ack_floor.stream_seq,
      }));
      if (f.json === true) return printJson(rows);
      if (rows.length === 0) return void io().stdout.write(`No Consumers defined on stream ${stream}\n`);
      io().stdout.write(await renderTable(`Consumer report for ${stream} with ${rows.length} consumer${rows.length === 1 ? "" : "s"}`,
        ["Consumer", "Mode", "Ack Policy", "Ack Wait", "Ack Pending", "Redelivered", "Unprocessed", "Ack Floor"],
        rows.map((r) => [r.consumer, r.mode, r.ack_policy, r.ack_wait, count(r.ack_pending), count(r.redelivered), count(r.unprocessed), count(r.ack_floor)])));
    }));

  connectionOptions(consumer.command("info").alias("nfo")
    .description("a consumer's configuration and state")
    .argument("<stream>", "stream name")
    .argument("<consumer>", "consumer name")
    .option("-j, --json", "the consumer's info as JSON"))
    .action(async (stream: string, name: string, f: Common) => withJetStream(f, async ({ jsm }) => {
      const ci = await api(`could not load consumer ${stream} > ${name}`, () => jsm.consumers.info(stream, name));
      if (f.json === true) return printJson(ci);
      io().stdout.write(consumerInfoText(ci));
    }));

  connectionOptions(consumer.command("add").alias("create")
    .description("create a consumer (asks, on a terminal, for what the flags leave out; --defaults takes the defaults: a pull consumer from the first message, explicit acks)")
    .argument("<stream>", "stream name")
    .argument("[consumer]", "consumer name (asked for when missing, on a terminal; none with --ephemeral)")
    .option("--pull", "a pull consumer (the default)")
    .option("--target <subject>", "a push consumer delivering to this subject")
    .option("--deliver-group <group>", "push: deliver only to subscriptions in this queue group")
    .option("--deliver <policy>", "where to start: all, new, last, subject (last per subject), a sequence, or a duration such as 1h")
    .option("--ack <policy>", "acknowledgment policy: explicit, all or none")
    .option("--filter <subjects>", "only messages on these subjects (repeat, or comma separated)", collect)
    .option("--replay <policy>", "replay policy: instant or original")
    .option("--max-deliver <n>", "maximum deliveries of one message (-1 unlimited)")
    .option("--max-pending <n>", "maximum outstanding acks before deliveries pause")
    .option("--max-waiting <n>", "pull: maximum outstanding pull requests")
    .option("--wait <duration>", "how long to wait for an ack before redelivering")
    .option("--description <text>", "a description of the consumer")
    .option("--ephemeral", "an ephemeral consumer (removed when idle)")
    .option("--inactive-threshold <duration>", "how long an idle ephemeral consumer lives")
    .option("--headers-only", "deliver the headers only, no bodies")
    .option("--heartbeat <duration>", "push: idle heartbeats this often")
    .option("--flow-control", "push: flow control")
    .option("--replicas <n>", "replicas, rather than the stream's")
    .option("--memory", "keep the consumer's state in memory")
    .option("--defaults", "accept the defaults for everything the flags leave out, without asking")
    .option("-j, --json", "print the new consumer's info as JSON"))
    .action(async (stream: string, nameArg: string | undefined, f: AddFlags) => {
      let name = nameArg;
      if (f.ephemeral === true && name !== undefined) throw new UsageError("an --ephemeral consumer has no name");
      if (name === undefined && f.ephemeral !== true) {
        if (f.defaults === true || !interactive()) throw new UsageError("consumer add: missing required argument 'consumer' (or --ephemeral)");
        name = await askInput(false, "Consumer name", "", (v) => (v.trim() === "" ? "a name is required" : true));
      }
      const cfg = await configFromFlags(f, name);
      await withJetStream(f, async ({ jsm }) => {
        const ci = await api(`could not create consumer${name === undefined ? "" : ` ${name}`}`, () => jsm.consumers.add(stream, cfg));
        if (f.json === true) return printJson(ci);
        io().stdout.write(consumerInfoText(ci));
      });
    });

  connectionOptions(consumer.command("rm").alias("delete").alias("del")
    .description("delete a consumer (asks first unless -f)")
    .argument("<stream>", "stream name")
    .argument("<consumer>", "consumer name")
    .option("-f, --force", "delete without asking"))
    .action(async (stream: string, name: string, f: Common) => withJetStream(f, async ({ jsm }) => {
      await api(`could not remove consumer ${stream} > ${name}`, () => jsm.consumers.info(stream, name));
      await confirm(`Really delete Consumer ${stream} > ${name}?`, f.force);
      await api(`could not remove consumer ${stream} > ${name}`, () => jsm.consumers.delete(stream, name));
    }));

  connectionOptions(consumer.command("next")
    .description("pull messages from a pull consumer, print and acknowledge them")
    .argument("<stream>", "stream name")
    .argument("<consumer>", "consumer name")
    .option("--count <n>", "how many messages to pull", "1")
    .option("--no-ack", "do not acknowledge the messages")
    .option("--nak", "negatively acknowledge them (redeliver)")
    .option("--term", "terminate them (never redeliver)")
    .option("-r, --raw", "the bodies alone")
    .option("--wait <duration>", "how long to wait for each message (default --timeout)"))
    .action(async (stream: string, name: string, f: Common & { count: string; ack: boolean; nak?: boolean; term?: boolean; raw?: boolean; wait?: string }) => {
      const n = parseCount(f.count, "--count");
      if ([f.nak, f.term].filter((v) => v === true).length > 1) throw new UsageError("choose one of --nak and --term");
      const wait = Math.max(1000, Math.round(f.wait === undefined ? timeoutMs(f) : parseDuration(f.wait, "--wait")));
      await withJetStream(f, async ({ nc, js, jsm }) => {
        const ci = await api(`could not load consumer ${stream} > ${name}`, () => jsm.consumers.info(stream, name));
        if (ci.config.deliver_subject !== undefined && ci.config.deliver_subject !== "") throw new ClientError(`consumer ${stream} > ${name} is a push consumer: next needs a pull consumer`);
        const c = await api(`could not load consumer ${stream} > ${name}`, () => js.consumers.get(stream, name));
        const dec = new TextDecoder();
        for (let i = 0; i < n; i++) {
          const m = await api(`could not pull from ${stream} > ${name}`, () => c.next({ expires: wait }));
          if (m === null) throw new ClientError(`no message received from ${stream} > ${name} in ${goDuration(wait * 1e6)}${i > 0 ? ` (after ${i})` : ""}`);
          if (f.raw === true) io().stdout.write(`${dec.decode(m.data)}\n`);
          else {
            const t = m.time;
            const hh = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}:${String(t.getSeconds()).padStart(2, "0")}`;
            let out = `[${hh}] subj: ${m.subject} / tries: ${m.info.deliveryCount} / cons seq: ${m.info.deliverySequence} / str seq: ${m.seq} / pending: ${m.info.pending}\n\n`;
            const keys = m.headers?.keys() ?? [];
            if (keys.length > 0) out += `Headers:\n${keys.flatMap((k) => m.headers!.values(k).map((v) => `  ${k}: ${v}\n`)).join("")}\n`;
            io().stdout.write(`${out}${dec.decode(m.data)}\n\n`);
          }
          if (f.term === true) m.term();
          else if (f.nak === true) m.nak();
          else if (f.ack) await api("could not acknowledge the message", () => m.ackAck());
          await nc.flush();
          if (f.raw !== true) {
            const what = f.term === true ? "Terminated message" : f.nak === true ? "NaK'd message" : f.ack ? "Acknowledged message" : "";
            if (what !== "") io().stdout.write(`${what}\n\n`);
          }
        }
      });
    });
}
