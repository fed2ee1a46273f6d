// The route and leafnode line parser: every op and argument form, the same result however the
// bytes are split into chunks, and bad lines reported (never thrown).
import { describe, expect, test } from "vitest";
import { LinkParser, type LinkParserHandler } from "../../protocol/route-parser.js";

function collect(accounts: boolean): { h: LinkParserHandler; out: string[] } {
  const out: string[] = [];
  const h: LinkParserHandler = {
    onInfo: (j) => out.push(`INFO ${j}`),
    onConnect: (j) => out.push(`CONNECT ${j}`),
    onPing: () => out.push("PING"),
    onPong: () => out.push("PONG"),
    onOk: () => out.push("+OK"),
    onErr: (t) => out.push(`-ERR ${t}`),
    onSub: (a, s, q, w, o) => out.push(`SUB ${a}|${s}|${q}|${w}|${o}`),
    onUnsub: (a, s, q) => out.push(`UNSUB ${a}|${s}|${q}`),
    onMsg: (a, s, r, qs, hl, buf, st, e, o) => out.push(`MSG ${a}|${s}|${r}|${qs.join(",")}|${hl}|${buf.toString("latin1", st, e)}|${o}`),
    onParseError: (d) => out.push(`ERROR ${d}`),
  };
  void accounts;
  return { h, out };
}

const ROUTE = [
  'INFO {"server_id":"N1"}\r\n',
  'CONNECT {"name":"N1"}\r\n',
  "PING\r\n", "PONG\r\n", "+OK\r\n", "-ERR 'Authorization Violation'\r\n",
  "RS+ $G foo\r\n", "RS+ $G bar q 3\r\n", "RS- $G foo\r\n", "RS- $G bar q\r\n",
  "LS+ origin $G leaf.sub\r\n",
  "RMSG $G foo 5\r\nhello\r\n",
  "RMSG $G foo reply 2\r\nhi\r\n",
  "RMSG ACC foo + reply q1 q2 3\r\nabc\r\n",
  "RMSG $G foo | q1 0\r\n\r\n",
  "HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
  "HMSG $G foo + r q 12 12\r\nNATS/1.0\r\n\r\n\r\n",
  "LMSG origin $G foo r 0 2\r\nok\r\n",
  "rmsg $G low 1\r\nx\r\n",
];

const WANT = [
  'INFO {"server_id":"N1"}', 'CONNECT {"name":"N1"}', "PING", "PONG", "+OK", "-ERR Authorization Violation",
  "SUB $G|foo||0|", "SUB $G|bar|q|3|", "UNSUB $G|foo|", "UNSUB $G|bar|q", "SUB $G|leaf.sub||0|origin",
  "MSG $G|foo|||-1|hello\r\n|", "MSG $G|foo|reply||-1|hi\r\n|", "MSG ACC|foo|reply|q1,q2|-1|abc\r\n|", "MSG $G|foo||q1|-1|\r\n|",
  "MSG $G|foo|||12|NATS/1.0\r\n\r\nhi\r\n|", "MSG $G|foo|r|q|12|NATS/1.0\r\n\r\n\r\n|", "MSG $G|foo|r||0|ok\r\n|origin",
  "MSG $G|low|||-1|x\r\n|",
];

describe("route lines", () => {
  const all = Buffer.from(ROUTE.join(""), "latin1");
  test("in one chunk", () => {
    const { h, out } = collect(true);
    new LinkParser(h, { accounts: true, maxControlLine: 4096, maxPayload: 1 << 20 }).parse(all);
    expect(out).toEqual(WANT);
  });
  test("split at every byte, and byte by byte", () => {
    for (let cut = 1; cut < all.length; cut++) {
      const { h, out } = collect(true);
      const p = new LinkParser(h, { accounts: true, maxControlLine: 4096, maxPayload: 1 << 20 });
      p.parse(all.subarray(0, cut));
      p.parse(all.subarray(cut));
      expect(out, `cut at ${cut}`).toEqual(WANT);
    }
    const { h, out } = collect(true);
    const p = new LinkParser(h, { accounts: true, maxControlLine: 4096, maxPayload: 1 << 20 });
    for (let i = 0; i < all.length; i++) p.parse(all.subarray(i, i + 1));
    expect(out).toEqual(WANT);
  });
});

describe("leafnode lines (no account)", () => {
  test("LS+, LS-, LMSG and HMSG", () => {
    const { h, out } = collect(false);
    new LinkParser(h, { accounts: false, maxControlLine: 4096, maxPayload: 1 << 20 })
      .parse(Buffer.from("LS+ foo\r\nLS+ bar q 2\r\nLS- foo\r\nLMSG foo + r q 2\r\nhi\r\nHMSG foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", "latin1"));
    expect(out).toEqual(["SUB |foo||0|", "SUB |bar|q|2|", "UNSUB |foo|", "MSG |foo|r|q|-1|hi\r\n|", "MSG |foo|||12|NATS/1.0\r\n\r\n\r\n|"]);
  });
});

describe("leafnode message lines, read from the bytes", () => {
  const LEAF = "LMSG foo 5\r\nhello\r\nLMSG foo reply 2\r\nhi\r\nLMSG foo | q1 q2 0\r\n\r\nHMSG foo + r q 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    + "HMSG foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nlmsg low 1\r\nx\r\nLMSG  two\tspaces  1\r\ny\r\n";
  const WANT_LEAF = ["MSG |foo|||-1|hello\r\n|", "MSG |foo|reply||-1|hi\r\n|", "MSG |foo||q1,q2|-1|\r\n|", "MSG |foo|r|q|12|NATS/1.0\r\n\r\nhi\r\n|",
    "MSG |foo|r||12|NATS/1.0\r\n\r\n\r\n|", "MSG |low|||-1|x\r\n|", "MSG |two|spaces||-1|y\r\n|"];
  const all = Buffer.from(LEAF, "latin1");
  test("the same messages however the bytes are split", () => {
    for (let cut = 0; cut < all.length; cut++) {
      const { h, out } = collect(false);
      const p = new LinkParser(h, { accounts: false, maxControlLine: 4096, maxPayload: 1 << 20 });
      p.parse(all.subarray(0, cut));
      p.parse(all.subarray(cut));
      expect(out, `cut at ${cut}`).toEqual(WANT_LEAF);
    }
  });
  test.each([
    ["no size", "LMSG foo\r\n", /bad message arguments/],
    ["a bad size", "LMSG foo xx\r\n", /bad message size/],
    ["a bad reply indicator", "LMSG foo * r q 1\r\nx\r\n", /reply indicator/],
    ["a header size past the size", "HMSG foo 9 3\r\nabc\r\n", /bad message size/],
  ])("%s is reported", (_what, text, re) => {
    const { h, out } = collect(false);
    new LinkParser(h, { accounts: false, maxControlLine: 4096, maxPayload: 1 << 20 }).parse(Buffer.from(text, "latin1"));
    expect(out.at(-1)).toMatch(re);
  });
});

describe("bad lines are reported, not thrown", () => {
  test.each([
    ["an unknown op", "FOO bar\r\n", /unknown protocol operation/],
    ["a message without a size", "RMSG $G foo\r\n", /bad message arguments/],
    ["a bad size", "RMSG $G foo xx\r\n", /bad message size/],
    ["a header size past the size", "HMSG $G foo 9 3\r\nabc\r\n", /bad message size/],
    ["a bad reply indicator", "RMSG $G foo * r q 1\r\nx\r\n", /reply indicator/],
    ["a payload not ended by CRLF", "RMSG $G foo 1\r\nxyz", /CRLF/],
    ["a payload past max_payload", "RMSG $G foo 2000000\r\n", /maximum payload/],
    ["a control line past the maximum", `RS+ $G ${"a".repeat(5000)}`, /control line/],
    ["a bad subscription", "RS+ $G\r\n", /bad subscription/],
    ["a bad queue weight", "RS+ $G foo q x\r\n", /bad queue weight/],
  ])("%s", (_what, text, re) => {
    const { h, out } = collect(true);
    const p = new LinkParser(h, { accounts: true, maxControlLine: 4096, maxPayload: 1 << 20 });
    p.parse(Buffer.from(text, "latin1"));
    expect(out.at(-1)).toMatch(re);
    // Closed after the error: nothing more is read.
    p.parse(Buffer.from("PING\r\n"));
    expect(out.filter((l) => l === "PING")).toEqual([]);
  });
});
