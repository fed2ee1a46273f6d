// Tested by test/client/jetstream.test.ts (and test/client/terminal.test.ts).
// gnat stream ls|report|info|add|edit|rm|purge|get|view (backup|restore: stream-backup.ts): natscli's `nats stream`, on the JetStream
// manager of @nats-io/jetstream. Readable output by default, --json for scripts; rm, purge and
// edit ask first unless -f; add asks for what its flags leave out, on a terminal, unless --defaults.
import type { Command } from "commander";
import type { StreamConfig, StreamInfo, StreamUpdateConfig } from "@nats-io/jetstream";
import { connectionOptions, type ConnectionFlags } from "../connect.js";
import { parseCount, parseDuration } from "../duration.js";
import { ClientError, UsageError } from "../errors.js";
import {
  ago, askChoice, askInput, bytes, Columns, confirm, count, goDuration, interactive, parseBytes, parseChoice,
  parseInteger, printJson, renderTable, when,
} from "../ui.js";
import { collect } from "./common.js";
import { api, cap, parseAge, splitList, withJetStream } from "./js.js";
import { io } from "../io.js";
import { streamBackupCommands } from "./stream-backup.js";

/** The flags that set a stream's configuration, shared by add and edit; unset means "not given". */
interface StreamConfigFlags {
  subjects?: string[];
  description?: string;
  storage?: string;
  replicas?: string;
  retention?: string;
  discard?: string;
  discardPerSubject?: boolean;
  maxAge?: string;
  maxBytes?: string;
  maxConsumers?: string;
  maxMsgSize?: string;
  maxMsgs?: string;
  maxMsgsPerSubject?: string;
  dupeWindow?: string;
  ack?: boolean;
  allowRollup?: boolean;
  denyDelete?: boolean;
  denyPurge?: boolean;
  allowDirect?: boolean;
  source?: string[];
  mirror?: string;
}

function configFlags(cmd: Command): Command {
  return cmd
    .option("--subjects <subjects>", "subjects the stream consumes (repeat, or comma separated)", collect)
    .option("--description <text>", "a description of the stream")
    .option("--storage <type>", "storage backend: file or memory")
    .option("--replicas <n>", "how many replicas of the data, when clustered")
    .option("--retention <policy>", "retention policy: limits, interest or workq")
    .option("--discard <policy>", "what to discard when full: old or new")
    .option("--discard-per-subject", "discard new messages per subject (with --discard new)")
    .option("--max-age <duration>", "maximum age of messages to keep (1h, 7d, -1 unlimited)")
    .option("--max-bytes <size>", "maximum bytes to keep (512MB, 1GB, -1 unlimited)")
    .option("--max-consumers <n>", "maximum number of consumers (-1 unlimited)")
    .option("--max-msg-size <size>", "maximum size of one message (-1 unlimited)")
    .option("--max-msgs <n>", "maximum number of messages to keep (-1 unlimited)")
    .option("--max-msgs-per-subject <n>", "maximum messages to keep per subject (-1 unlimited)")
    .option("--dupe-window <duration>", "duplicate message tracking window (default 2m)")
    .option("--ack", "acknowledge publishes (the default)")
    .option("--no-ack", "do not acknowledge publishes")
    .option("--allow-rollup", "allow roll-ups with the Nats-Rollup header")
    .option("--no-allow-rollup", "disallow roll-ups")
    .option("--deny-delete", "deny deleting messages through the API")
    .option("--no-deny-delete", "allow deleting messages through the API")
    .option("--deny-purge", "deny purging the stream through the API")
    .option("--no-deny-purge", "allow purging through the API")
    .option("--allow-direct", "allow direct get of stored messages (the default)")
    .option("--no-allow-direct", "disallow direct get")
    .option("--source <stream>", "source messages from this stream (repeat)", collect)
    .option("--mirror <stream>", "mirror this stream completely");
}

const STORAGE = ["file", "memory"] as const;
const RETENTION = ["limits", "interest", "workq"] as const;
const DISCARD = ["old", "new"] as const;

/** The configuration the flags describe; only what was given (for edit), or every default too (for add). */
async function configFromFlags(f: StreamConfigFlags, mode: { add: boolean; defaults: boolean; name: string }): Promise<Partial<StreamConfig>> {
  const c: Partial<StreamConfig> = {};
  const ask = mode.add && !mode.defaults && interactive();
  // The questions natscli asks when a flag is missing (on a terminal, without --defaults).
  if (f.subjects !== undefined) c.subjects = splitList(f.subjects);
  else if (mode.add && f.mirror === undefined) c.subjects = splitList([await askInput(!ask, "Subjects", mode.name)]);
  if (f.description !== undefined) c.description = f.description;
  if (f.storage !== undefined) c.storage = parseChoice(f.storage, "--storage", STORAGE, { f: "file", m: "memory" }) as StreamConfig["storage"];
  else if (mode.add) c.storage = (await askChoice(!ask, "Storage", STORAGE, "file")) as StreamConfig["storage"];
  if (f.replicas !== undefined) c.num_replicas = parseCount(f.replicas, "--replicas");
  else if (mode.add) c.num_replicas = parseCount(await askInput(!ask, "Replication", "1"), "replicas");
  if (f.retention !== undefined) c.retention = parseChoice(f.retention, "--retention", RETENTION, { work: "workq", workqueue: "workq" }) as StreamConfig["retention"];
  else if (mode.add) c.retention = (await askChoice(!ask, "Retention Policy", RETENTION, "limits")) as StreamConfig["retention"];
  if (f.discard !== undefined) c.discard = parseChoice(f.discard, "--discard", DISCARD) as StreamConfig["discard"];
  else if (mode.add) c.discard = (await askChoice(!ask, "Discard Policy", DISCARD, "old")) as StreamConfig["discard"];
  if (f.discardPerSubject !== undefined) c.discard_new_per_subject = f.discardPerSubject;
  if (f.maxMsgs !== undefined) c.max_msgs = parseInteger(f.maxMsgs, "--max-msgs", -1);
  else if (mode.add) c.max_msgs = parseInteger(await askInput(!ask, "Stream Messages Limit", "-1"), "messages limit", -1);
  if (f.maxMsgsPerSubject !== undefined) c.max_msgs_per_subject = parseInteger(f.maxMsgsPerSubject, "--max-msgs-per-subject", -1);
  else if (mode.add) c.max_msgs_per_subject = parseInteger(await askInput(!ask, "Per Subject Messages Limit", "-1"), "per subject limit", -1);
  if (f.maxBytes !== undefined) c.max_bytes = parseBytes(f.maxBytes, "--max-bytes");
  else if (mode.add) c.max_bytes = parseBytes(await askInput(!ask, "Total Stream Size", "-1"), "stream size");
  if (f.maxAge !== undefined) c.max_age = parseAge(f.maxAge, "--max-age");
  else if (mode.add) c.max_age = parseAge(await askInput(!ask, "Message TTL", "-1"), "message TTL");
  if (f.maxMsgSize !== undefined) c.max_msg_size = parseBytes(f.maxMsgSize, "--max-msg-size");
  else if (mode.add) c.max_msg_size = parseBytes(await askInput(!ask, "Max Message Size", "-1"), "message size");
  if (f.dupeWindow !== undefined) c.duplicate_window = Math.round(parseDuration(f.dupeWindow, "--dupe-window") * 1e6);
  else if (mode.add) c.duplicate_window = Math.round(parseDuration(await askInput(!ask, "Duplicate tracking time window", "2m"), "duplicate window") * 1e6);
  if (f.maxConsumers !== undefined) c.max_consumers = parseInteger(f.maxConsumers, "--max-consumers", -1);
  if (f.ack !== undefined) c.no_ack = !f.ack;
  if (f.allowRollup !== undefined) c.allow_rollup_hdrs = f.allowRollup;
  if (f.denyDelete !== undefined) c.deny_delete = f.denyDelete;
  if (f.denyPurge !== undefined) c.deny_purge = f.denyPurge;
  if (f.allowDirect !== undefined) c.allow_direct = f.allowDirect;
  else if (mode.add) c.allow_direct = true;
  if (f.source !== undefined) c.sources = splitList(f.source).map((name) => ({ name }));
  if (f.mirror !== undefined) c.mirror = { name: f.mirror };
  return c;
}

const unlimited = (n: number | undefined, fmt: (n: number) => string): string => (n === undefined || n <= 0 ? "unlimited" : fmt(n));
const retentionName = (r: string): string => ({ limits: "Limits", interest: "Interest", workqueue: "WorkQueue" })[r] ?? r;

/** natscli's "Information for Stream …" (or its state alone). */
export function streamInfoText(info: StreamInfo, stateOnly = false): string {
  const cfg = info.config;
  const cols = new Columns(`${stateOnly ? "State" : "Information"} for Stream ${cfg.name} created ${when(info.created)}`);
  if (!stateOnly) {
    cols.rowIf((cfg.description ?? "") !== "", "Description", cfg.description);
    cols.rowIf((cfg.subjects ?? []).length > 0, "Subjects", cfg.subjects);
    cols.row("Replicas", cfg.num_replicas);
    cols.rowIf(cfg.sealed === true, "Sealed", true);
    cols.row("Storage", cap(cfg.storage));
    cols.section("Options");
    cols.row("Retention", retentionName(cfg.retention));
    cols.row("Acknowledgments", cfg.no_ack !== true);
    cols.row("Discard Policy", cfg.discard_new_per_subject === true ? "New Per Subject" : cap(cfg.discard));
    cols.row("Duplicate Window", goDuration(cfg.duplicate_window ?? 0));
    cols.rowIf(cfg.allow_direct === true, "Direct Get", true);
    cols.row("Allows Msg Delete", cfg.deny_delete !== true);
    cols.row("Allows Purge", cfg.deny_purge !== true);
    cols.row("Allows Rollups", cfg.allow_rollup_hdrs === true);
    cols.section("Limits");
    cols.row("Maximum Messages", unlimited(cfg.max_msgs, count));
    cols.row("Maximum Per Subject", unlimited(cfg.max_msgs_per_subject, count));
    cols.row("Maximum Bytes", unlimited(cfg.max_bytes, bytes));
    cols.row("Maximum Age", unlimited(cfg.max_age, goDuration));
    cols.row("Maximum Message Size", unlimited(cfg.max_msg_size, bytes));
    cols.row("Maximum Consumers", unlimited(cfg.max_consumers, count));
    if (cfg.mirror !== undefined || (cfg.sources ?? []).length > 0) {
      cols.section("Replication");
      if (cfg.mirror !== undefined) cols.row("Mirror", cfg.mirror.name);
      (cfg.sources ?? []).forEach((s, i) => cols.row(i === 0 ? "Sources" : "", s.name));
    }
    const sourced = [...(info.mirror === undefined ? [] : [info.mirror]), ...(info.sources ?? [])];
    if (sourced.length > 0) {
      cols.section(info.mirror !== undefined ? "Mirror Information" : "Source Information");
      for (const s of sourced) {
        cols.row("Stream Name", s.name);
        cols.row("Lag", s.lag);
        cols.row("Last Seen", s.active < 0 ? "never" : goDuration(s.active));
      }
    }
  }
  if (info.cluster?.name !== undefined && info.cluster.name !== "") {
    cols.section("Cluster Information");
    cols.row("Name", info.cluster.name);
    cols.row("Leader", info.cluster.leader ?? "");
    for (const r of info.cluster.replicas ?? []) cols.row("Replica", `${r.name}, ${r.current ? "current" : "outdated"}${r.offline === true ? ", OFFLINE" : ""}, seen ${goDuration(r.active)} ago`);
  }
  const s = info.state;
  cols.section("State");
  cols.row("Messages", s.messages);
  cols.row("Bytes", bytes(s.bytes));
  cols.row("First Sequence", s.messages === 0 ? count(s.first_seq) : `${count(s.first_seq)} @ ${when(s.first_ts)}`);
  cols.row("Last Sequence", s.messages === 0 && s.last_seq === 0 ? count(s.last_seq) : `${count(s.last_seq)} @ ${when(s.last_ts)}`);
  cols.rowIf((s.num_deleted ?? 0) > 0, "Deleted Messages", s.num_deleted);
  cols.row("Active Consumers", s.consumer_count);
  cols.rowIf(s.num_subjects !== undefined, "Number of Subjects", s.num_subjects);
  return cols.toString();
}

interface Common extends ConnectionFlags {
  json?: boolean;
  force?: boolean;
}

export function streamCommand(program: Command): void {
  const stream = program.command("stream").alias("str").description("JetStream stream management: ls, info, add, edit, rm, purge, get, view, backup, restore");

  connectionOptions(stream.command("ls").alias("list")
    .description("list the streams")
    .option("--subject <subject>", "only the streams that consume this subject")
    .option("-n, --names", "the names alone, one a line")
    .option("-a, --all", "include system streams (KV_…, OBJ_…)")
    .option("-j, --json", "the names as JSON"))
    .action(async (f: Common & { subject?: string; names?: boolean; all?: boolean }) => withJetStream(f, async ({ jsm }) => {
      const infos: StreamInfo[] = [];
      await api("could not list streams", async () => {
        for await (const si of jsm.streams.list(f.subject)) infos.push(si);
      });
      const shown = infos.filter((si) => f.all === true || !/^(KV|OBJ)_/.test(si.config.name));
      const names = shown.map((si) => si.config.name).sort();
      if (f.json === true) return printJson(names);
      if (f.names === true) return void io().stdout.write(names.map((n) => `${n}\n`).join(""));
      if (shown.length === 0) {
        io().stdout.write(infos.length > 0 ? "No Streams defined, pass -a to include system streams\n" : "No Streams defined\n");
        return;
      }
      shown.sort((a, b) => a.state.bytes - b.state.bytes || a.config.name.localeCompare(b.config.name));
      io().stdout.write(await renderTable(f.subject === undefined ? "Streams" : `Streams matching ${f.subject}`,
        ["Name", "Description", "Created", "Messages", "Size", "Last Message"],
        shown.map((si) => [si.config.name, si.config.description ?? "", when(si.created), count(si.state.messages), bytes(si.state.bytes), si.state.messages === 0 ? "never" : ago(si.state.last_ts)])));
    }));

  connectionOptions(stream.command("report")
    .description("a table of every stream's storage, consumers, messages, bytes, lost and deleted messages, replicas")
    .option("-a, --all", "include system streams (KV_…, OBJ_…)")
    .option("-j, --json", "the rows as JSON"))
    .action(async (f: Common & { all?: boolean }) => withJetStream(f, async ({ jsm }) => {
      const infos: StreamInfo[] = [];
      if (f.json !== true) io().stderr.write("Obtaining Stream stats\n");
      await api("could not list streams", async () => {
        for await (const si of jsm.streams.list()) infos.push(si);
      });
      const shown = infos.filter((si) => f.all === true || !/^(KV|OBJ)_/.test(si.config.name))
        .sort((a, b) => a.state.bytes - b.state.bytes || a.config.name.localeCompare(b.config.name));
      const rows = shown.map((si) => ({
        stream: si.config.name,
        storage: cap(si.config.storage),
        consumers: si.state.consumer_count,
        messages: si.state.messages,
        bytes: si.state.bytes,
        lost: si.state.lost?.msgs?.length ?? 0,
        deleted: si.state.num_deleted ?? 0,
        replicas: si.config.num_replicas,
      }));
      if (f.json === true) return printJson(rows);
      if (rows.length === 0) return void io().stdout.write("No Streams defined\n");
      io().stdout.write(await renderTable("Stream Report", ["Stream", "Storage", "Consumers", "Messages", "Bytes", "Lost", "Deleted", "Replicas"],
        rows.map((r) => [r.stream, r.storage, count(r.consumers), count(r.messages), bytes(r.bytes), count(r.lost), count(r.deleted), r.replicas])));
    }));

  connectionOptions(stream.command("info").alias("nfo")
    .description("a stream's configuration and state")
    .argument("<stream>", "stream name")
    .option("--state", "the state alone")
    .option("-j, --json", "the stream's info as JSON"))
    .action(async (name: string, f: Common & { state?: boolean }) => withJetStream(f, async ({ jsm }) => {
      const info = await api(`could not load stream ${name}`, () => jsm.streams.info(name));
      if (f.json === true) return printJson(info);
      io().stdout.write(streamInfoText(info, f.state === true));
    }));

  connectionOptions(configFlags(stream.command("add").alias("create")
    .description("create a stream (asks, on a terminal, for what the flags leave out; --defaults takes the defaults)")
    .argument("[stream]", "stream name (asked for when missing, on a terminal)"))
    .option("--defaults", "accept the defaults for everything the flags leave out, without asking")
    .option("-j, --json", "print the new stream's info as JSON"))
    .action(async (nameArg: string | undefined, f: Common & StreamConfigFlags & { defaults?: boolean }) => {
      const defaults = f.defaults === true;
      let name = nameArg;
      if (name === undefined) {
        if (defaults || !interactive()) throw new UsageError("stream add: missing required argument 'stream'");
        name = await askInput(false, "Stream Name", "", (v) => (v.trim() === "" ? "a name is required" : true));
      }
      const cfg = await configFromFlags(f, { add: true, defaults, name });
      await withJetStream(f, async ({ jsm }) => {
        const info = await api(`could not create stream ${name}`, () => jsm.streams.add({ ...cfg, name }));
        if (f.json === true) return printJson(info);
        io().stdout.write(`Stream ${name} was created\n\n${streamInfoText(info)}`);
      });
    });

  connectionOptions(configFlags(stream.command("edit").alias("update")
    .description("change a stream's configuration: the flags given replace those settings")
    .argument("<stream>", "stream name"))
    .option("-f, --force", "edit without asking")
    .option("--dry-run", "show the differences only")
    .option("-j, --json", "print the updated stream's info as JSON"))
    .action(async (name: string, f: Common & StreamConfigFlags & { dryRun?: boolean }) => {
      const change = await configFromFlags(f, { add: false, defaults: true, name });
      if (Object.keys(change).length === 0) throw new UsageError("stream edit: nothing to change (give the settings to change as flags, e.g. --max-msgs 1000)");
      await withJetStream(f, async ({ jsm }) => {
        const before = await api(`could not load stream ${name}`, () => jsm.streams.info(name));
        const cfg = { ...before.config, ...change } as StreamConfig;
        const diff = Object.entries(change)
          .filter(([k, v]) => JSON.stringify((before.config as unknown as Record<string, unknown>)[k]) !== JSON.stringify(v))
          .map(([k, v]) => `  ${k}: ${JSON.stringify((before.config as unknown as Record<string, unknown>)[k] ?? null)} → ${JSON.stringify(v)}`);
        if (diff.length === 0) {
          io().stdout.write(`Stream ${name} already has that configuration\n`);
          return;
        }
        io().stderr.write(`Differences (old → new):\n${diff.join("\n")}\n\n`);
        if (f.dryRun === true) return;
        await confirm(`Really edit Stream ${name}?`, f.force);
        const { name: _n, ...update } = cfg;
        const info = await api(`could not edit stream ${name}`, () => jsm.streams.update(name, update as Partial<StreamUpdateConfig>));
        if (f.json === true) return printJson(info);
        io().stdout.write(`Stream ${name} was updated\n\n${streamInfoText(info)}`);
      });
    });

  connectionOptions(stream.command("rm").alias("delete").alias("del")
    .description("delete a stream and its messages (asks first unless -f)")
    .argument("<stream>", "stream name")
    .option("-f, --force", "delete without asking"))
    .action(async (name: string, f: Common) => withJetStream(f, async ({ jsm }) => {
      // Load it first: a stream that does not exist is said so before any question.
      await api(`could not remove stream ${name}`, () => jsm.streams.info(name));
      await confirm(`Really delete Stream ${name}?`, f.force);
      await api(`could not remove stream ${name}`, () => jsm.streams.delete(name));
    }));

  connectionOptions(stream.command("purge")
    .description("remove messages from a stream, all or some (asks first unless -f)")
    .argument("<stream>", "stream name")
    .option("-f, --force", "purge without asking")
    .option("--subject <subject>", "only the messages on this subject")
    .option("--seq <sequence>", "up to, not including, this sequence")
    .option("--keep <n>", "keep this many of the newest messages")
    .option("-j, --json", "print the stream's info afterwards as JSON"))
    .action(async (name: string, f: Common & { subject?: string; seq?: string; keep?: string }) => {
      const opts: { filter?: string; seq?: number; keep?: number } = {};
      if (f.subject !== undefined) opts.filter = f.subject;
      if (f.seq !== undefined) opts.seq = parseCount(f.seq, "--seq");
      if (f.keep !== undefined) opts.keep = parseCount(f.keep, "--keep", 0);
      if (opts.seq !== undefined && opts.keep !== undefined) throw new UsageError("--seq and --keep cannot be combined when purging");
      await withJetStream(f, async ({ jsm }) => {
        await api(`could not purge stream ${name}`, () => jsm.streams.info(name));
        await confirm(`Really purge Stream ${name}?`, f.force);
        const r = await api(`could not purge stream ${name}`, () => jsm.streams.purge(name, opts as never));
        const info = await api(`could not load stream ${name}`, () => jsm.streams.info(name));
        if (f.json === true) return printJson(info);
        io().stdout.write(`Purged ${count(r.purged)} messages from ${name}\n\n${streamInfoText(info, true)}`);
      });
    });

  connectionOptions(stream.command("get")
    .description("print one stored message, by sequence or the last on a subject")
    .argument("<stream>", "stream name")
    .argument("[id]", "the message's sequence")
    .option("-S, --last-for <subject>", "the last message on this subject")
    .option("-j, --json", "the message as JSON (data base64, as the server sends it)"))
    .action(async (name: string, id: string | undefined, f: Common & { lastFor?: string }) => {
      if ((id === undefined) === (f.lastFor === undefined)) throw new UsageError("stream get: give a sequence or --last-for SUBJECT (one of them)");
      const query = id !== undefined ? { seq: parseCount(id, "sequence") } : { last_by_subj: f.lastFor! };
      await withJetStream(f, async ({ jsm }) => {
        const what = `could not retrieve ${name}#${id ?? f.lastFor}`;
        const m = await api(what, () => jsm.streams.getMessage(name, query));
        if (m === null) throw new ClientError(`${what}: no message found`);
        if (f.json === true) {
          const header: Record<string, string[]> = {};
          for (const k of m.header?.keys() ?? []) header[k] = m.header.values(k);
          return printJson({ subject: m.subject, seq: m.seq, time: m.time.toISOString(), ...(Object.keys(header).length > 0 ? { header } : {}), data: Buffer.from(m.data).toString("base64") });
        }
        let out = `Item: ${name}#${m.seq} received ${when(m.time)} (${ago(m.time)} ago) on Subject ${m.subject}\n\n`;
        const keys = m.header?.keys() ?? [];
        if (keys.length > 0) out += `Headers:\n${keys.flatMap((k) => m.header.values(k).map((v) => `  ${k}: ${v}\n`)).join("")}\n`;
        io().stdout.write(`${out}${new TextDecoder().decode(m.data)}\n`);
      });
    });

  connectionOptions(stream.command("view")
    .description("print a stream's messages a page at a time (on a terminal, asks for the next page)")
    .argument("<stream>", "stream name")
    .argument("[size]", "page size, at most 25", "10")
    .option("--id <sequence>", "start at this sequence")
    .option("--since <duration>", "start with messages this recent (1h, 2d)")
    .option("--subject <subject>", "only messages on this subject")
    .option("--raw", "the bodies alone"))
    .action(async (name: string, sizeArg: string, f: Common & { id?: string; since?: string; subject?: string; raw?: boolean }) => {
      let size = parseCount(sizeArg, "page size");
      if (size > 25) {
        io().stderr.write("Page size is limited to 25, setting to 25...\n");
        size = 25;
      }
      if (f.id !== undefined && f.since !== undefined) throw new UsageError("stream view: --id and --since cannot be combined");
      const opts: Record<string, unknown> = { deliver_policy: "all" };
      if (f.id !== undefined) Object.assign(opts, { deliver_policy: "by_start_sequence", opt_start_seq: parseCount(f.id, "--id") });
      if (f.since !== undefined) Object.assign(opts, { deliver_policy: "by_start_time", opt_start_time: new Date(Date.now() - parseAge(f.since, "--since") / 1e6).toISOString() });
      if (f.subject !== undefined) opts.filter_subjects = f.subject;
      await withJetStream(f, async ({ js, jsm }) => {
        await api(`could not load stream ${name}`, () => jsm.streams.info(name));
        const consumer = await api(`could not view stream ${name}`, () => js.consumers.get(name, opts as never));
        const page = async (consumer: import("@nats-io/jetstream").Consumer): Promise<boolean> => {
          let pending = (await api(`could not view stream ${name}`, () => consumer.info())).num_pending;
          const dec = new TextDecoder();
          while (pending > 0) {
            const batch = await api(`could not view stream ${name}`, () => consumer.fetch({ max_messages: Math.min(size, pending), expires: 5000 }));
            let got = 0;
            for await (const m of batch) {
              got++;
              pending = m.info.pending;
              if (f.raw === true) {
                io().stdout.write(`${dec.decode(m.data)}\n`);
                continue;
              }
              let out = `[${m.seq}] Subject: ${m.subject} Received: ${when(m.time)}\n`;
              const keys = m.headers?.keys() ?? [];
              if (keys.length > 0) out += `\n${keys.flatMap((k) => m.headers!.values(k).map((v) => `  ${k}: ${v}\n`)).join("")}`;
              io().stdout.write(`${out}\n${dec.decode(m.data)}\n\n`);
            }
            if (got === 0) break;
            if (pending === 0) break;
            if (!interactive()) {
              io().stderr.write(`${count(pending)} more: see them with --id or on a terminal\n`);
              return false;
            }
            try {
              await confirm("Next Page?", false);
            } catch {
              return false;
            }
          }
          return true;
        };
        // The ordered consumer goes when done rather than idling on the server for minutes.
        try {
          if (await page(consumer)) io().stderr.write("Reached apparent end of data\n");
        } finally {
          await consumer.delete().catch(() => {});
        }
      });
    });
  streamBackupCommands(stream);
}
