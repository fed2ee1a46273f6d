// Tested by test/server/operator.test.ts.
// NATS JWTs as nats-server reads them in operator mode: decoding with the signature checked
// (@nats-io/jwt's decode verifies the ed25519 signature against the `iss` key), the validity
// window (exp / nbf), and what a user JWT says about its permissions, limits, source networks
// and connect times. No sockets, no timers: facts about claims.
import { BlockList, isIPv4, isIPv6 } from "node:net";
import type { ClaimsData } from "@nats-io/jwt";
import { decodeClaims, fromPublic } from "./nkeys.js";
import type { Permissions, SubjectPermission } from "./permissions.js";
import { DEFAULT_RESPONSE_PERMISSION } from "./permissions.js";

/** The `nats` part of a claim, read loosely (JWTs come from outside). */
export type Nats = Record<string, unknown>;
export type Claims = ClaimsData<Nats>;

/** A decoded, signature-checked JWT, or the reason it is not one. */
export function decodeJwt(token: string): Claims {
  if (typeof token !== "string" || token.split(".").length !== 3) throw new Error("expected 3 chunks");
  let c: Claims;
  try {
    c = decodeClaims<Nats>(token.trim());
  } catch (e) {
    // nats-server's wording for a signature that does not hold (V2 for claims of version 2).
    const m = (e as Error).message;
    if (!/sig|getPublicKey|checksum|invalid/i.test(m)) throw e;
    let version = 1;
    try {
      const body = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { nats?: { version?: unknown } };
      if (body.nats?.version === 2) version = 2;
    } catch {
      // Not even JSON: version 1, as nats-server reads it.
    }
    throw new Error(`claim failed V${version} signature verification`);
  }
  if (typeof c !== "object" || c === null || typeof c.sub !== "string" || typeof c.iss !== "string") throw new Error("invalid jwt claims");
  if (typeof c.nats !== "object" || c.nats === null) (c as { nats: Nats }).nats = {};
  return c;
}

/**
 * A JWT's claims read WITHOUT its signature checked, or null: only to decide what to look up
 * before the real check (decodeJwt) — never to trust. Saves a second ed25519 verification.
 */
export function peekClaims(token: string): { iss?: unknown; nats?: Nats } | null {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return null;
  try {
    const body = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown;
    return typeof body === "object" && body !== null ? body as { iss?: unknown; nats?: Nats } : null;
  } catch {
    return null;
  }
}

/** The claim's type: `nats.type` (v2) or the top-level `type` (v1). */
export function claimType(c: Claims): string {
  const t = c.nats.type ?? c.type;
  return typeof t === "string" ? t : "";
}

/** Decode and check that the JWT is of `type`. */
export function decodeTyped(token: string, type: "operator" | "account" | "user" | "activation"): Claims {
  const c = decodeJwt(token);
  if (claimType(c) !== type) throw new Error(`not ${type} claim`);
  return c;
}

/** nats-server's claim validation of the time window: expired, or not valid yet. */
export function timeIssue(c: Claims, nowSec = Math.floor(Date.now() / 1000)): string | null {
  if (typeof c.exp === "number" && c.exp > 0 && c.exp < nowSec) return "claim is expired";
  if (typeof c.nbf === "number" && c.nbf > 0 && c.nbf > nowSec) return "claim is not yet valid";
  return null;
}

/** A public key of the given prefix (O operator, A account, U user) with a valid checksum. */
export function isPublicKey(key: unknown, prefix: "O" | "A" | "U"): key is string {
  if (typeof key !== "string" || key.length !== 56 || key[0] !== prefix) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/** An operator JWT as a config holds it: inline, or (nats-server's decorated form) in a file. */
export function extractJwt(text: string): string {
  const lines = text.split(/\r?\n/);
  const begin = lines.findIndex((l) => /^\s*-{3,}.*BEGIN.*JWT.*-{3,}\s*$/.test(l));
  if (begin >= 0) {
    const body = lines.slice(begin + 1).find((l) => l.trim() !== "");
    if (body !== undefined) return body.trim();
  }
  return text.trim();
}

/** Revocations: `subject` (or `*`, everyone) revoked for JWTs issued at or before the time. */
export function isRevoked(revocations: unknown, subject: string, issuedAt: number): boolean {
  if (typeof revocations !== "object" || revocations === null) return false;
  const r = revocations as Record<string, unknown>;
  const at = (k: string): number | null => (typeof r[k] === "number" ? (r[k] as number) : null);
  const t = at(subject);
  if (t !== null && t >= issuedAt) return true;
  const all = at("*");
  return all !== null && all >= issuedAt;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function subjectPermission(v: unknown): SubjectPermission | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  const allow = strings(o.allow);
  const deny = strings(o.deny);
  if (allow.length === 0 && deny.length === 0) return null;
  const p: SubjectPermission = {};
  if (allow.length > 0) p.allow = allow;
  if (deny.length > 0) p.deny = deny;
  return p;
}

/**
 * nats-server's buildPermissionsFromJwt: `pub`, `sub` and `resp` of a user (or an account's
 * default_permissions); null when none is set. `resp.ttl` is a Go duration (ns); 0 max or ttl
 * take the defaults (1 response, 2 minutes).
 */
export function jwtPermissions(n: Nats): Permissions | null {
  const pub = subjectPermission(n.pub);
  const sub = subjectPermission(n.sub);
  const resp = typeof n.resp === "object" && n.resp !== null ? (n.resp as Record<string, unknown>) : null;
  if (pub === null && sub === null && resp === null) return null;
  const p: Permissions = {};
  if (pub !== null) p.publish = pub;
  if (sub !== null) p.subscribe = sub;
  if (resp !== null) {
    const max = typeof resp.max === "number" && resp.max !== 0 ? resp.max : DEFAULT_RESPONSE_PERMISSION.max;
    const ttl = typeof resp.ttl === "number" && resp.ttl !== 0 ? resp.ttl / 1e6 : DEFAULT_RESPONSE_PERMISSION.expires;
    p.allowResponses = { max, expires: ttl };
    // nats-server: response permissions without a publish allow list deny publishing otherwise.
    if (p.publish?.allow === undefined) p.publish = { ...(p.publish ?? {}), allow: [] };
  }
  return p;
}

/**
 * A limit of a claim, -1 for none. One a version 2 JWT leaves out is 0, as nats-server 2.9 reads
 * it (Go's zero value): an account JWT without `limits` allows no connections. nats-server
 * migrates version 1 user JWTs (`alg: ed25519`, no `nats.version`) with no limits: -1 for them.
 */
export function limit(n: Nats, key: string, version = 2): number {
  const v = n[key];
  return typeof v === "number" && Number.isFinite(v) ? v : version === 2 ? 0 : -1;
}

/** A claim's JWT version: 2 when its `nats.version` says so, else 1. */
export function jwtVersion(c: { nats: Nats }): number {
  return c.nats.version === 2 ? 2 : 1;
}

/** nats-server's validateSrc: the client's IP is in one of the user's `src` networks (none: any). */
export function sourceAllowed(src: unknown, host: string): boolean {
  const nets = Array.isArray(src) ? src : typeof src === "string" && src !== "" ? src.split(",") : [];
  if (nets.length === 0) return true;
  const ip = host.startsWith("::ffff:") && isIPv4(host.slice(7)) ? host.slice(7) : host;
  const family = isIPv4(ip) ? "ipv4" : isIPv6(ip) ? "ipv6" : null;
  if (family === null) return false;
  for (const raw of nets) {
    if (typeof raw !== "string") return false;
    const [addr, bits] = raw.trim().split("/");
    const fam = addr !== undefined && isIPv4(addr) ? "ipv4" : addr !== undefined && isIPv6(addr) ? "ipv6" : null;
    const prefix = Number(bits);
    if (fam === null || bits === undefined || !Number.isInteger(prefix)) return false;
    if (fam !== family) continue;
    const bl = new BlockList();
    bl.addSubnet(addr!, prefix, fam);
    if (bl.check(ip, family)) return true;
  }
  return false;
}

/** Seconds since midnight of `now` in `zone` ("" : the server's local time). */
function secondsOfDay(now: Date, zone: string): number | null {
  if (zone === "") return now.getHours() * 3600 + now.getMinutes() * 60 + now.getSeconds();
  try {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(now);
    const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? "0");
    // "24" is how some engines write midnight.
    return (get("hour") % 24) * 3600 + get("minute") * 60 + get("second");
  } catch {
    return null;
  }
}

const hms = (s: unknown): number | null => {
  if (typeof s !== "string") return null;
  const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(s);
  return m === null ? null : Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
};

/**
 * nats-server's validateTimes: whether now is inside one of the user's `times` ranges (in its
 * `locale`), and for how long still (ms; 0 when there are no ranges). Ranges may cross midnight.
 */
export function connectTimes(n: Nats, now = new Date()): { allowed: boolean; validForMs: number } {
  const times = Array.isArray(n.times) ? n.times : [];
  if (times.length === 0) return { allowed: true, validForMs: 0 };
  const nowS = secondsOfDay(now, typeof n.locale === "string" ? n.locale : "");
  if (nowS === null) return { allowed: false, validForMs: 0 };
  let ok = false;
  let validFor = 0;
  for (const r of times) {
    const start = hms((r as Record<string, unknown> | null)?.start);
    const end = hms((r as Record<string, unknown> | null)?.end);
    if (start === null || end === null) return { allowed: false, validForMs: 0 };
    let left = -1;
    if (start < nowS && end > nowS) left = end - nowS;
    else if (start > end) {
      if (end > nowS) left = end - nowS;
      else if (start < nowS) left = end + 86400 - nowS;
    }
    if (left > 0 && (!ok || left * 1000 > validFor)) {
      ok = true;
      validFor = left * 1000;
    }
  }
  return { allowed: ok, validForMs: validFor };
}

/** The connection types nats-server knows; a JWT naming only unknown ones allows none. */
export const CONNECTION_TYPES = new Set(["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS", "IN_PROCESS"]);

/** nats-server's connection type check: an empty list allows every type. */
export function connectionTypeAllowed(types: unknown, type: string): boolean {
  const list = strings(types).map((t) => t.toUpperCase());
  if (list.length === 0) return true;
  const known = list.filter((t) => CONNECTION_TYPES.has(t));
  return known.length > 0 && known.includes(type);
}
