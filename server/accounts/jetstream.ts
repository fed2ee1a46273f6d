// JetStream per account: an account with `jetstream` enabled gets a JetStream of its own (own
// streams, consumers and API on its own $JS.API subjects, files under
// <store_dir>/jetstream/<account>/), within its limits; every other account is answered
// "JetStream not enabled for account" on the API, as nats-server answers it.
import { serveApi, API_PREFIX } from "../jetstream/api.js";
import { apiError, JsErrors } from "../jetstream/errors.js";
import { JetStream, type JetStreamOptions } from "../jetstream/jetstream.js";
import { goJSON } from "../jetstream/json.js";
import { internalClient, type InternalClient } from "../core/internal-client.js";
import type { Account, AccountRegistry } from "./accounts.js";
import { localSubject } from "./options.js";
import { subjectsCollide } from "../../protocol/subject.js";

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
  for (const acc of registry.accounts.values()) startAccountJetStream(host, acc);
}

/** The "not enabled" answers in force, by account (stopped when the account's JetStream starts). */
const notEnabled = new WeakMap<Account, InternalClient>();

/** One account's JetStream, or its "not enabled" answer (operator mode: an account resolved later). */
export function startAccountJetStream(host: JetStreamHost, acc: Account): void {
  const limits = acc.jetstreamLimits;
  if (limits === null) {
    // An account that imports another's JetStream API is answered by that account instead.
    const importsApi = (acc.config.imports ?? []).some((i) => i.service !== undefined && subjectsCollide(localSubject(i), `${API_PREFIX}.>`));
    if (!importsApi) {
      const ic = internalClient(acc.router);
      serveNotEnabled(ic);
      notEnabled.set(acc, ic);
    }
    return;
  }
  startJetStream(host, acc, limits);
}

/**
 * Stop one account's JetStream (its streams closed, what they hold kept on disk) or its "not
 * enabled" answer: operator mode, when the account's JWT changes its JetStream or the account is
 * deleted (nats-server's disableJetStream). `disabled`: answer "not enabled" from now on.
 */
export async function stopAccountJetStream(acc: Account, disabled: boolean): Promise<void> {
  notEnabled.get(acc)?.close();
  notEnabled.delete(acc);
  const js = acc.jetstream;
  acc.jetstream = null;
  if (js !== null) {
    js.ic.close();
    await js.close();
  }
  if (disabled) {
    const ic = internalClient(acc.router);
    serveNotEnabled(ic);
    notEnabled.set(acc, ic);
  }
}

/**
 * Operator mode: a running account's JetStream takes the limits its JWT now grants, in place, as
 * nats-server updates them (streams, consumers and waiting pull requests go on). False when the
 * account has no JetStream running or its JWT no longer grants one: then it is stopped or started.
 */
export function updateAccountJetStreamLimits(host: JetStreamHost, acc: Account): boolean {
  const js = acc.jetstream;
  const limits = acc.jetstreamLimits;
  if (js === null || limits === null) return false;
  const next = accountOptions(host, limits);
  js.opts.maxMemory = next.maxMemory;
  js.opts.maxStore = next.maxStore;
  if (next.accountLimits !== undefined) js.opts.accountLimits = next.accountLimits;
  return true;
}

function startJetStream(host: JetStreamHost, acc: Account, limits: NonNullable<Account["jetstreamLimits"]>): void {
  const opts = accountOptions(host, limits);
  host.log.info({ account: acc.name, storeDir: opts.storeDir }, "Starting JetStream for account");
  const js = new JetStream(acc.name, internalClient(acc.router), opts);
  js.recover();
  serveApi(js);
  acc.jetstream = js;
}

/** The server's JetStream options with an account's limits. */
function accountOptions(host: JetStreamHost, limits: NonNullable<Account["jetstreamLimits"]>): JetStreamOptions {
  const base = host.jetStreamOptions();
  return {
    ...base,
    maxMemory: minLimit(base.maxMemory, limits.maxMemory),
    maxStore: minLimit(base.maxStore, limits.maxStore),
    accountLimits: {
      maxMemory: limits.maxMemory ?? -1,
      maxStore: limits.maxStore ?? -1,
      maxStreams: limits.maxStreams ?? -1,
      maxConsumers: limits.maxConsumers ?? -1,
      ...(limits.maxAckPending !== undefined && limits.maxAckPending > 0 ? { maxAckPending: limits.maxAckPending } : {}),
      ...(limits.memoryMaxStreamBytes !== undefined && limits.memoryMaxStreamBytes > 0 ? { memoryMaxStreamBytes: limits.memoryMaxStreamBytes } : {}),
      ...(limits.storageMaxStreamBytes !== undefined && limits.storageMaxStreamBytes > 0 ? { storageMaxStreamBytes: limits.storageMaxStreamBytes } : {}),
      ...(limits.maxBytesRequired === true ? { maxBytesRequired: true } : {}),
      ...(limits.tier !== undefined ? { tier: limits.tier } : {}),
    },
  };
}

const V1 = "io.nats.jetstream.api.v1.";

type Extra = Record<string, number | null | never[]>;
const PAGED = { total: 0, offset: 0, limit: 0 };

/**
 * The response type of each API subject (after $JS.API.) nats-server answers, and the zero
 * fields its response struct marshals beside the error (nats-server sends the whole struct).
 */
function responseOf(t: string[]): [type: string, extra: Extra] | null {
  const [a, b, c] = t;
  const n = t.length;
  if (a === "INFO" && n === 1) return ["account_info_response", {}];
  if (a === "STREAM") {
    if (b === "NAMES" && n === 2) return ["stream_names_response", { ...PAGED, streams: null }];
    if (b === "LIST" && n === 2) return ["stream_list_response", { ...PAGED, streams: [] }];
    if (b === "MSG" && c === "GET" && n === 4) return ["stream_msg_get_response", {}];
    if (b === "MSG" && c === "DELETE" && n === 4) return ["stream_msg_delete_response", {}];
    if (n !== 3) return null;
    if (b === "CREATE") return ["stream_create_response", {}];
    if (b === "UPDATE") return ["stream_update_response", {}];
    if (b === "INFO") return ["stream_info_response", { ...PAGED }];
    if (b === "DELETE") return ["stream_delete_response", {}];
    if (b === "PURGE") return ["stream_purge_response", { purged: 0 }];
    return null;
  }
  if (a === "CONSUMER") {
    if (b === "CREATE" && n >= 3 && n <= 5) return ["consumer_create_response", {}];
    if (b === "DURABLE" && c === "CREATE" && n === 5) return ["consumer_create_response", {}];
    if (b === "INFO" && n === 4) return ["consumer_info_response", {}];
    if (b === "DELETE" && n === 4) return ["consumer_delete_response", {}];
    if (b === "NAMES" && n === 3) return ["consumer_names_response", { ...PAGED, consumers: [] }];
    if (b === "LIST" && n === 3) return ["consumer_list_response", { ...PAGED, consumers: [] }];
  }
  // DIRECT.GET, CONSUMER.MSG.NEXT and the rest: no reply, as from nats-server.
  return null;
}

/** An account without JetStream: its API requests get nats-server's 10039 error. */
export function serveNotEnabled(ic: InternalClient): void {
  const error = apiError(JsErrors.NotEnabledForAccount);
  ic.subscribe(`${API_PREFIX}.>`, (m) => {
    if (m.reply === "") return;
    const r = responseOf(m.subject.split(".").slice(2));
    if (r === null) return;
    ic.publish(m.reply, goJSON({ type: V1 + r[0], error, ...r[1] }));
  });
}
