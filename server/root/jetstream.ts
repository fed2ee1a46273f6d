// Tested by test/jetstream/*.test.ts and test/server/startup.test.ts.
// JetStream's start and stop for every account: its modules are read only when JetStream is
// configured (forty files a server without it never needs), the store dir is locked before
// anything is read from it, each account's JetStream is started (or its "not enabled" answer),
// and at shutdown they are stopped before the lock is let go. Part of the composition root.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Account, AccountRegistry } from "../accounts/accounts.js";
import type { JetStreamHost } from "../accounts/jetstream.js";
import type { JetStreamOptions } from "../jetstream/jetstream.js";
import type { StoreLock } from "../jetstream/store-lock.js";
import type { ServerOptions } from "../options.js";

/** What every account's JetStream is started from. */
export interface JetStreamSource {
  readonly options: ServerOptions;
  readonly serverName: string;
  readonly log: Logger;
  /** Write what connections have queued now (a consumer's early flush). */
  flushOutbound(): void;
  /** The client a JetStream API request came from, as advisories describe it. */
  clientInfo(cid: number): Record<string, unknown> | null;
}

/** Where JetStream keeps its files: <storeDir>/jetstream/<account>/streams/<stream>. */
export function storeDirOf(o: ServerOptions): string {
  return o.storeDir || join(tmpdir(), "nats");
}

type AccountJetStreamModule = typeof import("../accounts/jetstream.js");

export class JetStreamBoot implements JetStreamHost {
  private module: AccountJetStreamModule | null = null;
  private lock: StoreLock | null = null;
  private stopped: Promise<void> | null = null;

  constructor(private readonly s: JetStreamSource) {}

  get log(): Logger {
    return this.s.log;
  }

  /** JetStreamHost.jetStreamOptions: the settings every account's JetStream starts from. */
  jetStreamOptions(): JetStreamOptions {
    const s = this.s;
    const o = s.options;
    return {
      storeDir: storeDirOf(o),
      maxMemory: o.maxMemoryStore,
      maxStore: o.maxFileStore,
      syncIntervalMs: o.syncInterval,
      syncAlways: o.syncAlways,
      serverName: s.serverName,
      ...(o.jetStreamDomain !== "" ? { domain: o.jetStreamDomain } : {}),
      flushOutbound: () => s.flushOutbound(),
      log: s.log,
      clientInfo: (cid) => s.clientInfo(cid) as ReturnType<NonNullable<JetStreamOptions["clientInfo"]>>,
    };
  }

  /**
   * Read JetStream's modules and lock `storeDir`: one server per store dir, before anything is
   * read from it (store-lock.ts). A second server gets StoreLockedError here.
   */
  async open(storeDir: string): Promise<void> {
    const [lock, js] = await Promise.all([import("../jetstream/store-lock.js"), import("../accounts/jetstream.js")]);
    this.lock = await lock.lockStoreDir(storeDir);
    this.module = js;
  }

  /** Every account's JetStream (after open(); nothing without it). */
  startAll(registry: AccountRegistry): void {
    this.module?.startAccountJetStreams(this, registry);
  }

  /** One account's, resolved after start-up (operator mode). Before open(), startAll covers it. */
  startAccount(acc: Account): void {
    this.module?.startAccountJetStream(this, acc);
  }

  /** Restarts under way, by account: one after another. */
  private readonly restarts = new Map<Account, Promise<void>>();

  /**
   * Operator mode: an account's JetStream as its JWT now says: new limits taken in place, or
   * stopped and started (it was enabled or disabled); `deleted`: stopped, answering "not enabled".
   * Resolves when done.
   */
  restartAccount(acc: Account, deleted = false): Promise<void> {
    const mod = this.module;
    if (mod === null || this.stopped !== null) return Promise.resolve();
    const prev = this.restarts.get(acc) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.stopped !== null) return;
      // Still granted, only other limits: taken in place.
      if (!deleted && mod.updateAccountJetStreamLimits(this, acc)) return;
      await mod.stopAccountJetStream(acc, deleted);
      if (!deleted && this.stopped === null) mod.startAccountJetStream(this, acc);
    }).catch((err: unknown) => this.s.log.error({ account: acc.name, err }, "account JetStream restart failed"));
    this.restarts.set(acc, next);
    void next.finally(() => {
      if (this.restarts.get(acc) === next) this.restarts.delete(acc);
    });
    return next;
  }

  /** Stop every account's JetStream; once (lame duck mode does it before the clients go, close() after). */
  stop(registry: AccountRegistry): Promise<void> {
    this.stopped ??= (async () => {
      await Promise.all(this.restarts.values());
      for (const a of registry.accounts.values()) {
        const js = a.jetstream;
        if (js === null) continue;
        await js.close();
        js.ic.close();
      }
    })();
    return this.stopped;
  }

  /** Let the store dir go (after stop()): another server may open it from now on. */
  async release(): Promise<void> {
    await this.lock?.release();
    this.lock = null;
  }
}
