// Tested by test/server/config.test.ts.
// nats-server's configuration syntax, read into gnat's options. The grammar: `key: value`,
// `key = value` or `key value`; `{}` blocks and `[]` arrays; `#` and `//` comments; `include`;
// `$VAR` variables (the file's own keys in scope, then the environment); sizes with k/kb/m/mb…
// suffixes; quoted and bare strings. Errors carry file, line and column.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export class ConfigError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string) {
    super(`${file || "<config>"}:${line}:${column}: ${reason}`);
    this.name = "ConfigError";
  }
}

export type ConfigValue = string | number | boolean | Date | ConfigValue[] | ConfigMap;
export interface ConfigMap {
  [key: string]: ConfigValue;
}

/** Where each key was defined, and which keys served as variables (for "unknown field" checks). */
export interface Meta {
  positions: WeakMap<ConfigMap, Map<string, [string, number, number]>>;
  usedAsVariable: WeakMap<ConfigMap, Set<string>>;
}

export type Env = Record<string, string | undefined>;

const SIZE_SUFFIX: Record<string, number> = {
  k: 1e3, kb: 1024, ki: 1024, kib: 1024,
  m: 1e6, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1024 ** 4, ti: 1024 ** 4, tib: 1024 ** 4,
};

class Reader {
  i = 0;
  line = 1;
  col = 1;

  constructor(readonly text: string, readonly file: string, readonly env: Env, readonly meta: Meta,
    readonly scopes: ConfigMap[] = [], readonly depth = 0) {}

  error(reason: string, line = this.line, col = this.col): ConfigError {
    return new ConfigError(this.file, line, col, reason);
  }

  peek(k = 0): string {
    return this.text[this.i + k] ?? "";
  }

  next(): string {
    const c = this.text[this.i++] ?? "";
    if (c === "\n") {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }

  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** Skip spaces and tabs (not newlines). */
  blanks(): void {
    while (this.peek() === " " || this.peek() === "\t") this.next();
  }

  /** At a comment start? (`#` anywhere a token may start, `//` likewise.) */
  atComment(): boolean {
    return this.peek() === "#" || (this.peek() === "/" && this.peek(1) === "/");
  }

  skipComment(): void {
    while (!this.atEnd() && this.peek() !== "\n") this.next();
  }

  /** Skip blanks, newlines, comments and (where allowed) separators. */
  skipSpace(alsoSeparators: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || c === "\n" || (alsoSeparators && (c === "," || c === ";"))) this.next();
      else if (this.atComment()) this.skipComment();
      else return;
    }
  }

  /** Parse entries until `close` ("}" for a block, "" for the end of input). */
  parseMap(close: string): ConfigMap {
    const map: ConfigMap = {};
    const positions = new Map<string, [string, number, number]>();
    this.meta.positions.set(map, positions);
    this.scopes.push(map);
    for (;;) {
      this.skipSpace(true);
      if (this.atEnd()) {
        if (close) throw this.error(`unexpected end of file: missing '${close}'`);
        break;
      }
      if (close && this.peek() === close) {
        this.next();
        break;
      }
      const line = this.line;
      const col = this.col;
      const key = this.readKey();
      if (key === "include") {
        this.blanks();
        this.include(map, positions);
        this.endOfEntry();
        continue;
      }
      this.blanks();
      if (this.peek() === ":" || this.peek() === "=") this.next();
      this.blanks();
      if (this.atEnd() || this.peek() === "\n" || this.peek() === "\r") throw this.error(`expected a value for '${key}' but found a new line`);
      const value = this.parseValue();
      map[key] = value;
      positions.set(key, [this.file, line, col]);
      this.endOfEntry();
    }
    this.scopes.pop();
    return map;
  }

  readKey(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.readQuoted();
    let key = "";
    while (!this.atEnd()) {
      const k = this.peek();
      if (k === " " || k === "\t" || k === ":" || k === "=" || k === "\n" || k === "\r") break;
      if ("{}[],;#\"'".includes(k)) {
        if (key === "") throw this.error(`unexpected '${k}' where a key was expected`);
        break;
      }
      key += this.next();
    }
    if (key === "") throw this.error("expected a key");
    return key;
  }

  /** After a value: blanks, then a newline, `;`, `,`, a comment, the block's end or EOF. */
  endOfEntry(): void {
    this.blanks();
    const c = this.peek();
    if (c === "" || c === "\n" || c === "\r" || c === ";" || c === "," || c === "}" || this.atComment()) return;
    throw this.error(`unexpected '${c}' after a value`);
  }

  parseValue(): ConfigValue {
    const c = this.peek();
    if (c === "{") {
      this.next();
      return this.parseMap("}");
    }
    if (c === "[") {
      this.next();
      return this.parseArray();
    }
    if (c === '"' || c === "'") return this.readQuoted();
    if (c === "(") return this.readBlock();
    const line = this.line;
    const col = this.col;
    const word = this.readBare();
    if (word === "") throw this.error(`expected a value but found '${c}'`);
    return this.typeBare(word, line, col);
  }

  parseArray(): ConfigValue[] {
    const out: ConfigValue[] = [];
    for (;;) {
      this.skipSpace(false);
      if (this.atEnd()) throw this.error("unexpected end of file: missing ']'");
      if (this.peek() === "]") {
        this.next();
        return out;
      }
      if (this.peek() === ",") throw this.error("unexpected ',' in an array");
      out.push(this.parseValue());
      this.blanks();
      if (this.atComment()) this.skipComment();
      const c = this.peek();
      if (c === ",") this.next();
      else if (c === "]" || c === "\n" || c === "\r") continue;
      else if (!this.atEnd()) throw this.error(`unexpected '${c}' in an array`);
    }
  }

  readBare(): string {
    let s = "";
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "," || c === ";" || c === "]" || c === "}") break;
      s += this.next();
    }
    return s;
  }

  readQuoted(): string {
    const line = this.line;
    const col = this.col;
    const q = this.next();
    let s = "";
    for (;;) {
      if (this.atEnd() || this.peek() === "\n") throw this.error("unterminated string", line, col);
      const c = this.next();
      if (c === q) return s;
      if (c === "\\" && q === '"') {
        const e = this.next();
        switch (e) {
          case "n": s += "\n"; break;
          case "t": s += "\t"; break;
          case "r": s += "\r"; break;
          case '"': s += '"'; break;
          case "\\": s += "\\"; break;
          case "x": {
            const hex = this.next() + this.next();
            if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw this.error(`expected two hexadecimal digits after '\\x', got '${hex}'`);
            s += String.fromCharCode(Number.parseInt(hex, 16));
            break;
          }
          default:
            throw this.error(`invalid escape '\\${e}'`);
        }
      } else {
        s += c;
      }
    }
  }

  /** `( … )`: raw text up to a `)` alone on a line. */
  readBlock(): string {
    const line = this.line;
    const col = this.col;
    this.next();
    const start = this.i;
    for (;;) {
      if (this.atEnd()) throw this.error("unterminated block", line, col);
      if (this.peek() === "\n" && this.text.slice(this.i + 1).trimStart().startsWith(")")) {
        const body = this.text.slice(start, this.i + 1);
        this.next();
        this.blanks();
        this.next();
        return body.trim();
      }
      this.next();
    }
  }

  typeBare(word: string, line: number, col: number): ConfigValue {
    if (word.startsWith("$")) return this.variable(word.slice(1), line, col);
    const lower = word.toLowerCase();
    if (lower === "true" || lower === "yes" || lower === "on") return true;
    if (lower === "false" || lower === "no" || lower === "off") return false;
    const num = /^(-?\d+)([a-zA-Z]*)$/.exec(word);
    if (num) {
      const n = Number.parseInt(num[1]!, 10);
      const suffix = num[2]!.toLowerCase();
      if (suffix === "") return n;
      const mult = SIZE_SUFFIX[suffix];
      if (mult !== undefined) return n * mult;
      return word;
    }
    if (/^-?\d+\.\d+$/.test(word)) return Number.parseFloat(word);
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(word)) return new Date(word);
    return word;
  }

  variable(name: string, line: number, col: number): ConfigValue {
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const scope = this.scopes[k]!;
      if (Object.prototype.hasOwnProperty.call(scope, name)) {
        let used = this.meta.usedAsVariable.get(scope);
        if (!used) this.meta.usedAsVariable.set(scope, (used = new Set()));
        used.add(name);
        return scope[name]!;
      }
    }
    const fromEnv = this.env[name];
    if (fromEnv !== undefined) {
      // An environment value is read as a value of the config language would be.
      const r = new Reader(fromEnv, `$${name}`, {}, this.meta);
      r.blanks();
      const v = r.parseValue();
      return v;
    }
    throw this.error(`variable reference for '${name}' can not be found`, line, col);
  }

  include(into: ConfigMap, positions: Map<string, [string, number, number]>): void {
    const line = this.line;
    const col = this.col;
    const c = this.peek();
    const path = c === '"' || c === "'" ? this.readQuoted() : this.readBare();
    if (!path) throw this.error("include needs a file name");
    if (this.depth > 16) throw this.error("includes nest too deep", line, col);
    const full = resolve(dirname(this.file || "."), path);
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch (err) {
      throw this.error(`error reading include file '${path}': ${(err as Error).message}`, line, col);
    }
    const inner = new Reader(text, full, this.env, this.meta, [...this.scopes], this.depth + 1);
    const m = inner.parseMap("");
    const innerPos = this.meta.positions.get(m);
    for (const [k, v] of Object.entries(m)) {
      into[k] = v;
      positions.set(k, innerPos?.get(k) ?? [full, line, col]);
    }
    const used = this.meta.usedAsVariable.get(m);
    if (used) {
      let mine = this.meta.usedAsVariable.get(into);
      if (!mine) this.meta.usedAsVariable.set(into, (mine = new Set()));
      for (const k of used) mine.add(k);
    }
  }
}

export interface Parsed {
  map: ConfigMap;
  meta: Meta;
  file: string;
}

export function parseWithMeta(text: string, filename: string, env: Env): Parsed {
  const meta: Meta = { positions: new WeakMap(), usedAsVariable: new WeakMap() };
  const r = new Reader(text.replace(/^\uFEFF/, ""), filename, env, meta);
  const map = r.parseMap("");
  return { map, meta, file: filename };
}

/** Parse config text into plain values. `include` paths resolve against the file's folder. */
export function parseConfig(text: string, filename = "", env: Env = process.env): ConfigMap {
  return parseWithMeta(text, filename, env).map;
}

/** Go's time.ParseDuration, in milliseconds (duration.ts is its one home). */
export { parseDuration } from "../duration.js";
