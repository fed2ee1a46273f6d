// Subject rules. Subjects travel through gnat as latin1 strings: one char per wire byte, so any
// UTF-8 subject round-trips exactly and a string's length is its byte length.

const DOT = 46;
const STAR = 42;
const GT = 62;

/** A subscription subject: no empty tokens; `*` and `>` only as whole tokens; `>` only last. */
export function isValidSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let start = 0;
  let sawFwc = false;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      if (i === start || sawFwc) return false;
      if (i - start === 1 && subject.charCodeAt(start) === GT) sawFwc = true;
      start = i + 1;
    } else {
      const c = subject.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 10) return false;
    }
  }
  return true;
}

/** A publish subject: a valid subject with no wildcard tokens. */
export function isValidLiteralSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      const len = i - start;
      if (len === 0) return false;
      if (len === 1) {
        const c = subject.charCodeAt(start);
        if (c === STAR || c === GT) return false;
      }
      start = i + 1;
    } else {
      const c = subject.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 10) return false;
    }
  }
  return true;
}

/** True when the subject has a `*` or `>` token. */
export function hasWildcard(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if ((c === STAR || c === GT) &&
      (i === 0 || subject.charCodeAt(i - 1) === DOT) &&
      (i + 1 === n || subject.charCodeAt(i + 1) === DOT)) return true;
  }
  return false;
}

/** Does the literal subject match the (possibly wildcard) pattern? */
export function subjectMatches(pattern: string, literal: string): boolean {
  const p = pattern.split(".");
  const l = literal.split(".");
  const np = p.length;
  for (let i = 0; i < np; i++) {
    const t = p[i];
    if (t === ">") return l.length > i;
    if (i >= l.length) return false;
    if (t !== "*" && t !== l[i]) return false;
  }
  return p.length === l.length;
}

/** Convert between JS strings and gnat's latin1 wire strings (identity for ASCII). */
export function toWire(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) return Buffer.from(s, "utf8").toString("latin1");
  }
  return s;
}

export function fromWire(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) return Buffer.from(s, "latin1").toString("utf8");
  }
  return s;
}

/**
 * Compile a filter subject (possibly with `*` / `>`) into a predicate over literal subjects.
 * Stores test every message against one filter, so the filter is tokenised once here and the
 * literal and match-everything cases skip tokenising altogether. `""` matches everything,
 * as an empty filter does in JetStream.
 */
export function subjectMatcher(filter: string): (subject: string) => boolean {
  if (filter === "" || filter === ">") return matchAll;
  if (!hasWildcard(filter)) return (s) => s === filter;
  const p = filter.split(".");
  const np = p.length;
  const fwc = p[np - 1] === ">";
  return (s) => {
    let start = 0;
    const n = s.length;
    for (let i = 0; i < np; i++) {
      if (start > n) return false;
      const t = p[i]!;
      if (fwc && i === np - 1) return start < n;
      let end = s.indexOf(".", start);
      if (end < 0) end = n;
      if (t !== "*") {
        if (end - start !== t.length || !s.startsWith(t, start)) return false;
      }
      start = end + 1;
    }
    return start > n;
  };
}

function matchAll(): boolean { return true; }

/**
 * nats-server SubjectsCollide: could some literal subject match both a and b? Used for the
 * overlap checks between streams' subjects and for the STREAM.NAMES subject filter.
 */
export function subjectsCollide(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = a.split(".");
  const tb = b.split(".");
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === ">" || y === ">") return true;
    if (x === "*" || y === "*") continue;
    if (x !== y) return false;
  }
  if (ta.length === tb.length) return true;
  // Different lengths collide only if the shorter one ends in '>' (handled above).
  return false;
}
