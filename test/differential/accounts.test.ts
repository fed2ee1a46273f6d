// Accounts transcripts played against nats-server and gnat started with the README's accounts
// configuration: isolation, a stream import with a prefix, a service import's request-reply,
// no_auth_user. Every byte each client receives must match; the `_R_.…` reply subjects both
// servers make up are random and compared as a marker.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NATS_SERVER, play, startPair, type Pair, type Transcript } from "./harness.js";
import { readmeAccountsConfig } from "../server/readme-accounts.js";

const as = (user: string, pass: string, extra: Record<string, unknown> = {}): string =>
  `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, user, pass, ...extra })}\r\n`;
const SHOP = as("shop", "s3cret");
const SUPPORT = as("support", "h3lp");
const ANON = `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true })}\r\n`;

/** The reply a responder got on `subject`, answered with `body`. */
const answer = (subject: string, body: string) => (_info: Record<string, unknown>, received: string): string => {
  const m = new RegExp(`MSG ${subject.replaceAll(".", "\\.")} \\d+ (\\S+) `).exec(received);
  return m === null ? "" : `PUB ${m[1]} ${body.length}\r\n${body}\r\n`;
};

const cases: [string, Transcript][] = [
  ["the same subject in two accounts is two subjects", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP + "SUB news 1\r\n" },
      { conn: 1, send: SUPPORT + "SUB news 1\r\n" },
      { conn: 0, send: "PUB news 4\r\nshop\r\n" },
      { conn: 1, send: "PUB news 7\r\nsupport\r\n" },
    ],
  }],
  ["a request answered only in another account gets no responders", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP + "SUB help.me 1\r\n" },
      { conn: 1, send: SUPPORT + "SUB _INBOX.1 1\r\nPUB help.me _INBOX.1 0\r\n\r\n" },
    ],
  }],
  ["a stream import arrives under its prefix, headers and reply included", {
    conns: 2,
    steps: [
      { conn: 1, send: SUPPORT + "SUB shop.orders.> 1\r\nSUB orders.> 2\r\n" },
      { conn: 0, send: SHOP + "PUB orders.new 3\r\none\r\nHPUB orders.h r.1 12 14\r\nNATS/1.0\r\n\r\nok\r\nPUB unexported 1\r\nx\r\n" },
    ],
  }],
  ["a request on an exported stream nobody in the importer listens to gets no responders", {
    conns: 2,
    steps: [
      { conn: 1, send: SUPPORT + "SUB shop.other 1\r\n" },
      { conn: 0, send: SHOP + "SUB _INBOX.1 1\r\nPUB orders.q _INBOX.1 0\r\n\r\n" },
    ],
  }],
  ["a request on an exported stream that a subscriber in the importer receives gets no 503", {
    conns: 2,
    steps: [
      { conn: 1, send: SUPPORT + "SUB shop.orders.q 1\r\n" },
      { conn: 0, send: SHOP + "SUB _INBOX.1 1\r\nPUB orders.q _INBOX.1 0\r\n\r\n" },
      { conn: 1, send: "" },
    ],
  }],
  ["the importer's own publishes stay in the importer", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP + "SUB > 1\r\n" },
      { conn: 1, send: SUPPORT + "PUB shop.orders.x 1\r\nx\r\nPUB orders.x 1\r\ny\r\nPUB stock.check 1\r\nz\r\n" },
    ],
  }],
  ["a service import's request reaches the exporter and its answer comes back once", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP + "SUB stock.check 1\r\n" },
      { conn: 1, send: SUPPORT + "SUB _INBOX.x 5\r\nPUB stock _INBOX.x 5\r\napple\r\n" },
      { conn: 0, send: "", waitFor: "apple\r\n" },
      { conn: 0, send: answer("stock.check", "42") },
      { conn: 1, send: "", waitFor: "42\r\n" },
      { conn: 0, send: answer("stock.check", "43") },
    ],
  }],
  ["a service request with nobody listening in the exporter gets no reply at all", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP },
      { conn: 1, send: SUPPORT + "SUB _INBOX.y 1\r\nPUB stock _INBOX.y 0\r\n\r\n" },
    ],
  }],
  ["a client without credentials is the no_auth_user", {
    conns: 2,
    steps: [
      { conn: 1, send: SUPPORT + "SUB hello 1\r\n" },
      { conn: 0, send: ANON + "PUB hello 2\r\nhi\r\nSUB shop.orders.* 2\r\n" },
      { conn: 1, send: "" },
    ],
  }],
  ["no_auth_user applies only to a CONNECT that comes first", {
    conns: 2,
    steps: [
      { conn: 0, send: "SUB hello 1\r\n" + ANON },
      { conn: 1, send: SUPPORT + "PUB hello 2\r\nhi\r\n" },
    ],
  }],
  ["a service request with headers keeps them, and the answer's headers come back", {
    conns: 2,
    steps: [
      { conn: 0, send: SHOP + "SUB stock.check 1\r\n" },
      { conn: 1, send: SUPPORT + "SUB _INBOX.h 5\r\nHPUB stock _INBOX.h 18 21\r\nNATS/1.0\r\nA: 1\r\n\r\nsku\r\n" },
      { conn: 0, send: "", waitFor: "sku\r\n" },
      { conn: 0, send: (_i, received) => {
        const m = /MSG stock\.check \d+ (\S+) /.exec(received);
        return m === null ? "" : `HPUB ${m[1]} 18 20\r\nNATS/1.0\r\nB: 2\r\n\r\nok\r\n`;
      } },
      { conn: 1, send: "", waitFor: "ok\r\n" },
    ],
  }],
  ["credentials after other ops are still accepted", { steps: [{ send: "PING\r\nSUB x 1\r\n" + SUPPORT }] }],
  ["a subscription made before CONNECT follows the client into its account", {
    conns: 3,
    steps: [
      { conn: 0, send: "SUB x 1\r\n" + SUPPORT },
      { conn: 1, send: SUPPORT + "PUB x 1\r\na\r\n" },
      { conn: 2, send: SHOP + "PUB x 1\r\nb\r\n" },
      { conn: 0, send: "" },
    ],
  }],
  ["a second CONNECT as a user of another account", {
    conns: 3,
    steps: [
      { conn: 0, send: SHOP + "SUB x 1\r\n" + SUPPORT + "SUB y 2\r\n" },
      { conn: 1, send: SUPPORT + "PUB x 1\r\na\r\nPUB y 1\r\nb\r\n" },
      { conn: 2, send: SHOP + "PUB x 1\r\nc\r\nPUB y 1\r\nd\r\n" },
      { conn: 0, send: "" },
    ],
  }],
  ["wrong credentials are refused even with no_auth_user", { steps: [{ send: as("support", "nope") }], until: "close" }],
  ["a user of another account may subscribe to $SYS.> and receives no events", {
    conns: 2,
    steps: [
      { conn: 0, send: SUPPORT + "SUB $SYS.> 1\r\n" },
      { conn: 1, send: SHOP },
    ],
  }],
];

describe.skipIf(NATS_SERVER === null)("accounts (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, readmeAccountsConfig());
  });
  afterAll(async () => {
    await pair?.close();
  });
  const norm = (out: string[]): string[] => out.map((o) => o.replace(/_R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+/g, "_R_.<reply>")
    // The requester's RTT (ns) differs by nature; its digits change the header length too.
    .replace(/(HMSG \S+ \d+ \S+ )\d+ \d+(\r\n[^]*?"rtt":)\d+/g, "$1<len>$2<rtt>"));
  for (const [name, t] of cases) {
    test(name, async () => {
      const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
      expect(nats[0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
      expect(norm(gnat)).toEqual(norm(nats));
    });
  }

  test("the system account sees the same events, in the same order and shape, for a client of another account", async () => {
    const [g, n] = await Promise.all([systemEvents(pair.gnatPort), systemEvents(pair.natsPort)]);
    expect(g.map((e) => e.subject)).toEqual(n.map((e) => e.subject));
    // Values (ids, times, ports) differ by nature; the shapes must not. gnat's server info also
    // carries 2.10's "flags", which 2.9 does not send.
    expect(g.map((e) => shape(e.body, "server.flags"))).toEqual(n.map((e) => shape(e.body)));
  }, 20_000);
});

const CHAIN = `
accounts {
  A: { users: [ {user: a, password: a} ], exports: [ {stream: "x"}, {service: "s"} ] }
  B: { users: [ {user: b, password: b} ], exports: [ {stream: "x"}, {service: "s"} ],
       imports: [ {stream: {account: A, subject: "x"}}, {service: {account: A, subject: "s"}} ] }
  C: { users: [ {user: c, password: c} ], imports: [ {stream: {account: B, subject: "x"}}, {service: {account: B, subject: "s"}} ] }
}
`;

describe.skipIf(NATS_SERVER === null)("chained imports (differential)", () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({}, CHAIN);
  });
  afterAll(async () => {
    await pair?.close();
  });
  const chain: [string, Transcript][] = [
    ["a stream import does not pass on what arrived through another", {
      conns: 3,
      steps: [
        { conn: 2, send: as("c", "c") + "SUB x 1\r\n" },
        { conn: 1, send: as("b", "b") + "SUB x 1\r\n" },
        { conn: 0, send: as("a", "a") + "PUB x 2\r\nhi\r\n" },
        { conn: 1, send: "" },
        { conn: 2, send: "" },
      ],
    }],
    ["a service import chains through another, and the answer comes back the whole way", {
      conns: 2,
      steps: [
        { conn: 0, send: as("a", "a") + "SUB s 1\r\n" },
        { conn: 1, send: as("c", "c") + "SUB r 1\r\nPUB s r 2\r\nhi\r\n" },
        { conn: 0, send: "", waitFor: "hi\r\n" },
        { conn: 0, send: answer("s", "ok") },
        { conn: 1, send: "", waitFor: "ok\r\n" },
      ],
    }],
  ];
  const norm = (out: string[]): string[] => out.map((o) => o.replace(/_R_\.[A-Za-z0-9]+\.[A-Za-z0-9]+/g, "_R_.<reply>")
    .replace(/(HMSG \S+ \d+ \S+ )\d+ \d+(\r\n[^]*?"rtt":)\d+/g, "$1<len>$2<rtt>"));
  for (const [name, t] of chain) {
    test(name, async () => {
      const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
      expect(norm(gnat)).toEqual(norm(nats));
    });
  }
});

/** Keys (with the type of each leaf) of a JSON value, as sorted paths. */
function shape(v: unknown, ...skip: string[]): string[] {
  const out: string[] = [];
  const walk = (x: unknown, path: string): void => {
    if (x !== null && typeof x === "object" && !Array.isArray(x)) {
      for (const [k, y] of Object.entries(x)) walk(y, path === "" ? k : `${path}.${k}`);
    } else if (!skip.includes(path)) out.push(`${path}:${typeof x}`);
  };
  walk(v, "");
  return out.sort();
}

/** What an admin of the system account receives while a SHOP client connects and leaves. */
async function systemEvents(port: number): Promise<{ subject: string; body: unknown }[]> {
  const events: { subject: string; body: unknown }[] = [];
  const admin = connect(port, "127.0.0.1");
  let buf = "";
  let ponged = false;
  let wake: () => void = () => {};
  admin.on("data", (d) => {
    buf += d.toString("latin1");
    // Taking a MSG drops what came before it, so the PONG is noted first: another test's SHOP
    // client closing can put its events in the same read as the PONG.
    if (buf.includes("PONG\r\n")) ponged = true;
    for (;;) {
      const m = /^MSG (\S+) \d+ +(\d+)\r\n/.exec(buf.slice(buf.indexOf("MSG ")));
      const at = buf.indexOf("MSG ");
      if (m === null || at < 0) break;
      const start = at + m[0].length;
      const len = Number(m[2]);
      if (buf.length < start + len + 2) break;
      events.push({ subject: m[1]!, body: JSON.parse(buf.slice(start, start + len)) });
      buf = buf.slice(start + len + 2);
    }
    wake();
  });
  const until = (cond: () => boolean): Promise<void> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(events.map((e) => e.subject))}`)), 5000);
    const check = (): void => {
      if (cond()) {
        clearTimeout(t);
        resolve();
      } else wake = check;
    };
    check();
  });
  admin.write(as("admin", "adm1n") + "SUB $SYS.ACCOUNT.SHOP.> 1\r\nPING\r\n");
  await until(() => ponged);
  // Other tests' SHOP clients may still be closing: this client is known by its name, and each of
  // its events is taken with the account_connections event sent just before it.
  const name = `till-${port}`;
  const mine = (type: string) => (e: { body: unknown }): boolean => {
    const b = e.body as { type?: string; client?: { name?: string } };
    return b.type === type && b.client?.name === name;
  };
  const shop = connect(port, "127.0.0.1");
  shop.write(as("shop", "s3cret", { name, lang: "x", version: "1" }) + "PUB x 1\r\ny\r\nPING\r\n");
  await until(() => events.some(mine("io.nats.server.advisory.v1.client_connect")));
  shop.destroy();
  await until(() => events.some(mine("io.nats.server.advisory.v1.client_disconnect")));
  admin.destroy();
  const out: { subject: string; body: unknown }[] = [];
  for (const type of ["io.nats.server.advisory.v1.client_connect", "io.nats.server.advisory.v1.client_disconnect"]) {
    const at = events.findIndex(mine(type));
    const conns = events.slice(0, at).reverse().find((e) => e.subject.endsWith(".SERVER.CONNS"));
    if (conns !== undefined) out.push(conns);
    out.push(events[at]!);
  }
  return out;
}
