// nats-server's top-level `jetstream` key → the server's JetStream options.
import type { ServerOptions } from "../options.js";
import type { ConfigValue } from "./parse.js";
import { type Readers, STORAGE_UNITS } from "./readers.js";

/** nats-server's `jetstream` key: a bool, "enabled"/"disabled", or a block of settings. */
export function mapJetStream(key: string, v: ConfigValue, options: Partial<ServerOptions>, r: Readers): void {
  if (typeof v === "boolean") {
    options.jetstream = v;
    return;
  }
  if (typeof v === "string") {
    const l = v.toLowerCase();
    if (l === "enabled" || l === "enable") options.jetstream = true;
    else if (l === "disabled" || l === "disable") options.jetstream = false;
    else throw r.fail(key, `Expected 'enabled' or 'disabled' for string value, got '${v}'`);
    return;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw r.fail(key, "Expected map, bool or string to define JetStream");
  }
  // Size values may be numbers (the parser already applied 1GB-style suffixes) or strings.
  const size = (k: string, x: ConfigValue): number => {
    if (typeof x === "number" && Number.isInteger(x)) return x;
    if (typeof x === "string") {
      const m = /^\s*(\d+)\s*([KMGT])?B?\s*$/i.exec(x);
      if (m) return Number.parseInt(m[1]!, 10) * (m[2] ? STORAGE_UNITS[m[2].toUpperCase()]! : 1);
    }
    throw r.fail(k, `${k} must be a size, got ${JSON.stringify(x)}`);
  };
  let enable = true;
  for (const [mk, mv] of Object.entries(v)) {
    switch (mk.toLowerCase()) {
      case "store":
      case "store_dir":
      case "storedir":
        if (options.storeDir) throw r.fail(mk, "Duplicate 'store_dir' configuration");
        options.storeDir = r.str(mk, mv);
        break;
      case "sync":
      case "sync_interval":
        if (typeof mv === "string" && mv.toLowerCase() === "always") options.syncAlways = true;
        else options.syncInterval = r.duration(mk, mv);
        break;
      case "max_memory_store":
      case "max_mem_store":
      case "max_mem":
        options.maxMemoryStore = size(mk, mv);
        break;
      case "max_file_store":
      case "max_file":
        options.maxFileStore = size(mk, mv);
        break;
      case "domain":
        options.jetStreamDomain = r.str(mk, mv);
        break;
      case "enable":
      case "enabled":
        enable = r.bool(mk, mv);
        break;
      default:
        r.warnings.push(`config key 'jetstream.${mk}' is not supported by gnat yet and is ignored`);
    }
  }
  options.jetstream = enable;
}
