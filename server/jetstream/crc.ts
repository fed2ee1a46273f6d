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
/** Exported for the test that checks both agree. */
export const crc32Fallback: Crc32 = slowCrc32;
