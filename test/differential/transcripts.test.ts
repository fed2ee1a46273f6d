// Raw protocol transcripts played against nats-server and gnat; every byte must match.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NATS_SERVER, SKIP_REASON, play, startPair, type Limits, type Pair, type Transcript } from "./harness.js";

const QUIET = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
const HEADERS = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';
const NORESP = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n';

type Case = [name: string, t: Transcript | string];

/** Register one test per case against a pair of servers started with `limits`. */
function suite(title: string, limits: Limits, cases: Case[]): void {
  describe.skipIf(NATS_SERVER === null)(`${title} (differential)`, () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startPair(limits);
    });
    afterAll(async () => {
      await pair?.close();
    });
    for (const [name, tc] of cases) {
      test(name, async () => {
        const t: Transcript = typeof tc === "string" ? { steps: [{ send: tc }] } : tc;
        const [gnat, nats] = await Promise.all([play(pair.gnatPort, t), play(pair.natsPort, t)]);
        expect(nats[0]!.startsWith("INFO <info>\r\n"), "nats-server greeted with INFO").toBe(true);
        expect(gnat).toEqual(nats);
      });
    }
  });
}

if (NATS_SERVER === null) {
  describe("differential tests", () => {
    test.skip(SKIP_REASON, () => {});
  });
}

suite("telnet sessions and verbose mode", {}, [
  ["a telnet session without CONNECT gets +OK after SUB and PUB, then the message", "SUB foo 1\r\nPUB foo 5\r\nhello\r\n"],
  ["PING gets PONG and no +OK", "PING\r\n"],
  ["PONG without a PING is accepted silently", "PONG\r\n"],
  ["CONNECT {} keeps verbose on", "CONNECT {}\r\nSUB foo 1\r\n"],
  ["CONNECT with verbose false turns +OK off", 'CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n'],
  ["a second CONNECT can turn verbose back on", 'CONNECT {"verbose":false}\r\nCONNECT {"verbose":true}\r\nSUB foo 1\r\n'],
  ["UNSUB of an unknown sid still gets +OK", "UNSUB 99\r\n"],
  ["a duplicate SUB sid gets +OK and one delivery", "SUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n"],
  ["+OK from a client is ignored", "+OK\r\nPING\r\n"],
  ["INFO from a client is accepted", "INFO {}\r\n"],
]);

suite("messages", {}, [
  ["a message with a reply subject carries it", QUIET + "SUB foo 1\r\nPUB foo bar 2\r\nhi\r\n"],
  ["a zero-length payload is delivered", QUIET + "SUB foo 1\r\nPUB foo 0\r\n\r\n"],
  ["a payload holding protocol text is delivered whole", QUIET + "SUB foo 1\r\nPUB foo 6\r\nPING\r\n\r\n"],
  ["* matches one token only", QUIET + "SUB foo.* 1\r\nPUB foo.bar 1\r\na\r\nPUB foo.bar.baz 1\r\nb\r\nPUB foo 1\r\nc\r\n"],
  ["> matches one or more tokens", QUIET + "SUB foo.> 1\r\nPUB foo 1\r\na\r\nPUB foo.bar 1\r\nb\r\nPUB foo.bar.baz 1\r\nc\r\n"],
  ["several matching subscriptions on one connection each get the message", QUIET + "SUB foo 1\r\nSUB foo.* 2\r\nSUB > 3\r\nPUB foo.x 1\r\na\r\n"],
  ["a token with * inside is a literal", QUIET + "SUB foo* 1\r\nPUB foo* 1\r\na\r\nPUB foox 1\r\nb\r\n"],
  ["a queue group of one gets the message", QUIET + "SUB foo q 1\r\nPUB foo 1\r\na\r\n"],
  ["UNSUB stops deliveries", QUIET + "SUB foo 1\r\nUNSUB 1\r\nPUB foo 1\r\na\r\n"],
  ["UNSUB with max delivers exactly max then stops", QUIET + "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n"],
  ["UNSUB with a max already reached removes at once", QUIET + "SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 1\r\nPUB foo 1\r\nb\r\n"],
  ["UNSUB with a non-numeric max unsubscribes", QUIET + "SUB foo 1\r\nUNSUB 1 x\r\nPUB foo 1\r\na\r\n"],
  ["echo false keeps a connection's own messages from it", 'CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n'],
  ["ops are case-insensitive", "connect {\"verbose\":false}\r\nsub foo 1\r\npub foo 1\r\nx\r\nPiNg\r\n"],
  ["fields may be separated by tabs and several spaces", QUIET + "SUB \t foo\t\t1\r\nPUB  foo \t  1\r\nx\r\n"],
  ["a bare LF ends a control line", QUIET + "SUB foo 1\nPUB foo 1\nx\r\nPING\n"],
  ["anything after PING up to the line end is ignored", "PINGxyz\r\n"],
  ["UTF-8 subjects round-trip as bytes", QUIET + "SUB caf\u00c3\u00a9.* 1\r\nPUB caf\u00c3\u00a9.x 1\r\na\r\n"],
  ["a payload split over several writes arrives whole", { steps: [
    { send: QUIET + "SUB foo 1\r\nPUB foo 11\r\nhel" }, { send: "lo wo" }, { send: "rld\r\n" }] }],
  ["a control line split over several writes is understood", { steps: [
    { send: QUIET + "SU" }, { send: "B fo" }, { send: "o 1\r" }, { send: "\nPUB foo 1\r\na\r\n" }] }],
]);

suite("headers and no-responders", {}, [
  ["HPUB is delivered as HMSG to a headers client", HEADERS + "SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"],
  ["HPUB with a reply carries it", HEADERS + "SUB foo 1\r\nHPUB foo r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"],
  ["HPUB from a client that did not ask for headers closes the connection", QUIET + "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"],
  ["HPUB with header size over total size closes the connection", HEADERS + "HPUB foo 5 4\r\n"],
  ["a request with no responders gets a 503 on the reply subscription", NORESP + "SUB inbox.1 9\r\nPUB nobody inbox.1 0\r\n\r\n"],
  ["a request with no responders and no reply subscription gets nothing", NORESP + "PUB nobody inbox.1 0\r\n\r\n"],
  ["no_responders without headers is refused and closes", 'CONNECT {"no_responders":true}\r\n'],
  ["a request someone receives gets no 503", NORESP + "SUB svc 1\r\nSUB inbox 2\r\nPUB svc inbox 1\r\nq\r\n"],
  ["echo false makes a request to one's own subscription a no-responders case",
    'CONNECT {"verbose":false,"headers":true,"no_responders":true,"echo":false}\r\nSUB svc 1\r\nSUB inbox 2\r\nPUB svc inbox 0\r\n\r\n'],
  ["HMSG from a client is an empty publish", "HMSG foo 1 0 0\r\n\r\n"],
]);

suite("errors", {}, [
  ["an unknown op gets Unknown Protocol Operation and a close", "FOO\r\n"],
  ["MSG from a client is an unknown op", "MSG foo 1 0\r\n\r\n"],
  ["PUB without a blank is an unknown op", "PUBX\r\n"],
  ["a payload longer than its size closes the connection", "PUB foo 3\r\nabcd\r\n"],
  ["PUB with a missing size closes the connection without -ERR", "PUB foo\r\n"],
  ["PUB with a negative size closes the connection", "PUB foo -1\r\n"],
  ["PUB with a ten-digit size closes the connection", "PUB foo 1000000000\r\n"],
  ["SUB with too many fields closes the connection", "SUB a b c d\r\n"],
  ["UNSUB without a sid closes the connection", "UNSUB\r\n"],
  ["CONNECT with bad JSON closes the connection", "CONNECT {bad json}\r\n"],
  ["CONNECT with a wrong field type closes the connection", 'CONNECT {"verbose":"yes"}\r\n'],
  ["CONNECT without an argument closes the connection", "CONNECT\r\n"],
  ["CONNECT with protocol 2 is refused", 'CONNECT {"protocol":2}\r\n'],
  ["-ERR from a client closes the connection", "-ERR 'boom'\r\n"],
  ["a pedantic publish to a wildcard subject gets Invalid Publish Subject and is still delivered", "SUB foo.* 1\r\nPUB foo.* 1\r\na\r\n"],
  ["a pedantic publish to a subject with an empty token gets Invalid Publish Subject", "PUB foo..bar 0\r\n\r\n"],
  ["Invalid Publish Subject comes with the PUB line, before a malformed payload is found", { steps: [
    { send: "PUB foo.* 1\r\n", waitFor: "-ERR 'Invalid Publish Subject'\r\n" }, { send: "abc" }], until: "close" }],
  ["Invalid Publish Subject comes once when the payload arrives with its PUB line", { steps: [
    { send: "PUB foo.* 3\r\nabc\r\n" }] }],
  ["Invalid Publish Subject comes twice when the payload arrives after its PUB line, as in nats-server", { steps: [
    { send: "SUB foo.* 1\r\nPUB foo.* 3\r\n", waitFor: "-ERR 'Invalid Publish Subject'\r\n" }, { send: "abc\r\n" }] }],
  ["a non-pedantic publish to a wildcard subject is quietly delivered", QUIET + "SUB foo.> 1\r\nPUB foo.* 1\r\na\r\n"],
  ["SUB to a subject with an empty token gets Invalid Subject", "SUB foo..bar 1\r\n"],
  ["SUB with > not last gets Invalid Subject", "SUB foo.>.bar 1\r\n"],
  ["SUB to a subject with a trailing dot gets Invalid Subject, even when not pedantic", QUIET + "SUB foo. 1\r\n"],
  ["a blank line is an unknown op", "\r\n"],
  ["a leading space is an unknown op", " PING\r\n"],
  ["binary garbage is an unknown op", Buffer.from([0, 1, 2, 0xff, 13, 10]).toString("latin1")],
]);

suite("limits", { maxPayload: 64, maxControlLine: 64, maxSubscriptions: 2 }, [
  ["a PUB over max_payload gets Maximum Payload Violation and a close", "PUB foo 65\r\n"],
  ["a PUB of exactly max_payload is delivered", QUIET + "SUB foo 1\r\nPUB foo 64\r\n" + "x".repeat(64) + "\r\n"],
  ["an HPUB over max_payload is refused", HEADERS + "HPUB foo 12 65\r\n"],
  ["a control line over max_control_line closes the connection", "SUB " + "a".repeat(60) + " 1\r\n"],
  ["a control line of exactly max_control_line is accepted", QUIET + "SUB " + "a".repeat(60) + " 1\r\n"],
  ["an unterminated control line over the limit is cut off", { steps: [{ send: "PUB " + "a".repeat(70) }], until: "close" }],
  ["a third subscription over max_subscriptions gets an error and the connection stays", "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n"],
  ["an UNSUB frees a place under max_subscriptions", QUIET + "SUB a 1\r\nSUB b 2\r\nUNSUB 1\r\nSUB c 3\r\nPUB c 1\r\nx\r\n"],
]);

suite("connections", {}, [
  ["messages cross connections", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB foo 1\r\n" }, { conn: 1, send: QUIET + "PUB foo 5\r\nhello\r\n" }] }],
  ["request-reply crosses connections", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB svc 1\r\n" },
    { conn: 1, send: QUIET + "SUB inbox.7 1\r\nPUB svc inbox.7 4\r\nping\r\n" },
    { conn: 0, send: "PUB inbox.7 4\r\npong\r\n" }] }],
  ["echo false still delivers to other connections", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB foo 1\r\n" },
    { conn: 1, send: 'CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n' }] }],
  ["an HPUB reaches a client that did not ask for headers as a MSG with the payload alone", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB foo 1\r\n" },
    { conn: 1, send: HEADERS + "HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n" }] }],
  ["a queue group skips the publisher's own member when echo is off", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB work q 1\r\n" },
    { conn: 1, send: 'CONNECT {"verbose":false,"echo":false}\r\nSUB work q 1\r\nPUB work 1\r\na\r\nPUB work 1\r\nb\r\n' }] }],
  ["a verbose publisher gets +OK and the subscriber the message", { conns: 2, steps: [
    { conn: 0, send: "SUB foo 1\r\n" }, { conn: 1, send: "PUB foo 2\r\nhi\r\n" }] }],
  ["auto-unsubscribe counts deliveries from any connection", { conns: 2, steps: [
    { conn: 0, send: QUIET + "SUB foo 1\r\nUNSUB 1 2\r\n" },
    { conn: 1, send: QUIET + "PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n" }] }],
  ["a no-responders 503 goes to the requester's wildcard reply subscription", { conns: 1, steps: [
    { send: NORESP + "SUB _INBOX.abc.* 7\r\nPUB svc _INBOX.abc.1 0\r\n\r\n" }] }],
]);

// Alone on its servers: connections closed by an earlier test may not be gone server-side yet.
suite("max connections", { maxConnections: 2 }, [
  ["a connection over max_connections gets INFO, an error and a close", { conns: 3, steps: [], waitClose: [2] }],
]);

suite("server pings", { pingInterval: 100, pingMax: 2 }, [
  ["an idle client gets PINGs and then Stale Connection", { steps: [], until: "close" }],
  ["an idle client that sent CONNECT gets PINGs and then Stale Connection", { steps: [{ send: QUIET }], until: "close" }],
]);
