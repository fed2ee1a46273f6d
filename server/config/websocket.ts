// nats-server's `websocket {}` block (alias `ws`) → WebSocketOptions.
import { WS_REQUIRES_TLS, type ServerOptions, type WebSocketOptions } from "../options.js";
import { parseDuration, type ConfigValue } from "./parse.js";
import { type Readers, parseListen } from "./readers.js";
import { mapTls } from "./tls.js";

/** Keys of the websocket block that change who may connect: refused until gnat has them. */
const WS_REFUSED = new Set(["authorization", "authentication", "jwt_cookie", "no_auth_user"]);

/** nats-server's `websocket {}` (alias `ws`) block. Port 0 or none: no WebSocket listener. */
export function mapWebSocket(
  key: string,
  v: ConfigValue,
  options: Partial<ServerOptions>,
  r: Readers,
  where: (key: string) => [string, number, number],
): void {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw r.fail(key, `Expected websocket to be a map, got ${Array.isArray(v) ? "array" : typeof v}`);
  }
  const ws: WebSocketOptions = { port: 0 };
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    if (WS_REFUSED.has(k)) {
      throw r.fail(key, `'${key}.${mk}' is not supported by gnat yet: refusing to start rather than run less protected than configured`);
    }
    switch (k) {
      case "listen": {
        const { host, port } = parseListen(mk, mv, r.fail);
        if (host !== undefined) ws.host = host;
        if (port !== undefined) ws.port = port;
        break;
      }
      case "port":
        ws.port = r.int(mk, mv, -1);
        break;
      case "host":
      case "net":
        ws.host = r.str(mk, mv);
        break;
      case "no_tls":
        ws.noTls = r.bool(mk, mv);
        break;
      case "tls":
        ws.tls = mapTls(mk, mv, { fail: r.fail, parseDuration });
        // Client certificates on the WebSocket port are not built yet: refused, not ignored.
        if (ws.tls.verify === true || ws.tls.verifyAndMap === true || (ws.tls.pinnedCerts?.length ?? 0) > 0) {
          throw r.fail(key, `'${key}.${mk}' with client certificates (verify, verify_and_map, pinned_certs) is not supported by gnat yet: refusing to start rather than run less protected than configured`);
        }
        break;
      case "compress":
      case "compression":
        ws.compression = r.bool(mk, mv);
        break;
      case "same_origin":
        ws.sameOrigin = r.bool(mk, mv);
        break;
      case "allowed_origins":
      case "allowed_origin":
      case "allow_origins":
      case "allow_origin":
      case "origins":
      case "origin":
        ws.allowedOrigins = (Array.isArray(mv) ? mv : [mv]).map((x) => r.str(mk, x));
        break;
      case "advertise":
      case "handshake_timeout": {
        const [f, l, c] = where(key);
        r.warnings.push(`${f || "<config>"}:${l}:${c}: config key '${key}.${mk}' is not supported by gnat yet and is ignored`);
        break;
      }
      default:
        throw r.fail(key, `unknown field "${mk}"`);
    }
  }
  // nats-server checks the rest only for a listener that will run.
  if (ws.port === 0) {
    options.websocket = null;
    return;
  }
  if (ws.noTls !== true && ws.tls === undefined) throw r.fail(key, WS_REQUIRES_TLS);
  options.websocket = ws;
}
