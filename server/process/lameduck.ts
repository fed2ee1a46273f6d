// Lame duck mode, as nats-server runs it: stop accepting clients, tell the connected ones (an
// INFO with "ldm":true, so they reconnect elsewhere), wait the grace period, then close them
// spread over the rest of the lame duck duration (so they do not all reconnect at once), then
// shut down.
import type { Logger } from "pino";
import type { ClientConnection } from "../core/connection.js";
import type { ServerOptions } from "../options.js";

export interface LameDuckHost {
  readonly options: ServerOptions;
  readonly log: Logger;
  readonly clients: Map<number, ClientConnection>;
  /** Close the client listeners (TCP and WebSocket); connected clients stay. */
  stopListening(): void;
  /** Shut JetStream down (its state flushed) before clients go. */
  stopJetStream(): Promise<void>;
  /** This client's INFO with "ldm":true. */
  ldmInfo(c: ClientConnection): Buffer;
  /** The shutdown that ends it all (idempotent). */
  close(): Promise<void>;
  /** Wait `ms`, or less if the server is shut down meanwhile; true if it was. */
  sleep(ms: number): Promise<boolean>;
}

/** Lame duck mode from start to the end of the shutdown. */
export async function runLameDuck(host: LameDuckHost): Promise<void> {
  const { log, options } = host;
  log.info("Entering lame duck mode, stop accepting new clients");
  host.stopListening();
  await host.stopJetStream();
  if (host.clients.size === 0) return host.close();

  const grace = options.lameDuckGracePeriod;
  let spread = options.lameDuckDuration - grace;
  if (spread <= 0) spread = 1000;
  const clients = [...host.clients.values()];
  const n = clients.length;
  // nats-server's pacing: one client per interval (at most a second), or batches when the
  // interval would be under a millisecond.
  let interval = spread / n;
  let batch = 1;
  if (interval < 1) {
    interval = 1;
    batch = Math.max(1, Math.floor(n / spread));
  } else if (interval > 1000) {
    interval = 1000;
  }

  for (const c of clients) {
    if (c.closed || !c.connected || c.opts.protocol < 1) continue;
    c.queue(host.ldmInfo(c));
  }
  if (await host.sleep(grace)) return;
  log.info("Closing existing clients");
  for (let i = 0; i < n; i++) {
    clients[i]!.close("Server Shutdown", true);
    if (i === n - 1) break;
    if (batch === 1 || i % batch === 0) {
      // At least half the interval, at random: reconnects spread out.
      const wait = Math.max(interval / 2, Math.random() * interval);
      if (await host.sleep(wait)) return;
    }
  }
  return host.close();
}

/** Waits that a shutdown cuts short (LameDuckHost.sleep). */
export class Sleepers {
  private readonly waiting = new Set<() => void>();

  /** Wait `ms`, or until wakeAll(); resolves with what `closed()` says then. */
  sleep(ms: number, closed: () => boolean): Promise<boolean> {
    if (closed()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.waiting.delete(wake);
        resolve(closed());
      };
      const t = setTimeout(wake, ms);
      this.waiting.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }
}
