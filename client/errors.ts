// Tested by test/client/usage.test.ts.
// The client's two kinds of failure: a usage error (exit 2) and everything else (exit 1). Both
// reach the user as one line, `gnat: <message>`, on stderr.

/** A bad command line: unknown option, missing argument, bad value. Exit 2. */
export class UsageError extends Error {}

/** A failure the user can act on (no server, auth refused, no responders). Exit 1. */
export class ClientError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** One line from a nats.js error: its message, without the stack and its cause chain's repeats. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : "";
  const msg = err.message || err.name;
  return (cause !== "" && !msg.includes(cause) ? `${msg}: ${cause}` : msg).replace(/\s*\n\s*/g, " ");
}
