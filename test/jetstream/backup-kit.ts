// Stream snapshot and restore as a client does them over the API (natscli / jsm.go's
// SnapshotToDirectory and RestoreSnapshotFromDirectory): for the backup tests, against gnat and
// nats-server alike.
import { createInbox, type NatsConnection } from "@nats-io/transport-node";

export type Json = Record<string, unknown>;

export interface Snapshot {
  /** The API's answer to the snapshot request. */
  response: Json;
  /** The snapshot's bytes, the chunks joined. */
  data: Buffer;
  chunks: number;
}

/**
 * Ask for a snapshot and take its chunks, answering each (unless `noAck`); resolves at the
 * empty message that ends it. `onChunk` sees each chunk as it arrives.
 */
export async function takeSnapshot(
  nc: NatsConnection, stream: string,
  opts: { noConsumers?: boolean; chunkSize?: number; onChunk?: (n: number) => Promise<void> | void; timeout?: number; api?: string } = {},
): Promise<Snapshot> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const req: Json = { deliver_subject: inbox };
  if (opts.noConsumers === true) req.no_consumers = true;
  if (opts.chunkSize !== undefined) req.chunk_size = opts.chunkSize;
  const response = (await nc.request(`${opts.api ?? "$JS.API"}.STREAM.SNAPSHOT.${stream}`, JSON.stringify(req), { timeout: 5000 })).json<Json>();
  if (response.error !== undefined) {
    sub.unsubscribe();
    return { response, data: Buffer.alloc(0), chunks: 0 };
  }
  const parts: Buffer[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), opts.timeout ?? 60_000);
  for await (const m of sub) {
    if (m.data.length === 0) break;
    parts.push(Buffer.from(m.data));
    await opts.onChunk?.(parts.length);
    if (m.reply !== undefined && m.reply !== "") m.respond();
  }
  clearTimeout(timer);
  sub.unsubscribe();
  return { response, data: Buffer.concat(parts), chunks: parts.length };
}

/** Restore `data` as stream `stream`: the request, every chunk as a request, then the end (`api`: a domain's prefix). */
export async function restoreSnapshot(
  nc: NatsConnection, stream: string, body: Json, data: Buffer, chunkSize = 128 * 1024, api = "$JS.API",
): Promise<{ response: Json; final: Json | null }> {
  const response = (await nc.request(`${api}.STREAM.RESTORE.${stream}`, JSON.stringify(body), { timeout: 5000 })).json<Json>();
  if (response.error !== undefined) return { response, final: null };
  const deliver = response.deliver_subject as string;
  for (let o = 0; o < data.length; o += chunkSize) {
    await nc.request(deliver, data.subarray(o, o + chunkSize), { timeout: 10_000 });
  }
  const final = (await nc.request(deliver, new Uint8Array(0), { timeout: 60_000 })).json<Json>();
  return { response, final };
}
