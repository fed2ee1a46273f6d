// Tested by test/server/operator.test.ts.
// nats-server's operator mode keys: `operator` (a JWT, or the file holding one; a list for
// several), `resolver` (`MEMORY`, or `{ type: full, dir, allow_delete, interval }`) and
// `resolver_preload` (account public key → account JWT).
import { readFileSync } from "node:fs";
import { decodeTyped, extractJwt } from "../auth/jwt.js";
import type { ResolverOptions } from "../accounts/operator-options.js";
import type { ServerOptions } from "../options.js";
import { type ConfigValue } from "./parse.js";
import { isMap, type Readers } from "./readers.js";

/** `operator: <jwt or file>` (or a list): the JWTs, read from their files where they are files. */
export function mapOperator(key: string, v: ConfigValue, o: Partial<ServerOptions>, r: Readers): void {
  const items = Array.isArray(v) ? v : [v];
  const jwts: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") throw r.fail(key, `error parsing operators: unsupported type ${typeof item}`);
    let text: string;
    try {
      text = readFileSync(item, "utf8");
    } catch (e) {
      // nats-server: a string that is no file may be the JWT itself (it starts "eyJ").
      if (!item.startsWith("eyJ")) throw r.fail(key, `error parsing operator JWT: ${(e as Error).message}`);
      text = item;
    }
    const jwt = extractJwt(text);
    try {
      decodeTyped(jwt, "operator");
    } catch (e) {
      throw r.fail(key, `error parsing operator JWT: ${(e as Error).message}`);
    }
    jwts.push(jwt);
  }
  o.operators = jwts;
}

/** `resolver: MEMORY` or `resolver { type: full, dir, allow_delete, interval }`. */
export function mapResolver(key: string, v: ConfigValue, o: Partial<ServerOptions>, r: Readers): void {
  if (typeof v === "string") {
    if (/^\s*MEM(ORY)?\s*$/i.test(v)) {
      o.resolver = { type: "memory" };
      return;
    }
    throw r.fail(key, `'${key}: ${v}' is not supported by gnat yet: refusing to start rather than run less protected than configured (MEMORY and the full directory resolver are supported)`);
  }
  if (!isMap(v)) throw r.fail(key, "resolver should be MEMORY or a map");
  let type = "";
  let dir = "";
  let allowDelete = false;
  let interval: number | undefined;
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "type":
        type = r.str(mk, mv);
        break;
      case "dir":
        dir = r.str(mk, mv);
        break;
      case "allow_delete":
        allowDelete = r.bool(mk, mv);
        break;
      case "interval":
        interval = r.duration(mk, mv);
        break;
      case "timeout":
      case "limit":
        r.warnings.push(`config key 'resolver.${mk}' is not supported by gnat yet and is ignored`);
        break;
      default:
        throw r.fail(key, `'${key}.${mk}' is not supported by gnat yet: refusing to start rather than run less protected than configured`);
    }
  }
  if (type.toUpperCase() !== "FULL") {
    throw r.fail(key, `resolver type '${type}' is not supported by gnat yet: refusing to start rather than run less protected than configured (full is supported)`);
  }
  if (dir === "") throw r.fail(key, "dir has no value and needs to point to a directory");
  const res: ResolverOptions = { type: "full", dir, allowDelete };
  if (interval !== undefined) res.interval = interval;
  o.resolver = res;
}

/** `resolver_preload { <account key>: <account jwt> }`. */
export function mapResolverPreload(key: string, v: ConfigValue, o: Partial<ServerOptions>, r: Readers): void {
  if (!isMap(v)) throw r.fail(key, "preload should be a map of account_public_key:account_jwt");
  const out: Record<string, string> = {};
  for (const [k, jv] of Object.entries(v)) {
    if (typeof jv !== "string") throw r.fail(key, "preload map value should be a string JWT");
    try {
      decodeTyped(jv.trim(), "account");
    } catch {
      throw r.fail(key, "invalid account JWT");
    }
    out[k] = jv.trim();
  }
  o.resolverPreload = out;
}
