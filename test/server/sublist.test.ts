import { describe, expect, test } from "vitest";
import { Sublist } from "../../server/core/sublist.js";
import { hasWildcard, subjectMatches } from "../../protocol/subject.js";

interface Sub { subject: string; queue: string; id: string }
const sub = (subject: string, id = subject, queue = ""): Sub => ({ subject, queue, id });
const ids = (l: Sublist<Sub>, subject: string) => l.match(subject).psubs.map((s) => s.id).sort();

describe("sublist", () => {
  test("matches a literal subscription only on its own subject", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo.bar"));
    expect(ids(l, "foo.bar")).toEqual(["foo.bar"]);
    expect(ids(l, "foo")).toEqual([]);
    expect(ids(l, "foo.bar.baz")).toEqual([]);
  });

  test("matches * against exactly one token", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo.*"));
    l.insert(sub("*.bar"));
    l.insert(sub("*"));
    expect(ids(l, "foo.bar")).toEqual(["*.bar", "foo.*"]);
    expect(ids(l, "foo")).toEqual(["*"]);
    expect(ids(l, "foo.bar.baz")).toEqual([]);
  });

  test("matches > against one or more trailing tokens", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo.>"));
    l.insert(sub(">"));
    expect(ids(l, "foo")).toEqual([">"]);
    expect(ids(l, "foo.bar")).toEqual([">", "foo.>"]);
    expect(ids(l, "foo.bar.baz")).toEqual([">", "foo.>"]);
  });

  test("matches nothing for subjects with empty tokens", () => {
    const l = new Sublist<Sub>();
    l.insert(sub(">"));
    expect(ids(l, "foo..bar")).toEqual([]);
    expect(ids(l, ".foo")).toEqual([]);
    expect(ids(l, "foo.")).toEqual([]);
  });

  test("groups queue subscriptions by queue name across literal and wildcard nodes", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo.bar", "a1", "q1"));
    l.insert(sub("foo.*", "a2", "q1"));
    l.insert(sub("foo.>", "b1", "q2"));
    l.insert(sub("foo.bar", "p"));
    const r = l.match("foo.bar");
    expect(r.psubs.map((s) => s.id)).toEqual(["p"]);
    const groups = r.qsubs.map((g) => g.map((s) => s.id).sort()).sort();
    expect(groups).toEqual([["a1", "a2"], ["b1"]]);
  });

  test("removes subscriptions and prunes empty nodes", () => {
    const l = new Sublist<Sub>();
    const a = sub("foo.bar.baz", "a");
    const b = sub("foo.*.baz", "b");
    const q = sub("foo.bar.baz", "q", "g");
    l.insert(a); l.insert(b); l.insert(q);
    expect(l.size).toBe(3);
    expect(l.remove(a)).toBe(true);
    expect(l.remove(a)).toBe(false);
    expect(ids(l, "foo.bar.baz")).toEqual(["b"]);
    expect(l.remove(b)).toBe(true);
    expect(l.remove(q)).toBe(true);
    expect(l.size).toBe(0);
    expect(l.match("foo.bar.baz").qsubs).toEqual([]);
    expect(l.all()).toEqual([]);
  });

  test("does not remove a subscription it never held", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo", "a"));
    expect(l.remove(sub("foo", "other"))).toBe(false);
    expect(l.remove(sub("foo.bar", "a"))).toBe(false);
    expect(l.size).toBe(1);
  });

  test("serves repeated matches from the cache and drops a stale entry when a literal sub is added", () => {
    const l = new Sublist<Sub>();
    l.insert(sub("foo", "a"));
    const first = l.match("foo");
    expect(l.match("foo")).toBe(first);
    l.insert(sub("foo", "b"));
    expect(ids(l, "foo")).toEqual(["a", "b"]);
  });

  test("drops only the cached subjects a wildcard change can affect", () => {
    const l = new Sublist<Sub>();
    // A wildcard subscription elsewhere, so matches go through the cache from the start.
    l.insert(sub("z.>", "z"));
    l.insert(sub("a.x", "ax"));
    l.insert(sub("b.x", "bx"));
    const bx = l.match("b.x");
    l.match("a.x");
    l.insert(sub("a.*", "wild"));
    expect(l.match("b.x")).toBe(bx);
    expect(ids(l, "a.x")).toEqual(["ax", "wild"]);
    const w = l.all().find((s) => s.id === "wild")!;
    l.remove(w);
    expect(ids(l, "a.x")).toEqual(["ax"]);
  });

  test("bounds the cache", () => {
    const l = new Sublist<Sub>(64);
    l.insert(sub(">", "all"));
    for (let i = 0; i < 1000; i++) expect(ids(l, `s.${i}`)).toEqual(["all"]);
    expect(l.cacheSize).toBeLessThanOrEqual(64);
  });

  test("agrees with a brute-force matcher on random subscriptions", () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const toks = ["a", "b", "c", "*", ">"];
    const lits = ["a", "b", "c"];
    const l = new Sublist<Sub>(16);
    const all: Sub[] = [];
    const matches = (p: string, s: string) => {
      const pt = p.split("."), st = s.split(".");
      for (let i = 0; i < pt.length; i++) {
        if (pt[i] === ">") return st.length > i;
        if (i >= st.length || (pt[i] !== "*" && pt[i] !== st[i])) return false;
      }
      return pt.length === st.length;
    };
    for (let i = 0; i < 400; i++) {
      const n = 1 + rand(4);
      const t: string[] = [];
      for (let k = 0; k < n; k++) t.push(k === n - 1 ? toks[rand(5)]! : toks[rand(4)]!);
      const s = sub(t.join("."), `s${i}`);
      if (rand(5) === 0 && all.length > 0) {
        const victim = all.splice(rand(all.length), 1)[0]!;
        l.remove(victim);
      }
      l.insert(s);
      all.push(s);
      const subj = Array.from({ length: 1 + rand(4) }, () => lits[rand(3)]!).join(".");
      expect(ids(l, subj)).toEqual(all.filter((x) => matches(x.subject, subj)).map((x) => x.id).sort());
    }
  });

  test.each([
    ["literal subscriptions only (the literal index)", false],
    ["a wildcard subscription too (the default cache)", true],
  ])("holds 10k subjects published round-robin: %s, and stays right after changes", (_name, withWildcard) => {
    const l = new Sublist<Sub>();
    if (withWildcard) l.insert(sub("other.>", "other"));
    const names = Array.from({ length: 10_000 }, (_, i) => `s.${10_000 + i}`);
    for (const n of names) l.insert(sub(n));
    const first = names.map((n) => l.match(n));
    expect(l.cacheSize).toBe(withWildcard ? 10_000 : 0);
    // A second round needs no trie walk: the very same results.
    expect(names.every((n, i) => l.match(n) === first[i])).toBe(true);
    expect(ids(l, "s.nothing")).toEqual([]);
    const extra = sub("s.10007", "extra");
    l.insert(extra);
    l.remove(l.all().find((x) => x.id === "s.10008")!);
    const wild = sub("s.*", "wild");
    l.insert(wild);
    expect(ids(l, "s.10007")).toEqual(["extra", "s.10007", "wild"]);
    expect(ids(l, "s.10008")).toEqual(["wild"]);
    expect(ids(l, "s.19999")).toEqual(["s.19999", "wild"]);
    l.remove(wild);
    l.remove(extra);
    expect(ids(l, "s.10007")).toEqual(["s.10007"]);
    expect(ids(l, "s.19999")).toEqual(["s.19999"]);
    expect(l.cacheSize).toBeLessThanOrEqual(10_000);
    expect(ids(l, "other.x")).toEqual(withWildcard ? ["other"] : []);
  });

  test("switches between the literal index and the cache as wildcard subscriptions come and go", () => {
    const l = new Sublist<Sub>();
    const a = sub("a.b", "a");
    const q = sub("a.b", "q", "g");
    l.insert(a);
    l.insert(q);
    const r = l.match("a.b");
    expect(r.psubs.map((s) => s.id)).toEqual(["a"]);
    expect(r.qsubs.map((g) => g.map((s) => s.id))).toEqual([["q"]]);
    expect(ids(l, "a")).toEqual([]);
    expect(ids(l, "a.b.c")).toEqual([]);
    const w = sub("a.*", "w");
    l.insert(w);
    expect(ids(l, "a.b")).toEqual(["a", "w"]);
    expect(ids(l, "a.c")).toEqual(["w"]);
    expect(l.cacheSize).toBe(2);
    l.remove(w);
    expect(l.cacheSize).toBe(0);
    expect(ids(l, "a.b")).toEqual(["a"]);
    expect(ids(l, "a.c")).toEqual([]);
    l.remove(a);
    const r2 = l.match("a.b");
    expect(r2.psubs).toEqual([]);
    expect(r2.qsubs.map((g) => g.map((s) => s.id))).toEqual([["q"]]);
    l.remove(q);
    expect(l.match("a.b")).toEqual({ psubs: [], qsubs: [] });
    expect(l.size).toBe(0);
  });

  test("agrees with a brute-force matcher while wildcard subscriptions come and go", () => {
    let seed = 9;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const lits = ["a", "b", "c"];
    const l = new Sublist<Sub>(8);
    const live: Sub[] = [];
    let literalOnlySteps = 0;
    for (let i = 0; i < 2000; i++) {
      if (rand(2) === 0 && live.length > 0) {
        expect(l.remove(live.splice(rand(live.length), 1)[0]!)).toBe(true);
      } else {
        const n = 1 + rand(3);
        const t = Array.from({ length: n }, () => lits[rand(3)]!);
        // About one in six subscriptions has a wildcard, so there are often none at all.
        if (rand(6) === 0) t[rand(n)] = rand(2) === 0 ? "*" : ">";
        if (t.indexOf(">") >= 0) t.length = t.indexOf(">") + 1;
        const s = sub(t.join("."), `s${i}`, rand(4) === 0 ? "q" : "");
        l.insert(s);
        live.push(s);
      }
      if (!live.some((x) => hasWildcard(x.subject))) literalOnlySteps++;
      expect(l.literalSubjects).toBe(new Set(live.filter((x) => !hasWildcard(x.subject)).map((x) => x.subject)).size);
      for (let k = 0; k < 3; k++) {
        const subj = Array.from({ length: 1 + rand(3) }, () => lits[rand(3)]!).join(".");
        const r = l.match(subj);
        const got = [...r.psubs, ...r.qsubs.flat()].map((x) => x.id).sort();
        expect(got, subj).toEqual(live.filter((x) => subjectMatches(x.subject, subj)).map((x) => x.id).sort());
      }
    }
    expect(literalOnlySteps).toBeGreaterThan(100);
    expect(literalOnlySteps).toBeLessThan(1900);
  });
});
