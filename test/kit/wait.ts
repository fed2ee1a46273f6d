// Waiting in tests: a polled predicate, a port that answers, an event with a deadline.
import type { ChildProcess } from "node:child_process";
import { once, type EventEmitter } from "node:events";
import { connect } from "node:net";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface UntilOptions {
  /** Give up after this long (ms, default 5000). */
  timeout?: number;
  /** Poll this often (ms, default 10). */
  interval?: number;
  /** What is waited for, for the error message. */
  what?: string;
}

/**
 * Poll `cond` until it returns something truthy, and return that; throws, naming `what`, after
 * `timeout`. A throwing `cond` counts as not yet.
 */
export async function until<T>(cond: () => T | Promise<T>, opts: UntilOptions = {}): Promise<NonNullable<T>> {
  const { timeout = 5000, interval = 10, what = "a condition" } = opts;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`);
    }
    await sleep(interval);
  }
}

/**
 * Poll `cond` until it is truthy or `timeout` has passed, and never throw: for a wait that an
 * assertion right after it checks (so the failure shows the assertion's values).
 */
export async function settle(cond: () => unknown, opts: Omit<UntilOptions, "what"> = {}): Promise<void> {
  await until(cond, opts).catch(() => {});
}

/**
 * Until something on 127.0.0.1:`port` accepts a connection and sends its first bytes (a NATS
 * server's INFO), or with `accepted` only accepts it (a TLS route port says nothing before a
 * handshake). With `child`, fails early (with `stderr()`) if that process exits.
 */
export async function waitForPort(port: number, opts: { timeout?: number; child?: ChildProcess; stderr?: () => string; name?: string; accepted?: boolean } = {}): Promise<void> {
  const { timeout = 5000, child, stderr = () => "", name = "server", accepted = false } = opts;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`${name} exited: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once(accepted ? "connect" : "data", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
      // Closed without a word (a TLS port that wanted a handshake first): not ready, try again.
      s.once("close", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}: ${stderr()}`);
    await sleep(20);
  }
}

/** The arguments of the next `name` event of `emitter`; rejects after `timeout` ms. */
export async function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, name: string, timeout = 5000): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeout);
  try {
    return (await once(emitter, name, { signal: ac.signal })) as T;
  } catch (e) {
    if (ac.signal.aborted) throw new Error(`timed out after ${timeout} ms waiting for event "${name}"`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
