// Tested by test/jetstream/file-store.test.ts.
// CRC-32 (IEEE, as zlib/gzip): zlib.crc32 where Node has it (20.15+, 22.2+), otherwise a
// table-driven fallback, so package.json's engines (>=20.11) still hold.

import * as zlib from "node:zlib";

type Crc32 = (data: Uint8Array, initial?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | null = null;

function slowCrc32(data: Uint8Array, initial = 0): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = native ?? slowCrc32;

// Slicing-by-8 tables: eight bytes a step. Below about 256 bytes this beats zlib.crc32, whose
// native call (and the subarray it needs) costs more than the arithmetic on a short record.
const T8 = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T8[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T8[n]!;
  for (let k = 1; k < 8; k++) {
    c = T8[c & 0xff]! ^ (c >>> 8);
    T8[k * 256 + n] = c;
  }
}
const SHORT = 256;

/** CRC-32 of buf[start, end): in JS for short ranges, zlib's for long ones. */
export function crc32Range(buf: Uint8Array, start: number, end: number): number {
  if (end - start >= SHORT && native !== undefined) return native(buf.subarray(start, end));
  let c = -1;
  let i = start;
  const e8 = end - ((end - start) & 7);
  while (i < e8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c = T8[1792 + (a & 0xff)]! ^ T8[1536 + ((a >>> 8) & 0xff)]! ^ T8[1280 + ((a >>> 16) & 0xff)]! ^ T8[1024 + (a >>> 24)]!
      ^ T8[768 + buf[i + 4]!]! ^ T8[512 + buf[i + 5]!]! ^ T8[256 + buf[i + 6]!]! ^ T8[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T8[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
/** Exported for the test that checks both agree. */
export const crc32Fallback: Crc32 = slowCrc32;
