// Tested by test/client/kv-obj.test.ts (and test/client/terminal.test.ts: the progress bar).
// gnat obj add|put|get|ls|info|rm: natscli's `nats object`, on @nats-io/obj. Files go up and
// come down as streams of chunks, with a progress bar on stderr (a terminal only) for objects of
// a mebibyte or more; an object or file that would be replaced is asked about unless -f.
import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import type { ObjectInfo, ObjectStore, ObjectStoreStatus } from "@nats-io/obj";
import { connectionOptions, type ConnectionFlags } from "../connect.js";
import { parseCount } from "../duration.js";
import { ClientError, UsageError } from "../errors.js";
import { ago, bytes, Columns, confirm, goDuration, parseBytes, parseChoice, printJson, progressBar, renderTable, span, when } from "../ui.js";
import { buildHeaders, collect } from "./common.js";
import { api, cap, parseAge, withJetStream, type JsContext } from "./js.js";
import { io } from "../io.js";

const LARGE = 1024 * 1024;

interface Common extends ConnectionFlags {
  json?: boolean;
  force?: boolean;
}

async function openStore(c: JsContext, bucket: string): Promise<ObjectStore> {
  const { Objm } = await import("@nats-io/obj");
  await api(`could not open bucket ${bucket}`, () => c.jsm.streams.info(`OBJ_${bucket}`));
  return api(`could not open bucket ${bucket}`, () => new Objm(c.js).open(bucket));
}

function statusText(st: ObjectStoreStatus): string {
  const si = st.streamInfo;
  const cols = new Columns(`Information for Object Store Bucket ${st.bucket} created ${when(si.created)}`);
  cols.section("Configuration");
  cols.row("Bucket Name", st.bucket);
  cols.rowIf((st.description ?? "") !== "", "Description", st.description);
  cols.row("Replicas", st.replicas);
  cols.row("TTL", st.ttl > 0 ? goDuration(st.ttl) : "unlimited");
  cols.row("Sealed", st.sealed);
  cols.row("Size", bytes(st.size));
  cols.row("Maximum Bucket Size", si.config.max_bytes <= 0 ? "unlimited" : bytes(si.config.max_bytes));
  cols.row("Backing Store Kind", "JetStream");
  cols.row("JetStream Stream", si.config.name);
  cols.row("Storage", cap(st.storage));
  return cols.toString();
}

function objectText(bucket: string, o: ObjectInfo): string {
  const cols = new Columns(`Object information for ${bucket} > ${o.name}`);
  cols.rowIf((o.description ?? "") !== "", "Description", o.description);
  cols.row("Size", bytes(o.size));
  cols.row("Modification Time", when(o.mtime));
  cols.row("Chunks", o.chunks);
  cols.row("Digest", o.digest.replace(/^SHA-256=/, "SHA-256 "));
  const keys = o.headers?.keys() ?? [];
  if (keys.length > 0) {
    cols.section("Headers");
    for (const k of keys) cols.row(k, o.headers!.values(k).join(", "));
  }
  return cols.toString();
}

function objectJson(o: ObjectInfo): Record<string, unknown> {
  // The fields by name: nats.js's ObjectInfo is a class of getters.
  const h: Record<string, string[]> = {};
  for (const k of o.headers?.keys() ?? []) h[k] = o.headers!.values(k);
  return {
    bucket: o.bucket, name: o.name, ...(o.description === undefined || o.description === "" ? {} : { description: o.description }),
    size: o.size, chunks: o.chunks, digest: o.digest, mtime: o.mtime, nuid: o.nuid, revision: o.revision, deleted: o.deleted,
    ...(Object.keys(h).length > 0 ? { headers: h } : {}), ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
  };
}

/** A web ReadableStream of `source` that reports the bytes read so far. */
function counted(source: Readable, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  let n = 0;
  const reader = (Readable.toWeb(source) as ReadableStream<Uint8Array>).getReader();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const { value, done } = await reader.read();
      if (done) return ctrl.close();
      n += value.byteLength;
      onBytes(n);
      ctrl.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

export function objCommand(program: Command): void {
  const obj = program.command("obj").alias("object").description("object store buckets: add, put, get, ls, info, rm");

  connectionOptions(obj.command("add")
    .description("create a bucket")
    .argument("<bucket>", "bucket name")
    .option("--ttl <duration>", "how long to keep objects (e.g. 7d)")
    .option("--replicas <n>", "how many replicas of the data")
    .option("--max-bucket-size <size>", "largest bucket (e.g. 1GB)")
    .option("--description <text>", "a description of the bucket")
    .option("--storage <type>", "storage backend: file or memory")
    .option("--defaults", "accept the defaults for everything the flags leave out (obj add asks nothing)")
    .option("-j, --json", "print the bucket's status as JSON"))
    .action(async (bucket: string, f: Common & { ttl?: string; replicas?: string; maxBucketSize?: string; description?: string; storage?: string }) => {
      const opts: Record<string, unknown> = {};
      if (f.ttl !== undefined) opts.ttl = parseAge(f.ttl, "--ttl");
      if (f.replicas !== undefined) opts.replicas = parseCount(f.replicas, "--replicas");
      if (f.maxBucketSize !== undefined) opts.max_bytes = parseBytes(f.maxBucketSize, "--max-bucket-size");
      if (f.description !== undefined) opts.description = f.description;
      if (f.storage !== undefined) opts.storage = parseChoice(f.storage, "--storage", ["file", "memory"] as const, { f: "file", m: "memory" });
      await withJetStream(f, async ({ js, jsm }) => {
        const { Objm } = await import("@nats-io/obj");
        const exists = await jsm.streams.info(`OBJ_${bucket}`).then(() => true, () => false);
        if (exists) throw new ClientError(`could not create bucket ${bucket}: bucket already exists`);
        const os = await api(`could not create bucket ${bucket}`, () => new Objm(js).create(bucket, opts));
        const st = await api("", () => os.status());
        if (f.json === true) return printJson(st.streamInfo);
        io().stdout.write(statusText(st));
      });
    });

  connectionOptions(obj.command("put")
    .description("put a file into a bucket (stdin with --name when no FILE); asks before replacing an object unless -f")
    .argument("<bucket>", "bucket name")
    .argument("[file]", "the file to put; stdin when missing")
    .option("--name <name>", "the object's name (default: the file's name)")
    .option("--description <text>", "a description of the object")
    .option("-H, --header <key:value>", "a header on the object (repeat)", collect)
    .option("--no-progress", "no progress bar")
    .option("-f, --force", "replace an object of that name without asking")
    .option("-j, --json", "print the object's info as JSON"))
    .action(async (bucket: string, file: string | undefined, f: Common & { name?: string; description?: string; header?: string[]; progress: boolean }) => {
      if (file === undefined && f.name === undefined) throw new UsageError("obj put: give a FILE, or --name for stdin");
      let size = 0;
      if (file !== undefined) {
        try {
          const st = statSync(file);
          if (!st.isFile()) throw new UsageError(`obj put: ${file} is not a file`);
          size = st.size;
        } catch (err) {
          if (err instanceof UsageError) throw err;
          throw new ClientError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const name = f.name ?? basename(file!);
      const headers = await buildHeaders(f.header ?? [], 1);
      await withJetStream(f, async (c) => {
        const os = await openStore(c, bucket);
        const existing = await api(`could not put ${name}`, () => os.info(name));
        if (existing !== null && !existing.deleted) await confirm(`Replace existing file ${name} in ${bucket}?`, f.force);
        const bar = await progressBar(size, name, f.progress && size >= LARGE);
        const source = file === undefined ? io().stdin : createReadStream(file);
        try {
          const info = await api(`could not put ${name}`, () => os.put({
            name,
            ...(f.description === undefined ? {} : { description: f.description }),
            ...(headers === undefined ? {} : { headers }),
          }, counted(source, (n) => bar.update(n))));
          bar.stop();
          if (f.json === true) return printJson(objectJson(info));
          io().stdout.write(objectText(bucket, info));
        } finally {
          bar.stop();
        }
      });
    });

  connectionOptions(obj.command("get")
    .description("get an object into a file (-O - for stdout); asks before replacing a file unless -f")
    .argument("<bucket>", "bucket name")
    .argument("<name>", "the object's name")
    .option("-O, --output <file>", "the file to write (default: the object's name, in this folder); - for stdout")
    .option("--no-progress", "no progress bar")
    .option("-f, --force", "replace an existing file without asking"))
    .action(async (bucket: string, name: string, f: Common & { output?: string; progress: boolean }) => {
      const out = f.output ?? basename(name);
      await withJetStream(f, async (c) => {
        const os = await openStore(c, bucket);
        const r = await api(`could not get ${bucket} > ${name}`, () => os.get(name));
        if (r === null) throw new ClientError(`could not get ${bucket} > ${name}: object not found`);
        if (out !== "-" && existsSync(out)) await confirm(`Replace existing file ${out}?`, f.force);
        const started = Date.now();
        const bar = await progressBar(r.info.size, name, f.progress && r.info.size >= LARGE && out !== "-");
        let n = 0;
        try {
          const sink: Writable = out === "-" ? io().stdout : createWriteStream(out);
          const body = Readable.fromWeb(r.data as import("node:stream/web").ReadableStream<Uint8Array>);
          body.on("data", (d: Buffer) => bar.update((n += d.length)));
          await api(`could not write ${out}`, () => pipeline(body, sink, { end: out !== "-" }));
          const err = await r.error;
          if (err !== null && err !== undefined) throw new ClientError(`could not get ${bucket} > ${name}: ${err.message}`);
        } finally {
          bar.stop();
        }
        if (out !== "-") {
          const secs = Math.max(0.001, (Date.now() - started) / 1000);
          io().stderr.write(`Wrote: ${bytes(n)} to ${out} in ${span(Date.now() - started)} average ${bytes(Math.round(n / secs))}/s\n`);
        }
      });
    });

  connectionOptions(obj.command("ls").alias("list")
    .description("list the buckets, or the objects in a bucket")
    .argument("[bucket]", "list this bucket's objects")
    .option("-n, --names", "the names alone, one a line")
    .option("-j, --json", "as JSON"))
    .action(async (bucket: string | undefined, f: Common & { names?: boolean }) => withJetStream(f, async (c) => {
      if (bucket !== undefined) {
        const os = await openStore(c, bucket);
        const list = (await api(`could not list ${bucket}`, () => os.list())).filter((o) => !o.deleted).sort((a, b) => a.name.localeCompare(b.name));
        if (f.json === true) return printJson(list.map(objectJson));
        if (f.names === true) return void io().stdout.write(list.map((o) => `${o.name}\n`).join(""));
        if (list.length === 0) return void io().stdout.write(`No entries found in bucket ${bucket}\n`);
        io().stdout.write(await renderTable("Bucket Contents", ["Name", "Size", "Time"], list.map((o) => [o.name, bytes(o.size), when(o.mtime)])));
        return;
      }
      const { Objm } = await import("@nats-io/obj");
      const all: ObjectStoreStatus[] = [];
      await api("could not list buckets", async () => {
        for await (const st of new Objm(c.js).list()) all.push(st);
      });
      all.sort((a, b) => a.size - b.size || a.bucket.localeCompare(b.bucket));
      if (f.json === true) return printJson(all.map((s) => s.bucket));
      if (f.names === true) return void io().stdout.write(all.map((s) => `${s.bucket}\n`).join(""));
      if (all.length === 0) return void io().stdout.write("No Object Store buckets found\n");
      io().stdout.write(await renderTable("Object Store Buckets", ["Bucket", "Description", "Created", "Size", "Last Update"],
        all.map((s) => [s.bucket, s.description ?? "", when(s.streamInfo.created), bytes(s.size), s.streamInfo.state.messages === 0 ? "never" : ago(s.streamInfo.state.last_ts)])));
    }));

  connectionOptions(obj.command("info")
    .description("a bucket's configuration, or an object's details")
    .argument("<bucket>", "bucket name")
    .argument("[name]", "an object in it")
    .option("-j, --json", "as JSON"))
    .action(async (bucket: string, name: string | undefined, f: Common) => withJetStream(f, async (c) => {
      const os = await openStore(c, bucket);
      if (name === undefined) {
        const st = await api("", () => os.status());
        if (f.json === true) return printJson(st.streamInfo);
        io().stdout.write(statusText(st));
        return;
      }
      const o = await api(`could not load ${bucket} > ${name}`, () => os.info(name));
      if (o === null || o.deleted) throw new ClientError(`could not load ${bucket} > ${name}: object not found`);
      if (f.json === true) return printJson(objectJson(o));
      io().stdout.write(objectText(bucket, o));
    }));

  connectionOptions(obj.command("rm").alias("del")
    .description("delete an object, or with no name the whole bucket (asks first unless -f)")
    .argument("<bucket>", "bucket name")
    .argument("[name]", "the object; without it, the bucket")
    .option("-f, --force", "delete without asking"))
    .action(async (bucket: string, name: string | undefined, f: Common) => withJetStream(f, async (c) => {
      const os = await openStore(c, bucket);
      if (name === undefined) {
        await confirm(`Delete bucket ${bucket}?`, f.force);
        await api(`could not delete bucket ${bucket}`, () => os.destroy());
        return;
      }
      const o = await api(`could not delete ${bucket} > ${name}`, () => os.info(name));
      if (o === null || o.deleted) throw new ClientError(`could not delete ${bucket} > ${name}: object not found`);
      await confirm(`Delete ${name} from ${bucket}?`, f.force);
      await api(`could not delete ${bucket} > ${name}`, () => os.delete(name));
    }));

}
