// Tested by test/cluster/leaf-creds.test.ts.
// What a leaf proves to its hub in its CONNECT besides user:pass@ in the URL, as nats-server does
// it: a creds file (the user JWT, and the user's nkey seed signing the nonce of the hub's INFO),
// read again at each connection so a renewed file is used; or an nkey seed (`nkey`, as newer
// nats-servers take it), whose public key and signature are sent. What is wrong with a creds
// file is also logged once at start, in nats-server's words.
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { fromSeed } from "../auth/nkeys.js";
import { decodeJwt, jwtPermissions } from "../auth/jwt.js";

/** nats-server's credsRe: the blocks between ----- lines; the first is the JWT, the second the seed. */
const CREDS_BLOCK = /\s*(?:(?:-{3,}[^\n]*-{3,}\n)(.+)(?:\n\s*-{3,}[^\n]*-{3,}\n))/g;

/** The user JWT and seed of a creds file's text, or null when it has not two blocks. */
export function parseCreds(text: string): { jwt: string; seed: string } | null {
  const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1]!.trim());
  return blocks.length < 2 ? null : { jwt: blocks[0]!, seed: blocks[1]! };
}

/** Whether `seed` is a user's nkey seed (SU…). */
export function isUserSeed(seed: string): boolean {
  if (!seed.startsWith("SU")) return false;
  try {
    fromSeed(seed);
    return true;
  } catch {
    return false;
  }
}

/** The nonce signed with a seed, base64url without padding (nats-server's RawURLEncoding). */
function sign(seed: string, nonce: string): { sig: string; publicKey: string } {
  const kp = fromSeed(seed);
  return { sig: Buffer.from(kp.sign(Buffer.from(nonce, "latin1"))).toString("base64url"), publicKey: kp.getPublicKey() };
}

/**
 * The CONNECT fields that authenticate a remote with `credentials` or `nkey` (an empty object when
 * it has neither), for the hub's `nonce`; or the error to log (the connection is then closed).
 */
export function connectCredentials(r: { credentials?: string; nkey?: string }, nonce: string): { fields: Record<string, string> } | { error: string } {
  if (r.credentials !== undefined) {
    let text: string;
    try {
      text = readFileSync(r.credentials, "utf8");
    } catch (e) {
      return { error: (e as Error).message };
    }
    const c = parseCreds(text);
    if (c === null) return { error: "Credentials file malformed" };
    let sig: string;
    try {
      sig = sign(c.seed, nonce).sig;
    } catch {
      return { error: "Credentials file has malformed seed" };
    }
    return { fields: { jwt: c.jwt, sig } };
  }
  if (r.nkey !== undefined) {
    try {
      const { sig, publicKey } = sign(r.nkey, nonce);
      return { fields: { nkey: publicKey, sig } };
    } catch {
      return { error: "Remote nkey has malformed seed" };
    }
  }
  return { fields: {} };
}

/** nats-server's checks of a remote's creds file at start: logged, the remote still dialled. */
export function checkCredentialsFile(path: string, account: string, system: boolean, log: Logger): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    log.error(`Error reading LeafNode Remote Credentials file ${JSON.stringify(path)}: ${(e as Error).message}`);
    return;
  }
  const c = parseCreds(text);
  if (c === null) return void log.error(`LeafNode Remote Credentials file ${JSON.stringify(path)} malformed`);
  try {
    fromSeed(c.seed);
  } catch {
    return void log.error(`LeafNode Remote Credentials file ${JSON.stringify(path)} has malformed seed`);
  }
  let restricted: boolean;
  try {
    restricted = jwtPermissions(decodeJwt(c.jwt).nats) !== null;
  } catch {
    return void log.error(`LeafNode Remote Credentials file ${JSON.stringify(path)} has malformed user jwt`);
  }
  if (!restricted) return;
  log.info(system
    ? `LeafNode Remote for System Account uses credentials file ${JSON.stringify(path)} with restricted permissions`
    : `LeafNode Remote for Account ${account} uses credentials file ${JSON.stringify(path)} with restricted permissions`);
}
