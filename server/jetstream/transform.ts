// Tested by test/jetstream/sourcing.test.ts.
// Subject transforms for streams (nats-server's subject_transform.go, the part streams use): a
// source filter with `*` / `>` and a destination of literal tokens, `$n` or `{{wildcard(n)}}`
// place holders and a trailing `>`. Used by a stream's subject_transform, its republish, and the
// transforms of its mirror and sources. Subjects here are in their client form.
//
// The other mapping functions ({{partition}}, {{split…}}, {{slice…}}) belong to account subject
// mappings; a destination that uses them is refused with a clear error rather than mis-mapped.

export const BAD_SUBJECT = "invalid subject";
const BAD_DEST = "invalid mapping destination";

export class TransformError extends Error {}

type Part = { literal: string } | { wildcard: number } | { rest: true };

export interface SubjectTransform {
  readonly src: string;
  readonly dest: string;
  /** The destination for `subject`, or null when the subject does not match the source. */
  map(subject: string): string | null;
}

/** A valid subject for a filter: non-empty tokens, `>` only last, wildcards whole tokens. */
export function isValidFilter(s: string): boolean {
  if (s === "" || /[\s]/.test(s)) return false;
  const t = s.split(".");
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    if (x === "") return false;
    if (x.length > 1 && (x.includes("*") || x.includes(">"))) return false;
    if (x === ">" && i !== t.length - 1) return false;
  }
  return true;
}

const FN = /^\{\{\s*([A-Za-z]+)\s*\((.*)\)\s*\}\}$/;

/**
 * nats-server NewSubjectTransform: "" as source means ">"; an empty destination means no
 * transform (null). Throws TransformError with nats-server's error text.
 */
export function compileTransform(src: string, dest: string): SubjectTransform | null {
  if (dest === "") return null;
  if (src === "") src = ">";
  if (!isValidFilter(src)) throw new TransformError(BAD_SUBJECT);
  const stoks = src.split(".");
  const dtoks = dest.split(".");
  const srcFwc = stoks[stoks.length - 1] === ">";
  const npwcs = stoks.filter((t) => t === "*").length;
  // The destination is a subject of its own: no `*`, `>` only when the source has one.
  if (dtoks.some((t) => t === "" || t === "*") || dtoks.slice(0, -1).includes(">")) throw new TransformError(BAD_SUBJECT);
  if ((dtoks[dtoks.length - 1] === ">") !== srcFwc) throw new TransformError(BAD_SUBJECT);
  const parts: Part[] = [];
  for (const tok of dtoks) {
    if (tok === ">") { parts.push({ rest: true }); continue; }
    let n = -1;
    const dollar = /^\$(\d+)$/.exec(tok);
    const fn = FN.exec(tok);
    if (dollar !== null) n = Number(dollar[1]);
    else if (fn !== null) {
      if (fn[1]!.toLowerCase() !== "wildcard") throw new TransformError(`${BAD_DEST}: the {{${fn[1]}()}} function is not supported by gnat's stream transforms yet`);
      const arg = fn[2]!.trim();
      if (!/^\d+$/.test(arg)) throw new TransformError(`${BAD_DEST}: function argument is invalid or in the wrong format`);
      n = Number(arg);
    } else if (tok.includes("{{") || tok.includes("}}")) {
      throw new TransformError(`${BAD_DEST}: unknown function`);
    }
    if (n < 0) { parts.push({ literal: tok }); continue; }
    if (n < 1 || n > npwcs) throw new TransformError(`${BAD_DEST}: wildcard index out of range`);
    parts.push({ wildcard: n });
  }
  // Positions of the source's `*` tokens, by place-holder number.
  const pos: number[] = [];
  stoks.forEach((t, i) => { if (t === "*") pos.push(i); });
  return {
    src,
    dest,
    map(subject: string): string | null {
      const t = subject.split(".");
      if (srcFwc ? t.length < stoks.length : t.length !== stoks.length) return null;
      for (let i = 0; i < stoks.length; i++) {
        const s = stoks[i]!;
        if (s === ">") break;
        if (s !== "*" && s !== t[i]) return null;
      }
      const out: string[] = [];
      for (const p of parts) {
        if ("literal" in p) out.push(p.literal);
        else if ("wildcard" in p) out.push(t[pos[p.wildcard - 1]!]!);
        else out.push(...t.slice(stoks.length - 1));
      }
      return out.join(".");
    },
  };
}

/** Whether `subject` (literal or filter) is matched by `filter`, token by token. */
export function filterMatches(filter: string, subject: string): boolean {
  if (filter === "" || filter === ">") return true;
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    const x = f[i]!;
    if (x === ">") return s.length > i;
    if (i >= s.length) return false;
    if (x !== "*" && x !== s[i]) return false;
  }
  return f.length === s.length;
}
