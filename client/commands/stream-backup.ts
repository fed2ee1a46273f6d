// Tested by test/client/stream-backup.test.ts.
// gnat stream backup <stream> <dir> | gnat stream restore <dir>: natscli's, over the server's
// snapshot and restore API. The directory holds what natscli (jsm.go) writes: backup.json (the
// stream's config and state as the snapshot response gave them) and the snapshot's bytes as the
// server sent them — stream.tar.gz for gnat's snapshots (gzip), stream.tar.s2 for nats-server's,
// so a backup restores onto the same kind of server it came from, natscli's directories included.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { connectionOptions, type ConnectionFlags } from "../connect.js";
import { ClientError, UsageError } from "../errors.js";
import { bytes, count, parseBytes, printJson } from "../ui.js";
import { withJetStream } from "./js.js";
import { io } from "../io.js";

const META = "backup.json";
const GZIP_DATA = "stream.tar.gz";
const S2_DATA = "stream.tar.s2";
/** jsm.go sends a restore in chunks of this size. */
const RESTORE_CHUNK = 512 * 1024;

type Json = Record<string, unknown>;

function errorText(r: Json): string | null {
  const e = r.error as { description?: string; err_code?: number } | undefined;
  return e === undefined ? null : `${e.description ?? "error"}${e.err_code !== undefined ? ` (${e.err_code})` : ""}`;
}

async function request(nc: NatsConnection, subject: string, body: Uint8Array | string, timeout: number): Promise<Json> {
  const m = await nc.request(subject, body, { timeout });
  const text = new TextDecoder().decode(m.data);
  if (text.startsWith("-ERR")) throw new ClientError(`restore failed: ${text}`);
  return text === "" ? {} : (JSON.parse(text) as Json);
}

/** Take a snapshot of `stream` into `dir`; resolves with what was written. */
async function backup(nc: NatsConnection, stream: string, dir: string, opts: { consumers: boolean; check: boolean; chunkSize: number }): Promise<{ file: string; size: number; chunks: number; response: Json }> {
  mkdirSync(dir, { recursive: true });
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const req: Json = { deliver_subject: inbox, no_consumers: !opts.consumers, chunk_size: opts.chunkSize };
  if (opts.check) req.jsck = true;
  const response = await request(nc, `$JS.API.STREAM.SNAPSHOT.${stream}`, JSON.stringify(req), 10_000);
  const failed = errorText(response);
  if (failed !== null) {
    sub.unsubscribe();
    throw new ClientError(`could not back up stream ${stream}: ${failed}`);
  }
  const partial = join(dir, "stream.tar.partial");
  const fd = openSync(partial, "w");
  let size = 0;
  let chunks = 0;
  let file = GZIP_DATA;
  try {
    for await (const m of sub) {
      if (m.data.length === 0) break;
      // gzip's magic: gnat's snapshot; anything else is nats-server's s2 stream.
      if (chunks === 0) file = m.data[0] === 0x1f && m.data[1] === 0x8b ? GZIP_DATA : S2_DATA;
      writeSync(fd, m.data);
      size += m.data.length;
      chunks++;
      if (m.reply !== undefined && m.reply !== "") m.respond();
    }
  } finally {
    closeSync(fd);
    sub.unsubscribe();
  }
  renameSync(partial, join(dir, file));
  writeFileSync(join(dir, META), `${JSON.stringify({ config: response.config, state: response.state }, null, 2)}\n`);
  return { file, size, chunks, response };
}

/** Restore the backup in `dir`; resolves with the server's final stream create response. */
async function restore(nc: NatsConnection, dir: string, configFile: string | undefined, timeout: number): Promise<{ name: string; final: Json; size: number }> {
  if (!existsSync(join(dir, META))) throw new ClientError(`${dir} holds no backup: ${META} is missing`);
  const meta = JSON.parse(readFileSync(join(dir, META), "utf8")) as { config?: Json; state?: Json };
  const data = [GZIP_DATA, S2_DATA].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (data === undefined) throw new ClientError(`${dir} holds no backup: neither ${GZIP_DATA} nor ${S2_DATA} is there`);
  let config = meta.config ?? {};
  if (configFile !== undefined) config = JSON.parse(readFileSync(configFile, "utf8")) as Json;
  const name = typeof config.name === "string" ? config.name : "";
  if (name === "") throw new ClientError(`${join(dir, META)} names no stream`);
  const r = await request(nc, `$JS.API.STREAM.RESTORE.${name}`, JSON.stringify({ config, state: meta.state ?? {} }), timeout);
  const failed = errorText(r);
  if (failed !== null) throw new ClientError(`could not restore stream ${name}: ${failed}`);
  const deliver = r.deliver_subject as string;
  const content = readFileSync(data);
  for (let o = 0; o < content.length; o += RESTORE_CHUNK) {
    await request(nc, deliver, content.subarray(o, o + RESTORE_CHUNK), timeout);
  }
  // The server restores the whole stream before it answers the end: a long wait, as jsm.go's.
  const final = await request(nc, deliver, new Uint8Array(0), 3_600_000);
  const ended = errorText(final);
  if (ended !== null) throw new ClientError(`could not restore stream ${name}: ${ended}`);
  return { name, final, size: statSync(data).size };
}

interface Common extends ConnectionFlags {
  json?: boolean;
}

export function streamBackupCommands(stream: Command): void {
  connectionOptions(stream.command("backup").alias("snapshot")
    .description("back up a stream (its messages, and its durables unless --no-consumers) into a directory")
    .argument("<stream>", "stream to back up")
    .argument("<target>", "directory to create the backup in")
    .option("--progress", "accepted as natscli's (gnat prints one line at the end)")
    .option("--no-progress", "accepted as natscli's")
    .option("--check", "ask the server to check the stream's health first")
    .option("--consumers", "include the stream's durables (the default)")
    .option("--no-consumers", "leave the durables out")
    .option("--chunk-size <size>", "the size of the chunks the server sends", "128KB")
    .option("-j, --json", "the snapshot's response as JSON"))
    .action(async (name: string, target: string, f: Common & { progress?: boolean; check?: boolean; consumers?: boolean; chunkSize: string }) => {
      const chunkSize = parseBytes(f.chunkSize, "--chunk-size");
      if (chunkSize <= 0) throw new UsageError(`invalid value "${f.chunkSize}" for --chunk-size: expected a positive size`);
      await withJetStream(f, async ({ nc }) => {
        const r = await backup(nc, name, target, { consumers: f.consumers !== false, check: f.check === true, chunkSize });
        if (f.json === true) return printJson(r.response);
        const st = (r.response.state ?? {}) as { messages?: number; bytes?: number };
        io().stdout.write(`Backed up stream ${name} (${count(st.messages ?? 0)} messages, ${bytes(st.bytes ?? 0)}) in ${count(r.chunks)} chunks: ${bytes(r.size)} written to ${join(target, r.file)}\n`);
      });
    });

  connectionOptions(stream.command("restore")
    .description("restore a stream from a directory that gnat stream backup (or natscli) wrote")
    .argument("<file>", "the directory holding the backup to restore")
    .option("--progress", "accepted as natscli's (gnat prints one line at the end)")
    .option("--no-progress", "accepted as natscli's")
    .option("--config <file>", "restore with this stream configuration (JSON) instead of the backup's")
    .option("-j, --json", "the restored stream's info as JSON"))
    .action(async (dir: string, f: Common & { progress?: boolean; config?: string }) => {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`stream restore: ${dir} is not a directory`);
      await withJetStream(f, async ({ nc }) => {
        const r = await restore(nc, dir, f.config, 10_000);
        if (f.json === true) return printJson(r.final);
        const st = (r.final.state ?? {}) as { messages?: number; bytes?: number; consumer_count?: number };
        io().stdout.write(`Restored stream ${r.name} from ${bytes(r.size)}: ${count(st.messages ?? 0)} messages, ${bytes(st.bytes ?? 0)}, ${count(st.consumer_count ?? 0)} consumers\n`);
      });
    });
}
