// Tested by test/protocol/encode.test.ts.
// NATS/1.0 header blocks: `NATS/1.0[ code[ description]]\r\n(Key: Value\r\n)*\r\n`.
// The server passes client headers through untouched; these helpers serve internal clients
// and the status messages the server itself sends.

const PREAMBLE = "NATS/1.0";

export interface MsgHeaders {
  /** Status code from the first line, e.g. 503; 0 when absent. */
  code: number;
  description: string;
  /** Keys as sent (case kept), each with its values in order. */
  values: Map<string, string[]>;
}

export function encodeHeaders(values: Iterable<[string, string | string[]]>, code = 0, description = ""): Buffer {
  let s = PREAMBLE;
  if (code > 0) {
    s += ` ${code}`;
    if (description) s += ` ${description}`;
  }
  s += "\r\n";
  for (const [k, v] of values) {
    for (const one of Array.isArray(v) ? v : [v]) s += `${k}: ${one}\r\n`;
  }
  s += "\r\n";
  return Buffer.from(s, "utf8");
}

/** Parse a header block; null when it does not start with NATS/1.0. */
export function decodeHeaders(block: Buffer): MsgHeaders | null {
  const text = block.toString("utf8");
  if (!text.startsWith(PREAMBLE)) return null;
  const lines = text.split("\r\n");
  const first = (lines[0] ?? "").slice(PREAMBLE.length).trim();
  let code = 0;
  let description = "";
  if (first.length > 0) {
    const sp = first.indexOf(" ");
    code = Number.parseInt(sp < 0 ? first : first.slice(0, sp), 10) || 0;
    description = sp < 0 ? "" : first.slice(sp + 1).trim();
  }
  const values = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  return { code, description, values };
}

/** The whole 503 header block nats-server sends when a request has no responders. */
export const NO_RESPONDERS = Buffer.from("NATS/1.0 503\r\n\r\n");
