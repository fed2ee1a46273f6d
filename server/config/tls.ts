// nats-server's top-level `tls {}` block → TlsOptions, with its error texts. The files are loaded
// here once, as nats-server does while parsing, so `-t` and startup report a bad certificate at
// the block's position.
import { checkTlsOptions } from "../transport/tls.js";
import type { TlsOptions } from "../tls-options.js";

type Value = unknown;

interface TlsReaders {
  fail: (key: string, reason: string) => Error;
  parseDuration: (s: string) => number | null;
}

const REFUSE_REASON = "is not supported by gnat yet: refusing to start rather than run less protected than configured";

/** Keys nats-server knows in a server's tls block that gnat does not implement: refused. */
const TLS_REFUSED = new Set([
  "cipher_suites", "curve_preferences", "ocsp_peer", "cert_store", "cert_match_by",
  "cert_match", "cert_match_skip_invalid", "ca_certs_match", "certs", "certificates",
  "verify_cert_and_check_known_urls", "connection_rate_limit", "allow_insecure_cipher_suites", "min_version",
]);

/**
 * `check` loads the files (a listener's needs a certificate and key; a dialling side's, such as a
 * leafnode remote's, may do without).
 */
export function mapTls(key: string, v: Value, r: TlsReaders, check: (t: TlsOptions) => void = checkTlsOptions): TlsOptions {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw r.fail(key, "error parsing tls config, expected a map");
  }
  const t: TlsOptions = {};
  const file = (mk: string, mv: Value): string => {
    if (typeof mv !== "string") throw r.fail(key, `error parsing tls config, expected '${mk}' to be filename`);
    return mv;
  };
  const bool = (mk: string, mv: Value): boolean => {
    if (typeof mv !== "boolean") throw r.fail(key, `error parsing tls config, expected '${mk}' to be a boolean`);
    return mv;
  };
  for (const [mk, mv] of Object.entries(v as Record<string, Value>)) {
    const k = mk.toLowerCase();
    if (TLS_REFUSED.has(k)) throw r.fail(key, `'${key}.${mk}' ${REFUSE_REASON}`);
    switch (k) {
      case "cert_file":
        t.certFile = file(mk, mv);
        break;
      case "key_file":
        t.keyFile = file(mk, mv);
        break;
      case "ca_file":
        t.caFile = file(mk, mv);
        break;
      case "verify":
        t.verify = bool(mk, mv);
        break;
      case "verify_and_map":
        // As nats-server: true turns verify on too; false leaves verify as it is.
        t.verifyAndMap = bool(mk, mv);
        if (t.verifyAndMap) t.verify = true;
        break;
      case "insecure":
        // Skips verifying the server in a client's TLS; meaningless for a listener.
        bool(mk, mv);
        break;
      case "timeout":
        // Seconds (a float is allowed), or a duration string.
        if (typeof mv === "number" && Number.isFinite(mv)) t.timeout = mv * 1000;
        else if (typeof mv === "string") {
          const ms = r.parseDuration(mv);
          if (ms === null) throw r.fail(key, `error parsing tls config, 'timeout' time: invalid duration "${mv}"`);
          t.timeout = ms;
        } else throw r.fail(key, "error parsing tls config, 'timeout' wrong type");
        if (t.timeout < 0) throw r.fail(key, "error parsing tls config, 'timeout' must not be negative");
        break;
      case "pinned_certs":
        if (!Array.isArray(mv)) {
          throw r.fail(key, "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
        }
        t.pinnedCerts = mv.map((x) => String(x));
        break;
      case "handshake_first":
      case "first":
      case "immediate":
      {
        const [first, fallback] = handshakeFirst(key, mk, mv, r);
        t.handshakeFirst = first;
        if (fallback > 0) t.handshakeFirstFallback = fallback;
        else delete t.handshakeFirstFallback;
        break;
      }
      default:
        throw r.fail(key, `error parsing tls config, unknown field [${JSON.stringify(mk)}]`);
    }
  }
  try {
    check(t);
  } catch (e) {
    throw r.fail(key, (e as Error).message);
  }
  return t;
}

/** nats-server's DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY. */
const DEFAULT_FALLBACK_MS = 50;

/**
 * true/false, "true"/"on"/"false"/"off", or 2.10's fallback forms: "auto" (50 ms) or a duration.
 * Returns [handshake first, fallback ms].
 */
function handshakeFirst(key: string, mk: string, mv: Value, r: TlsReaders): [boolean, number] {
  if (typeof mv === "boolean") return [mv, 0];
  if (typeof mv !== "string") throw r.fail(key, `field ${JSON.stringify(mk)} should be a boolean or a string, got ${typeof mv}`);
  const l = mv.toLowerCase();
  if (l === "true" || l === "on") return [true, 0];
  if (l === "false" || l === "off") return [false, 0];
  if (l === "auto" || l === "auto_fallback") return [true, DEFAULT_FALLBACK_MS];
  const ms = r.parseDuration(mv);
  if (ms !== null) return [true, Math.max(0, ms)];
  throw r.fail(key, `field ${JSON.stringify(mk)}'s value ${JSON.stringify(mv)} is invalid`);
}
