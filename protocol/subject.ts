// Subject rules. Subjects travel through gnat as latin1 strings: one char per wire byte, so any
// UTF-8 subject round-trips exactly and a string's length is its byte length.

const DOT = 46;
const STAR = 42;
const GT = 62;

/** A subscription subject: no empty tokens; `*` and `>` only as whole tokens; `>` only last. */
export function isValidSubject(subject: string): boolean {
  return validTokens(subject, false);
}

/** A publish subject: a valid subject with no wildcard tokens. */
export function isValidLiteralSubject(subject: string): boolean {
  return validTokens(subject, true);
}

/** No empty tokens, no whitespace; `>` only last, and with `literal` no `*` or `>` token at all. */
function validTokens(subject: string, literal: boolean): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let start = 0;
  let sawFwc = false;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      if (i === start || sawFwc) return false;
      if (i - start === 1) {
        const c = subject.charCodeAt(start);
        if (literal && (c === STAR || c === GT)) return false;
        if (c === GT) sawFwc = true;
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

/**
 * Does the literal subject match the (possibly wildcard) pattern? nats-server's rules: `*` takes
 * one token, `>` one or more at the end. Walked in place, token by token: no split, no
 * allocation (a wildcard change in the sublist runs it over every cached subject). This file is
 * the one home of subject matching: the sublist's cache, permissions, stream subjects, consumer
 * filters, imports/exports and the monitor's filters all match through it.
 */
export function subjectMatches(pattern: string, literal: string): boolean {
  const pn = pattern.length;
  const ln = literal.length;
  let pi = 0;
  let li = 0;
  for (;;) {
    let pe = pattern.indexOf(".", pi);
    if (pe < 0) pe = pn;
    if (li > ln) return false; // the literal has no token left for this one
    let le = literal.indexOf(".", li);
    if (le < 0) le = ln;
    const plen = pe - pi;
    if (plen === 1 && pattern.charCodeAt(pi) === GT) return true;
    if (plen !== 1 || pattern.charCodeAt(pi) !== STAR) {
      if (plen !== le - li) return false;
      for (let k = 0; k < plen; k++) if (pattern.charCodeAt(pi + k) !== literal.charCodeAt(li + k)) return false;
    }
    pi = pe + 1;
    li = le + 1;
    if (pi > pn) return li > ln;
  }
}

/**
 * subjectMatches with the pattern split once beforehand (a permission entry, a stream filter),
 * for checks that run per message.
 */
export function tokensMatch(p: readonly string[], s: string): boolean {
  const n = s.length;
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    // The subject has run out of tokens.
    if (start > n) return false;
    const t = p[i]!;
    // `>` needs at least one more token, and there is one.
    if (t === ">") return true;
    let end = s.indexOf(".", start);
    if (end < 0) end = n;
    if (t !== "*" && (end - start !== t.length || !s.startsWith(t, start))) return false;
    start = end + 1;
  }
  return start > n;
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
  return (s) => tokensMatch(p, s);
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

/**
 * nats-server subjectIsSubsetMatch: every subject `subj` matches is matched by `test` (a `*` or
 * `>` in `subj` is covered only by a wildcard in `test`).
 */
export function subjectIsSubsetMatch(subj: string, test: string): boolean {
  const a = subj.split(".");
  const b = test.split(".");
  for (let i = 0; i < b.length; i++) {
    // As nats-server: a test longer than the subject fails before its `>` is looked at.
    const s = a[i];
    if (s === undefined) return false;
    const t = b[i]!;
    if (t === ">") return true;
    if (s === ">") return false;
    if (s === "*") { if (t !== "*") return false; continue; }
    if (t !== "*" && s !== t) return false;
  }
  return a.length === b.length;
}
