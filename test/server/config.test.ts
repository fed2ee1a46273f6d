import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError, configToOptions, loadConfigFile, parseConfig } from "../../server/config/index.js";
import { NATS_SERVER } from "../differential/harness.js";

const dir = mkdtempSync(join(tmpdir(), "gnat-config-"));
let n = 0;
function file(text: string, name = `c${n++}.conf`): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config syntax", () => {
  test("accepts colon, equals and blank as key separators", () => {
    expect(parseConfig("a: 1\nb = 2\nc 3\nd:4\ne=5\n")).toEqual({ a: 1, b: 2, c: 3, d: 4, e: 5 });
  });

  test("reads nested blocks with and without a separator", () => {
    expect(parseConfig("outer {\n inner: { x: 1 }\n y = 2\n}\nz: { w: true }")).toEqual({ outer: { inner: { x: 1 }, y: 2 }, z: { w: true } });
  });

  test("reads arrays separated by commas or newlines, with comments inside", () => {
    expect(parseConfig("a: [1, 2, 3]\nb: [\n  x # first\n  'y'\n  // third\n  \"z\",\n]\n")).toEqual({ a: [1, 2, 3], b: ["x", "y", "z"] });
  });

  test("skips # and // comments, whole-line and after a value", () => {
    expect(parseConfig("# top\n// also\nport: 4222 # trailing\nhost: 'h' // trailing too\n")).toEqual({ port: 4222, host: "h" });
  });

  test("accepts semicolons and commas as terminators", () => {
    expect(parseConfig("a: 1; b: 2, c: 3")).toEqual({ a: 1, b: 2, c: 3 });
  });

  test("reads quoted strings: single quotes raw, double quotes with escapes", () => {
    expect(parseConfig("a: 'x\\ny'\nb: \"x\\ty\\\"z\\\\\"\nc: \"\\x41\"")).toEqual({ a: "x\\ny", b: 'x\ty"z\\', c: "A" });
  });

  test("reads unquoted strings, host:port pairs and IP addresses", () => {
    expect(parseConfig("a: hello\nb: 127.0.0.1:4222\nc: 0.0.0.0\nd: nats://x:4222")).toEqual({ a: "hello", b: "127.0.0.1:4222", c: "0.0.0.0", d: "nats://x:4222" });
  });

  test("reads booleans as nats-server does", () => {
    expect(parseConfig("a: true\nb: FALSE\nc: yes\nd: no\ne: on\nf: off")).toEqual({ a: true, b: false, c: true, d: false, e: true, f: false });
  });

  test("reads sizes: k/m/g are powers of ten, kb/mb/gb powers of two", () => {
    expect(parseConfig("a: 1MB\nb: 64KB\nc: 1k\nd: 2m\ne: 1GB\nf: 1kib\ng: -5")).toEqual({
      a: 1048576, b: 65536, c: 1000, d: 2_000_000, e: 1024 ** 3, f: 1024, g: -5,
    });
  });

  test("reads floats and dates", () => {
    const c = parseConfig("f: 1.5\nd: 2024-01-02T03:04:05Z");
    expect(c.f).toBe(1.5);
    expect(c.d).toEqual(new Date("2024-01-02T03:04:05Z"));
  });

  test("resolves variables from earlier keys, block-scoped", () => {
    expect(parseConfig("P: 4222\nport: $P\nb {\n  P: 5\n  x: $P\n}\ny: $P")).toEqual({ P: 4222, port: 4222, b: { P: 5, x: 5 }, y: 4222 });
  });

  test("resolves variables from the environment, typed as config values", () => {
    expect(parseConfig("port: $GNAT_TEST_PORT\nname: $GNAT_TEST_NAME", "", { GNAT_TEST_PORT: "4333", GNAT_TEST_NAME: "edge" })).toEqual({ port: 4333, name: "edge" });
  });

  test("reports an unknown variable with its line and column", () => {
    const e = errorOf(() => parseConfig("a: 1\nport:  $NOPE_NOT_SET", "x.conf", {}));
    expect([e.file, e.line, e.column]).toEqual(["x.conf", 2, 8]);
    expect(e.message).toContain("NOPE_NOT_SET");
  });

  test("includes another file relative to the including file", () => {
    mkdirSync(join(dir, "sub"), { recursive: true });
    file("max_payload: 2MB\nNAME: inc\n", "sub/limits.conf");
    const main = file("include ./sub/limits.conf\nport: 4333\nserver_name: $NAME\n");
    const r = loadConfigFile(main, {});
    expect(r.options).toEqual({ maxPayload: 2 * 1024 * 1024, port: 4333, serverName: "inc" });
  });

  test("includes a quoted path", () => {
    file("port: 7\n", "q.conf");
    expect(parseConfig(`include "q.conf"\n`, join(dir, "main.conf"))).toEqual({ port: 7 });
  });

  test("reports a missing include", () => {
    const e = errorOf(() => parseConfig("include nowhere.conf\n", join(dir, "m.conf")));
    expect(e.line).toBe(1);
    expect(e.message).toContain("nowhere.conf");
  });

  describe("malformed files report line and column", () => {
    const cases: [string, string, number, number][] = [
      ["an unclosed block", "a {\n  b: 1\n", 3, 1],
      ["an unclosed array", "a: [1, 2\n", 2, 1],
      ["an unterminated string", "a: 1\nb: \"abc\n", 2, 4],
      ["a missing value", "a: 1\nport:\nb: 2", 2, 6],
      ["garbage after a value", "port: 4222 }x\n", 1, 12],
      ["a leading comma in an array", "a: [, 1]", 1, 5],
      ["a stray closing brace", "}\n", 1, 1],
    ];
    for (const [name, text, line, col] of cases) {
      test(name, () => {
        const e = errorOf(() => parseConfig(text, "bad.conf", {}));
        expect([e.line, e.column], e.message).toEqual([line, col]);
        expect(e.message).toMatch(/^bad\.conf:\d+:\d+: /);
      });
    }
  });
});

describe("config to options", () => {
  test("maps every key of the core server", () => {
    const r = loadConfigFile(file(`
      listen: 127.0.0.2:4333
      server_name: edge-1
      max_payload: 2MB
      max_pending: 32MB
      max_control_line: 8KB
      max_connections: 100
      max_subscriptions: 10
      ping_interval: "30s"
      ping_max: 3
      write_deadline: "500ms"
      debug: true
      trace: false
      logfile: /tmp/gnat.log
      pid_file: /tmp/gnat.pid
      ports_file_dir: /tmp
    `), {});
    expect(r.options).toEqual({
      host: "127.0.0.2", port: 4333, serverName: "edge-1", maxPayload: 2 * 1024 * 1024,
      maxPending: 32 * 1024 * 1024, maxControlLine: 8192, maxConnections: 100, maxSubscriptions: 10,
      pingInterval: 30_000, pingMax: 3, writeDeadline: 500, debug: true, trace: false,
      logFile: "/tmp/gnat.log", pidFile: "/tmp/gnat.pid", portsFileDir: "/tmp",
    });
    expect(r.warnings).toEqual([]);
  });

  test("maps the alternative spellings", () => {
    const r = configToOptions(parseConfig("net: 10.0.0.1\nmax_conn: 5\nmax_subs: 6\nlog_file: x\npidfile: y\nport: -1"));
    expect(r.options).toEqual({ host: "10.0.0.1", maxConnections: 5, maxSubscriptions: 6, logFile: "x", pidFile: "y", port: -1 });
  });

  test("reads listen as a port alone, :port, or [ipv6]:port", () => {
    expect(configToOptions(parseConfig("listen: 4333")).options).toEqual({ port: 4333 });
    expect(configToOptions(parseConfig("listen: ':4334'")).options).toEqual({ port: 4334 });
    expect(configToOptions(parseConfig("listen: '[::1]:4335'")).options).toEqual({ host: "::1", port: 4335 });
  });

  test("takes a plain number as seconds for durations, with a warning", () => {
    const r = configToOptions(parseConfig("ping_interval: 30"));
    expect(r.options.pingInterval).toBe(30_000);
    expect(r.warnings[0]).toContain("ping_interval");
  });

  test("warns about, and ignores, keys of features gnat does not have yet", () => {
    const r = loadConfigFile(file("port: 1\nprof_port: 6060\n"), {});
    expect(r.options).toEqual({ port: 1 });
    expect(r.warnings.length).toBe(1);
    expect(r.warnings[0]).toMatch(/:2:1: config key 'prof_port' is not supported/);
  });

  test("http_port, monitor_port and http set the monitoring listener; 0 is off and -1 any free port", () => {
    expect(loadConfigFile(file("http_port: 8222\n"), {}).options).toEqual({ httpPort: 8222 });
    expect(loadConfigFile(file("monitor_port: -1\n"), {}).options).toEqual({ httpPort: 0 });
    expect(loadConfigFile(file("http_port: 0\n"), {}).options).toEqual({ httpPort: null });
    expect(loadConfigFile(file("http: 127.0.0.1:8223\n"), {}).options).toEqual({ httpHost: "127.0.0.1", httpPort: 8223 });
    expect(loadConfigFile(file("http: 8224\n"), {}).warnings).toEqual([]);
  });

  test("a jetstream block turns JetStream on with its store dir, limits and sync interval", () => {
    const r = loadConfigFile(file("jetstream {\n  store_dir: /x\n  max_mem: 1GB\n  max_file_store: 2G\n  sync_interval: \"10s\"\n}\n"), {});
    expect(r.options).toEqual({ jetstream: true, storeDir: "/x", maxMemoryStore: 1024 ** 3, maxFileStore: 2e9, syncInterval: 10_000 });
    expect(r.warnings).toEqual([]);
  });

  test.each([["jetstream: enabled", true], ["jetstream: true", true], ["jetstream: disabled", false],
    ["jetstream { enabled: false }", false]])("%s sets jetstream to %s", (text, on) => {
    expect(loadConfigFile(file(text), {}).options.jetstream).toBe(on);
  });

  test("jetstream: sync_interval always fsyncs before acknowledging", () => {
    expect(loadConfigFile(file("jetstream { sync: always }"), {}).options.syncAlways).toBe(true);
  });

  test("jetstream with a bad string value is an error, as in nats-server", () => {
    expect(errorOf(() => loadConfigFile(file("jetstream: maybe"), {})).message).toMatch(/Expected 'enabled' or 'disabled'/);
  });

  test.each(["authorization { users: [ { user: a, password: b, allowed_connection_types: [STANDARD] } ] }", "accounts { A: { limits: { max_conn: 1 } } }",
    "accounts { A: { users: [ { user: a, password: b, account: B } ] } }", "tls { cert_file: x, cipher_suites: [a] }", "tls { cert_file: x, ocsp_peer: true }",
    'resolver: URL("http://localhost:9090/jwt/v1/accounts/")', "websocket { port: 1, authorization { token: x } }", "cluster { port: 1, permissions { import: a } }"])(
    "refuses to start with %s rather than run unprotected", (text) => {
      const e = errorOf(() => loadConfigFile(file(text), {}));
      expect(e.message).toMatch(/not supported by gnat yet: refusing to start/);
    });

  test("an operator file that cannot be read stops the start at its line", () => {
    expect(errorOf(() => loadConfigFile(file("operator: /x.jwt"), {})).message).toMatch(/:1:1: error parsing operator JWT: .*no such file/);
  });

  test("accounts, no_auth_user and system_account are read (see test/server/accounts.test.ts)", () => {
    const o = loadConfigFile(file("accounts { A: { users: [ { user: a, password: b } ] } }\nno_auth_user: a\nsystem_account: A"), {}).options;
    expect(o.accounts).toEqual({ A: { users: [{ user: "a", password: "b" }] } });
    expect(o.noAuthUser).toBe("a");
    expect(o.systemAccount).toBe("A");
  });

  test("authorization: a token, with the timeout in seconds", () => {
    expect(loadConfigFile(file('authorization { token: "s3cr3t", timeout: 0.5 }'), {}).options.authorization)
      .toEqual({ token: "s3cr3t", timeout: 500 });
  });

  test("authorization: one user and password", () => {
    expect(loadConfigFile(file("authorization { user: a, password: b }"), {}).options.authorization).toEqual({ user: "a", password: "b" });
  });

  test("authorization: a users list", () => {
    expect(loadConfigFile(file("authorization { users: [ { user: a, password: b }, { username: c, pass: d } ] }"), {}).options.authorization)
      .toEqual({ users: [{ user: "a", password: "b" }, { user: "c", password: "d" }] });
  });

  test("authorization: nkey users sit in the same users list as password users", () => {
    const nkey = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
    expect(loadConfigFile(file(`authorization { users: [ { nkey: ${nkey} }, { user: a, password: b } ] }`), {}).options.authorization)
      .toEqual({ users: [{ user: "a", password: "b" }], nkeys: [{ nkey }] });
  });

  test("authorization: a user's permissions, long and short forms", () => {
    const text = 'authorization { users: [ { user: a, password: b, permissions: { publish: { allow: ["a.>"], deny: "a.b" }, sub: "x.*" } } ] }';
    expect(loadConfigFile(file(text), {}).options.authorization).toEqual({
      users: [{ user: "a", password: "b", permissions: { publish: { allow: ["a.>"], deny: ["a.b"] }, subscribe: { allow: ["x.*"] } } }],
    });
  });

  test("authorization: allow_responses true is one response within two minutes", () => {
    const text = "authorization { users: [ { user: a, password: b, permissions: { subscribe: q, allow_responses: true } } ] }";
    expect(loadConfigFile(file(text), {}).options.authorization?.users?.[0]?.permissions)
      .toEqual({ subscribe: { allow: ["q"] }, allowResponses: { max: 1, expires: 120_000 } });
  });

  test("authorization: allow_responses with max and expires; 0 keeps a default, negative is no limit", () => {
    const one = (rp: string): unknown => loadConfigFile(file(`authorization { users: [ { user: a, password: b, permissions: { allow_responses: ${rp} } } ] }`), {})
      .options.authorization?.users?.[0]?.permissions?.allowResponses;
    expect(one('{ max: 3, expires: "1m" }')).toEqual({ max: 3, expires: 60_000 });
    expect(one("{ max: 0 }")).toEqual({ max: 1, expires: 120_000 });
    expect(one('{ max: -1, ttl: "-1s" }')).toEqual({ max: -1, expires: -1000 });
    expect(one("false")).toBeUndefined();
  });

  test("authorization: subscribe entries may name a queue group", () => {
    const text = 'authorization { users: [ { user: a, password: b, permissions: { subscribe: { allow: ["foo.> workers", "bar"], deny: "foo.x  v1.*" } } } ] }';
    expect(loadConfigFile(file(text), {}).options.authorization?.users?.[0]?.permissions)
      .toEqual({ subscribe: { allow: ["foo.> workers", "bar"], deny: ["foo.x  v1.*"] } });
  });

  test("authorization: default_permissions (or permissions) are kept for users without their own", () => {
    for (const k of ["default_permissions", "default_permission", "permissions"]) {
      const a = loadConfigFile(file(`authorization { ${k}: { publish: "x" }, users: [ { user: a, password: b } ] }`), {}).options.authorization;
      expect(a?.defaultPermissions).toEqual({ publish: { allow: ["x"] } });
    }
  });

  test("authorization: default_permissions with a token warn that nothing uses them", () => {
    const r = loadConfigFile(file('authorization { token: t, default_permissions: { publish: "x" } }'), {});
    expect(r.warnings.join("\n")).toMatch(/default_permissions apply to users lists only/);
  });

  test.each([
    ["authorization { users: [ { user: a, permissions: { publish: \"a..b\" } } ] }", 'subject "a..b" is not a valid subject'],
    ["authorization { users: [ { user: a, permissions: { publish: \"a q\" } } ] }", 'subject "a q" is not a valid subject'],
    ["authorization { users: [ { user: a, permissions: { subscribe: \"a..b q\" } } ] }", 'subject "a..b" is not a valid subject'],
    ["authorization { users: [ { user: a, permissions: { subscribe: \"a q r\" } } ] }", 'subject "a q r" is not a valid subject'],
    ["authorization { users: [ { user: a, permissions: { allow_responses: 5 } } ] }", "error parsing response permissions, expected a boolean or a map"],
    ["authorization { users: [ { user: a, permissions: { allow_responses: { expires: 5 } } } ] }", "error parsing expires, not a duration string"],
    ["authorization { users: [ { user: a, permissions: { allow_responses: { expires: \"soon\" } } } ] }", 'error parsing expires: time: invalid duration "soon"'],
    ["authorization { users: [ { user: a, permissions: { allow_responses: { maxx: 1 } } } ] }", 'Unknown field "maxx" parsing permissions'],
    ["authorization { users: [ { user: a, permissions: { publish: { alow: x } } } ] }", 'unknown field "alow"'],
    ["authorization { users: [ { nkey: UABC } ] }", "Not a valid public nkey for a user"],
    ["authorization { users: [ { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4, user: a } ] }", "Nkey users do not take usernames or passwords"],
    ["authorization { user: a, password: b, token: t }", "Cannot have a user/pass and token"],
    ["authorization { user: a, users: [ { user: b } ] }", "Can not have a single user/pass and a users array"],
    ["authorization { token: t, users: [] }", "Can not have a token and a users array"],
    ["authorization { users: [ { user: a }, { user: a } ] }", 'Duplicate user "a" detected'],
    ["authorization { tokn: t }", 'unknown field "tokn"'],
  ])("authorization %s is an error: %s", (text, msg) => {
    expect(errorOf(() => loadConfigFile(file(text), {})).message).toContain(msg);
  });

  test("rejects an unknown key, as nats-server does, unless it serves as a variable", () => {
    const e = errorOf(() => loadConfigFile(file("port: 1\nprot: 2\n"), {}));
    expect(e.message).toContain('unknown field "prot"');
    expect(e.line).toBe(2);
    expect(loadConfigFile(file("PORT: 5\nport: $PORT\n"), {}).options).toEqual({ port: 5 });
  });

  test.each([["port: abc", "port"], ["max_payload: 1.5", "max_payload"], ["debug: 3", "debug"], ['ping_interval: "soon"', "ping_interval"]])(
    "rejects a bad value: %s", (text, key) => {
      const e = errorOf(() => loadConfigFile(file(text), {}));
      expect(e.message).toContain(key);
    });
});

describe.skipIf(NATS_SERVER === null)("config syntax agrees with nats-server (nats-server -t)", () => {
  const samples: [string, string][] = [
    ["separators", "port: 4222\nhost = 127.0.0.1\nserver_name edge\n"],
    ["comments", "# c\n// c\nport: 4222 # c\n"],
    ["sizes", "max_payload: 1MB\nmax_pending: 64MB\n"],
    ["durations", 'ping_interval: "2m"\nwrite_deadline: "500ms"\n'],
    ["variables", "P: 4223\nport: $P\n"],
    ["terminators", "port: 4222; max_payload: 1024, debug: true\n"],
    ["an unclosed block", "cluster {\n port: 1\n"],
    ["an unknown field", "port: 4222\nprot: 1\n"],
    ["a missing value", "port:\n"],
    ["an undefined variable", "port: $NOT_DEFINED_ANYWHERE_X\n"],
  ];
  for (const [name, text] of samples) {
    test(`${name}: gnat accepts it exactly when nats-server does`, () => {
      const p = file(text);
      const r = spawnSync(NATS_SERVER!, ["-c", p, "-t"], { encoding: "utf8", timeout: 10_000 });
      const natsOk = r.status === 0;
      let gnatOk = true;
      try {
        loadConfigFile(p, {});
      } catch {
        gnatOk = false;
      }
      expect(gnatOk, `nats-server said: ${r.stdout}${r.stderr}`).toBe(natsOk);
    });
  }
});
