// The parser of the protocols servers speak to each other: routes (RS+, RS-, RMSG, HMSG with an
// account; LS+, LS-, LMSG with an origin cluster too) and leafnodes (LS+, LS-, LMSG, HMSG with no
// account), plus the INFO, CONNECT, PING, PONG, +OK and -ERR they share with clients. Lines are
// found with indexOf; a payload is handed on as a slice of the chunk it arrived in, copied only
// when it straddles chunks. Pure: no sockets, no timers.
import { parseSize } from "./parser.js";
import { InternTable } from "./intern.js";

export interface LinkParserHandler {
  onInfo(json: string): void;
  onConnect(json: string): void;
  onPing(): void;
  onPong(): void;
  onOk(): void;
  onErr(text: string): void;
  /**
   * RS+ / LS+: interest in `subject` (in `account`; "" on a leafnode). `queue` "" for a plain
   * subscription; `weight` the queue group's member count on the other side. `origin`: the
   * cluster an LS+ on a route came from ("" otherwise).
   */
  onSub(account: string, subject: string, queue: string, weight: number, origin: string): void;
  /** RS- / LS-: that interest ended. */
  onUnsub(account: string, subject: string, queue: string): void;
  /**
   * A message. `queues`: the queue groups it is to be delivered to here (empty: none; RMSG's
   * `+ reply q…` / `| q…` forms). `buf[start, end)` is the payload (headers first when
   * hdrLen >= 0) plus CRLF; `buf` may be the read chunk: copy what is kept past the call.
   */
  onMsg(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number,
    buf: Buffer, start: number, end: number, origin: string): void;
  /** A line the protocol does not allow; the connection is to be closed. */
  onParseError(detail: string): void;
}

export interface LinkParserOptions {
  /** Routes: every RS+/RS-/RMSG/HMSG names an account. Leafnodes: none does. */
  accounts: boolean;
  maxControlLine: number;
  maxPayload: number;
}

const LF = 10;
const NO_QUEUES: readonly string[] = [];

export class LinkParser {
  /** Bytes of an unfinished line or payload. */
  private rest: Buffer[] = [];
  private restLen = 0;
  /** A message line was read and its payload is awaited (the fields below describe it). */
  private pending = false;
  private pAccount = "";
  private pSubject = "";
  private pReply = "";
  private pQueues: readonly string[] = NO_QUEUES;
  private pHdrLen = -1;
  private pOrigin = "";
  /** Payload bytes plus CRLF. */
  private pNeed = 0;
  private closed = false;
  /** Token bounds of the message line being read by the fast path (start, end pairs). */
  private readonly toks = new Int32Array(64);
  /** Subjects seen recently: the same bytes give back the same string (no new one per message). */
  private readonly intern = new InternTable(1024);
  private lastAccount = "";
  private lastAccountBytes = Buffer.alloc(0);

  constructor(private readonly h: LinkParserHandler, private readonly o: LinkParserOptions) {}

  close(): void {
    this.closed = true;
    this.rest = [];
    this.restLen = 0;
    this.pending = false;
  }

  parse(chunk: Buffer): void {
    if (this.closed) return;
    let buf = chunk;
    if (this.restLen !== 0) {
      // Wait for the whole payload before joining: one copy however many chunks it spans.
      if (this.pending && this.restLen + chunk.length < this.pNeed) {
        this.rest.push(Buffer.from(chunk));
        this.restLen += chunk.length;
        return;
      }
      this.rest.push(chunk);
      buf = Buffer.concat(this.rest, this.restLen + chunk.length);
      this.rest = [];
      this.restLen = 0;
    }
    let pos = 0;
    const n = buf.length;
    while (pos < n && !this.closed) {
      if (this.pending) {
        const need = this.pNeed;
        if (n - pos < need) break;
        const end = pos + need;
        if (buf[end - 2] !== 13 || buf[end - 1] !== LF) {
          this.fail("payload not followed by CRLF");
          return;
        }
        this.pending = false;
        this.h.onMsg(this.pAccount, this.pSubject, this.pReply, this.pQueues, this.pHdrLen, buf, pos, end, this.pOrigin);
        pos = end;
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        if (n - pos > this.o.maxControlLine) {
          this.fail("maximum control line exceeded");
          return;
        }
        break;
      }
      const lineEnd = lf > pos && buf[lf - 1] === 13 ? lf - 1 : lf;
      // The hot lines, RMSG and HMSG on a route, LMSG and HMSG on a leafnode connection, are read
      // from the bytes; the rest as text.
      if (lineEnd - pos > 5 && buf[pos + 2] === 0x53 && buf[pos + 3] === 0x47 && buf[pos + 4] === 0x20 && buf[pos + 1] === 0x4d
        && (buf[pos] === 0x48 || buf[pos] === (this.o.accounts ? 0x52 : 0x4c))
        && this.fastMsg(buf, pos + 5, lineEnd, buf[pos] === 0x48, this.o.accounts)) {
        pos = lf + 1;
        continue;
      }
      const line = buf.toString("latin1", pos, lineEnd);
      pos = lf + 1;
      this.line(line);
    }
    if (pos < n && !this.closed) {
      const tail = buf.subarray(pos);
      // The tail may be a view of a read buffer that is reused: keep a copy.
      this.rest = [Buffer.from(tail)];
      this.restLen = tail.length;
    }
  }

  /**
   * RMSG/HMSG (LMSG/HMSG without the account) arguments read from the bytes: [account] subject
   * [reply | + reply q… | "|" q…] [hdr] size. Returns false (the line is then read as text, with
   * its error) when it is not well formed.
   */
  private fastMsg(buf: Buffer, s: number, e: number, headers: boolean, withAccount: boolean): boolean {
    const t = this.toks;
    let k = 0;
    let start = -1;
    for (let i = s; i < e; i++) {
      const c = buf[i]!;
      if (c === 32 || c === 9) {
        if (start >= 0) {
          if (k >= 62) return false;
          t[k++] = start;
          t[k++] = i;
          start = -1;
        }
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) {
      if (k >= 62) return false;
      t[k++] = start;
      t[k++] = e;
    }
    const n = k >> 1;
    const sizes = headers ? 2 : 1;
    // Token pairs before the reply part: the account (routes) and the subject.
    const lead = withAccount ? 2 : 1;
    const rest = n - lead - sizes;
    if (rest < 0) return false;
    const size = parseSize(buf, t[(n - 1) * 2]!, t[(n - 1) * 2 + 1]!);
    const hdrLen = headers ? parseSize(buf, t[(n - 2) * 2]!, t[(n - 2) * 2 + 1]!) : -1;
    if (size < 0 || (headers && (hdrLen < 0 || hdrLen > size))) return false;
    if (size > this.o.maxPayload && this.o.maxPayload > 0) return false;
    const account = withAccount ? this.accountOf(buf, t[0]!, t[1]!) : "";
    const sj = (lead - 1) * 2;
    const subject = this.intern.get(buf, t[sj]!, t[sj + 1]!);
    const b = lead * 2;
    let reply = "";
    let queues = NO_QUEUES;
    if (rest === 1) {
      reply = buf.toString("latin1", t[b]!, t[b + 1]!);
    } else if (rest > 1) {
      if (t[b + 1]! - t[b]! !== 1) return false;
      const ind = buf[t[b]!];
      let q = b + 2;
      if (ind === 0x2b) {
        reply = buf.toString("latin1", t[b + 2]!, t[b + 3]!);
        q = b + 4;
      } else if (ind !== 0x7c) {
        return false;
      }
      const qs: string[] = [];
      for (let i = q; i < (n - sizes) * 2; i += 2) qs.push(this.intern.get(buf, t[i]!, t[i + 1]!));
      queues = qs;
    }
    this.expect(account, subject, reply, queues, hdrLen, "", size + 2);
    return true;
  }

  private expect(account: string, subject: string, reply: string, queues: readonly string[], hdrLen: number, origin: string, need: number): void {
    this.pending = true;
    this.pAccount = account;
    this.pSubject = subject;
    this.pReply = reply;
    this.pQueues = queues;
    this.pHdrLen = hdrLen;
    this.pOrigin = origin;
    this.pNeed = need;
  }

  /** The account's name as a string, the last one reused (a route mostly carries one or two). */
  private accountOf(buf: Buffer, s: number, e: number): string {
    const last = this.lastAccountBytes;
    if (last.length === e - s) {
      let same = true;
      for (let i = 0; i < last.length; i++) {
        if (last[i] !== buf[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastAccount;
    }
    this.lastAccount = buf.toString("latin1", s, e);
    this.lastAccountBytes = Buffer.from(buf.subarray(s, e));
    return this.lastAccount;
  }

  private fail(detail: string): void {
    this.closed = true;
    this.h.onParseError(detail);
  }

  private line(line: string): void {
    const sp = indexOfSpace(line);
    const op = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? "" : line.slice(sp + 1).trim();
    switch (op) {
      case "RMSG":
        return this.msg(arg, false, false);
      case "HMSG":
        return this.msg(arg, true, false);
      case "LMSG":
        // On a route, LMSG carries the origin cluster first and always a header size.
        return this.o.accounts ? this.msg(arg, true, true) : this.msg(arg, false, false);
      case "RS+":
        return this.sub(arg, false);
      case "LS+":
        return this.sub(arg, this.o.accounts);
      case "RS-":
      case "LS-":
        return this.unsub(arg);
      case "PING":
        return this.h.onPing();
      case "PONG":
        return this.h.onPong();
      case "+OK":
        return this.h.onOk();
      case "-ERR":
        return this.h.onErr(stripQuotes(arg));
      case "INFO":
        return this.h.onInfo(arg);
      case "CONNECT":
        return this.h.onConnect(arg);
      case "":
        return;
      default:
        return this.fail(`unknown protocol operation: ${JSON.stringify(line.slice(0, 32))}`);
    }
  }

  /** RS+ [origin] account subject [queue weight]; LS+ on a leafnode: subject [queue weight]. */
  private sub(arg: string, hasOrigin: boolean): void {
    const a = splitArgs(arg);
    let i = 0;
    const origin = hasOrigin ? a[i++] ?? "" : "";
    const account = this.o.accounts ? a[i++] ?? "" : "";
    const left = a.length - i;
    if (left !== 1 && left !== 3) return this.fail(`bad subscription: ${JSON.stringify(arg)}`);
    const subject = a[i]!;
    if (left === 1) return this.h.onSub(account, subject, "", 0, origin);
    const weight = Number.parseInt(a[i + 2]!, 10);
    if (!(weight >= 0)) return this.fail(`bad queue weight: ${JSON.stringify(arg)}`);
    this.h.onSub(account, subject, a[i + 1]!, weight, origin);
  }

  /** RS- account subject [queue]; LS- on a leafnode: subject [queue]. */
  private unsub(arg: string): void {
    const a = splitArgs(arg);
    const i = this.o.accounts ? 1 : 0;
    const left = a.length - i;
    if (left !== 1 && left !== 2) return this.fail(`bad unsubscription: ${JSON.stringify(arg)}`);
    this.h.onUnsub(i === 1 ? a[0]! : "", a[i]!, a[i + 1] ?? "");
  }

  /**
   * [origin] [account] subject [reply] [hdr] size, or with queues:
   * [origin] [account] subject (+ reply | "|") q1 … qn [hdr] size.
   */
  private msg(arg: string, headers: boolean, hasOrigin: boolean): void {
    const a = splitArgs(arg);
    let i = 0;
    const origin = hasOrigin ? a[i++] ?? "" : "";
    const account = this.o.accounts ? a[i++] ?? "" : "";
    const subject = a[i++];
    const sizes = headers ? 2 : 1;
    const rest = a.length - i - sizes;
    if (subject === undefined || rest < 0) return this.fail(`bad message arguments: ${JSON.stringify(arg)}`);
    let reply = "";
    let queues = NO_QUEUES;
    if (rest === 1) {
      reply = a[i]!;
    } else if (rest > 1) {
      const ind = a[i]!;
      if (ind === "+") {
        reply = a[i + 1]!;
        queues = a.slice(i + 2, a.length - sizes);
      } else if (ind === "|") {
        queues = a.slice(i + 1, a.length - sizes);
      } else {
        return this.fail(`bad or missing reply indicator: ${JSON.stringify(arg)}`);
      }
    }
    const size = toSize(a[a.length - 1]!);
    const hdrLen = headers ? toSize(a[a.length - 2]!) : -1;
    if (size < 0 || (headers && (hdrLen < 0 || hdrLen > size))) return this.fail(`bad message size: ${JSON.stringify(arg)}`);
    if (size > this.o.maxPayload && this.o.maxPayload > 0) return this.fail("maximum payload exceeded");
    this.expect(account, subject, reply, queues, hdrLen, origin, size + 2);
  }
}

function indexOfSpace(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) return i;
  }
  return -1;
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

function toSize(s: string): number {
  const b = Buffer.from(s, "latin1");
  return parseSize(b, 0, b.length);
}

function stripQuotes(s: string): string {
  return s.length >= 2 && s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1) : s;
}
