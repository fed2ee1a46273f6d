// Tested by test/client/commands.test.ts.
// natscli's body templates, the few it documents for pub, req and reply: {{ Count }},
// {{ TimeStamp }} (RFC 3339), {{ Unix }}, {{ UnixNano }}, {{ Time }}, {{ ID }} (a unique id),
// {{ Random 10 100 }} (a random string of 10 to 100 characters) and, when answering a request,
// {{ Request }} (its body). Spacing inside the braces is free: {{Count}} works too.
import { randomBytes, randomInt } from "node:crypto";

export interface TemplateVars {
  count: number;
  request?: string;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomString(min: number, max: number): string {
  const lo = Math.max(0, Math.min(min, max));
  const hi = Math.max(min, max);
  const n = lo === hi ? lo : randomInt(lo, hi + 1);
  const bytes = randomBytes(n);
  let s = "";
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/** Whether `text` holds a template at all (so a plain body is sent as given, byte for byte). */
export function hasTemplate(text: string): boolean {
  return /\{\{\s*[A-Za-z]/.test(text);
}

/** `text` with its templates filled in; an unknown template is left as written. */
export function render(text: string, vars: TemplateVars): string {
  return text.replace(/\{\{\s*([A-Za-z]+)((?:\s+-?\d+)*)\s*\}\}/g, (whole, name: string, args: string) => {
    const nums = args.trim() === "" ? [] : args.trim().split(/\s+/).map(Number);
    switch (name) {
      case "Count": return String(vars.count);
      case "TimeStamp": return new Date().toISOString();
      case "Unix": return String(Math.floor(Date.now() / 1000));
      case "UnixNano": return (BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n).toString();
      case "Time": return new Date().toTimeString().slice(0, 8);
      case "ID": return randomBytes(11).toString("base64url");
      case "Random": return nums.length === 2 ? randomString(nums[0]!, nums[1]!) : whole;
      case "Request": return vars.request ?? whole;
      default: return whole;
    }
  });
}
