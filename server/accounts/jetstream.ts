// JetStream per account: an account with `jetstream` enabled gets a JetStream of its own (own
// streams, consumers and API on its own $JS.API subjects, files under
// <store_dir>/jetstream/<account>/), within its limits; every other account is answered
// "JetStream not enabled for account" on the API, as nats-server answers it.
import { serveApi, API_PREFIX } from "../jetstream/api.js";
import { apiError, JsErrors } from "../jetstream/errors.js";
import { JetStream, type JetStreamOptions } from "../jetstream/jetstream.js";
import { goJSON } from "../jetstream/json.js";
import type { InternalClient } from "../router.js";
import type { Account, AccountRegistry } from "./accounts.js";

export interface JetStreamHost {
  jetStreamOptions(): JetStreamOptions;
  readonly log: JetStreamOptions["log"];
}

const minLimit = (server: number, account: number | undefined): number => {
  if (account === undefined || account <= 0) return server;
  return server > 0 ? Math.min(server, account) : account;
};

/** Start each account's JetStream (or its "not enabled" answer). */
export function startAccountJetStreams(host: JetStreamHost, registry: AccountRegistry): void {
  for (const acc of registry.accounts.values()) {
    if (acc === registry.system) continue;
    const limits = acc.jetstreamLimits;
    if (limits === null) {
      serveNotEnabled(acc.router.internalClient());
      continue;
    }
    startJetStream(host, acc, limits);
  }
}

function startJetStream(host: JetStreamHost, acc: Account, limits: NonNullable<Account["jetstreamLimits"]>): void {
  const base = host.jetStreamOptions();
  const opts: JetStreamOptions = {
    ...base,
    maxMemory: minLimit(base.maxMemory, limits.maxMemory),
    maxStore: minLimit(base.maxStore, limits.maxStore),
    accountLimits: {
      maxMemory: limits.maxMemory ?? -1,
      maxStore: limits.maxStore ?? -1,
      maxStreams: limits.maxStreams ?? -1,
      maxConsumers: limits.maxConsumers ?? -1,
    },
  };
  host.log.info({ account: acc.name, storeDir: opts.storeDir }, "Starting JetStream for account");
  const js = new JetStream(acc.name, acc.router.internalClient(), opts);
  js.recover();
  serveApi(js);
  acc.jetstream = js;
}

const V1 = "io.nats.jetstream.api.v1.";

/** The response type of each API subject (after $JS.API.) nats-server answers. */
function responseType(t: string[]): string | null {
  const [a, b, c] = t;
  if (a === "INFO" && t.length === 1) return "account_info_response";
  if (a === "STREAM") {
    if ((b === "NAMES" || b === "LIST") && t.length === 2) return b === "NAMES" ? "stream_names_response" : "stream_list_response";
    if (b === "MSG" && (c === "GET" || c === "DELETE") && t.length === 4) return c === "GET" ? "stream_msg_get_response" : "stream_msg_delete_response";
    const kinds: Record<string, string> = { CREATE: "stream_create_response", UPDATE: "stream_update_response", INFO: "stream_info_response", DELETE: "stream_delete_response", PURGE: "stream_purge_response" };
    if (b !== undefined && b in kinds && t.length === 3) return kinds[b]!;
  }
  if (a === "CONSUMER") {
    if (b === "CREATE" && t.length >= 3) return "consumer_create_response";
    if (b === "DURABLE" && c === "CREATE" && t.length === 5) return "consumer_create_response";
    const kinds: Record<string, [string, number]> = { INFO: ["consumer_info_response", 4], DELETE: ["consumer_delete_response", 4], NAMES: ["consumer_names_response", 3], LIST: ["consumer_list_response", 3] };
    const k = b === undefined ? undefined : kinds[b];
    if (k !== undefined && t.length === k[1]) return k[0];
  }
  return null;
}

/** An account without JetStream: its API requests get nats-server's 10039 error. */
export function serveNotEnabled(ic: InternalClient): void {
  const error = apiError(JsErrors.NotEnabledForAccount);
  ic.subscribe(`${API_PREFIX}.>`, (m) => {
    if (m.reply === "") return;
    const type = responseType(m.subject.split(".").slice(2));
    if (type === null) return;
    ic.publish(m.reply, goJSON({ type: V1 + type, error }));
  });
}
