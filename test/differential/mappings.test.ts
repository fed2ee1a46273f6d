// Subject mappings against nats-server 2.9.10: the same publishes through the same `mappings`
// (top level and per account) reach the same subjects byte for byte, the partition numbers
// included (nats-server's FNV-1a over the key tokens), and weighted destinations split traffic
// by their weights on both. Config errors give nats-server's texts (see test/server/mappings.test.ts).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NATS_SERVER, play, startPair, type Pair, type Transcript } from "./harness.js";

const CONNECT = `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true })}\r\n`;
const as = (user: string): string =>
  `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, user, pass: user })}\r\n`;

// Both 2.9.10 and 2.10 take these (2.9 refuses a destination that leaves a wildcard out; see
// test/server/mappings.test.ts).
const CONFIG = `
mappings {
  "plain": "mapped.plain"
  "swap.*.*": "swapped.$2.$1"
  "fn.*.*": "fn.{{wildcard(2)}}.{{ Wildcard(1) }}"
  "orders.*": "orders.{{partition(8,1)}}.{{wildcard(1)}}"
  "two.*.*": "two.{{partition(5,1,2)}}.$1.$2"
  "split.*": "split.{{split(1,-)}}"
  "sfl.*": "sfl.{{splitFromLeft(1,2)}}"
  "sfr.*": "sfr.{{splitFromRight(1,2)}}"
  "slL.*": "slL.{{sliceFromLeft(1,3)}}"
  "slR.*": "slR.{{sliceFromRight(1,3)}}"
  "tail.*.>": "tailed.$1.>"
  "weighted.*": [ {destination: "w.a.$1", weight: 100%} ]
  "one": {destination: "one.mapped", weight: 100}
}
`;

const ACCOUNTS = `
accounts {
  A: { users: [ {user: a, password: a} ], mappings: { "in.*": "a.{{partition(3,1)}}.$1" } }
  B: { users: [ {user: b, password: b} ] }
}
`;

/** Keys enough to land in every partition, with UTF-8 and odd bytes in some. */
const KEYS = [...Array.from({ length: 150 }, (_, i) => `k${i * 7919}`), "ü", "日本", "a-b", "x_y", "Z"];

/** Everything the tests publish to (named, so only what the mappings produce is compared). */
const SUB_ALL = ["mapped.>", "swapped.>", "fn.>", "tailed.>", "w.>", "one.>", "unmapped.>", "swap.>", "split.>", "sfl.>", "sfr.>", "slL.>", "slR.>"]
  .map((s, i) => `SUB ${s} ${i + 1}\r\n`).join("");

const pub = (subject: string, body = "x"): string => `PUB ${subject} ${Buffer.byteLength(body)}\r\n${body}\r\n`;

const cases: [string, Transcript][] = [
  ["literal, $n, {{wildcard}} and > mappings", {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + SUB_ALL },
      { conn: 1, send: CONNECT + pub("plain") + pub("swap.a.b") + pub("fn.a.b") + pub("tail.x.y.z") + pub("weighted.q") + pub("one") + pub("unmapped.s") + pub("swap.a") },
      { conn: 0, send: "" },
    ],
  }],
  ["partition numbers are nats-server's for every key", {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + "SUB orders.> 1\r\nSUB two.> 2\r\n" },
      { conn: 1, send: CONNECT + KEYS.map((k) => pub(Buffer.from(`orders.${k}`, "utf8").toString("latin1"))).join("") },
      { conn: 1, send: KEYS.map((k, i) => pub(`two.${KEYS[(i + 1) % KEYS.length]!.replace(/[^\x20-\x7e]/g, "u")}.${k.replace(/[^\x20-\x7e]/g, "v")}`)).join("") },
      { conn: 0, send: "" },
    ],
  }],
  ["split, splitFromLeft/Right and sliceFromLeft/Right", {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + SUB_ALL },
      { conn: 1, send: CONNECT + ["split.-a-b--c-", "split.abc", "sfl.abcde", "sfl.a", "sfr.abcde", "slL.abcdefg", "slL.ab", "slR.abcdefg", "slR.abcdef"].map((s) => pub(s)).join("") },
      { conn: 0, send: "" },
    ],
  }],
  ["a request on a mapped subject carries its reply, and the mapped subject's responder answers", {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + "SUB mapped.plain 1\r\n" },
      { conn: 1, send: CONNECT + "SUB _INBOX.r 9\r\nPUB plain _INBOX.r 2\r\nhi\r\nPUB swap.q.r _INBOX.r 0\r\n\r\n" },
      { conn: 0, send: "", waitFor: "hi\r\n" },
      { conn: 0, send: pub("_INBOX.r", "ok") },
      { conn: 1, send: "", waitFor: "ok\r\n" },
    ],
  }],
  ["a subscriber on the source subject no longer receives what is mapped away", {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + "SUB plain 1\r\nSUB mapped.plain 2\r\n" },
      { conn: 1, send: CONNECT + pub("plain", "p") },
      { conn: 0, send: "" },
    ],
  }],
];

describe.skipIf(NATS_SERVER === null)("subject mappings (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, CONFIG);
  });
  afterAll(async () => {
    await pair?.close();
  });
  for (const [name, t] of cases) {
    test(name, async () => {
      const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
      expect(nats[0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
      expect(gnat).toEqual(nats);
    });
  }

  test("the transcripts deliver (no vacuous comparison)", async () => {
    const out = await play(pair.gnatPort, cases[1]![1]);
    expect(out[0]!.match(/MSG /g)?.length).toBe(2 * KEYS.length);
  });

  test("every partition is used, and each key always lands in the same one", async () => {
    const t = cases[1]![1];
    const [first, again] = [await play(pair.gnatPort, t), await play(pair.gnatPort, t)];
    expect(again).toEqual(first);
    const parts = new Set([...first[0]!.matchAll(/MSG orders\.(\d+)\./g)].map((m) => m[1]));
    expect([...parts].sort()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7"]);
  });
});

describe.skipIf(NATS_SERVER === null)("account mappings (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, ACCOUNTS);
  });
  afterAll(async () => {
    await pair?.close();
  });
  const cases: [string, Transcript][] = [
  ["an account's mappings apply to its own publishes only", {
    conns: 3,
    steps: [
      { conn: 0, send: as("a") + "SUB > 1\r\n" },
      { conn: 1, send: as("b") + "SUB > 1\r\n" },
      // CONNECT first, on its own: nats-server 2.9 decides whether to map once per socket read,
      // from the account the client was in when the read began ($G before the CONNECT).
      { conn: 2, send: as("a") },
      { conn: 2, send: KEYS.slice(0, 40).map((k) => pub(`in.${k}`)).join("") + pub("plain") },
      { conn: 0, send: "" },
      { conn: 1, send: as("b") + pub("in.k1") },
    ],
  }],
  ];
  for (const [name, t] of cases) {
    test(name, async () => {
      const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
      expect(nats[0]!.match(/MSG a\.[0-2]\.k/g)?.length, "nats-server delivered the mapped messages").toBe(40);
      expect(gnat).toEqual(nats);
    });
  }
});

const WEIGHTED = `
mappings {
  "w": [ {destination: "w.a", weight: 70%}, {destination: "w.b", weight: 20%} ]
  "d": [ {destination: "d", weight: 50%}, {destination: "d.b", weight: 25%} ]
}
`;

describe.skipIf(NATS_SERVER === null)("weighted mappings (differential, by counts)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, WEIGHTED);
  });
  afterAll(async () => {
    await pair?.close();
  });
  const N = 2000;
  const t: Transcript = {
    conns: 2,
    steps: [
      { conn: 0, send: CONNECT + "SUB w.> 1\r\nSUB w 2\r\nSUB d.> 3\r\nSUB d 4\r\n" },
      { conn: 1, send: CONNECT + pub("w").repeat(N) + pub("d").repeat(N) },
      { conn: 0, send: "" },
    ],
    timeoutMs: 10_000,
  };
  const counts = (out: string): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const m of out.matchAll(/MSG (\S+) /g)) c[m[1]!] = (c[m[1]!] ?? 0) + 1;
    return c;
  };
  test("each destination gets its share; the rest stays on the source, or is dropped when the source is listed", async () => {
    const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
    for (const out of [gnat[0]!, nats[0]!]) {
      const c = counts(out);
      // Binomial, N = 2000: 5 standard deviations at most either way (~±100 at 70%).
      expect(c["w.a"]).toBeGreaterThan(N * 0.7 - 110);
      expect(c["w.a"]).toBeLessThan(N * 0.7 + 110);
      expect(c["w.b"]).toBeGreaterThan(N * 0.2 - 90);
      expect(c["w.b"]).toBeLessThan(N * 0.2 + 90);
      expect(c["w"]).toBe(N - c["w.a"]! - c["w.b"]!);
      // "d" is listed at 50%: 25% go to d.b and the last 25% nowhere.
      expect(c["d"]).toBeGreaterThan(N * 0.5 - 115);
      expect(c["d"]).toBeLessThan(N * 0.5 + 115);
      expect(c["d.b"]).toBeGreaterThan(N * 0.25 - 100);
      expect(c["d.b"]).toBeLessThan(N * 0.25 + 100);
      expect(c["d"]! + c["d.b"]!).toBeLessThan(N * 0.75 + 100);
    }
  }, 20_000);
});

const PERMS = `
mappings { "req": "allowed.req", "other": "denied.other" }
authorization { users: [ {user: u, password: p, permissions: { publish: { allow: ["allowed.>", "other"] }, subscribe: { allow: [">"] } } } ] }
`;

describe.skipIf(NATS_SERVER === null)("mappings and publish permissions (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, PERMS);
  });
  afterAll(async () => {
    await pair?.close();
  });
  test("permissions are checked on the mapped subject", async () => {
    const t: Transcript = {
      steps: [
        { send: `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user: "u", pass: "p" })}\r\n` },
        { send: "SUB allowed.> 1\r\nSUB denied.> 2\r\nPUB req 1\r\na\r\nPUB other 1\r\nb\r\n" },
      ],
    };
    const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
    expect(nats[0]).toContain("MSG allowed.req 1 1\r\na\r\n");
    expect(nats[0]).toContain(`-ERR 'Permissions Violation for Publish to "denied.other"'`);
    expect(gnat).toEqual(nats);
  });
});

const SERVICE = `
accounts {
  A: { users: [ {user: a, password: a} ], exports: [ {service: "svc.v"} ], mappings: { "svc.v": "svc.v2" } }
  B: { users: [ {user: b, password: b} ], imports: [ {service: {account: A, subject: "svc.v"}} ] }
}
`;

describe.skipIf(NATS_SERVER === null)("an exporter's mappings and its service imports (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, SERVICE);
  });
  afterAll(async () => {
    await pair?.close();
  });
  test("a request through a service import is mapped by the exporting account", async () => {
    const t: Transcript = {
      conns: 2,
      steps: [
        { conn: 0, send: as("a") },
        { conn: 0, send: "SUB svc.v 1\r\nSUB svc.v2 2\r\n" },
        { conn: 1, send: as("b") },
        { conn: 1, send: "SUB _INBOX.x 9\r\nPUB svc.v _INBOX.x 2\r\nhi\r\n" },
        { conn: 0, send: "", waitFor: "hi\r\n" },
      ],
    };
    const norm = (out: string[]): string[] => out.map((o) => o.replace(/_R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+/g, "_R_.<reply>")
      .replace(/(HMSG \S+ \d+ \S+ )\d+ \d+(\r\n[^]*?"rtt":)\d+/g, "$1<len>$2<rtt>"));
    const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
    expect(nats[0]).toMatch(/HMSG svc\.v2 2 _R_/);
    expect(norm(gnat)).toEqual(norm(nats));
  });
});
