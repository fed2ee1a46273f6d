// Tested by test/cluster/config.test.ts.
// nats-server's `cluster {}` block → ClusterOptions. Keys gnat does not build are refused, never
// accepted and ignored: a cluster that silently runs otherwise than configured is worse than one
// that does not start.
import type { ServerOptions } from "../options.js";
import { clusterDefaults, type ClusterOptions } from "../cluster/options.js";
import { parseDuration, type ConfigValue } from "./parse.js";
import { mapTls } from "./tls.js";
import { linkAuthorization } from "./leafnodes.js";
import { isMap, parseListen, REFUSE_REASON, type Readers } from "./readers.js";

export function mapCluster(key: string, v: ConfigValue, options: Partial<ServerOptions>, r: Readers): void {
  if (!isMap(v)) throw r.fail(key, `Expected cluster to be a map, got ${Array.isArray(v) ? "array" : typeof v}`);
  // No port, no cluster (nats-server routes only with one): 0 until the block names one.
  const c: ClusterOptions = { ...clusterDefaults(), port: 0, ...(options.cluster ?? {}) };
  for (const [mk, mv] of Object.entries(v)) {
    const k = mk.toLowerCase();
    switch (k) {
      case "name":
        c.name = r.str(mk, mv);
        break;
      case "listen": {
        const { host, port } = parseListen(mk, mv, r.fail);
        if (host !== undefined) c.host = host;
        if (port !== undefined) c.port = port;
        break;
      }
      case "host":
      case "net":
        c.host = r.str(mk, mv);
        break;
      case "port":
        c.port = r.int(mk, mv, -1);
        break;
      case "routes":
        c.routes = (Array.isArray(mv) ? mv : [mv]).map((x) => r.str(mk, x));
        break;
      case "no_advertise":
        c.noAdvertise = r.bool(mk, mv);
        break;
      case "connect_retries":
        c.connectRetries = r.int(mk, mv);
        break;
      case "advertise":
      case "cluster_advertise":
        c.advertise = r.str(mk, mv);
        break;
      case "authorization": {
        const { user, password, timeout } = linkAuthorization(key, mk, mv, r, "cluster");
        c.authorization = { ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}), ...(timeout !== undefined ? { timeout } : {}) };
        break;
      }
      case "pool_size":
        // 2.10's route pooling: gnat speaks 2.9's route protocol, one route per server, which
        // is what pool_size -1 asks for (a 2.10 server negotiates down to it with a 2.9 peer).
        if (mv !== -1) throw r.fail(key, `'${key}.${mk}' is not supported by gnat: it speaks one route per server (nats-server 2.9's route protocol); set pool_size: -1 or leave it out`);
        break;
      case "compression":
        if (mv !== false && mv !== "off" && mv !== "disabled") {
          throw r.fail(key, `'${key}.${mk}' is not supported by gnat: routes are not compressed; set compression: off or leave it out`);
        }
        break;
      case "tls": {
        const insecure = isMap(mv) ? Object.entries(mv).find(([tk]) => tk.toLowerCase() === "insecure")?.[1] : undefined;
        c.tls = mapTls(mk, mv, { fail: r.fail, parseDuration });
        if (insecure === true) c.tls.insecure = true;
        break;
      }
      case "permissions":
        throw r.fail(key, `'${key}.${mk}' ${REFUSE_REASON}`);
      default:
        throw r.fail(key, `'${key}.${mk}' is not supported by gnat yet: refusing to start rather than run a cluster otherwise than configured`);
    }
  }
  options.cluster = c;
}
