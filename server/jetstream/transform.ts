// Tested by test/jetstream/sourcing.test.ts.
// Subject transforms for streams: a stream's subject_transform, its republish, and the transforms
// of its mirror and sources. The transform itself is nats-server's NewSubjectTransform, the same
// as account subject mappings use (protocol/subject-transform.ts, every function: `$n`,
// {{wildcard}}, {{partition}}, {{split…}}, {{slice…}}); this file fits it to streams, whose
// subjects are in their client form.
import { MappingError, SubjectTransform as Transform, tokensMatchPattern } from "../../protocol/subject-transform.js";
import { fromWire, toWire } from "../../protocol/subject.js";

export { BAD_SUBJECT } from "../../protocol/subject-transform.js";

export class TransformError extends Error {}

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

/**
 * nats-server NewSubjectTransform: "" as source means ">"; an empty destination means no
 * transform (null). Throws TransformError with nats-server's error text.
 */
export function compileTransform(src: string, dest: string): SubjectTransform | null {
  if (dest === "") return null;
  if (src === "") src = ">";
  let t: Transform;
  try {
    if (!isValidFilter(src)) throw new MappingError("invalid subject");
    t = Transform.create(toWire(src), toWire(dest));
  } catch (e) {
    if (e instanceof MappingError) throw new TransformError(e.message);
    throw e;
  }
  const pattern = toWire(src).split(".");
  return {
    src,
    dest,
    map(subject: string): string | null {
      const tokens = toWire(subject).split(".");
      return tokensMatchPattern(tokens, pattern) ? fromWire(t.apply(tokens)) : null;
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
