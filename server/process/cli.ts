#!/usr/bin/env node
// The gnat command. A client command (`gnat pub …`, client-commands.ts) never loads the server:
// serve.ts, and with it the whole server, is imported only to run one. Tested by
// test/server/cli.test.ts, test/server/startup.test.ts and test/client/usage.test.ts.
import { existsSync } from "node:fs";
import module from "node:module";

// V8's compile cache (Node >= 22.1), on before the command's modules are read: a start then
// compiles only what changed since the last one (clients' test harnesses start a server per
// test and wait seconds at most). Node 20 has none: the call is skipped. The cache goes where
// Node puts it (the OS's temp dir, or NODE_COMPILE_CACHE); failing to use it only costs time.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

async function main(): Promise<number> {
  const { isClientCommand, runClientCommand } = await import("./client-commands.js");
  if (isClientCommand(process.argv[2])) return runClientCommand(process.argv.slice(2));
  // The build's bundle of the server (scripts/build.mjs) where there is one: a start reads a
  // few files instead of ~150 modules. The path is computed so that tsc leaves it alone.
  const bundle = new URL("./bundle/serve.js", import.meta.url);
  const { serve } = (existsSync(bundle) ? await import(bundle.href) : await import("./serve.js")) as typeof import("./serve.js");
  return serve();
}

main().then((code) => {
  if (code >= 0) process.exit(code);
}, (err: unknown) => {
  process.stderr.write(`gnat: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
