// Tested by test/client/commands.test.ts.
// What several commands share: header flags, the body from stdin, printing a message.
import type { MsgHdrs } from "@nats-io/transport-node";
import { UsageError } from "../errors.js";
import { render } from "../template.js";
import { io } from "../io.js";

/** commander's accumulator for a repeatable flag (no default, so --help shows none). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Headers from `-H key:value` flags (values may hold templates), or undefined when none. */
export async function buildHeaders(pairs: string[], count: number): Promise<MsgHdrs | undefined> {
  if (pairs.length === 0) return undefined;
  const { headers } = await import("@nats-io/transport-node");
  const h = headers();
  for (const pair of pairs) {
    const at = pair.indexOf(":");
    if (at <= 0) throw new UsageError(`invalid header "${pair}": use key:value`);
    h.append(pair.slice(0, at).trim(), render(pair.slice(at + 1).trim(), { count }));
  }
  return h;
}

/** The body given, or stdin when none is and stdin is not a terminal, or "". */
export async function bodyOrStdin(body: string | undefined): Promise<string> {
  if (body !== undefined) return body;
  if (io().stdin.isTTY === true) return "";
  const chunks: Buffer[] = [];
  for await (const c of io().stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** What printing needs of a message: a core Msg or a JetStream JsMsg. */
export interface Printable {
  subject: string;
  reply?: string | undefined;
  headers?: MsgHdrs | undefined;
  string(): string;
}

/** natscli's layout of a received message; --raw is the body alone. */
export function formatMsg(m: Printable, n: number, opts: { raw?: boolean; headersOnly?: boolean; title?: string }): string {
  const headerLines = m.headers === undefined ? [] : [...m.headers.keys()].flatMap((k) => m.headers!.values(k).map((v) => `${k}: ${v}`));
  if (opts.headersOnly === true) return headerLines.length === 0 ? "" : `${headerLines.join("\n")}\n`;
  if (opts.raw === true) return `${m.string()}\n`;
  const head = opts.title ?? `[#${n}] Received on "${m.subject}"${m.reply !== undefined && m.reply !== "" ? ` with reply "${m.reply}"` : ""}`;
  return `${head}\n${headerLines.length === 0 ? "" : `${headerLines.join("\n")}\n`}\n${m.string()}\n\n`;
}
