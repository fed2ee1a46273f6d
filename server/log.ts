// Logging through pino: JSON lines, pretty when stderr is a terminal. Levels are checked by
// callers on hot paths (`if (log.isLevelEnabled("trace"))`) so disabled levels cost nothing.
import { pino, type Logger } from "pino";
import type { ServerOptions } from "./options.js";

export type { Logger };

export function createLogger(o: ServerOptions): Logger {
  if (o.logger) return o.logger;
  const level = o.noLog ? "silent" : o.trace ? "trace" : o.debug ? "debug" : "info";
  if (o.noLog) return pino({ level });
  if (o.logFile) return pino({ level }, pino.destination({ dest: o.logFile, sync: false, mkdir: true }));
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}
