// Tested by test/client/kv-obj.test.ts.
// gnat kv add|info|get|put|create|update|del|purge|watch|ls|history: natscli's `nats kv`, on @nats-io/kv. A bucket
// is a stream named KV_<bucket>; `kv ls` lists those, `kv del BUCKET` removes one (asking first).
import type { Command } from "commander";
import type { KV, KvEntry, KvStatus } from "@nats-io/kv";
import { connectionOptions, type ConnectionFlags } from "../connect.js";
import { parseCount } from "../duration.js";
import { ClientError, UsageError } from "../errors.js";
import { ago, bytes, Columns, confirm, count, goDuration, parseBytes, parseChoice, printJson, renderTable, when } from "../ui.js";
import { bodyOrStdin } from "./common.js";
import { api, cap, parseAge, withJetStream, type JsContext } from "./js.js";
import { io } from "../io.js";

interface Common extends ConnectionFlags {
  json?: boolean;
  force?: boolean;
}

/** A value as natscli shows one: the text if it is printable, else base64. */
export function printable(data: Uint8Array): string {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return Buffer.from(data).toString("base64");
  }
  return /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(s) ? Buffer.from(data).toString("base64") : s;
}

const short = (v: string): string => (v.length > 40 ? `${v.slice(0, 15)}...${v.slice(-15)}` : v);

async function openBucket(c: JsContext, bucket: string): Promise<KV> {
  const { Kvm } = await import("@nats-io/kv");
  // Ask for the backing stream first: a missing bucket is the server's "stream not found" now,
  // not a confusing failure later.
  await api(`could not open bucket ${bucket}`, () => c.jsm.streams.info(`KV_${bucket}`));
  return api(`could not open bucket ${bucket}`, () => new Kvm(c.js).open(bucket));
}

function statusText(st: KvStatus): string {
  const si = st.streamInfo;
  const cfg = si.config;
  const cols = new Columns(`Information for Key-Value Store Bucket ${st.bucket} created ${when(si.created)}`);
  cols.section("Configuration");
  cols.row("Bucket Name", st.bucket);
  cols.row("History Kept", st.history);
  cols.row("Values Stored", st.values);
  cols.row("Compressed", st.compression === true);
  cols.row("Backing Store Kind", "JetStream");
  cols.rowIf((cfg.description ?? "") !== "", "Description", cfg.description);
  cols.row("Bucket Size", bytes(si.state.bytes));
  cols.row("Maximum Bucket Size", cfg.max_bytes <= 0 ? "unlimited" : bytes(cfg.max_bytes));
  cols.row("Maximum Value Size", cfg.max_msg_size <= 0 ? "unlimited" : bytes(cfg.max_msg_size));
  cols.row("Maximum Age", cfg.max_age <= 0 ? "unlimited" : goDuration(cfg.max_age));
  cols.row("JetStream Stream", cfg.name);
  cols.row("Storage", cap(cfg.storage));
  if (si.cluster?.name !== undefined && si.cluster.name !== "") {
    cols.section("Cluster Information");
    cols.row("Name", si.cluster.name);
    cols.row("Leader", si.cluster.leader ?? "");
  }
  return cols.toString();
}

const opName = (op: string): string => (op === "DEL" ? "DELETE" : op);

function entryJson(e: KvEntry): Record<string, unknown> {
  return { bucket: e.bucket, key: e.key, revision: e.revision, operation: opName(e.operation), created: e.created.toISOString(), value: printable(e.value) };
}

export function kvCommand(program: Command): void {
  const kv = program.command("kv").description("key-value buckets: add, info, get, put, create, update, del, purge, watch, ls, history");

  connectionOptions(kv.command("add").alias("new")
    .description("create a bucket")
    .argument("<bucket>", "bucket name")
    .option("--history <n>", "how many values to keep per key (1-64)")
    .option("--ttl <duration>", "how long to keep values (e.g. 1h, 7d)")
    .option("--storage <type>", "storage backend: file or memory")
    .option("--replicas <n>", "how many replicas of the data")
    .option("--max-value-size <size>", "largest value (e.g. 1KB)")
    .option("--max-bucket-size <size>", "largest bucket (e.g. 1GB)")
    .option("--description <text>", "a description of the bucket")
    .option("--defaults", "accept the defaults for everything the flags leave out (kv add asks nothing)")
    .option("-j, --json", "print the bucket's status as JSON"))
    .action(async (bucket: string, f: Common & { history?: string; ttl?: string; storage?: string; replicas?: string; maxValueSize?: string; maxBucketSize?: string; description?: string }) => {
      const opts: Record<string, unknown> = {};
      if (f.history !== undefined) {
        opts.history = parseCount(f.history, "--history");
        if ((opts.history as number) > 64) throw new UsageError(`invalid value "${f.history}" for --history: expected 1 to 64`);
      }
      if (f.ttl !== undefined) opts.ttl = Math.round(parseAge(f.ttl, "--ttl") / 1e6);
      if (f.storage !== undefined) opts.storage = parseChoice(f.storage, "--storage", ["file", "memory"] as const, { f: "file", m: "memory" });
      if (f.replicas !== undefined) opts.replicas = parseCount(f.replicas, "--replicas");
      if (f.maxValueSize !== undefined) opts.maxValueSize = parseBytes(f.maxValueSize, "--max-value-size");
      if (f.maxBucketSize !== undefined) opts.max_bytes = parseBytes(f.maxBucketSize, "--max-bucket-size");
      if (f.description !== undefined) opts.description = f.description;
      await withJetStream(f, async ({ js, jsm }) => {
        const { Kvm } = await import("@nats-io/kv");
        // Kvm.create opens a bucket that exists; natscli's add refuses a different configuration
        // only through the server. Say so when it is already there.
        const exists = await jsm.streams.info(`KV_${bucket}`).then(() => true, () => false);
        if (exists) throw new ClientError(`could not create bucket ${bucket}: bucket already exists`);
        const b = await api(`could not create bucket ${bucket}`, () => new Kvm(js).create(bucket, opts));
        const st = await api("", () => b.status());
        if (f.json === true) return printJson(st.streamInfo);
        io().stdout.write(statusText(st));
      });
    });

  connectionOptions(kv.command("info").alias("status")
    .description("a bucket's configuration and state")
    .argument("<bucket>", "bucket name")
    .option("-j, --json", "the backing stream's info as JSON"))
    .action(async (bucket: string, f: Common) => withJetStream(f, async (c) => {
      const b = await openBucket(c, bucket);
      const st = await api("", () => b.status());
      if (f.json === true) return printJson(st.streamInfo);
      io().stdout.write(statusText(st));
    }));

  // put and create: a value into a key (create only if the key is new or was deleted).
  for (const [verb, what] of [["put", "put a value into a key"],
    ["create", "put a value into a key only if the key is new (or was deleted)"]] as const) {
    connectionOptions(kv.command(verb)
      .description(`${what}; the value from stdin when none is given`)
      .argument("<bucket>", "bucket name")
      .argument("<key>", "key")
      .argument("[value]", "the value; stdin when missing"))
      .action(async (bucket: string, key: string, value: string | undefined, f: Common) => {
        const v = await bodyOrStdin(value);
        await withJetStream(f, async (c) => {
          const b = await openBucket(c, bucket);
          await api(`could not ${verb} ${bucket} > ${key}`, () => verb === "put" ? b.put(key, v) : b.create(key, v));
          io().stdout.write(`${v}\n`);
        });
      });
  }

  connectionOptions(kv.command("update")
    .description("put a value into a key only if its last revision is REVISION (compare and set)")
    .argument("<bucket>", "bucket name")
    .argument("<key>", "key")
    .argument("<value>", "the value (- for stdin)")
    .argument("<revision>", "the revision the key must be at"))
    .action(async (bucket: string, key: string, value: string, revision: string, f: Common) => {
      const rev = parseCount(revision, "REVISION");
      const v = await bodyOrStdin(value === "-" ? undefined : value);
      await withJetStream(f, async (c) => {
        const b = await openBucket(c, bucket);
        await api(`could not update ${bucket} > ${key}`, () => b.update(key, v, rev));
        io().stdout.write(`${v}\n`);
      });
    });

  connectionOptions(kv.command("purge")
    .description("delete a key and every value it had (asks first unless -f)")
    .argument("<bucket>", "bucket name")
    .argument("<key>", "key")
    .option("-f, --force", "purge without asking"))
    .action(async (bucket: string, key: string, f: Common) => withJetStream(f, async (c) => {
      const b = await openBucket(c, bucket);
      await confirm(`Purge key ${bucket} > ${key}?`, f.force);
      await api(`could not purge ${bucket} > ${key}`, () => b.purge(key));
    }));

  connectionOptions(kv.command("get")
    .description("print a key's value")
    .argument("<bucket>", "bucket name")
    .argument("<key>", "key")
    .option("--revision <n>", "this revision of the value")
    .option("--raw", "the value alone, as stored")
    .option("-j, --json", "the entry as JSON"))
    .action(async (bucket: string, key: string, f: Common & { revision?: string; raw?: boolean }) => {
      const revision = f.revision === undefined ? undefined : parseCount(f.revision, "--revision");
      await withJetStream(f, async (c) => {
        const b = await openBucket(c, bucket);
        const e = await api(`could not get ${bucket} > ${key}`, () => b.get(key, revision === undefined ? undefined : { revision }));
        if (e === null || (revision === undefined && e.operation !== "PUT")) throw new ClientError(`could not get ${bucket} > ${key}: key not found`);
        if (f.raw === true) return void io().stdout.write(e.value);
        if (f.json === true) return printJson(entryJson(e));
        const pv = printable(e.value);
        let out = `${bucket} > ${key} revision: ${e.revision} created @ ${when(e.created)}\n\n`;
        out += pv.length > 120 ? `Showing first 120 bytes of ${count(pv.length)}, use --raw for full data\n\n${pv.slice(0, 120)}\n` : `${pv}\n`;
        io().stdout.write(`${out}\n`);
      });
    });

  connectionOptions(kv.command("del").alias("rm")
    .description("delete a key, or with no key the whole bucket (asks first unless -f)")
    .argument("<bucket>", "bucket name")
    .argument("[key]", "key; without it, the bucket")
    .option("-f, --force", "delete without asking"))
    .action(async (bucket: string, key: string | undefined, f: Common) => withJetStream(f, async (c) => {
      const b = await openBucket(c, bucket);
      if (key === undefined) {
        await confirm(`Delete bucket ${bucket}?`, f.force);
        await api(`could not delete bucket ${bucket}`, () => b.destroy());
        return;
      }
      await confirm(`Delete key ${bucket} > ${key}?`, f.force);
      await api(`could not delete ${bucket} > ${key}`, () => b.delete(key));
    }));

  connectionOptions(kv.command("watch")
    .description("print changes to a bucket (or keys matching KEY) until interrupted")
    .argument("<bucket>", "bucket name")
    .argument("[key]", "key or wildcard", ">")
    .option("--history", "include the values kept in history")
    .option("--no-deletes", "leave out deletes")
    .option("--updates", "only values written from now on")
    .option("--revision <n>", "start from this revision")
    .option("-j, --json", "one JSON object a line"))
    .action(async (bucket: string, key: string, f: Common & { history?: boolean; deletes: boolean; updates?: boolean; revision?: string }) => {
      if (f.history === true && f.updates === true) throw new UsageError("choose one of --history and --updates");
      const opts: import("@nats-io/kv").KvWatchOptions = { key, ignoreDeletes: !f.deletes };
      if (f.history === true) opts.include = "history";
      if (f.updates === true) opts.include = "updates";
      if (f.revision !== undefined) opts.resumeFromRevision = parseCount(f.revision, "--revision");
      await withJetStream(f, async (c) => {
        const b = await openBucket(c, bucket);
        const w = await api(`could not watch ${bucket}`, () => b.watch(opts));
        // Once the watcher is in place (a script can wait for this line before writing).
        io().stderr.write(`Watching ${bucket} > ${key}\n`);
        const stop = (): void => w.stop();
        io().onInterrupt(stop);
        for await (const e of w) {
          if (f.json === true) io().stdout.write(`${JSON.stringify(entryJson(e))}\n`);
          else if (e.operation === "PUT") io().stdout.write(`[${when(e.created)}] PUT ${bucket} > ${e.key}: ${printable(e.value)}\n`);
          else io().stdout.write(`[${when(e.created)}] ${opName(e.operation)} ${bucket} > ${e.key}\n`);
        }
      });
    });

  connectionOptions(kv.command("ls").alias("list")
    .description("list the buckets, or the keys of a bucket")
    .argument("[bucket]", "list this bucket's keys")
    .option("-n, --names", "the bucket names alone, one a line")
    .option("-j, --json", "as JSON"))
    .action(async (bucket: string | undefined, f: Common & { names?: boolean }) => withJetStream(f, async (c) => {
      if (bucket !== undefined) {
        const b = await openBucket(c, bucket);
        const keys: string[] = [];
        await api(`could not list the keys of ${bucket}`, async () => {
          for await (const k of await b.keys()) keys.push(k);
        });
        keys.sort();
        if (f.json === true) return printJson(keys);
        if (keys.length === 0) return void io().stdout.write(`No keys found in bucket ${bucket}\n`);
        io().stdout.write(keys.map((k) => `${k}\n`).join(""));
        return;
      }
      const { Kvm } = await import("@nats-io/kv");
      const all: KvStatus[] = [];
      await api("could not list buckets", async () => {
        for await (const st of new Kvm(c.js).list()) all.push(st);
      });
      all.sort((a, b) => a.size - b.size || a.bucket.localeCompare(b.bucket));
      if (f.json === true) return printJson(all.map((s) => s.bucket));
      if (f.names === true) return void io().stdout.write(all.map((s) => `${s.bucket}\n`).join(""));
      if (all.length === 0) return void io().stdout.write("No Key-Value buckets found\n");
      io().stdout.write(await renderTable("Key-Value Buckets", ["Bucket", "Description", "Created", "Size", "Values", "Last Update"],
        all.map((s) => [s.bucket, s.streamInfo.config.description ?? "", when(s.streamInfo.created), bytes(s.size), count(s.values),
          s.values === 0 ? "never" : ago(s.streamInfo.state.last_ts)])));
    }));

  connectionOptions(kv.command("history")
    .description("every value a key has had (as many as the bucket keeps)")
    .argument("<bucket>", "bucket name")
    .argument("<key>", "key")
    .option("-j, --json", "as JSON"))
    .action(async (bucket: string, key: string, f: Common) => withJetStream(f, async (c) => {
      const b = await openBucket(c, bucket);
      const entries: KvEntry[] = [];
      await api(`could not read the history of ${bucket} > ${key}`, async () => {
        for await (const e of await b.history({ key })) entries.push(e);
      });
      if (f.json === true) return printJson(entries.map(entryJson));
      if (entries.length === 0) throw new ClientError(`could not read the history of ${bucket} > ${key}: key not found`);
      io().stdout.write(await renderTable(`History for ${bucket} > ${key}`, ["Key", "Revision", "Op", "Created", "Length", "Value"],
        entries.map((e) => [e.key, e.revision, opName(e.operation), when(e.created), count(e.length), short(printable(e.value))])));
    }));
}
