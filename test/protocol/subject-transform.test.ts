// The pure subject transforms and mapping tables (protocol/subject-transform.ts,
// protocol/subject-mapping.ts). Expected values come from nats-server's own tests
// (server/subject_transform_test.go, accounts_test.go) and from FNV-1a's published vectors;
// test/server/mappings.test.ts checks the same against a running nats-server.
import { describe, expect, test } from "vitest";
import { hashPartition, MappingError, SubjectTransform, validateMappingDestination } from "../../protocol/subject-transform.js";
import { SubjectMappings } from "../../protocol/subject-mapping.js";

const tr = (src: string, dest: string, subject: string): string => SubjectTransform.create(src, dest).apply(subject.split("."));
const err = (src: string, dest: string): string => {
  try {
    validateMappingDestination(dest);
    SubjectTransform.create(src, dest);
  } catch (e) {
    expect(e).toBeInstanceOf(MappingError);
    return (e as Error).message;
  }
  return "";
};

describe("subject transforms", () => {
  test("$n and {{wildcard(n)}} take the n-th `*` token, in any order", () => {
    expect(tr("foo.*.*", "bar.$2.$1", "foo.A.B")).toBe("bar.B.A");
    expect(tr("foo.*.*", "bar.{{wildcard(2)}}.{{ Wildcard( 1 ) }}", "foo.A.B")).toBe("bar.B.A");
  });

  test("a literal source maps to its literal destination", () => {
    expect(tr("foo", "bar.baz", "foo")).toBe("bar.baz");
  });

  test("`>` carries the rest of the subject over", () => {
    expect(tr("foo.>", "bar.>", "foo.a.b.c")).toBe("bar.a.b.c");
    expect(tr("foo.*.>", "bar.$1.x.>", "foo.a.b.c")).toBe("bar.a.x.b.c");
  });

  test("splitFromLeft / splitFromRight cut a token in two at a position, or leave it", () => {
    expect(tr("*", "{{splitfromleft(1,1)}}", "12345")).toBe("1.2345");
    expect(tr("*", "{{SplitFromLeft(1,4)}}", "12345")).toBe("1234.5");
    expect(tr("*", "{{splitFromLeft(1,5)}}", "12345")).toBe("12345");
    expect(tr("*", "{{splitFromRight(1,1)}}", "12345")).toBe("1234.5");
    expect(tr("*", "{{splitFromRight(1,2)}}", "12345")).toBe("123.45");
  });

  test("sliceFromLeft / sliceFromRight cut a token into pieces of a size", () => {
    expect(tr("*", "{{slicefromleft(1,2)}}", "12345")).toBe("12.34.5");
    expect(tr("*", "{{slicefromleft(1,3)}}", "123456")).toBe("123.456");
    expect(tr("*", "{{slicefromright(1,2)}}", "12345")).toBe("1.23.45");
    expect(tr("*", "{{sliceFromRight(1,3)}}", "1234567")).toBe("1.234.567");
    expect(tr("*", "{{sliceFromLeft(1,9)}}", "123")).toBe("123");
    // nats-server's TestSubjectTransformHelpers.
    expect(tr("*", "{{SliceFromLeft(1,3)}}", "1234567890")).toBe("123.456.789.0");
    expect(tr("*", "{{SliceFromRight(1,3)}}", "1234567890")).toBe("1.234.567.890");
    expect(tr("*.*", "{{split(2,-)}}.{{splitfromleft(1,2)}}", "foo.-abc-def--ghij-")).toBe("abc.def.ghij.fo.o");
  });

  test("split cuts a token at every separator and drops empty pieces", () => {
    expect(tr("*", "{{split(1,-)}}", "-abc-def--ghi-")).toBe("abc.def.ghi");
    expect(tr("*.*", "{{split(2,-)}}.{{splitfromleft(1,2)}}", "companyA.0123-456-789")).toBe("0123.456.789.co.mpanyA");
  });

  test("partition is FNV-1a of the chosen tokens' bytes, modulo the count", () => {
    // The key is the tokens' bytes one after the other, no separator: "baz"+"qux".
    expect(tr("foo.*.*", "bar.{{partition(1000,1,2)}}", "foo.baz.qux")).toBe(`bar.${hashPartition("bazqux", 1000)}`);
    expect(tr("foo.*.*", "bar.{{partition(1000,2,1)}}", "foo.baz.qux")).toBe(`bar.${hashPartition("quxbaz", 1000)}`);
    // FNV-1a 32 test vectors: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(hashPartition("", 2 ** 32 - 1)).toBe(String(0x811c9dc5 % (2 ** 32 - 1)));
    expect(hashPartition("a", 1000)).toBe(String(0xe40c292c % 1000));
    expect(hashPartition("foobar", 7)).toBe(String(0xbf9cf968 % 7));
    expect(hashPartition("x", 0)).toBe("0");
  });

  test("the bytes of a UTF-8 token are what is hashed and sliced (wire strings are latin1)", () => {
    const wire = Buffer.from("ü", "utf8").toString("latin1");
    expect(tr("*", "{{sliceFromLeft(1,1)}}", wire)).toBe(`${wire[0]}.${wire[1]}`);
  });

  test("bad destinations give nats-server's error texts", () => {
    expect(err("foo.*", "bar.{{unknown(1)}}")).toBe("invalid mapping destination: unknown function in {{unknown(1)}}");
    expect(err("l.*", "m.{{wildcard(2)}}")).toBe("invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]");
    expect(err("v.*", "w.{{splitFromLeft(x,2)}}")).toBe("invalid mapping destination: function argument is invalid or in the wrong format in {{splitFromLeft(x,2)}}");
    expect(err("t.*", "u.{{splitFromLeft(1,2,3)}}")).toBe("invalid mapping destination: too many arguments passed to the function in {{splitFromLeft(1,2,3)}}");
    expect(err("r.*", "s.{{split(1)}}")).toBe("invalid mapping destination: not enough arguments passed to the function in {{split(1)}}");
    expect(err("j.*", "k.{{partition(3)}}")).toBe("invalid mapping destination: not enough arguments passed to the function in {{partition(3)}}");
    expect(err("y", "bad..dest")).toBe("invalid mapping destination: invalid subject in ");
    expect(err("p.>", "q.*")).toBe("invalid subject");
    expect(err("p.*", "q.>")).toBe("invalid subject");
    expect(err("a.b", "c.{{wildcard(1)}}")).toBe("invalid mapping destination: wildcard index out of range in {{wildcard(1)}}");
  });

  test("a destination may leave wildcards out (2.10; 2.9 refused it)", () => {
    expect(err("a.*.*", "b.$1")).toBe("");
    expect(tr("a.*.*", "b.$1", "a.x.y")).toBe("b.x");
  });
});

describe("mapping tables", () => {
  test("the first matching source wins; others pass unchanged", () => {
    const m = new SubjectMappings();
    m.add("orders.*", [{ subject: "orders.{{partition(4,1)}}.{{wildcard(1)}}", weight: 100 }]);
    m.add("a", [{ subject: "b", weight: 100 }]);
    expect(m.map("a")).toBe("b");
    expect(m.map("orders.k1")).toMatch(/^orders\.[0-3]\.k1$/);
    expect(m.map("orders.k1")).toBe(m.map("orders.k1"));
    expect(m.map("other")).toBe("other");
    expect(m.map("orders.k1.x")).toBe("orders.k1.x");
    expect(m.sources()).toEqual(["orders.*", "a"]);
  });

  test("weights are cumulative; the rest of 100 stays on the source", () => {
    let draw = 0;
    const m = new SubjectMappings(undefined, () => draw);
    m.add("w.*", [{ subject: "x.$1", weight: 20 }, { subject: "y.$1", weight: 30 }]);
    const at = (d: number): string => {
      draw = d;
      return m.map("w.1");
    };
    expect(at(0.0)).toBe("x.1");
    expect(at(0.199)).toBe("x.1");
    expect(at(0.2)).toBe("y.1");
    expect(at(0.49)).toBe("y.1");
    expect(at(0.5)).toBe("w.1");
    expect(at(0.99)).toBe("w.1");
  });

  test("a source listed among its destinations with weights under 100 drops the rest", () => {
    let draw = 0;
    const m = new SubjectMappings(undefined, () => draw);
    m.add("s", [{ subject: "s", weight: 40 }, { subject: "t", weight: 40 }]);
    draw = 0.1;
    expect(m.map("s")).toBe("s");
    draw = 0.5;
    expect(m.map("s")).toBe("t");
    draw = 0.9;
    expect(m.map("s")).toBe("");
  });

  test("cluster-scoped destinations apply on that cluster's servers only", () => {
    // Weights add up across clusters too (nats-server counts them all against 100).
    let cluster = "east";
    let draw = 0;
    const m = new SubjectMappings(() => cluster, () => draw);
    m.add("c", [{ subject: "c.east", weight: 50, cluster: "east" }, { subject: "c.any", weight: 50 }]);
    expect(m.map("c")).toBe("c.east");
    draw = 0.7;
    expect(m.map("c")).toBe("c");
    cluster = "west";
    draw = 0;
    expect(m.map("c")).toBe("c.any");
  });

  test("weights and duplicates are checked as nats-server checks them", () => {
    const m = new SubjectMappings();
    expect(() => m.add("e", [{ subject: "f", weight: 60 }, { subject: "g", weight: 50 }])).toThrow("total weight needs to be <= 100");
    expect(() => m.add("z", [{ subject: "z1", weight: 50 }, { subject: "z1", weight: 50 }])).toThrow('duplicate entry for "z1"');
    expect(() => m.add("bad..src", [{ subject: "x", weight: 100 }])).toThrow("invalid subject");
    expect(m.size).toBe(0);
  });
});
