import { describe, expect, test } from "vitest";
import { fromWire, hasWildcard, isValidLiteralSubject, isValidSubject, subjectMatcher, subjectMatches, toWire } from "../../protocol/subject.js";

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
