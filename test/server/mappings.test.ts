// Subject mappings in a running gnat: the config block and its errors (nats-server's texts,
// checked against `nats-server -t` where 2.9.10 and 2.10 agree), JetStream storing the mapped
// subject, permissions seeing the mapped subject, and reload. Byte-for-byte comparisons with
// nats-server are in test/differential/mappings.test.ts; leafnodes in test/cluster/leaf-mappings.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ConfigError, loadConfigFile } from "../../server/config/index.js";
import { NATS_SERVER } from "../kit/processes.js";
import { GNAT_DEFAULTS, startGnat, tempDir, withGnat } from "../kit/gnat.js";
import { connectNode, RawClient } from "../kit/clients.js";
import { until } from "../kit/wait.js";

const dir = mkdtempSync(join(tmpdir(), "gnat-mappings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** gnat's config error for `text`: [line, reason]. */
function gnatError(text: string): [number, string] {
  const f = join(dir, `g${n++}.conf`);
  writeFileSync(f, text);
  try {
    loadConfigFile(f);
  } catch (e) {
    if (e instanceof ConfigError) return [e.line, e.reason];
    throw e;
  }
  return [0, ""];
}

let n = 0;
/** nats-server -t's first error for `text`: [line, reason]. */
function natsError(text: string): [number, string] {
  const f = join(dir, `m${n++}.conf`);
  writeFileSync(f, text);
  const r = spawnSync(NATS_SERVER!, ["-t", "-c", f], { encoding: "utf8" });
  const m = /:(\d+):\d+: (.*)/.exec((r.stderr + r.stdout).split("\n")[0] ?? "");
  return m === null ? [0, ""] : [Number(m[1]), m[2]!.trim()];
}

const block = (body: string): string => `port: -1\nmappings {\n  ${body}\n}\n`;

// One error per config: nats-server reads a map in random order, so with two errors its first one varies.
const CONFIG_ERRORS: [string, string][] = [
  ["an unknown function", block(`"foo.*": "bar.{{unknown(1)}}"`)],
  ["a wildcard index out of range", block(`"l.*": "m.{{wildcard(2)}}"`)],
  ["a function argument that is not a number", block(`"v.*": "w.{{splitFromLeft(x,2)}}"`)],
  ["too many arguments", block(`"t.*": "u.{{splitFromLeft(1,2,3)}}"`)],
  ["too few arguments to split", block(`"r.*": "s.{{split(1)}}"`)],
  ["too few arguments to partition", block(`"j.*": "k.{{partition(3)}}"`)],
  ["an empty destination token", block(`"y": "bad..dest"`)],
  ["a `>` in the source and a `*` in the destination", block(`"p.>": "q.*"`)],
  ["a source that is not a subject", block(`"bad..subj": "x"`)],
  ["a weight over 100", block(`"c.*": [{destination: "d.$1", weight: 120%}]`)],
  ["a weight that is not a number", block(`"c.*": [{destination: "d.$1", weight: "lots"}]`)],
  ["a destination without a weight", block(`"h": [{destination: "i"}]`)],
  ["an unknown field in a destination", block(`"n": {destination: "o", weight: 30, foo: 1}`)],
  ["an unknown field in an account's mapping destination",
    `accounts { A { users: [{user: a, password: a}], mappings { "n": {destination: "o", weight: 30, bar: 1} } } }\n`],
];

describe.skipIf(NATS_SERVER === null)("mapping config errors, as nats-server reports them", () => {
  for (const [name, text] of CONFIG_ERRORS) {
    test(name, () => {
      const [nl, nr] = natsError(text);
      expect(nr, "nats-server refused it").not.toBe("");
      const [gl, gr] = gnatError(text);
      expect(gr.trim()).toBe(nr);
      expect(gl).toBe(nl);
    });
  }
});

describe("mapping config errors nats-server 2.9 words otherwise", () => {
  // 2.9.10 panics on these ("interface conversion: interface {} is []interface {}, not string");
  // 2.10.0's opts.go parseAccountMappings says `Error adding mapping for "<src>" : <err>`.
  test("weights over 100 in total", () => {
    expect(gnatError(block(`"e": [{destination: "f", weight: 60%}, {destination: "g", weight: 50%}]`)))
      .toEqual([3, 'Error adding mapping for "e" : total weight needs to be <= 100']);
  });
  test("a destination listed twice", () => {
    expect(gnatError(block(`"z": [{destination: "z1", weight: 50}, {destination: "z1", weight: 50}]`)))
      .toEqual([3, 'Error adding mapping for "z" : duplicate entry for "z1"']);
  });
  // 2.10.0's subject_transform.go NewSubjectTransformWithStrict: a function with no wildcard in
  // the source is "wildcard index out of range" (2.9.10 took the destination literally), and a
  // destination may leave wildcards out (2.9.10: "not using all of the token wildcard(s)").
  test("a function in the destination of a literal source", () => {
    expect(gnatError(block(`"lit": "x.{{wildcard(1)}}"`))[1])
      .toBe('Error adding mapping for "lit" to "x.{{wildcard(1)}}" : invalid mapping destination: wildcard index out of range in {{wildcard(1)}}');
  });
  test("a destination that leaves a wildcard out is taken", () => {
    expect(gnatError(block(`"a.*.*": "b.$1"`))).toEqual([0, ""]);
  });
  test("options given to startServer are checked the same way", async () => {
    await expect(startGnat({ mappings: { "a.*": "b.{{nope(1)}}" } })).rejects.toThrow(
      'Error adding mapping for "a.*" to "b.{{nope(1)}}" : invalid mapping destination: unknown function in {{nope(1)}}');
  });
});

describe("mappings in a running server", () => {
  test("a mapping that leaves a wildcard out routes on the tokens it keeps", async () => {
    await withGnat({ mappings: { "a.*.*": "b.$2" } }, async (s) => {
      const nc = await connectNode(s);
      const sub = nc.subscribe("b.>", { max: 1 });
      nc.publish("a.x.y", "1");
      for await (const m of sub) expect(m.subject).toBe("b.y");
      await nc.close();
    });
  });

  test("JetStream stores the mapped subject, and a publish on the source gets the stream's ack", async () => {
    const store = tempDir("gnat-mappings-js-");
    try {
      await withGnat({ jetstream: true, storeDir: store.dir, mappings: { "orders.*": "orders.{{partition(4,1)}}.{{wildcard(1)}}" } }, async (s) => {
        const nc = await connectNode(s);
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*.*"] });
        const js = jetstream(nc);
        const ack = await js.publish("orders.k42", "x");
        expect(ack.stream).toBe("ORDERS");
        const m = await jsm.streams.getMessage("ORDERS", { seq: ack.seq });
        expect(m?.subject).toMatch(/^orders\.[0-3]\.k42$/);
        // The same key always lands in the same partition.
        const again = await js.publish("orders.k42", "y");
        expect((await jsm.streams.getMessage("ORDERS", { seq: again.seq }))?.subject).toBe(m?.subject);
        await nc.close();
      });
    } finally {
      store.remove();
    }
  });

  test("publish permissions are checked on the mapped subject, as nats-server 2.9 does", async () => {
    await withGnat({
      mappings: { "req": "allowed.req", "other": "denied.other" },
      authorization: { users: [{ user: "u", password: "p", permissions: { publish: { allow: ["allowed.>"] }, subscribe: { allow: [">"] } } }] },
    }, async (s) => {
      const c = await RawClient.open(s.port, { user: "u", pass: "p", verbose: false, pedantic: false });
      c.write("SUB allowed.> 1\r\nPUB req 1\r\na\r\nPUB other 1\r\nb\r\n");
      await c.waitFor(/Permissions Violation/);
      await c.waitFor(/MSG allowed/);
      expect(c.text()).toContain("MSG allowed.req 1 1\r\na\r\n");
      expect(c.text()).toContain("-ERR 'Permissions Violation for Publish to \"denied.other\"'");
      c.close();
    });
  });

  test("a reload adds, changes and removes mappings for connected clients", async () => {
    const s = await startGnat({ mappings: { "a": "one" } });
    try {
      const c = await RawClient.open(s.port, { verbose: false, pedantic: false });
      c.write("SUB one 1\r\nSUB two 2\r\nSUB a 3\r\nPUB a 1\r\nx\r\nPING\r\n");
      await c.waitFor(/MSG one 1 1/);
      s.reload({ ...GNAT_DEFAULTS, mappings: { "a": "two" } });
      c.write("PUB a 1\r\ny\r\nPING\r\n");
      await c.waitFor(/MSG two 2 1\r\ny/);
      s.reload({ ...GNAT_DEFAULTS });
      c.write("PUB a 1\r\nz\r\nPING\r\n");
      await c.waitFor(/MSG a 3 1\r\nz/);
      expect(c.text().match(/MSG /g)?.length).toBe(3);
      // A bad mapping refuses the reload and keeps the old ones.
      expect(() => s.reload({ ...GNAT_DEFAULTS, mappings: { "a": "b..c" } })).toThrow("invalid mapping destination");
      c.close();
    } finally {
      await s.close();
    }
  });

  test("an account's mappings reload with the accounts", async () => {
    const accounts = (dest: string) => ({ A: { users: [{ user: "a", password: "a" }], mappings: { "in": dest } } });
    const s = await startGnat({ accounts: accounts("first") });
    try {
      const c = await RawClient.open(s.port, { user: "a", pass: "a", verbose: false, pedantic: false });
      c.write("SUB first 1\r\nSUB second 2\r\nPUB in 1\r\nx\r\nPING\r\n");
      await c.waitFor(/MSG first 1 1/);
      s.reload({ ...GNAT_DEFAULTS, accounts: accounts("second") });
      c.write("PUB in 1\r\ny\r\nPING\r\n");
      await until(() => c.text().includes("MSG second 2 1\r\ny"), { what: "the reloaded mapping" });
      c.close();
    } finally {
      await s.close();
    }
  });
});
