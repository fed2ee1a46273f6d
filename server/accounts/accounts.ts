// Accounts at run time, as nats-server keeps them: each account has its own subject space (its
// own Router and sublist), and exports/imports are the only way messages cross between them.
//
// - A stream import is one subscription in the exporter's router, on the imported subject; what
//   it receives is published into the importer's router under the mapped subject (prefix / to).
// - A service import is one subscription in the importer's router, on its local subject; a
//   request it receives is published into the exporter with its reply rewritten to a `_R_.…`
//   subject of the exporter's, and the responder's answer on that subject is published back
//   into the importer on the original reply (once for singleton, until the threshold otherwise).
//
// The global account ($G) keeps the server's own Router, so a server without accounts routes
// exactly as before; connections hold their account's router and never look anything up per message.
import { customAlphabet } from "nanoid";
import { toWire } from "../../protocol/subject.js";
import { Subscription, Router } from "../core/router.js";
import { ResponseBridge, ServiceImportBridge, StreamImportBridge } from "./imports.js";
import type { ResponseRoute } from "./bridged.js";
import {
  DEFAULT_SYSTEM_ACCOUNT, findExport, GLOBAL_ACCOUNT, subjectMapper,
  type AccountJetStreamLimits, type AccountOptions, type AccountsOptions, type ImportOption, type ResponseType,
} from "./options.js";
import type { JetStream } from "../jetstream/jetstream.js";

/** nats-server's default response_threshold: how long a stream / chunked reply route lives. */
export const RESPONSE_THRESHOLD_MS = 2 * 60 * 1000;

const base62 = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 6);
const replyToken = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 10);

export class Account {
  /** JetStream of this account, when it has one. */
  jetstream: JetStream | null = null;
  /** What closed connections of this account sent and received, and its slow consumers. */
  readonly closed = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  slowConsumers = 0;
  /** Where responses to service imports come back: `_R_.<random>.` (nats-server's siReply). */
  readonly replyPrefix = `_R_.${base62()}.`;
  /** Pending service-import replies, by token (the last token of a `_R_.` subject). */
  readonly responses = new Map<string, ResponseRoute>();
  private responseSub: Subscription | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** What wires this account's imports (undone when they change: operator mode's claims updates). */
  readonly importWiring: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly router: Router,
    readonly config: AccountOptions,
  ) {}

  /** The account's JetStream limits, or null when JetStream is not enabled for it. */
  get jetstreamLimits(): AccountJetStreamLimits | null {
    const js = this.config.jetstream;
    if (js === undefined || js === false) return null;
    return js === true ? {} : js;
  }

  /** Route a reply subject of ours back to `importer`'s `reply`. Returns the `_R_` subject. */
  addResponse(importer: Account, reply: string, type: ResponseType, thresholdMs: number, registry: AccountRegistry): string {
    if (this.responseSub === null) {
      this.responseSub = new Subscription(new ResponseBridge(this, registry), `${this.replyPrefix}>`, "", "_R_");
      this.router.subscribe(this.responseSub);
    }
    const token = replyToken();
    this.responses.set(token, { importer, reply, type, expires: Date.now() + thresholdMs });
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.min(thresholdMs, 30_000)));
      this.sweepTimer.unref();
    }
    return this.replyPrefix + token;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, r] of this.responses) if (r.expires <= now) this.responses.delete(k);
    if (this.responses.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  close(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.responses.clear();
    if (this.responseSub !== null) this.router.unsubscribe(this.responseSub);
  }
}

/**
 * Every account of a server, and the imports between them: $G and the system account always
 * (as nats-server has them), and the configured ones.
 */
export class AccountRegistry {
  readonly accounts = new Map<string, Account>();
  readonly global: Account;
  readonly system: Account;
  /** User name (or nkey) → account. */
  private readonly users = new Map<string, Account>();
  /** Nesting of import deliveries in progress (see imports.ts, MAX_IMPORT_DEPTH). */
  depth = 0;

  /** `options` null: no `accounts` configured, everyone is in $G, which has JetStream when the server does. */
  constructor(globalRouter: Router, configured: AccountsOptions | null, systemAccount: string, globalUsers: Iterable<string>) {
    const options = configured ?? {};
    this.global = new Account(GLOBAL_ACCOUNT, globalRouter, configured === null ? { jetstream: true } : {});
    this.accounts.set(GLOBAL_ACCOUNT, this.global);
    for (const [name, cfg] of Object.entries(options)) {
      if (name === GLOBAL_ACCOUNT) continue;
      this.accounts.set(name, new Account(name, new Router(name), cfg));
    }
    const sys = systemAccount || DEFAULT_SYSTEM_ACCOUNT;
    let system = this.accounts.get(sys);
    if (system === undefined) {
      if (systemAccount !== "" && systemAccount !== DEFAULT_SYSTEM_ACCOUNT) throw new Error("error resolving system account: account missing");
      system = new Account(sys, new Router(sys), {});
      this.accounts.set(sys, system);
    }
    this.system = system;
    for (const u of globalUsers) this.users.set(u, this.global);
    for (const [name, cfg] of Object.entries(options)) {
      const acc = this.accounts.get(name)!;
      for (const u of cfg.users ?? []) this.users.set(u.user, acc);
      for (const k of cfg.nkeys ?? []) this.users.set(k.nkey, acc);
    }
    for (const acc of this.accounts.values()) {
      for (const imp of acc.config.imports ?? []) this.addImport(acc, imp);
    }
  }

  /**
   * Operator mode: an account whose JWT was resolved after start. Its exporters are added first
   * (the imports are wired here, against them).
   */
  add(name: string, config: AccountOptions): Account {
    const acc = new Account(name, new Router(name), config);
    acc.router.onAutoUnsubscribe = this.global.router.onAutoUnsubscribe;
    this.accounts.set(name, acc);
    for (const imp of config.imports ?? []) this.addImport(acc, imp);
    return acc;
  }

  /**
   * Operator mode, a claims update: the account's exports and imports are now `exports` and
   * `imports` (already checked against their exporters); the old imports are unwired first.
   */
  rewire(acc: Account, exports: AccountOptions["exports"], imports: ImportOption[]): void {
    for (const undo of acc.importWiring.splice(0)) undo();
    acc.config.exports = exports ?? [];
    acc.config.imports = imports;
    for (const imp of imports) this.addImport(acc, imp);
  }

  /** A config reload: who is in which account now (user name or nkey → account name). */
  setUsers(users: Map<string, string>): void {
    this.users.clear();
    for (const [u, name] of users) this.users.set(u, this.accounts.get(name) ?? this.global);
  }

  /** The account a user (by name or nkey) belongs to; $G for anyone else. */
  forUser(name: string): Account {
    return this.users.get(name) ?? this.global;
  }

  get(name: string): Account | undefined {
    return this.accounts.get(name);
  }

  /** A client's CONNECT was accepted. */
  connected(c: CountedClient): Account | undefined {
    return this.accounts.get(c.account);
  }

  /** A connected client is gone (and no longer in the server's list): its traffic joins its account's totals. */
  closed(c: CountedClient, reason: string): Account | undefined {
    const a = this.accounts.get(c.account);
    if (a === undefined) return undefined;
    a.closed.inMsgs += c.inMsgs;
    a.closed.inBytes += c.inBytes;
    a.closed.outMsgs += c.outMsgs;
    a.closed.outBytes += c.outBytes;
    if (reason.startsWith("Slow Consumer")) a.slowConsumers++;
    return a;
  }

  private addImport(importer: Account, imp: ImportOption): void {
    const ref = imp.stream ?? imp.service;
    if (ref === undefined) return;
    const exporter = this.accounts.get(ref.account);
    if (exporter === undefined) return;
    // Routers carry subjects in wire form (see protocol/subject.ts); so do the mappings.
    const subject = toWire(ref.subject);
    if (imp.stream !== undefined) {
      const local = imp.to !== undefined ? subjectMapper(subject, toWire(imp.to)) : null;
      const prefix = imp.prefix !== undefined && imp.prefix !== "" ? `${toWire(imp.prefix)}.` : "";
      const map = local !== null ? (s: string) => prefix + local(s) : prefix === "" ? null : (s: string) => prefix + s;
      const bridge = new StreamImportBridge(exporter.router, importer.router, map, this);
      const sub = new Subscription(bridge, subject, "", `import:${importer.name}`);
      exporter.router.subscribe(sub);
      // A subscriber appearing in the importer is interest in the exporter (bridge.wants): a
      // push consumer there waiting for one is told to look again.
      const stop = importer.router.addInterestListener((sub, delta) => {
        if (delta > 0 && !(sub.client instanceof StreamImportBridge)) exporter.router.pokeWatchers(subject);
      });
      importer.importWiring.push(() => {
        exporter.router.unsubscribe(sub);
        stop();
      });
    } else {
      const local = toWire(imp.to ?? ref.subject);
      const exp = findExport(exporter.config, "service", ref.subject, importer.name);
      const bridge = new ServiceImportBridge(importer, exporter, subjectMapper(local, subject), exp?.responseType ?? "singleton",
        exp?.responseThreshold ?? RESPONSE_THRESHOLD_MS, this);
      const sub = new Subscription(bridge, local, "", `import:${exporter.name}`);
      importer.router.subscribe(sub);
      importer.importWiring.push(() => importer.router.unsubscribe(sub));
    }
  }

  close(): void {
    for (const a of this.accounts.values()) a.close();
  }
}

/** A connection as account statistics see it. */
export interface CountedClient {
  readonly account: string;
  readonly connected: boolean;
  readonly inMsgs: number;
  readonly inBytes: number;
  readonly outMsgs: number;
  readonly outBytes: number;
}

/**
 * nats-server's AccountStat (as 2.9 marshals it in account_connections events): connections,
 * and what the account's clients sent ("received" by the server) and were delivered ("sent").
 */
export function accountStat(a: Account, clients: Iterable<CountedClient>): Record<string, unknown> {
  const t = { ...a.closed };
  // Counted from the clients themselves, so a client a later CONNECT moved is counted where it is.
  let conns = 0;
  for (const c of clients) {
    if (c.account !== a.name || !c.connected) continue;
    conns++;
    t.inMsgs += c.inMsgs;
    t.inBytes += c.inBytes;
    t.outMsgs += c.outMsgs;
    t.outBytes += c.outBytes;
  }
  return {
    acc: a.name, conns, leafnodes: 0, total_conns: conns,
    sent: { msgs: t.outMsgs, bytes: t.outBytes },
    received: { msgs: t.inMsgs, bytes: t.inBytes },
    slow_consumers: a.slowConsumers,
  };
}
