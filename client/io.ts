// Tested by test/client/*.test.ts (which run the commands in-process) and test/client/usage.test.ts
// (the bin, as a process).
// What a client command reads and writes outside itself: stdout, stderr, stdin, the environment,
// its exit code and the signals that stop it. The bin runs a command on the process's own
// (processIO); a test runs many commands in one process, each on streams of its own, without
// starting Node for each. The commands ask io() rather than `process`: one run's io follows its
// async calls (AsyncLocalStorage), so two commands running at once never share a stream.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Readable, Writable } from "node:stream";

/** A writable end that may be a terminal (process.stdout is a tty.WriteStream then). */
export type Output = Writable & { isTTY?: boolean; columns?: number; rows?: number };
/** A readable end that may be a terminal (setRawMode only then). */
export type Input = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

export interface ClientIO {
  stdout: Output;
  stderr: Output;
  stdin: Input;
  env: NodeJS.ProcessEnv;
  /** Set by a command that ends with a code of its own (the checks: Nagios's 0/1/2). */
  exitCode: number | undefined;
  /** Calls `stop` on SIGINT or SIGTERM (an interrupt); the returned function stops listening. */
  onInterrupt(stop: () => void): () => void;
}

/** The process's own streams, environment and signals: what the bin runs a command on. */
export function processIO(): ClientIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    get exitCode() {
      return typeof process.exitCode === "number" ? process.exitCode : undefined;
    },
    set exitCode(code: number | undefined) {
      process.exitCode = code;
    },
    onInterrupt(stop) {
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      return () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      };
    },
  };
}

const current = new AsyncLocalStorage<ClientIO>();
let fallback: ClientIO | undefined;

/** The io of the command running (the process's when none was given). */
export function io(): ClientIO {
  return current.getStore() ?? (fallback ??= processIO());
}

/** Run `fn` with `cio` as what io() returns, in it and in everything it starts. */
export function withIO<T>(cio: ClientIO, fn: () => Promise<T>): Promise<T> {
  return current.run(cio, fn);
}
