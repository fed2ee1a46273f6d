// Tested by test/server/cli.test.ts.
// Logging through pino: one JSON line per event; human-readable when stderr is a terminal.
// Hot paths check `log.isLevelEnabled(...)` (or a flag taken from it) before building a message,
// so disabled levels cost nothing.
import { pino, type Logger } from "pino";
import { createRequire } from "node:module";
import type PinoPretty from "pino-pretty";
import type { ServerOptions } from "../options.js";

export type { Logger };

interface Destination {
  write(s: string): unknown;
  flush?: (cb?: (err?: Error) => void) => unknown;
  flushSync?: () => unknown;
  reopen?: () => unknown;
  end?: () => unknown;
}

/**
 * Where a server's log lines go, switchable while it runs: a config reload may change the log
 * file (or debug/trace), and SIGUSR1 reopens the file after rotation, without a new Logger
 * (every connection holds the one it was given).
 */
export class LogSink {
  private dest: Destination;

  constructor(private file: string) {
    this.dest = openDestination(file);
  }

  get logFile(): string {
    return this.file;
  }

  write(s: string): void {
    this.dest.write(s);
  }

  flush(cb?: (err?: Error) => void): void {
    if (this.dest.flush) this.dest.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.dest.flushSync?.();
  }

  /** Log to `file` from now on ("" for stderr). */
  setFile(file: string): void {
    if (file === this.file) return;
    const old = this.dest;
    this.dest = openDestination(file);
    this.file = file;
    if (old !== stderrDestination) old.end?.();
  }

  /** Reopen the log file (it was rotated). False when logging to stderr, as nothing is reopened. */
  reopen(): boolean {
    if (this.file === "") return false;
    this.dest.reopen?.();
    return true;
  }
}

let stderrDestination: Destination | null = null;

function openDestination(file: string): Destination {
  if (file) return pino.destination({ dest: file, sync: true, mkdir: true });
  if (process.stderr.isTTY) {
    // Synchronous and in-process: no worker thread, nothing lost at exit. Read only for a
    // terminal: it is forty files a server logging to a pipe or a file never needs.
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
    return pretty({ sync: true, destination: 2, colorize: true, ignore: "pid,hostname", translateTime: "SYS:HH:MM:ss.l" });
  }
  stderrDestination ??= pino.destination({ fd: 2, sync: true });
  return stderrDestination;
}

/** The pino level the options ask for. */
export function logLevel(o: ServerOptions): pino.LevelWithSilent {
  return o.noLog ? "silent" : o.trace ? "trace" : o.debug ? "debug" : "info";
}

/** A server's logger, and the sink behind it (null for an embedder's logger or no logging). */
export function openLog(o: ServerOptions): { log: Logger; sink: LogSink | null } {
  if (o.logger) return { log: o.logger, sink: null };
  const level = logLevel(o);
  if (o.noLog) return { log: pino({ level }), sink: null };
  const sink = new LogSink(o.logFile);
  return { log: pino({ level, base: { pid: process.pid } }, sink), sink };
}

export function createLogger(o: ServerOptions): Logger {
  return openLog(o).log;
}
