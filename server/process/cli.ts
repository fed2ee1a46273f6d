#!/usr/bin/env node
// The gnat command. A client command (`gnat pub …`, client-commands.ts) never loads the server:
// serve.ts, and with it the whole server, is imported only to run one. Tested by
// test/server/cli.test.ts and test/client/usage.test.ts.
import { isClientCommand, runClientCommand } from "./client-commands.js";

async function main(): Promise<number> {
  if (isClientCommand(process.argv[2])) return runClientCommand(process.argv.slice(2));
  const { serve } = await import("./serve.js");
  return serve();
}

main().then((code) => {
  if (code >= 0) process.exit(code);
}, (err: unknown) => {
  process.stderr.write(`gnat: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
