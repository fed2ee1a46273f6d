// nats-server's `leafnodes {}` block (alias `leaf`) → LeafNodeOptions, with TLS on the hub side
// (`tls {}`) and on each remote (`tls {}`, tls:// URLs), remotes over WebSocket (ws://, wss://).
// A remote's `credentials` (a creds file) or `nkey` (a user seed) authenticate it to its hub.
// Keys gnat does not build (WebSocket no-masking, min_version) are refused, never accepted and ignored: a leafnode that
// silently runs otherwise than configured is worse than a server that does not start.
import type { ServerOptions } from "../options.js";
import { leafDefaults, type LeafNodeOptions, type LeafRemoteOptions, type LeafUser } from "../cluster/leaf-options.js";
import type { ConfigValue } from "./parse.js";
import { isMap, parseListen, REFUSE_REASON, type Readers } from "./readers.js";
import { mapTls } from "./tls.js";
import { parseDuration } from "./parse.js";
import { dialSecureContext } from "../transport/tls.js";
import { isUserSeed } from "../cluster/leaf-creds.js";
import { homedir } from "node:os";

const NOT_BUILT = "is not supported by gnat yet: refusing to start rather than run a leafnode otherwise than configured";

export function mapLeafNodes(key: string, v: ConfigValue, options: Partial<ServerOptions>, r: Readers): void {
  if (!isMap(v)) throw r.fail(key, `Expected map to define a leafnode, got ${Array.isArray(v) ? "array" : typeof v}`);
  const l: LeafNodeOptions = { ...leafDefaults(), ...(options.leafnodes ?? {}) };
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "listen": {
        const { host, port } = parseListen(mk, mv, r.fail);
        if (host !== undefined) l.host = host;
        if (port !== undefined) l.port = port;
        break;
      }
      case "port":
        l.port = r.int(mk, mv, -1);
        break;
      case "host":
      case "net":
        l.host = r.str(mk, mv);
        break;
      case "authorization":
        l.authorization = linkAuthorization(key, mk, mv, r, "leafnode");
        break;
      case "remotes":
        if (!Array.isArray(mv)) throw r.fail(mk, `Expected remotes field to be an array, got ${typeof mv}`);
        l.remotes = mv.map((x) => leafRemote(key, mk, x, r));
        break;
      case "reconnect":
      case "reconnect_delay":
      case "reconnect_interval":
        // nats-server reads a number of seconds here.
        l.reconnect = r.int(mk, mv, 1);
        break;
      case "advertise":
      case "leafnode_advertise":
        l.advertise = r.str(mk, mv);
        break;
      case "no_advertise":
        l.noAdvertise = r.bool(mk, mv);
        break;
      case "tls":
        l.tls = mapTls(mk, mv, { fail: r.fail, parseDuration });
        break;
      case "min_version":
      case "minimum_version":
        throw r.fail(key, `'${key}.${mk}' ${NOT_BUILT}`);
      default:
        throw r.fail(key, `'${key}.${mk}' ${NOT_BUILT}`);
    }
  }
  options.leafnodes = l;
}

/**
 * The `authorization {}` of a leafnodes or cluster block: user, password, timeout (seconds, or a
 * duration string), and for leafnodes (`accounts`) the account leafs bind to and `users` with
 * theirs. Anything else is refused.
 */
export function linkAuthorization(key: string, mk: string, v: ConfigValue, r: Readers, what: "leafnode" | "cluster"): NonNullable<LeafNodeOptions["authorization"]> {
  if (!isMap(v)) throw r.fail(mk, `Expected ${what} authorization to be a map`);
  const a: NonNullable<LeafNodeOptions["authorization"]> = {};
  for (const [ak, av] of Object.entries(v)) {
    switch (ak.toLowerCase()) {
      case "user":
      case "username":
        a.user = r.str(ak, av);
        break;
      case "pass":
      case "password":
        a.password = r.str(ak, av);
        break;
      case "timeout":
        // Seconds, as a number (nats-server); a duration string is taken too.
        a.timeout = typeof av === "number" ? av : r.duration(ak, av) / 1000;
        break;
      case "account":
        if (what !== "leafnode") throw r.fail(key, `'${key}.${mk}.${ak}' ${REFUSE_REASON}`);
        a.account = r.str(ak, av);
        break;
      case "users": {
        if (what !== "leafnode") throw r.fail(key, `'${key}.${mk}.${ak}' ${REFUSE_REASON}`);
        if (!Array.isArray(av)) throw r.fail(ak, `Expected users field to be an array, got ${typeof av}`);
        a.users = av.map((u) => {
          if (!isMap(u)) throw r.fail(ak, "Expected user entry to be a map/struct");
          const lu: LeafUser = { user: "", password: "" };
          for (const [uk, uv] of Object.entries(u)) {
            switch (uk.toLowerCase()) {
              case "user":
              case "username":
                lu.user = r.str(uk, uv);
                break;
              case "pass":
              case "password":
                lu.password = r.str(uk, uv);
                break;
              case "account":
                lu.account = r.str(uk, uv);
                break;
              default:
                throw r.fail(key, `'${key}.${mk}.${ak}.${uk}' ${REFUSE_REASON}`);
            }
          }
          return lu;
        });
        break;
      }
      default:
        throw r.fail(key, `'${key}.${mk}.${ak}' ${REFUSE_REASON}`);
    }
  }
  return a;
}

function leafRemote(key: string, mk: string, v: ConfigValue, r: Readers): LeafRemoteOptions {
  if (!isMap(v)) throw r.fail(mk, "Expected remote leafnode entry to be a map/struct");
  const remote: LeafRemoteOptions = { urls: [], account: "" };
  const subjects = (k: string, x: ConfigValue): string[] => (Array.isArray(x) ? x : [x]).map((s) => r.str(k, s));
  for (const [rk, rv] of Object.entries(v)) {
    switch (rk.toLowerCase()) {
      case "url":
      case "urls":
        remote.urls = (Array.isArray(rv) ? rv : [rv]).map((u) => r.str(rk, u));
        break;
      case "account":
      case "local":
        remote.account = r.str(rk, rv);
        break;
      case "no_randomize":
      case "dont_randomize":
        remote.noRandomize = r.bool(rk, rv);
        break;
      case "hub":
        remote.hub = r.bool(rk, rv);
        break;
      case "deny_imports":
      case "deny_import":
        remote.denyImports = subjects(rk, rv);
        break;
      case "deny_exports":
      case "deny_export":
        remote.denyExports = subjects(rk, rv);
        break;
      case "creds":
      case "credentials":
        remote.credentials = expandHome(r.str(rk, rv));
        break;
      case "nkey":
      case "seed": {
        const seed = r.str(rk, rv);
        if (!isUserSeed(seed)) throw r.fail(rk, `Remote leafnode nkey is not a valid seed: ${JSON.stringify(seed)}`);
        remote.nkey = seed;
        break;
      }
      case "tls": {
        const insecure = isMap(rv) ? Object.entries(rv).find(([tk]) => tk.toLowerCase() === "insecure")?.[1] : undefined;
        remote.tls = mapTls(rk, rv, { fail: r.fail, parseDuration }, (t) => {
          dialSecureContext(t);
        });
        if (insecure === true) remote.tls.insecure = true;
        break;
      }
      case "ws_compress":
      case "ws_compression":
      case "websocket_compress":
      case "websocket_compression":
        remote.wsCompression = r.bool(rk, rv);
        break;
      case "ws_no_masking":
      case "websocket_no_masking":
        throw r.fail(key, `'${key}.${mk}.${rk}': unmasked WebSocket frames on leafnode connections are not supported by gnat yet`);
      default:
        throw r.fail(key, `'${key}.${mk}.${rk}' ${NOT_BUILT}`);
    }
  }
  return remote;
}

/** nats-server's expandPath: a leading ~ is the home directory. */
function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? homedir() + p.slice(1) : p;
}
