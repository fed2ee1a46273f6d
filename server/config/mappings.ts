// Tested by test/server/mappings.test.ts.
// nats-server's `mappings {}` (alias `maps`), at the top level (the global account) and inside an
// account: source subject → a destination, or weighted destinations
// (`[{destination: "…", weight: 40%}, …]`, each maybe scoped to a `cluster`), with nats-server's
// configuration errors (opts.go parseAccountMappings / parseAccountMapDest, 2.10's texts). Each
// mapping is compiled here too, so a bad destination fails at its own line.
import type { MapDestination } from "../../protocol/subject-mapping.js";
import { isValidSubject } from "../../protocol/subject.js";
import { mappingError, type MappingsOptions } from "../accounts/options.js";
import type { ConfigMap, ConfigValue } from "./parse.js";
import { isMap, type Readers } from "./readers.js";

/**
 * `key`: the block's key; `parent`/`parentKey`: the map it sits in, when nested (an account's),
 * so errors about the block point at its line.
 */
export function mapMappings(key: string, v: ConfigValue, r: Readers, parent?: ConfigMap, parentKey?: string): MappingsOptions {
  const blockFail = (reason: string): Error =>
    parent !== undefined && r.failIn !== undefined ? r.failIn(parent, parentKey ?? key, reason) : r.fail(key, reason);
  if (!isMap(v)) throw blockFail(`Expected mappings to be a map, got ${Array.isArray(v) ? "array" : typeof v}`);
  const at = (map: ConfigMap, k: string, reason: string): Error => (r.failIn !== undefined ? r.failIn(map, k, reason) : blockFail(reason));
  const out: MappingsOptions = {};
  for (const [src, mv] of Object.entries(v)) {
    if (!isValidSubject(src)) throw blockFail(`Subject ${JSON.stringify(src)} is not a valid subject`);
    let dests: MapDestination[];
    if (typeof mv === "string") {
      const err = mappingError(src, [{ subject: mv, weight: 100 }]);
      if (err !== null) throw at(v, src, `Error adding mapping for ${JSON.stringify(src)} to ${JSON.stringify(mv)} : ${err}`);
      out[src] = mv;
      continue;
    } else if (Array.isArray(mv)) {
      dests = mv.map((d) => mapDest(d, v, src, at));
    } else if (isMap(mv)) {
      dests = [mapDest(mv, v, src, at)];
    } else {
      throw at(v, src, `Unknown type ${goType(mv)} for mapping destination`);
    }
    const err = mappingError(src, dests);
    if (err !== null) throw at(v, src, `Error adding mapping for ${JSON.stringify(src)} : ${err}`);
    out[src] = dests;
  }
  return out;
}

function goType(v: ConfigValue): string {
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  if (typeof v === "boolean") return "bool";
  if (v instanceof Date) return "time.Time";
  return typeof v;
}

/** One weighted destination (nats-server's parseAccountMapDest). */
function mapDest(v: ConfigValue, block: ConfigMap, src: string, at: (map: ConfigMap, k: string, reason: string) => Error): MapDestination {
  if (!isMap(v)) throw at(block, src, "Expected an entry for the mapping destination");
  const d: MapDestination = { subject: "", weight: 0 };
  let sawWeight = false;
  for (const [k, x] of Object.entries(v)) {
    switch (k.toLowerCase()) {
      case "dest":
      case "destination":
        d.subject = String(x);
        break;
      case "weight": {
        let w: number;
        if (typeof x === "string") {
          const s = x.endsWith("%") ? x.slice(0, -1) : x;
          if (!/^[+-]?\d+$/.test(s)) throw at(v, k, `Invalid weight ${JSON.stringify(s)} for mapping destination`);
          w = Number.parseInt(s, 10);
        } else if (typeof x === "number" && Number.isInteger(x)) {
          w = x;
        } else {
          throw at(v, k, `Unknown entry type for weight of ${String(x)}`);
        }
        if (w > 100 || w < 0) throw at(v, k, `Invalid weight ${w} for mapping destination`);
        d.weight = w;
        sawWeight = true;
        break;
      }
      case "cluster":
        d.cluster = String(x);
        break;
      default:
        throw at(v, k, `Unknown field ${JSON.stringify(k)} for mapping destination`);
    }
  }
  if (!sawWeight) throw at(block, src, `Missing weight for mapping destination ${JSON.stringify(d.subject)}`);
  return d;
}
