import { describe, expect, test } from "vitest";
import { msgHeaderLength, writeMsgHeader } from "../../protocol/encode.js";
import { decodeHeaders, encodeHeaders, NO_RESPONDERS } from "../../protocol/headers.js";
import { errorLine, Errors } from "../../protocol/errors.js";
import { writeUint, digits } from "../../protocol/bytes.js";

function header(subject: string, sid: string, reply: string, hdrLen: number, size: number): string {
  const len = msgHeaderLength(subject, sid, reply, hdrLen, size);
  const buf = Buffer.alloc(len + 8, 0x7e);
  const end = writeMsgHeader(buf, 4, subject, sid, reply, hdrLen, size);
  expect(end - 4).toBe(len);
  return buf.toString("latin1", 4, end);
}

describe("encoding", () => {
  test("writes MSG without a reply", () => expect(header("foo", "1", "", -1, 5)).toBe("MSG foo 1 5\r\n"));
  test("writes MSG with a reply", () => expect(header("foo.bar", "22", "_INBOX.x", -1, 0)).toBe("MSG foo.bar 22 _INBOX.x 0\r\n"));
  test("writes HMSG with header and total sizes", () => expect(header("a", "9", "r", 16, 1048576)).toBe("HMSG a 9 r 16 1048576\r\n"));
  test("writes long subjects", () => {
    const s = "x".repeat(300);
    expect(header(s, "1", s, -1, 12)).toBe(`MSG ${s} 1 ${s} 12\r\n`);
  });
  test("writes integers of every width", () => {
    for (const v of [0, 9, 10, 99, 100, 12345, 999999999, 1000000000, 2 ** 40]) {
      const b = Buffer.alloc(20);
      const end = writeUint(b, 0, v);
      expect(b.toString("latin1", 0, end)).toBe(String(v));
      expect(digits(v)).toBe(String(v).length);
    }
  });
  test("frames -ERR with quotes", () => {
    expect(errorLine(Errors.UnknownProtocol.text).toString()).toBe("-ERR 'Unknown Protocol Operation'\r\n");
  });
});

describe("headers", () => {
  test("the no-responders block is nats-server's 16 bytes", () => {
    expect(NO_RESPONDERS.toString()).toBe("NATS/1.0 503\r\n\r\n");
    expect(NO_RESPONDERS.length).toBe(16);
  });
  test("encodes keys and repeated values in order", () => {
    expect(encodeHeaders([["A", "1"], ["B", ["x", "y"]]]).toString()).toBe("NATS/1.0\r\nA: 1\r\nB: x\r\nB: y\r\n\r\n");
  });
  test("encodes a status line with a description", () => {
    expect(encodeHeaders([], 404, "No Messages").toString()).toBe("NATS/1.0 404 No Messages\r\n\r\n");
  });
  test("decodes what it encodes", () => {
    const h = decodeHeaders(encodeHeaders([["Nats-Msg-Id", "abc"], ["X", ["1", "2"]]], 408, "Request Timeout"))!;
    expect(h.code).toBe(408);
    expect(h.description).toBe("Request Timeout");
    expect(h.values.get("Nats-Msg-Id")).toEqual(["abc"]);
    expect(h.values.get("X")).toEqual(["1", "2"]);
  });
  test("rejects a block without the NATS/1.0 preamble", () => {
    expect(decodeHeaders(Buffer.from("HTTP/1.1 200\r\n\r\n"))).toBeNull();
  });
});

describe("the error table", () => {
  test("every -ERR text gnat can send is exercised against nats-server by a transcript", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const transcripts = ["transcripts", "auth", "operator"]
      .map((f) => readFileSync(join(import.meta.dirname, `../differential/${f}.test.ts`), "utf8")).join("\n");
    // Each error is provoked by a named transcript; the name says which one.
    const provokedBy: Record<string, RegExp> = {
      UnknownProtocol: /unknown op gets Unknown Protocol Operation/,
      MaxPayload: /over max_payload gets Maximum Payload Violation/,
      MaxControlLine: /control line over max_control_line/,
      MaxConnections: /over max_connections gets INFO, an error and a close/,
      MaxSubscriptions: /over max_subscriptions gets an error/,
      InvalidPublishSubject: /gets Invalid Publish Subject/,
      InvalidSubject: /gets Invalid Subject/,
      StaleConnection: /Stale Connection/,
      BadClientProtocol: /protocol 2 is refused/,
      NoRespondersRequiresHeaders: /no_responders without headers is refused/,
      AuthorizationViolation: /a wrong token is an Authorization Violation/,
      AuthenticationTimeout: /never sends CONNECT gets Authentication Timeout/,
      UserAuthenticationExpired: /expires while connected is told and closed/,
      UserAuthenticationRevoked: /closes the revoked user with User Authentication Revoked/,
      AccountAuthenticationExpired: /told Account Authentication Expired and closed/,
      MaxAccountConnections: /connection limit refuses the second client/,
    };
    expect(Object.keys(provokedBy).sort()).toEqual(Object.keys(Errors).sort());
    for (const [name, re] of Object.entries(provokedBy)) expect(transcripts, name).toMatch(re);
  });
});
