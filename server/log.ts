// Logging through pino: one JSON line per event; human-readable when stderr is a terminal.
// Hot paths check `log.isLevelEnabled(...)` (or a flag taken from it) before building a message,
// so disabled levels cost nothing.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import type { ServerOptions } from "./options.js";

export type { Logger };

export function createLogger(o: ServerOptions): Logger {
  if (o.logger) return o.logger;
  const level = o.noLog ? "silent" : o.trace ? "trace" : o.debug ? "debug" : "info";
  const base = { level, base: { pid: process.pid } };
  if (o.noLog) return pino({ level });
  if (o.logFile) return pino(base, pino.destination({ dest: o.logFile, sync: true, mkdir: true }));
  if (process.stderr.isTTY) {
    // Synchronous and in-process: no worker thread, nothing lost at exit.
    return pino(base, pretty({ sync: true, destination: 2, colorize: true, ignore: "pid,hostname", translateTime: "SYS:HH:MM:ss.l" }));
  }
  return pino(base, pino.destination({ fd: 2, sync: true }));
}
