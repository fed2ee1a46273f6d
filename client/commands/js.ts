// Tested by test/client/jetstream.test.ts (and test/client/kv-obj.test.ts, test/client/check.test.ts).
// What the JetStream commands (stream, consumer, kv, obj, server check stream|consumer|jetstream)
// share: a connection with a JetStream manager that is closed whatever happens, the server's own
// error text, and natscli's long durations ("1d", "1w", "1y" besides Go's units).
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { connectWith, timeoutMs, type ConnectionFlags } from "../connect.js";
import { parseDuration } from "../duration.js";
import { ClientError, describeError, UsageError } from "../errors.js";

export interface JsContext {
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
}

/** Connect, get a JetStream manager (which asks the server whether JetStream is on), run `fn`, close. */
export async function withJetStream<T>(flags: ConnectionFlags, fn: (c: JsContext) => Promise<T>): Promise<T> {
  const { nc } = await connectWith(flags);
  try {
    const { jetstreamManager } = await import("@nats-io/jetstream");
    const timeout = Math.max(1, Math.round(timeoutMs(flags)));
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout });
    } catch (err) {
      const text = jsText(err);
      throw new ClientError(/jetstream/i.test(text) ? text : `JetStream is not available: ${text}`);
    }
    return await fn({ nc, jsm, js: jsm.jetstream() });
  } finally {
    await nc.close().catch(() => {});
  }
}

/** The server's text for a JetStream API error ("stream not found"), else the client's. */
export function jsText(err: unknown): string {
  if (err instanceof ClientError || err instanceof UsageError) return err.message;
  const e = err as { name?: string; message?: string; code?: string | number };
  if (e?.name === "NoRespondersError" || /no responders/i.test(e?.message ?? "")) return "no responders: is JetStream enabled on the server?";
  return describeError(err);
}

/** Run a JetStream call; a failure becomes a one-line ClientError, prefixed with `what` if given. */
export async function api<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ClientError || err instanceof UsageError) throw err;
    throw new ClientError(what === "" ? jsText(err) : `${what}: ${jsText(err)}`);
  }
}

/**
 * natscli's durations for ages and TTLs, in nanoseconds: Go's ("90s", "1h30m") and days, weeks,
 * years ("7d", "2w", "1y"); "0", "-1" and "" mean no limit (0).
 */
export function parseAge(text: string, flag: string): number {
  const t = text.trim();
  if (t === "" || t === "0" || t === "-1" || t === "unlimited") return 0;
  const long = /^((?:\d+(?:y|w|d))+)(.*)$/.exec(t);
  let ms = 0;
  let rest = t;
  if (long !== null) {
    for (const m of long[1]!.matchAll(/(\d+)(y|w|d)/g)) ms += Number(m[1]) * { y: 365 * 86_400_000, w: 7 * 86_400_000, d: 86_400_000 }[m[2] as "y" | "w" | "d"];
    rest = long[2]!;
  }
  if (rest !== "") ms += parseDuration(rest, flag);
  return Math.round(ms * 1e6);
}

/** Split subject lists as natscli does: repeated flags, commas or spaces. */
export function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== "");
}

export const cap = (s: string): string => (s === "" ? s : s[0]!.toUpperCase() + s.slice(1));
