// Framing of what the server sends: MSG/HMSG headers written into a caller's buffer, and the
// fixed protocol lines as ready Buffers.
import { digits, writeLatin1, writeUint } from "./bytes.js";

export const PING = Buffer.from("PING\r\n");
export const PONG = Buffer.from("PONG\r\n");
export const OK = Buffer.from("+OK\r\n");
export const CRLF = Buffer.from("\r\n");

/**
 * Bytes `writeMsgHeader` will write for one delivery. `hdrLen` < 0 means MSG (no headers);
 * `size` is the payload length (headers included for HMSG), without the trailing CRLF.
 */
export function msgHeaderLength(subject: string, sid: string, reply: string, hdrLen: number, size: number): number {
  const replyLen = reply.length === 0 ? 0 : reply.length + 1;
  const base = subject.length + 1 + sid.length + 1 + replyLen + digits(size) + 2;
  return hdrLen < 0 ? 4 + base : 5 + base + digits(hdrLen) + 1;
}

/** Write `MSG subject sid [reply] size\r\n` or the HMSG form; returns the new offset. */
export function writeMsgHeader(buf: Buffer, off: number, subject: string, sid: string, reply: string,
  hdrLen: number, size: number): number {
  if (hdrLen < 0) {
    buf[off++] = 77; buf[off++] = 83; buf[off++] = 71; // MSG
  } else {
    buf[off++] = 72; buf[off++] = 77; buf[off++] = 83; buf[off++] = 71; // HMSG
  }
  buf[off++] = 32;
  off = writeLatin1(buf, off, subject);
  buf[off++] = 32;
  off = writeLatin1(buf, off, sid);
  buf[off++] = 32;
  if (reply.length !== 0) {
    off = writeLatin1(buf, off, reply);
    buf[off++] = 32;
  }
  if (hdrLen >= 0) {
    off = writeUint(buf, off, hdrLen);
    buf[off++] = 32;
  }
  off = writeUint(buf, off, size);
  buf[off++] = 13;
  buf[off++] = 10;
  return off;
}
