// Tested by test/protocol/subject-transform.test.ts.
// nats-server's subject transforms (server/subject_transform.go in 2.10.0): a source subject
// (maybe with `*` and `>`) and a destination made of literal tokens, `$n` and the mustache
// functions `{{wildcard(n)}}`, `{{partition(buckets, n, …)}}`, `{{split(n, sep)}}`,
// `{{splitFromLeft(n, pos)}}`, `{{splitFromRight(n, pos)}}`, `{{sliceFromLeft(n, size)}}` and
// `{{sliceFromRight(n, size)}}`. Errors carry nats-server's texts. Subjects are gnat's latin1 wire
// strings, so a token's length is its byte length as in Go, and the partition hash (FNV-1a, 32
// bits) runs over the same bytes nats-server hashes.

/** nats-server's ErrInvalidMappingDestination family (errors.go): `invalid mapping destination: …`. */
export class MappingError extends Error {}

const INVALID = "invalid mapping destination";
const E = {
  subject: `${INVALID}: invalid subject`,
  notAllWildcards: `${INVALID}: not using all of the token wildcard(s)`,
  unknownFunction: `${INVALID}: unknown function`,
  indexOutOfRange: `${INVALID}: wildcard index out of range`,
  notEnoughArgs: `${INVALID}: not enough arguments passed to the function`,
  invalidArg: `${INVALID}: function argument is invalid or in the wrong format`,
  tooManyArgs: `${INVALID}: too many arguments passed to the function`,
} as const;

/** nats-server's ErrBadSubject text. */
export const BAD_SUBJECT = "invalid subject";

/** mappingDestinationErr: `<err> in <token>`. */
const inToken = (err: string, token: string): MappingError => new MappingError(`${err} in ${token}`);

const enum Fn {
  None, Partition, Wildcard, SplitFromLeft, SplitFromRight, SliceFromLeft, SliceFromRight, Split,
}

const FUNCTIONS: readonly [Fn, RegExp][] = [
  [Fn.Wildcard, /{{\s*[wW]ildcard\s*\((.*)\)\s*}}/],
  [Fn.Partition, /{{\s*[pP]artition\s*\((.*)\)\s*}}/],
  [Fn.SplitFromLeft, /{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}/],
  [Fn.SplitFromRight, /{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}/],
  [Fn.SliceFromLeft, /{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}/],
  [Fn.SliceFromRight, /{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}/],
  [Fn.Split, /{{\s*[sS]plit\s*\((.*)\)\s*}}/],
];

/** One destination token: a literal, or a function of source tokens (by index into the source's tokens). */
interface DestToken {
  fn: Fn;
  literal: string;
  /** Indexes of the source tokens the function reads. */
  src: number[];
  /** Partitions, split position or slice size. */
  int: number;
  /** split's separator. */
  str: string;
}

/** Go's strconv.Atoi for the values the transforms take: an optional sign and decimal digits. */
function atoi(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = Number.parseInt(s, 10);
  return Number.isSafeInteger(n) ? n : null;
}

/** Go's strings.Trim(s, " "). */
const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, "");

function functionArgs(re: RegExp, token: string): string[] | null {
  const m = re.exec(token);
  return m === null ? null : m[1]!.split(/,\s*/);
}

function isMustache(t: string): boolean {
  const n = t.length;
  return n > 4 && t.startsWith("{{") && t.endsWith("}}");
}

/** nats-server's indexPlaceHolders: what one destination token is (indexes are 1-based wildcard numbers here). */
function placeHolder(token: string): { fn: Fn; idx: number[]; int: number; str: string } {
  const none = { fn: Fn.None, idx: [], int: -1, str: "" };
  if (token.length <= 1) return none;
  if (token[0] === "$") {
    // Other things rely on tokens starting with $: not a number is no transform, not an error.
    const n = atoi(token.slice(1));
    return n === null ? none : { fn: Fn.Wildcard, idx: [n], int: -1, str: "" };
  }
  if (!isMustache(token)) return none;
  for (const [fn, re] of FUNCTIONS) {
    const args = functionArgs(re, token);
    if (args === null) continue;
    switch (fn) {
      case Fn.Wildcard: {
        if (args.length === 1 && args[0] === "") throw inToken(E.notEnoughArgs, token);
        if (args.length !== 1) throw inToken(E.tooManyArgs, token);
        const i = atoi(trimSpaces(args[0]!));
        if (i === null) throw inToken(E.invalidArg, token);
        return { fn, idx: [i], int: -1, str: "" };
      }
      case Fn.Partition: {
        if (args.length < 2) throw inToken(E.notEnoughArgs, token);
        const buckets = atoi(trimSpaces(args[0]!));
        if (buckets === null) throw inToken(E.invalidArg, token);
        const idx = args.slice(1).map((a) => {
          const i = atoi(trimSpaces(a));
          if (i === null) throw inToken(E.invalidArg, token);
          return i;
        });
        return { fn, idx, int: buckets, str: "" };
      }
      case Fn.Split: {
        if (args.length < 2) throw inToken(E.notEnoughArgs, token);
        if (args.length > 2) throw inToken(E.tooManyArgs, token);
        const i = atoi(trimSpaces(args[0]!));
        if (i === null) throw inToken(E.invalidArg, token);
        const sep = args[1]!;
        if (sep.includes(" ") || sep.includes(".")) throw inToken(E.invalidArg, token);
        return { fn, idx: [i], int: -1, str: sep };
      }
      default: {
        // The split/slice functions: a wildcard index and an integer.
        if (args.length < 2) throw inToken(E.notEnoughArgs, token);
        if (args.length > 2) throw inToken(E.tooManyArgs, token);
        const i = atoi(trimSpaces(args[0]!));
        const n = atoi(trimSpaces(args[1]!));
        if (i === null || n === null) throw inToken(E.invalidArg, token);
        return { fn, idx: [i], int: n, str: "" };
      }
    }
  }
  throw inToken(E.unknownFunction, token);
}

/**
 * nats-server's ValidateMappingDestination: no empty token, nothing after `>`, only known
 * functions, no white space in a literal token.
 */
export function validateMappingDestination(dest: string): void {
  let sawFwc = false;
  for (const t of dest.split(".")) {
    if (t.length === 0 || sawFwc) throw inToken(E.subject, t);
    if (isMustache(t)) {
      if (!FUNCTIONS.some(([, re]) => re.test(t))) throw inToken(E.unknownFunction, t);
      continue;
    }
    if (t === ">") sawFwc = true;
    else if (/[\t\n\f\r ]/.test(t)) throw new MappingError(E.subject);
  }
}

/** nats-server's subjectInfo: valid (no empty token, nothing after `>`), tokens, `*` count, ends in `>`. */
function subjectInfo(s: string): { ok: boolean; tokens: string[]; pwcs: number; fwc: boolean } {
  const tokens = s.split(".");
  let pwcs = 0;
  let fwc = false;
  if (s === "") return { ok: false, tokens, pwcs, fwc };
  for (const t of tokens) {
    if (t.length === 0 || fwc) return { ok: false, tokens, pwcs, fwc };
    if (t === ">") fwc = true;
    else if (t === "*") pwcs++;
  }
  return { ok: true, tokens, pwcs, fwc };
}

/** A compiled source → destination transform. */
export class SubjectTransform {
  private constructor(
    readonly src: string,
    readonly dest: string,
    private readonly srcTokens: number,
    private readonly dtoks: readonly DestToken[],
    private readonly destEndsFwc: boolean,
  ) {}

  /**
   * nats-server's NewSubjectTransform (not strict, as for account mappings): both valid subjects,
   * `>` in both or neither, no `*` in the destination, every function's wildcard index in range,
   * no function when the source has no wildcard. Throws MappingError (or BAD_SUBJECT).
   */
  static create(src: string, dest: string): SubjectTransform {
    const s = subjectInfo(src);
    const d = subjectInfo(dest);
    if (!s.ok || !d.ok || d.pwcs > 0 || s.fwc !== d.fwc) throw new MappingError(BAD_SUBJECT);
    const dtoks: DestToken[] = [];
    if (s.pwcs > 0 || s.fwc) {
      // Wildcard number (1-based) → index of that `*` among the source's tokens.
      const starAt = new Map<number, number>();
      s.tokens.forEach((t, i) => {
        if (t === "*") starAt.set(starAt.size + 1, i);
      });
      for (const token of d.tokens) {
        const p = placeHolder(token);
        if (s.pwcs === 0 && p.fn !== Fn.None) throw inToken(E.indexOutOfRange, token);
        if (p.fn === Fn.None) {
          dtoks.push({ fn: Fn.None, literal: token, src: [], int: -1, str: "" });
          continue;
        }
        const srcIdx = p.idx.map((w) => {
          if (w > s.pwcs) throw new MappingError(`${E.indexOutOfRange} in ${token}: [${w}]`);
          // Go's map lookup: an index with no wildcard (0, negative) reads token 0.
          return starAt.get(w) ?? 0;
        });
        dtoks.push({ fn: p.fn, literal: token, src: srcIdx, int: p.int, str: p.str });
      }
    } else {
      for (const token of d.tokens) {
        if (placeHolder(token).fn !== Fn.None) throw inToken(E.indexOutOfRange, token);
      }
    }
    return new SubjectTransform(src, dest, s.tokens.length, dtoks, d.fwc);
  }

  /** Transform a literal subject that matches `src`, given as its tokens. */
  apply(tokens: readonly string[]): string {
    const dt = this.dtoks;
    if (dt.length === 0) return this.dest;
    let out = "";
    const last = dt.length - 1;
    for (let i = 0; i < dt.length; i++) {
      const d = dt[i]!;
      if (d.fn === Fn.None) {
        if (d.literal === ">") break;
        out += d.literal;
      } else {
        out += applyFunction(d, tokens);
      }
      if (i < last) out += ".";
    }
    if (this.destEndsFwc) {
      // The tokens `>` stood for.
      out += tokens.slice(this.srcTokens - 1).join(".");
    }
    return out;
  }
}

function applyFunction(d: DestToken, tokens: readonly string[]): string {
  const tok = tokens[d.src[0]!] ?? "";
  const n = tok.length;
  switch (d.fn) {
    case Fn.Partition: {
      let key = "";
      for (const i of d.src) key += tokens[i] ?? "";
      return hashPartition(key, d.int);
    }
    case Fn.Wildcard:
      return tok;
    case Fn.SplitFromLeft:
      return d.int > 0 && d.int < n ? `${tok.slice(0, d.int)}.${tok.slice(d.int)}` : tok;
    case Fn.SplitFromRight:
      return d.int > 0 && d.int < n ? `${tok.slice(0, n - d.int)}.${tok.slice(n - d.int)}` : tok;
    case Fn.SliceFromLeft: {
      const size = d.int;
      if (!(size > 0 && size < n)) return tok;
      const parts: string[] = [];
      for (let i = 0; i < n; i += size) parts.push(tok.slice(i, i + size));
      return parts.join(".");
    }
    case Fn.SliceFromRight: {
      const size = d.int;
      if (!(size > 0 && size < n)) return tok;
      const parts: string[] = [];
      const rem = n % size;
      if (rem > 0) parts.push(tok.slice(0, rem));
      for (let i = rem; i < n; i += size) parts.push(tok.slice(i, i + size));
      return parts.join(".");
    }
    case Fn.Split:
      // Empty pieces are dropped (a separator at either end, or two in a row).
      return tok.split(d.str).filter((p) => p !== "").join(".");
    default:
      return tok;
  }
}

/**
 * nats-server's getHashPartition: FNV-1a (32 bits) of the key's bytes, modulo the partition count,
 * as a decimal token. `key` is a latin1 wire string (one char per byte). 0 partitions give "0"
 * (nats-server 2.10.0 would divide by zero; later releases answer "0").
 */
export function hashPartition(key: string, buckets: number): string {
  if (buckets === 0) return "0";
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  // Go: uint32 % uint32(buckets); a negative count wraps as uint32 does.
  return String((h >>> 0) % (buckets >>> 0));
}

/** Does the literal subject's token list match the (maybe wildcard) pattern? (nats-server's isSubsetMatch on literals) */
export function tokensMatchPattern(tokens: readonly string[], pattern: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (i >= tokens.length) return false;
    const p = pattern[i]!;
    if (p === ">") return true;
    if (p !== "*" && p !== tokens[i]) return false;
  }
  return tokens.length === pattern.length;
}
