import { describe, expect, test } from "vitest";
import { Parser, ParseError, parseSize, type ParseErrorKind, type ParserHandler } from "../../protocol/parser.js";
import { hashFinish, hashStep, InternTable } from "../../protocol/intern.js";

type Event = (string | number)[];

/** Records every parser event as a plain array, payloads as latin1 strings. */
class Recorder implements ParserHandler {
  events: Event[] = [];
  onConnect(arg: Buffer) { this.events.push(["CONNECT", arg.toString("latin1")]); }
  onInfo(arg: Buffer) { this.events.push(["INFO", arg.toString("latin1")]); }
  onPub(subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number) {
    this.events.push(["PUB", subject, reply, hdrLen, buf.toString("latin1", start, end)]);
  }
  onInvalidPublishSubject(subject: string) { this.events.push(["INVALID_PUBLISH_SUBJECT", subject]); }
  onSub(subject: string, queue: string, sid: string) { this.events.push(["SUB", subject, queue, sid]); }
  onUnsub(sid: string, max: number) { this.events.push(["UNSUB", sid, max]); }
  onPing() { this.events.push(["PING"]); }
  onPong() { this.events.push(["PONG"]); }
  onErr(arg: Buffer) { this.events.push(["ERR", arg.toString("latin1")]); }
  onParseError(kind: ParseErrorKind) { this.events.push(["PARSE_ERROR", kind]); }
}

function parse(input: string | Buffer, opts: { headers?: boolean; maxPayload?: number; maxControlLine?: number } = {}, chunks?: number[]): Event[] {
  const r = new Recorder();
  const p = new Parser(r, opts);
  p.headers = opts.headers ?? true;
  const buf = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  let at = 0;
  for (const cut of chunks ?? []) {
    p.parse(buf.subarray(at, cut));
    at = cut;
  }
  p.parse(buf.subarray(at));
  return r.events;
}

/** The same events must come out whether the input arrives whole, split once anywhere, or byte by byte. */
function expectSplitInvariant(input: string, opts: { headers?: boolean; maxPayload?: number; maxControlLine?: number } = {}): Event[] {
  const whole = parse(input, opts);
  for (let cut = 1; cut < input.length; cut++) {
    expect(parse(input, opts, [cut]), `split at ${cut}`).toEqual(whole);
  }
  const bytes = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
  expect(parse(input, opts, bytes), "byte by byte").toEqual(whole);
  return whole;
}

describe("parser", () => {
  test("parses every client op the same at every split point", () => {
    const input = 'CONNECT {"verbose":false}\r\nPING\r\nPONG\r\nSUB foo 1\r\nSUB foo.* q 2\r\n' +
      "PUB foo 5\r\nhello\r\nPUB foo reply 0\r\n\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
      "HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nUNSUB 1\r\nUNSUB 2 10\r\n";
    const events = expectSplitInvariant(input);
    expect(events).toEqual([
      ["CONNECT", '{"verbose":false}'],
      ["PING"], ["PONG"],
      ["SUB", "foo", "", "1"],
      ["SUB", "foo.*", "q", "2"],
      ["PUB", "foo", "", -1, "hello\r\n"],
      ["PUB", "foo", "reply", -1, "\r\n"],
      ["PUB", "foo", "", 12, "NATS/1.0\r\n\r\nhi\r\n"],
      ["PUB", "foo", "r", 12, "NATS/1.0\r\n\r\n\r\n"],
      ["UNSUB", "1", -1],
      ["UNSUB", "2", 10],
    ]);
  });

  test("treats op names case-insensitively", () => {
    expect(parse("pub foo 1\r\nx\r\nSuB foo 1\r\nping\r\nPiNg\r\n")).toEqual([
      ["PUB", "foo", "", -1, "x\r\n"], ["SUB", "foo", "", "1"], ["PING"], ["PING"],
    ]);
  });

  test("accepts tabs and repeated spaces between fields", () => {
    expect(expectSplitInvariant("PUB \t foo  \t bar\t 3\r\nabc\r\nSUB\tfoo\t\tq  7\r\n")).toEqual([
      ["PUB", "foo", "bar", -1, "abc\r\n"], ["SUB", "foo", "q", "7"],
    ]);
  });

  test("accepts a bare LF as the end of a control line", () => {
    expect(expectSplitInvariant("SUB foo 1\nPUB foo 2\nhi\r\nPING\n")).toEqual([
      ["SUB", "foo", "", "1"], ["PUB", "foo", "", -1, "hi\r\n"], ["PING"],
    ]);
  });

  test("ignores anything after PING or PONG up to the line end, as nats-server does", () => {
    expect(parse("PINGXYZ\r\nPONG junk\r\n")).toEqual([["PING"], ["PONG"]]);
  });

  test("ignores +OK from a client", () => {
    expect(parse("+OK\r\nPING\r\n")).toEqual([["PING"]]);
  });

  test("reads a client's HMSG as an empty publish, as nats-server does", () => {
    expect(expectSplitInvariant("HMSG foo 1 2 2\r\n\r\nPING\r\n")).toEqual([["PUB", "", "", -1, "\r\n"], ["PING"]]);
  });

  test("checks publish subjects as each PUB line is read, when asked to", () => {
    const r = new Recorder();
    const p = new Parser(r);
    p.checkPublishSubjects = true;
    p.parse(Buffer.from("PUB foo.* 1\r\nx\r\nPUB ok 0\r\n\r\n"));
    expect(r.events).toEqual([["INVALID_PUBLISH_SUBJECT", "foo.*"], ["PUB", "foo.*", "", -1, "x\r\n"], ["PUB", "ok", "", -1, "\r\n"]]);
    // A payload left for a later read repeats it, as nats-server does; a split line does not.
    r.events.length = 0;
    p.parse(Buffer.from("PUB a.> 2\r\nx"));
    p.parse(Buffer.from("y\r\n"));
    expect(r.events.map((e) => e[0])).toEqual(["INVALID_PUBLISH_SUBJECT", "INVALID_PUBLISH_SUBJECT", "PUB"]);
    r.events.length = 0;
    p.parse(Buffer.from("PUB a"));
    p.parse(Buffer.from(".> 2\r\nx"));
    p.parse(Buffer.from("y\r\n"));
    expect(r.events.map((e) => e[0])).toEqual(["INVALID_PUBLISH_SUBJECT", "PUB"]);
    p.checkPublishSubjects = false;
    p.parse(Buffer.from("PUB foo..bar 0\r\n\r\n"));
    expect(r.events.at(-1)![0]).toBe("PUB");
  });

  test("reports -ERR from a client", () => {
    expect(parse("-ERR 'x'\r\n")).toEqual([["ERR", "'x'"]]);
  });

  test("jumps over payloads that contain protocol-looking bytes", () => {
    expect(expectSplitInvariant("PUB a 13\r\nPING\r\nPUB x\r\n\r\nPING\r\n")).toEqual([
      ["PUB", "a", "", -1, "PING\r\nPUB x\r\n\r\n"], ["PING"],
    ]);
  });

  test("hands on a payload that fills the chunk exactly", () => {
    const big = "x".repeat(70000);
    expect(parse(`PUB big 70000\r\n${big}\r\n`, {}, [5000, 40000])).toEqual([["PUB", "big", "", -1, `${big}\r\n`]]);
  });

  test("keeps a subject's non-ASCII bytes as latin1 chars", () => {
    const input = Buffer.concat([Buffer.from("PUB "), Buffer.from("ü.x", "utf8"), Buffer.from(" 0\r\n\r\n")]);
    const events = parse(input);
    expect(events[0]![1]).toBe(Buffer.from("ü.x", "utf8").toString("latin1"));
  });

  describe("errors", () => {
    const cases: [string, string, ParseErrorKind | null, Record<string, number | boolean>?][] = [
      ["an unknown op", "FOO\r\n", ParseError.UnknownOp],
      ["MSG from a client", "MSG foo 1 0\r\n\r\n", ParseError.UnknownOp],
      ["HMSG from a client not followed by CRLF", "HMSG foo 1 2 2\r\nab\r\n", ParseError.UnknownOp],
      ["HX", "HX\r\n", ParseError.UnknownOp],
      ["PUB with no blank after it", "PUBX foo 1\r\n", ParseError.UnknownOp],
      ["a payload not followed by CRLF", "PUB foo 1\r\nab\r\n", ParseError.UnknownOp],
      ["a payload followed by CR and a wrong byte", "PUB foo 1\r\na\rX", ParseError.UnknownOp],
      ["PUB with too few fields", "PUB foo\r\n", ParseError.BadArgs],
      ["PUB with too many fields", "PUB a b c 1\r\n", ParseError.BadArgs],
      ["PUB with a negative size", "PUB foo -1\r\n", ParseError.BadArgs],
      ["PUB with a non-numeric size", "PUB foo 1x\r\n", ParseError.BadArgs],
      ["PUB with a size of ten digits", "PUB foo 1000000000\r\n", ParseError.BadArgs],
      ["PUB over max_payload", "PUB foo 11\r\n", ParseError.MaxPayload, { maxPayload: 10 }],
      ["HPUB over max_payload", "HPUB foo 5 11\r\n", ParseError.MaxPayload, { maxPayload: 10 }],
      ["HPUB with header size over total size", "HPUB foo 5 4\r\n", ParseError.BadArgs],
      ["HPUB without headers support", "HPUB foo 2 2\r\n\r\n\r\n", ParseError.HeadersNotSupported, { headers: false }],
      ["SUB with one field", "SUB foo\r\n", ParseError.BadArgs],
      ["SUB with four fields", "SUB a b c d\r\n", ParseError.BadArgs],
      ["UNSUB with three fields", "UNSUB 1 2 3\r\n", ParseError.BadArgs],
      ["a control line over the limit", `SUB ${"a".repeat(40)} 1\r\n`, ParseError.MaxControlLine, { maxControlLine: 32 }],
      ["a control line over the limit that never ends", `PUB ${"a".repeat(40)}`, ParseError.MaxControlLine, { maxControlLine: 32 }],
    ];
    for (const [name, input, kind, opts] of cases) {
      test(`rejects ${name}`, () => {
        const events = expectSplitInvariant(input, opts ?? {});
        expect(events.at(-1)).toEqual(["PARSE_ERROR", kind]);
      });
    }

    test("stops for good after an error", () => {
      expect(parse("FOO\r\nPING\r\n")).toEqual([["PARSE_ERROR", ParseError.UnknownOp]]);
    });

    test("accepts a control line exactly at the limit", () => {
      const line = `SUB ${"a".repeat(30)} 1`; // argument is 32 bytes
      expect(parse(`${line}\r\n`, { maxControlLine: 32 })).toEqual([["SUB", "a".repeat(30), "", "1"]]);
    });

    test("accepts a payload exactly at max_payload", () => {
      expect(parse("PUB foo 10\r\n0123456789\r\n", { maxPayload: 10 })).toEqual([["PUB", "foo", "", -1, "0123456789\r\n"]]);
    });
  });

  test("parseSize reads at most nine digits", () => {
    const b = Buffer.from("123456789 1234567890 12a");
    expect(parseSize(b, 0, 9)).toBe(123456789);
    expect(parseSize(b, 10, 20)).toBe(-1);
    expect(parseSize(b, 21, 24)).toBe(-1);
    expect(parseSize(b, 0, 0)).toBe(-1);
  });

  test("survives random garbage at every split without throwing", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = ["PUB ", "SUB ", "HPUB ", "UNSUB ", "PING", "\r\n", "\n", " ", "\t", "foo", "1", "99", "-", "*", ">", ".", "\x00", "\xff"];
    for (let round = 0; round < 300; round++) {
      let s = "";
      for (let i = 0; i < 12; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const whole = parse(s, { maxControlLine: 64 });
      expect(parse(s, { maxControlLine: 64 }, [Math.floor(rand() * s.length)])).toEqual(whole);
    }
  });
});

describe("suspending after CONNECT (auth callout)", () => {
  const input = 'CONNECT {"a":1}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nCONNECT {"b":2}\r\nPING\r\n';
  const all = parse(input);

  /** A recorder that suspends its parser at each CONNECT; `resume()` releases one. */
  function suspending(chunks: number[]): { events: Event[]; resume: () => void; parser: Parser } {
    const r = new Recorder();
    const p = new Parser(r);
    const onConnect = r.onConnect.bind(r);
    r.onConnect = (arg) => {
      onConnect(arg);
      p.suspend();
    };
    const buf = Buffer.from(input, "latin1");
    let at = 0;
    for (const cut of [...chunks, buf.length]) {
      p.parse(buf.subarray(at, cut));
      at = cut;
    }
    return { events: r.events, resume: () => p.resume(), parser: p };
  }

  test("nothing after a suspending CONNECT is parsed until resume, then all of it in order, at every split", () => {
    for (let cut = 0; cut <= input.length; cut++) {
      const s = suspending(cut === 0 ? [] : [cut]);
      expect(s.events, `split at ${cut}`).toEqual([all[0]]);
      expect(s.parser.suspended).toBe(true);
      s.resume();
      // The second CONNECT suspends again: the PING after it waits.
      expect(s.events, `split at ${cut}`).toEqual(all.slice(0, 4));
      s.resume();
      expect(s.events, `split at ${cut}`).toEqual(all);
      expect(s.parser.suspended).toBe(false);
    }
  });

  test("close drops what was held", () => {
    const s = suspending([]);
    s.parser.close();
    s.resume();
    expect(s.events).toEqual([all[0]]);
  });
});

describe("PUB line fast path", () => {
  /**
   * The fast path only runs with "PUB " in view at the start of an op. Cutting the input after
   * "PU" sends the same line through the general states, still whole in one chunk (byte by byte
   * would differ on its own: a line over the limit only by its doubled CR fails earlier there).
   */
  function slowAndFast(input: string, opts: { maxPayload: number; maxControlLine: number; pedantic: boolean; headers?: boolean }): [Event[], Event[]] {
    const run = (chunked: boolean): Event[] => {
      const r = new Recorder();
      const p = new Parser(r, opts);
      p.checkPublishSubjects = opts.pedantic;
      p.headers = opts.headers ?? false;
      const buf = Buffer.from(input, "latin1");
      if (!chunked) p.parse(buf);
      else {
        p.parse(buf.subarray(0, 2));
        p.parse(buf.subarray(2));
      }
      return r.events;
    };
    return [run(true), run(false)];
  }

  test("reads random PUB and HPUB lines exactly as the general states do", () => {
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const blanks = [" ", " ", " ", "\t", "  ", " \t ", ""];
    const fields = ["foo", "foo.bar", "a.*", ">", "r.1", "3", "0", "12", "007", "1234567890", "99999", "x\ry", "-1", "\xe9t\xe9", ""];
    const ends = ["\r\n", "\r\n", "\r\n", "\n", " \r\n", "\r\r\n", "\rx\n"];
    for (let round = 0; round < 3000; round++) {
      let line = pick(["PUB", "pub", "PuB", "HPUB", "hpub"]) + pick([" ", "\t"]) + pick(blanks);
      const argc = 1 + Math.floor(rand() * 5);
      for (let k = 0; k < argc; k++) line += (k > 0 ? pick(blanks) : "") + pick(fields);
      line += pick(ends);
      const size = Math.floor(rand() * 5);
      const input = line + "abcdefgh".slice(0, size) + pick(["\r\n", "\r\n", "xx", "\r"]) + "PING\r\n";
      const opts = { maxPayload: pick([2, 1024]), maxControlLine: pick([8, 4096]), pedantic: rand() < 0.3, headers: rand() < 0.8 };
      const [slow, fast] = slowAndFast(input, opts);
      expect(fast, JSON.stringify({ input, opts })).toEqual(slow);
    }
  });

  test("takes a reply, blank runs, header sizes and the largest allowed size", () => {
    const opts = { maxPayload: 3, maxControlLine: 4096, pedantic: false };
    for (const input of ["PUB a.b r.1 3\r\nabc\r\n", "PUB \t a.b \t 3\r\nabc\r\n", "PUB a 4\r\nabcd\r\n", "PUB a 000000003\r\nabc\r\n",
      "HPUB a 2 3\r\nabc\r\n", "HPUB a r 3 2\r\nabc\r\n", "HPUB a r 0 3\r\nabc\r\n", "HPUB a r 1 2 3\r\nabc\r\n"]) {
      for (const headers of [true, false]) {
        const [slow, fast] = slowAndFast(input, { ...opts, headers });
        expect(fast, input).toEqual(slow);
      }
    }
  });
});

describe("subject strings", () => {
  test("a repeated subject comes back as the same string, and a different one never does", () => {
    const subjects: string[] = [];
    const p = new Parser({
      ...new Recorder(),
      onPub: (subject: string) => { subjects.push(subject); },
    } as unknown as ParserHandler);
    const names = Array.from({ length: 600 }, (_, i) => `s.${i}`);
    for (const n of [...names, ...names]) p.parse(Buffer.from(`PUB ${n} 0\r\n\r\n`));
    expect(subjects).toEqual([...names, ...names]);
    p.parse(Buffer.from("PUB abc 0\r\n\r\nPUB abd 0\r\n\r\nPUB abc 0\r\n\r\n"));
    expect(subjects.slice(-3)).toEqual(["abc", "abd", "abc"]);
  });

  test("10k subjects published round-robin come back as the same strings on the second pass", () => {
    const intern = new InternTable(4096);
    const subjects: string[] = [];
    const p = new Parser({
      ...new Recorder(),
      onPub: (subject: string) => { subjects.push(subject); },
    } as unknown as ParserHandler, { intern });
    const names = Array.from({ length: 10_000 }, (_, i) => `s.${10_000 + i}`);
    const stream = Buffer.from(names.map((n) => `PUB ${n} 0\r\n\r\n`).join(""));
    p.parse(stream);
    const first = subjects.splice(0);
    p.parse(stream);
    expect(subjects).toEqual(names);
    // Identity, not just equality: the second pass allocated no strings.
    expect(subjects.every((s, i) => s === first[i])).toBe(true);
    expect(intern.size).toBe(10_000);
  });
});

describe("intern table", () => {
  test("returns the bytes' latin1 string, the same one for the same bytes", () => {
    const t = new InternTable(16);
    const b = Buffer.from("xx foo.bar \xe9t\xe9 foo.bar", "latin1");
    const a1 = t.get(b, 3, 10);
    expect(a1).toBe("foo.bar");
    expect(t.get(b, 11, 14)).toBe("\xe9t\xe9");
    expect(Object.is(t.get(b, 15, 22), a1)).toBe(true);
    expect(t.get(b, 3, 3)).toBe("");
  });

  test("leaves long subjects out", () => {
    const t = new InternTable(16, 8);
    const b = Buffer.from("abcdefghijkl");
    expect(t.get(b, 0, 12)).toBe("abcdefghijkl");
    expect(t.size).toBe(0);
  });

  test("grows to its maximum, then starts afresh, and stays correct throughout", () => {
    const t = new InternTable(16, 64, 1024);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) {
        const s = `k.${(i * 7919) % 5000}`;
        const b = Buffer.from(`>${s}<`);
        expect(t.get(b, 1, b.length - 1)).toBe(s);
        expect(t.size).toBeLessThanOrEqual(512);
        expect(t.slots).toBeLessThanOrEqual(1024);
      }
    }
    expect(t.slots).toBe(1024);
  });

  test("lookup with a precomputed hash agrees with get", () => {
    const t = new InternTable(16);
    const b = Buffer.from("orders.eu.7");
    let h = 0;
    for (const x of b) h = hashStep(h, x);
    const s = t.lookup(b, 0, b.length, hashFinish(h, b.length));
    expect(s).toBe("orders.eu.7");
    expect(Object.is(t.get(b, 0, b.length), s)).toBe(true);
  });
});
