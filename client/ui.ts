// Tested by test/client/jetstream.test.ts (and test/client/terminal.test.ts: the questions and the progress bar).
// What the JetStream commands print and ask, as natscli does: boxed tables (cli-table3), a
// "Label: value" column layout for info, sizes and counts for people, and the questions —
// "Really delete …?" before a destructive act, values the flags left out — asked on a terminal
// (@inquirer) or read from a piped stdin. Each library is imported when first needed, so `gnat
// pub` never loads them.
import { createInterface } from "node:readline";
import { ClientError, UsageError } from "./errors.js";
import { io } from "./io.js";

export type Cell = string | number | boolean;

/** natscli's table: a title across the top, then headers, then rows; no colours. */
export async function renderTable(title: string, headers: string[], rows: Cell[][]): Promise<string> {
  const Table = (await import("cli-table3")).default;
  const render = (heads: string[]): string => {
    const t = new Table({
      chars: {
        top: "─", "top-mid": "┬", "top-left": "╭", "top-right": "╮",
        bottom: "─", "bottom-mid": "┴", "bottom-left": "╰", "bottom-right": "╯",
        left: "│", "left-mid": "├", mid: "─", "mid-mid": "┼", right: "│", "right-mid": "┤", middle: "│",
      },
      head: heads,
      style: { head: [], border: [], compact: true, "padding-left": 1, "padding-right": 1 },
    });
    for (const r of rows) t.push(r.map((c) => (typeof c === "string" ? c : String(c))));
    return t.toString();
  };
  let table = render(headers);
  const short = title.length + 2 - ([...table.split("\n")[0]!].length - 2);
  // A title wider than the table widens its last column.
  if (short > 0) table = render([...headers.slice(0, -1), `${headers[headers.length - 1]}${" ".repeat(short)}`]);
  // The title in a box of its own on top, joined to the table (cli-table3 has no titles).
  const lines = table.split("\n");
  const width = [...lines[0]!].length - 2;
  const pad = Math.max(0, width - title.length);
  const centred = `${" ".repeat(Math.floor(pad / 2))}${title}${" ".repeat(Math.ceil(pad / 2))}`;
  lines[0] = `├${lines[0]!.slice(1, -1)}┤`;
  return `${[`╭${"─".repeat(width)}╮`, `│${centred}│`, ...lines].join("\n")}\n`;
}

/** natscli's info layout: a heading, then "Label: value" rows right-aligned per section. */
export class Columns {
  private readonly parts: ({ title: string } | { rows: [string, string][] })[] = [];
  constructor(private readonly heading: string) {}

  section(title: string): this {
    this.parts.push({ title });
    return this;
  }

  row(label: string, value: unknown): this {
    let last = this.parts[this.parts.length - 1];
    if (last === undefined || !("rows" in last)) {
      last = { rows: [] };
      this.parts.push(last);
    }
    last.rows.push([label, show(value)]);
    return this;
  }

  rowIf(cond: boolean, label: string, value: unknown): this {
    return cond ? this.row(label, value) : this;
  }

  toString(): string {
    const width = Math.max(0, ...this.parts.flatMap((p) => ("rows" in p ? p.rows.map(([l]) => l.length) : [])));
    const out: string[] = [this.heading, ""];
    for (const p of this.parts) {
      if ("title" in p) out.push(`${p.title}:`, "");
      else out.push(...p.rows.map(([l, v]) => `${l.padStart(width + 2)}: ${v}`), "");
    }
    return `${out.join("\n")}\n`;
  }
}

function show(v: unknown): string {
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return count(v);
  if (Array.isArray(v)) return v.map(String).join(", ");
  if (v instanceof Date) return when(v);
  return String(v);
}

/** 1,234,567 */
export const count = (n: number): string => n.toLocaleString("en-US");

/** humanize.IBytes: "512 B", "1.5 KiB", "20 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

/** A local time as natscli prints one: 2025-01-02 15:04:05. */
export function when(d: Date | string): string {
  const t = typeof d === "string" ? new Date(d) : d;
  if (Number.isNaN(t.getTime()) || t.getTime() <= 0) return "never";
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

/** A span for people: "1.23s", "4m5s", "2d3h". */
export function span(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)}s`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m${sec}s`;
  return `${m}m${sec}s`;
}

/** How long ago: "3.25s ago", or "never". */
export function ago(d: Date | string | undefined): string {
  if (d === undefined) return "never";
  const t = typeof d === "string" ? new Date(d) : d;
  if (Number.isNaN(t.getTime()) || t.getTime() <= 0) return "never";
  return span(Date.now() - t.getTime());
}

/** Nanoseconds as Go prints a time.Duration: "2m0s", "1h0m0s", "1.5s", "0s". */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const ms = ns / 1e6;
  if (ms < 1000) return ms < 1 ? `${ns / 1000}µs` : `${Number(ms.toFixed(3))}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${Number(s.toFixed(3))}s`;
  return h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
}

const UNIT: Record<string, number> = { "": 1, B: 1, K: 1024, KB: 1024, KIB: 1024, M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2,
  G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3, T: 1024 ** 4, TB: 1024 ** 4, TIB: 1024 ** 4 };

/** natscli's sizes: "1024", "512KB", "1.5GiB", "-1" (unlimited; -1 returned). */
export function parseBytes(text: string, flag: string): number {
  const t = text.trim();
  if (t === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(t);
  const unit = m === null ? undefined : UNIT[m[2]!.toUpperCase()];
  if (m === null || unit === undefined) throw new UsageError(`invalid value "${text}" for ${flag}: expected a size such as 1024, 512KB, 1GB or -1`);
  return Math.round(Number(m[1]) * unit);
}

/** A whole number (negative allowed when min < 0), or a usage error naming the flag. */
export function parseInteger(text: string, flag: string, min: number): number {
  if (!/^-?\d+$/.test(text.trim()) || Number(text) < min) throw new UsageError(`invalid value "${text}" for ${flag}: expected a whole number ≥ ${min}`);
  return Number(text);
}

/** One of `choices` (natscli's short forms given in `aliases`), or a usage error. */
export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[], aliases: Record<string, T> = {}): T {
  const v = text.trim().toLowerCase();
  if ((choices as readonly string[]).includes(v)) return v as T;
  if (v in aliases) return aliases[v]!;
  throw new UsageError(`invalid value "${text}" for ${flag}: expected one of ${choices.join(", ")}`);
}

export function printJson(value: unknown): void {
  io().stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prompts run only when both ends are a terminal: a pipe or a script gets the defaults. */
export const interactive = (): boolean => io().stdin.isTTY === true && io().stdout.isTTY === true;

/**
 * Ask before a destructive act. -f skips the question; on a terminal it is a y/N prompt; from a
 * pipe the first line of stdin answers, silently (`yes | gnat stream rm X`); no answer or a no is a refusal
 * (exit 1, nothing done).
 */
export async function confirm(question: string, force: boolean | undefined): Promise<void> {
  if (force === true) return;
  let yes: boolean;
  if (io().stdin.isTTY === true) {
    const ask = (await import("@inquirer/confirm")).default;
    try {
      yes = await ask({ message: question, default: false }, { input: io().stdin, output: io().stderr });
    } catch {
      yes = false;
    }
  } else {
    // Not a terminal: the answer is stdin's first line, read without echoing the question (a
    // refusal's one-line error names it).
    const line = await firstLine();
    yes = line !== undefined && /^\s*y(es)?\s*$/i.test(line);
  }
  if (!yes) throw new ClientError(`${question.replace(/\?$/, "")}: not confirmed, nothing done (-f/--force acts without asking)`);
}

async function firstLine(): Promise<string | undefined> {
  const rl = createInterface({ input: io().stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return undefined;
}

/** A value the flags left out: asked on a terminal unless --defaults, else the default. */
export async function askInput(defaults: boolean, message: string, def: string, validate?: (v: string) => string | true): Promise<string> {
  if (defaults || !interactive()) return def;
  const input = (await import("@inquirer/input")).default;
  return input({ message, default: def, ...(validate === undefined ? {} : { validate }) });
}

/** One of `choices` the flags left out: a list on a terminal unless --defaults, else the default. */
export async function askChoice<T extends string>(defaults: boolean, message: string, choices: readonly T[], def: T): Promise<T> {
  if (defaults || !interactive()) return def;
  const select = (await import("@inquirer/select")).default;
  return select({ message, choices: choices.map((c) => ({ value: c, name: c })), default: def });
}

/** A progress bar on stderr for a large transfer, when stderr is a terminal. */
export async function progressBar(total: number, label: string, enabled: boolean): Promise<{ update(n: number): void; stop(): void }> {
  if (!enabled || io().stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  const { SingleBar, Presets } = (await import("cli-progress")).default;
  const bar = new SingleBar({
    stream: io().stderr,
    format: `${label} [{bar}] {percentage}% | {done} / {size} | {speed}/s`,
    hideCursor: true,
    clearOnComplete: false,
  }, Presets.shades_classic);
  const started = Date.now();
  bar.start(total, 0, { done: bytes(0), size: bytes(total), speed: bytes(0) });
  return {
    update(n) {
      const secs = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(n, { done: bytes(n), size: bytes(total), speed: bytes(Math.round(n / secs)) });
    },
    stop() {
      bar.stop();
    },
  };
}
