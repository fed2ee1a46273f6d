// The client-protocol parser: a byte state machine over Buffer chunks. Op names are matched byte
// by byte (so any split of the input gives the same result); control lines are found with
// indexOf; payloads are jumped over and handed on as slices of the chunk, copied only when a
// payload straddles two chunks. It mirrors nats-server's acceptance rules, quirks included.

import "./bytes.js";
import { hashFinish, InternTable } from "./intern.js";
import { isValidLiteralSubject } from "./subject.js";

export const ParseError = {
  /** `-ERR 'Unknown Protocol Operation'`, then close. */
  UnknownOp: 1,
  /** `-ERR 'maximum control line exceeded'`, then close. */
  MaxControlLine: 2,
  /** `-ERR 'Maximum Payload Violation'`, then close. */
  MaxPayload: 3,
  /** Malformed arguments: nats-server logs and closes without an -ERR. */
  BadArgs: 4,
  /** HPUB on a connection that did not ask for headers: closed without an -ERR. */
  HeadersNotSupported: 5,
  /** Any op but CONNECT while `connectRequired`: `-ERR 'Authorization Violation'`, then close. */
  ConnectRequired: 6,
} as const;
export type ParseErrorKind = (typeof ParseError)[keyof typeof ParseError];

export interface ParserHandler {
  onConnect(arg: Buffer): void;
  onInfo(arg: Buffer): void;
  /**
   * A complete PUB or HPUB. `reply` is "" when absent; `hdrLen` is -1 for PUB. `buf[start, end)`
   * holds the payload (headers first for HPUB) followed by CRLF; `buf` may be the read chunk,
   * so a receiver that keeps the bytes past the call must copy them.
   */
  onPub(subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): void;
  /** With `checkPublishSubjects` on: a PUB/HPUB line named a wildcard or malformed subject. */
  onInvalidPublishSubject(subject: string): void;
  onSub(subject: string, queue: string, sid: string): void;
  onUnsub(sid: string, max: number): void;
  onPing(): void;
  onPong(): void;
  onErr(arg: Buffer): void;
  onParseError(kind: ParseErrorKind, detail: string): void;
}

// States. Op-name states are named by the letters seen so far.
const START = 0;
const KEYWORD = 1; // matching the rest of an op name (kw, kwPos)
const P = 2;
const SPC = 3; // after the op name: skipping spaces/tabs before the argument
const ARG = 4; // inside a control-line argument
const PAYLOAD = 5;
const SKIP_LINE = 6; // after PING/PONG/+OK: ignore up to LF, then act
const CLOSED = 7;
const H = 8;

// Ops, by what they do once their line is complete.
const OP_PUB = 1;
const OP_HPUB = 2;
const OP_SUB = 3;
const OP_UNSUB = 4;
const OP_CONNECT = 5;
const OP_INFO = 6;
const OP_PING = 7;
const OP_PONG = 8;
const OP_OK = 9;
const OP_ERR = 10;
/** HMSG from a client: nats-server reads no arguments and expects an empty payload. */
const OP_HMSG = 11;

const LF = 10;
const CR = 13;
const SP = 32;
const TAB = 9;

const KW = {
  PUB: Buffer.from("PUB"),
  PING: Buffer.from("PING"),
  PONG: Buffer.from("PONG"),
  HPUB: Buffer.from("HPUB"),
  HMSG: Buffer.from("HMSG"),
  SUB: Buffer.from("SUB"),
  UNSUB: Buffer.from("UNSUB"),
  CONNECT: Buffer.from("CONNECT"),
  INFO: Buffer.from("INFO"),
  OK: Buffer.from("+OK"),
  ERR: Buffer.from("-ERR"),
} as const;

const MAX_ARGS = 4;


export class Parser {
  maxControlLine: number;
  maxPayload: number;
  /** Whether HPUB is accepted (the client's CONNECT asked for headers). */
  headers = false;
  /**
   * Pedantic mode: check publish subjects as each PUB line is read, which is when nats-server
   * sends its -ERR (before the payload, which may yet turn out malformed).
   */
  checkPublishSubjects = false;
  /**
   * Authentication is on and no CONNECT was accepted yet: like nats-server, the first byte of
   * any other op is a violation (it never waits for the rest of the line or a payload).
   */
  connectRequired = false;

  private state = START;
  private op = 0;
  private kw: Buffer = KW.PUB;
  private kwPos = 0;
  /** Control-line bytes kept across chunks. */
  private argBuf: Buffer = Buffer.allocUnsafe(256);
  private argLen = 0;
  /** True once the argument's first byte is consumed (that byte never counts as CR or LF). */
  private argStarted = false;
  /** The control line just read came from more than one chunk. */
  private argWasSplit = false;
  /** nats-server drops the byte before LF if a CR appeared anywhere after the first byte. */
  private sawCR = false;

  // Pending publish, while its payload arrives.
  private subject = "";
  private reply = "";
  private hdrLen = -1;
  private size = 0;
  private msgBuf: Buffer | null = null;
  /** Bytes of msgBuf the payload (plus CRLF) fills: a lent buffer may be longer. */
  private msgNeed = 0;
  private readonly buffers: PayloadBuffers;
  private msgLen = 0;

  private readonly starts = new Int32Array(MAX_ARGS + 1);
  private readonly ends = new Int32Array(MAX_ARGS + 1);

  private readonly intern: InternTable;
  /** While suspended: the bytes not parsed yet, in arrival order. */
  private held: Buffer[] | null = null;

  constructor(private readonly handler: ParserHandler,
    opts: { maxControlLine?: number; maxPayload?: number; intern?: InternTable; buffers?: PayloadBuffers } = {}) {
    this.maxControlLine = opts.maxControlLine ?? 4096;
    this.maxPayload = opts.maxPayload ?? 1024 * 1024;
    this.buffers = opts.buffers ?? FRESH_BUFFERS;
    // Publish subjects go through an intern table, shared across a server's parsers if given.
    this.intern = opts.intern ?? new InternTable(64);
  }

  /** Stop parsing for good (the connection is closing). */
  close(): void {
    this.state = CLOSED;
    this.held = null;
  }

  /**
   * Parse nothing more until resume(): what follows the op being handled, and every chunk after
   * it, is kept in arrival order. For a CONNECT whose answer comes later (an auth callout):
   * nats-server blocks the client's reader there, so nothing sent after it acts before it.
   */
  suspend(): void {
    if (this.state !== CLOSED) this.held ??= [];
  }

  get suspended(): boolean {
    return this.held !== null;
  }

  /** Parse what was kept while suspended; a handler may suspend again part-way. */
  resume(): void {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    for (let k = 0; k < held.length; k++) {
      // parse() keeps what it is given while suspended: the rest stays in order.
      this.parse(held[k]!);
    }
  }

  get closed(): boolean {
    return this.state === CLOSED;
  }

  parse(buf: Buffer): void {
    if (this.held !== null) {
      if (this.state !== CLOSED) this.held.push(Buffer.from(buf));
      return;
    }
    const n = buf.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case START: {
          if (this.connectRequired && (buf[i]! | 0x20) !== 0x63) return this.fail(ParseError.ConnectRequired, "op before CONNECT");
          // Fast path: a whole "PUB " in view skips the letter-by-letter states, and the whole
          // line if it is an ordinary one.
          if (i + 4 <= n && (buf[i]! | 0x20) === 0x70 && (buf[i + 1]! | 0x20) === 0x75 &&
            (buf[i + 2]! | 0x20) === 0x62 && (buf[i + 3] === SP || buf[i + 3] === TAB)) {
            this.op = OP_PUB;
            const next = this.fastPub(buf, i + 4, false);
            if (next >= 0) {
              i = next;
              break;
            }
            this.state = SPC;
            i += 4;
            break;
          }
          // And the same for a whole "HPUB " (the state it falls back to is where H, P, U, B and
          // the blank lead).
          if (i + 5 <= n && (buf[i]! | 0x20) === 0x68 && (buf[i + 1]! | 0x20) === 0x70 && (buf[i + 2]! | 0x20) === 0x75 &&
            (buf[i + 3]! | 0x20) === 0x62 && (buf[i + 4] === SP || buf[i + 4] === TAB)) {
            this.op = OP_HPUB;
            const next = this.fastPub(buf, i + 5, true);
            if (next >= 0) {
              i = next;
              break;
            }
            this.state = SPC;
            i += 5;
            break;
          }
          const b = buf[i++]!;
          switch (b | 0x20) {
            case 0x70: // p
              this.state = P;
              break;
            case 0x68: // h
              this.state = H;
              break;
            case 0x73: // s
              this.keyword(KW.SUB, OP_SUB);
              break;
            case 0x75: // u
              this.keyword(KW.UNSUB, OP_UNSUB);
              break;
            case 0x63: // c
              this.keyword(KW.CONNECT, OP_CONNECT);
              break;
            case 0x69: // i
              this.keyword(KW.INFO, OP_INFO);
              break;
            default:
              if (b === 43) { // '+'
                this.keyword(KW.OK, OP_OK);
              } else if (b === 45) { // '-'
                this.keyword(KW.ERR, OP_ERR);
              } else {
                return this.fail(ParseError.UnknownOp, "unknown op");
              }
          }
          break;
        }
        case H: {
          const b = buf[i++]! | 0x20;
          if (b === 0x70) this.keyword(KW.HPUB, OP_HPUB, 2);
          else if (b === 0x6d) this.keyword(KW.HMSG, OP_HMSG, 2);
          else return this.fail(ParseError.UnknownOp, "unknown op");
          break;
        }
        case P: {
          const b = buf[i++]! | 0x20;
          if (b === 0x75) this.keyword(KW.PUB, OP_PUB, 2);
          else if (b === 0x69) this.keyword(KW.PING, OP_PING, 2);
          else if (b === 0x6f) this.keyword(KW.PONG, OP_PONG, 2);
          else return this.fail(ParseError.UnknownOp, "unknown op");
          break;
        }
        case KEYWORD: {
          const kw = this.kw;
          if (this.kwPos < kw.length) {
            const b = buf[i++]!;
            // Letters compare case-insensitively; '+' and '-' only ever start a keyword.
            if ((b | 0x20) !== (kw[this.kwPos]! | 0x20)) return this.fail(ParseError.UnknownOp, "unknown op");
            this.kwPos++;
            break;
          }
          const op = this.op;
          if (op === OP_PING || op === OP_PONG || op === OP_OK) {
            this.state = SKIP_LINE;
            break;
          }
          // CONNECT and INFO may be followed directly by their argument's first byte after
          // optional blanks; the others need at least one blank.
          const b = buf[i]!;
          if (b === SP || b === TAB) {
            i++;
            this.state = SPC;
          } else if (op === OP_CONNECT || op === OP_INFO) {
            this.state = SPC;
          } else {
            return this.fail(ParseError.UnknownOp, "unknown op");
          }
          break;
        }
        case SPC: {
          const b = buf[i]!;
          if (b === SP || b === TAB) {
            i++;
            break;
          }
          this.state = ARG;
          this.argLen = 0;
          this.argStarted = false;
          this.sawCR = false;
          break;
        }
        case ARG: {
          i = this.parseArg(buf, i);
          break;
        }
        case PAYLOAD: {
          i = this.continuePayload(buf, i);
          break;
        }
        case SKIP_LINE: {
          const nl = buf.indexOf(LF, i);
          if (nl < 0) return;
          i = nl + 1;
          this.state = START;
          const op = this.op;
          if (op === OP_PING) this.handler.onPing();
          else if (op === OP_PONG) this.handler.onPong();
          break;
        }
        default: // CLOSED
          return;
      }
    }
  }

  /**
   * The common PUB or HPUB line, read in one pass from just after the op and its blank:
   * `subject [reply] [hdr] size CRLF` wholly in this chunk, blanks between fields, valid sizes
   * within limits. The subject's hash is taken on the way for the intern table. Returns the next
   * index, or -1 to leave anything else (split lines, odd blanks, errors) to the general states,
   * which start from the same place and so see the same bytes.
   */
  private fastPub(buf: Buffer, i: number, hpub: boolean): number {
    if (hpub && !this.headers) return -1;
    const n = buf.length;
    let b = 0;
    while (i < n && ((b = buf[i]!) === SP || b === TAB)) i++;
    const s = i;
    let h = 0;
    for (; i < n; i++) {
      b = buf[i]!;
      if (b === SP || b === TAB || b === CR || b === LF) break;
      h = (Math.imul(h, 31) + b) | 0; // hashStep, inlined
    }
    const subjEnd = i;
    if (subjEnd === s || i >= n || b === CR || b === LF) return -1;
    // The other fields; a reply is always the second field. Sizes are read as they pass.
    const maxArgc = hpub ? 4 : 3;
    let argc = 1;
    let replyStart = 0;
    let replyEnd = 0;
    let prev = -1;
    let last = -1;
    for (;;) {
      while (i < n && ((b = buf[i]!) === SP || b === TAB)) i++;
      if (i >= n || b === CR || b === LF || argc === maxArgc) return -1;
      const fs = i;
      let v = 0;
      let digits = true;
      for (; i < n; i++) {
        b = buf[i]!;
        const d = b - 48;
        if (d >= 0 && d <= 9) v = v * 10 + d;
        else if (b === SP || b === TAB || b === CR || b === LF) break;
        else digits = false;
      }
      if (i >= n) return -1;
      prev = last;
      last = digits && i - fs <= 9 ? v : -1;
      if (argc === 1) {
        replyStart = fs;
        replyEnd = i;
      }
      argc++;
      if (b === CR) break;
      if (b === LF) return -1;
    }
    // buf[i] is the CR.
    if (i + 1 >= n || buf[i + 1] !== LF || i - s > this.maxControlLine) return -1;
    const size = last;
    if (size < 0 || size > this.maxPayload) return -1;
    let hdr = -1;
    let withReply: boolean;
    if (hpub) {
      if (argc < 3 || prev < 0 || size < prev) return -1;
      hdr = prev;
      withReply = argc === 4;
    } else {
      withReply = argc === 3;
    }
    this.subject = this.intern.lookup(buf, s, subjEnd, hashFinish(h, subjEnd - s));
    this.reply = withReply ? buf.latin1Slice(replyStart, replyEnd) : "";
    this.hdrLen = hdr;
    this.argWasSplit = false;
    if (this.checkPublishSubjects && !isValidLiteralSubject(this.subject)) this.handler.onInvalidPublishSubject(this.subject);
    this.size = size;
    return this.startPayload(buf, i + 2);
  }

  private keyword(kw: Buffer, op: number, pos = 1): void {
    this.state = KEYWORD;
    this.kw = kw;
    this.op = op;
    this.kwPos = pos;
  }

  private fail(kind: ParseErrorKind, detail: string): void {
    this.state = CLOSED;
    this.handler.onParseError(kind, detail);
  }

  /** Consume control-line bytes from `i`; returns the next index. */
  private parseArg(buf: Buffer, i: number): number {
    const n = buf.length;
    const from = i;
    let scan = i;
    if (!this.argStarted) {
      this.argStarted = true;
      scan = i + 1;
    }
    const nl = scan < n ? buf.indexOf(LF, scan) : -1;
    const end = nl < 0 ? n : nl;
    if (!this.sawCR && scan < end) {
      // A CR usually sits just before LF; look further only when it does not.
      if (buf[end - 1] === CR) this.sawCR = true;
      else {
        const cr = buf.indexOf(CR, scan);
        if (cr >= 0 && cr < end) this.sawCR = true;
      }
    }
    if (nl < 0) {
      this.appendArg(buf, from, n);
      if (this.argLen > this.maxControlLine) {
        this.fail(ParseError.MaxControlLine, "max control line");
      }
      return n;
    }
    let argBuf: Buffer;
    let s: number;
    let e: number;
    if (this.argLen > 0) {
      this.appendArg(buf, from, nl);
      argBuf = this.argBuf;
      s = 0;
      e = this.argLen;
    } else {
      argBuf = buf;
      s = from;
      e = nl;
    }
    if (this.sawCR) e--;
    if (e < s) e = s;
    this.argWasSplit = this.argLen > 0;
    this.argLen = 0;
    if (e - s > this.maxControlLine) {
      this.fail(ParseError.MaxControlLine, "max control line");
      return n;
    }
    this.state = START;
    return this.dispatchArg(argBuf, s, e, buf, nl + 1);
  }

  private appendArg(buf: Buffer, s: number, e: number): void {
    const len = e - s;
    if (this.argLen + len > this.argBuf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.argBuf.length * 2, this.argLen + len));
      this.argBuf.copy(bigger, 0, 0, this.argLen);
      this.argBuf = bigger;
    }
    buf.copy(this.argBuf, this.argLen, s, e);
    this.argLen += len;
  }

  /** Act on a complete control line `a[s, e)`; `next` is where the chunk continues. */
  private dispatchArg(a: Buffer, s: number, e: number, buf: Buffer, next: number): number {
    const h = this.handler;
    switch (this.op) {
      case OP_PUB: {
        const argc = this.split(a, s, e, false);
        if (argc !== 2 && argc !== 3) return this.badArgs(a, s, e, "PUB");
        const size = parseSize(a, this.starts[argc - 1]!, this.ends[argc - 1]!);
        if (size < 0) return this.badArgs(a, s, e, "PUB");
        if (size > this.maxPayload) {
          this.fail(ParseError.MaxPayload, `${size} > ${this.maxPayload}`);
          return buf.length;
        }
        this.subject = this.intern.get(a, this.starts[0]!, this.ends[0]!);
        this.reply = argc === 3 ? a.latin1Slice(this.starts[1]!, this.ends[1]!) : "";
        this.hdrLen = -1;
        if (this.checkPublishSubjects && !isValidLiteralSubject(this.subject)) h.onInvalidPublishSubject(this.subject);
        this.size = size;
        return this.startPayload(buf, next);
      }
      case OP_HPUB: {
        if (!this.headers) {
          this.fail(ParseError.HeadersNotSupported, "HPUB without headers");
          return buf.length;
        }
        const argc = this.split(a, s, e, false);
        if (argc !== 3 && argc !== 4) return this.badArgs(a, s, e, "HPUB");
        const hdr = parseSize(a, this.starts[argc - 2]!, this.ends[argc - 2]!);
        const size = parseSize(a, this.starts[argc - 1]!, this.ends[argc - 1]!);
        if (hdr < 0 || size < 0 || size < hdr) return this.badArgs(a, s, e, "HPUB");
        if (size > this.maxPayload) {
          this.fail(ParseError.MaxPayload, `${size} > ${this.maxPayload}`);
          return buf.length;
        }
        this.subject = this.intern.get(a, this.starts[0]!, this.ends[0]!);
        this.reply = argc === 4 ? a.latin1Slice(this.starts[1]!, this.ends[1]!) : "";
        this.hdrLen = hdr;
        if (this.checkPublishSubjects && !isValidLiteralSubject(this.subject)) h.onInvalidPublishSubject(this.subject);
        this.size = size;
        return this.startPayload(buf, next);
      }
      case OP_SUB: {
        const argc = this.split(a, s, e, true);
        if (argc !== 2 && argc !== 3) return this.badArgs(a, s, e, "SUB");
        const subject = a.latin1Slice(this.starts[0]!, this.ends[0]!);
        const queue = argc === 3 ? a.latin1Slice(this.starts[1]!, this.ends[1]!) : "";
        const sid = a.latin1Slice(this.starts[argc - 1]!, this.ends[argc - 1]!);
        h.onSub(subject, queue, sid);
        return next;
      }
      case OP_UNSUB: {
        const argc = this.split(a, s, e, true);
        if (argc !== 1 && argc !== 2) return this.badArgs(a, s, e, "UNSUB");
        const sid = a.latin1Slice(this.starts[0]!, this.ends[0]!);
        const max = argc === 2 ? parseSize(a, this.starts[1]!, this.ends[1]!) : -1;
        h.onUnsub(sid, max);
        return next;
      }
      case OP_HMSG:
        // nats-server treats a client's HMSG as a publish with no subject and no payload: it
        // only checks that CRLF follows (and answers +OK in verbose mode).
        this.subject = "";
        this.reply = "";
        this.hdrLen = -1;
        this.size = 0;
        return this.startPayload(buf, next);
      case OP_CONNECT:
        h.onConnect(Buffer.from(a.subarray(s, e)));
        if (this.held !== null) {
          // The handler suspended parsing: the rest of this chunk waits with what comes later.
          if (next < buf.length) this.held.push(Buffer.from(buf.subarray(next)));
          return buf.length;
        }
        return next;
      case OP_INFO:
        h.onInfo(Buffer.from(a.subarray(s, e)));
        return next;
      case OP_ERR:
        h.onErr(Buffer.from(a.subarray(s, e)));
        return next;
      default:
        return next;
    }
  }

  private badArgs(a: Buffer, s: number, e: number, op: string): number {
    this.fail(ParseError.BadArgs, `${op} ${a.latin1Slice(s, Math.min(e, s + 128))}`);
    return Number.MAX_SAFE_INTEGER;
  }

  /**
   * Split `a[s, e)` into fields at spaces and tabs (and CR/LF when `crlf`), into starts/ends.
   * Returns the field count, or MAX_ARGS + 1 when there are more than MAX_ARGS.
   */
  private split(a: Buffer, s: number, e: number, crlf: boolean): number {
    const starts = this.starts;
    const ends = this.ends;
    let argc = 0;
    let start = -1;
    for (let i = s; i < e; i++) {
      const b = a[i]!;
      const sep = b === SP || b === TAB || (crlf && (b === CR || b === LF));
      if (sep) {
        if (start >= 0) {
          if (argc === MAX_ARGS) return MAX_ARGS + 1;
          starts[argc] = start;
          ends[argc++] = i;
          start = -1;
        }
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) {
      if (argc === MAX_ARGS) return MAX_ARGS + 1;
      starts[argc] = start;
      ends[argc++] = e;
    }
    return argc;
  }

  private startPayload(buf: Buffer, at: number): number {
    const need = this.size + 2;
    const n = buf.length;
    if (n - at >= need) {
      // Whole payload in this chunk: hand on a view, no copy.
      if (buf[at + need - 2] !== CR || buf[at + need - 1] !== LF) {
        this.fail(ParseError.UnknownOp, "payload not followed by CRLF");
        return n;
      }
      this.handler.onPub(this.subject, this.reply, this.hdrLen, buf, at, at + need);
      return at + need;
    }
    // nats-server quirk: when a payload outlives the read that held its (whole) PUB line, it
    // re-reads the line's arguments and so repeats the pedantic subject check and its -ERR.
    if (!this.argWasSplit && this.checkPublishSubjects && this.subject.length !== 0 && !isValidLiteralSubject(this.subject)) {
      this.handler.onInvalidPublishSubject(this.subject);
    }
    this.msgBuf = this.buffers.take(need);
    this.msgNeed = need;
    this.msgLen = 0;
    this.state = PAYLOAD;
    return this.continuePayload(buf, at);
  }

  private continuePayload(buf: Buffer, i: number): number {
    const msg = this.msgBuf!;
    const need = this.msgNeed;
    const take = Math.min(need - this.msgLen, buf.length - i);
    buf.copy(msg, this.msgLen, i, i + take);
    const before = this.msgLen;
    this.msgLen += take;
    // Check the trailing CR and LF as soon as each arrives, as nats-server does byte by byte.
    const crAt = need - 2;
    if (before <= crAt && this.msgLen > crAt && msg[crAt] !== CR) {
      this.fail(ParseError.UnknownOp, "payload not followed by CRLF");
      return buf.length;
    }
    if (this.msgLen < need) return i + take;
    if (msg[need - 1] !== LF) {
      this.fail(ParseError.UnknownOp, "payload not followed by CRLF");
      return buf.length;
    }
    this.msgBuf = null;
    this.state = START;
    this.handler.onPub(this.subject, this.reply, this.hdrLen, msg, 0, need);
    // The handler copies what it keeps (as it must with a read buffer), so the buffer is free.
    this.buffers.give(msg);
    return i + take;
  }
}

/**
 * Where a payload that spans reads is gathered. The server lends pooled buffers (a stream of
 * 64 KiB messages then allocates nothing per message); by default each is freshly allocated.
 */
export interface PayloadBuffers {
  /** A buffer of at least `min` bytes. */
  take(min: number): Buffer;
  /** The parser is done with it. */
  give(b: Buffer): void;
}

const FRESH_BUFFERS: PayloadBuffers = { take: (min) => Buffer.allocUnsafe(min), give: () => {} };

/** Decimal digits only, at most 9 of them (as nats-server); -1 when malformed. */
export function parseSize(a: Buffer, s: number, e: number): number {
  const len = e - s;
  if (len <= 0 || len > 9) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = a[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
