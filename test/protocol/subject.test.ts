import { describe, expect, test } from "vitest";
import { fromWire, hasWildcard, isValidLiteralSubject, isValidSubject, subjectIsSubsetMatch, subjectMatcher, subjectMatches, tokensMatch, toWire } from "../../protocol/subject.js";
import { patternCovers } from "../../server/auth/permissions.js";

describe("subjects", () => {
  test.each(["foo", "foo.bar", "*", ">", "foo.*", "foo.>", "*.bar.>", "foo*.bar", "a.b.c.d.e.f", "$JS.API.INFO", "ü.x"])(
    "%s is a valid subscription subject", (s) => expect(isValidSubject(s)).toBe(true));

  test.each(["", ".", "foo.", ".foo", "foo..bar", "foo.>.bar", ">.foo", "foo bar", "foo\tbar"])(
    "%j is not a valid subscription subject", (s) => expect(isValidSubject(s)).toBe(false));

  test.each(["foo", "foo.bar", "foo*.bar", "foo.>bar", "_INBOX.abc"])(
    "%s is a valid publish subject", (s) => expect(isValidLiteralSubject(s)).toBe(true));

  test.each(["", "*", ">", "foo.*", "foo.>", "foo..bar", "foo.", ".foo", "a b"])(
    "%j is not a valid publish subject", (s) => expect(isValidLiteralSubject(s)).toBe(false));

  test("finds wildcards only as whole tokens", () => {
    expect(hasWildcard("foo.*")).toBe(true);
    expect(hasWildcard(">")).toBe(true);
    expect(hasWildcard("foo*.bar")).toBe(false);
    expect(hasWildcard("foo.b>")).toBe(false);
  });

  test("matches literal subjects against patterns", () => {
    expect(subjectMatches("foo.*", "foo.bar")).toBe(true);
    expect(subjectMatches("foo.*", "foo.bar.baz")).toBe(false);
    expect(subjectMatches("foo.>", "foo.bar.baz")).toBe(true);
    expect(subjectMatches("foo.>", "foo")).toBe(false);
    expect(subjectMatches(">", "a")).toBe(true);
    expect(subjectMatches("*.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.c")).toBe(false);
  });

  test("round-trips UTF-8 subjects through the latin1 wire form", () => {
    const s = "orders.ü.日本";
    expect(toWire(s)).toBe(Buffer.from(s, "utf8").toString("latin1"));
    expect(fromWire(toWire(s))).toBe(s);
    expect(toWire("ascii.only")).toBe("ascii.only");
  });

  test("a compiled matcher agrees with subjectMatches", () => {
    const cases: Array<[string, string, boolean]> = [
      ["foo.*", "foo.bar", true], ["foo.*", "foo.bar.baz", false], ["foo.*", "foo", false],
      ["foo.>", "foo.bar.baz", true], ["foo.>", "foo", false], ["*.bar", "foo.bar", true],
      ["*", "foo", true], ["*", "foo.bar", false], [">", "a.b", true], ["foo.bar", "foo.bar", true],
      ["foo.*.baz", "foo.x.baz", true], ["foo.*.baz", "foo.x.bay", false], ["fo.*", "foo.x", false],
    ];
    for (const [f, s, want] of cases) {
      expect([f, s, subjectMatcher(f)(s)]).toEqual([f, s, want]);
      expect(subjectMatches(f, s)).toBe(want);
    }
    expect(subjectMatcher("")("any.thing")).toBe(true);
  });
});

// subject.ts is the one home of subject matching. Every pattern and literal of up to three tokens
// drawn from a small alphabet (empty tokens included), checked against a reference written the
// plain way, and the matchers built on it (split-once tokens, a compiled filter, the
// permission check) against each other.
describe("one matcher, every way it is used", () => {
  const toks = ["a", "b", "ab", "*", ">", ""];
  const gen = (n: number): string[] => {
    if (n === 0) return [""];
    const out: string[] = [];
    for (const rest of gen(n - 1)) for (const t of toks) out.push(rest === "" ? t : `${rest}.${t}`);
    return out;
  };
  const patterns = [...new Set([...gen(1), ...gen(2), ...gen(3)])];
  const literals = patterns.filter((x) => !hasWildcard(x));
  /** nats-server's rule, the obvious way: `*` one token, `>` one or more at the end. */
  const reference = (pattern: string, literal: string): boolean => {
    const p = pattern.split(".");
    const l = literal.split(".");
    for (let i = 0; i < p.length; i++) {
      if (p[i] === ">") return l.length > i;
      if (i >= l.length || (p[i] !== "*" && p[i] !== l[i])) return false;
    }
    return p.length === l.length;
  };

  test("subjectMatches is the reference", () => {
    for (const p of patterns) for (const l of literals) expect(subjectMatches(p, l), `${p} ~ ${l}`).toBe(reference(p, l));
  });

  test("tokensMatch (the pattern split once) and subjectMatcher (compiled) agree with it", () => {
    for (const p of patterns) {
      const split = p.split(".");
      const compiled = p === "" ? null : subjectMatcher(p);
      for (const l of literals) {
        expect(tokensMatch(split, l), `${p} ~ ${l}`).toBe(subjectMatches(p, l));
        if (compiled !== null) expect(compiled(l), `${p} ~ ${l}`).toBe(subjectMatches(p, l));
      }
    }
  });

  test("a permission covers what the pattern matches, except subjects with an empty token (nats-server matches none)", () => {
    for (const p of patterns) {
      for (const l of literals) {
        const empty = l === "" || l.startsWith(".") || l.endsWith(".") || l.includes("..");
        expect(patternCovers(p, l), `${p} ~ ${l}`).toBe(empty ? false : subjectMatches(p, l));
      }
    }
  });
});

describe("subjectIsSubsetMatch (nats-server's, for stream and source filters)", () => {
  test("a filter is a subset of one that matches everything it matches", () => {
    expect(subjectIsSubsetMatch("a.b", "a.*")).toBe(true);
    expect(subjectIsSubsetMatch("a.*", "a.*")).toBe(true);
    expect(subjectIsSubsetMatch("a.*.c", "a.>")).toBe(true);
    expect(subjectIsSubsetMatch("$JS.EVENT.ADVISORY.x", "$JS.EVENT.>")).toBe(true);
  });
  test("a wildcard is covered only by a wildcard; lengths must agree without >", () => {
    expect(subjectIsSubsetMatch("a.*", "a.b")).toBe(false);
    expect(subjectIsSubsetMatch("a.>", "a.*")).toBe(false);
    expect(subjectIsSubsetMatch("a.b.c", "a.*")).toBe(false);
    expect(subjectIsSubsetMatch("a", "a.>")).toBe(false);
  });
});
