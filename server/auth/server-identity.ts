// Tested by test/server/auth/server-identity.test.ts.
// The server's own nkey (nats-server's server id is its public key, "N…"): made with node:crypto's
// Ed25519 at start, encoded as nkeys encodes keys (a prefix byte, the 32 key bytes and a CRC-16,
// in base32). @nats-io/nkeys and tweetnacl are a score of CommonJS files and ~25 ms of CPU for
// the key pair in JavaScript; a server that never signs anything (no auth callout) never reads
// them: the KeyPair that signs is made from the same seed the first time one is asked for.
import { generateKeyPairSync } from "node:crypto";
import type { KeyPair } from "@nats-io/nkeys";
import { nkeysLib } from "./nkeys.js";

/** nkeys' prefix bytes: a seed, and a server's key. */
const PREFIX_SEED = 18 << 3;
const PREFIX_SERVER = 13 << 3;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** CRC-16/XMODEM (polynomial 0x1021, initial 0): the checksum nkeys appends, little-endian. */
function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** RFC 4648 base32 without padding. */
function base32(data: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** `prefix` bytes then `key`, with the CRC-16 of both after them, in base32. */
function encodeKey(prefix: number[], key: Uint8Array): string {
  const raw = new Uint8Array(prefix.length + key.length + 2);
  raw.set(prefix, 0);
  raw.set(key, prefix.length);
  const crc = crc16(raw.subarray(0, prefix.length + key.length));
  raw[raw.length - 2] = crc & 0xff;
  raw[raw.length - 1] = crc >> 8;
  return base32(raw);
}

export class ServerIdentity {
  /** The public key: the server's id. */
  readonly publicKey: string;
  private readonly seed: string;
  private pair: KeyPair | null = null;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    // JWK's x is the raw public key and d the 32-byte seed (RFC 8037), both base64url.
    const pub = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
    this.publicKey = encodeKey([PREFIX_SERVER], pub);
    this.seed = encodeKey([PREFIX_SEED | (PREFIX_SERVER >> 5), (PREFIX_SERVER & 31) << 3], seed);
    seed.fill(0);
  }

  /** The key pair that signs (the auth callout's requests), read from the seed when first asked. */
  keyPair(): KeyPair {
    return (this.pair ??= nkeysLib().fromSeed(new TextEncoder().encode(this.seed)));
  }
}
