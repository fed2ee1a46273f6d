#!/usr/bin/env node
// The build after tsc (`npm run build`): the bin made executable, the dashboard's files copied
// beside the monitor, and the server bundled.
//
// The bundle: dist/server/process/serve.js and every module of gnat's it imports, static or
// dynamic, in a few files under dist/server/process/bundle/ (esbuild, ES modules, split at the
// dynamic imports so a feature a config leaves out is still not read). A start then reads ~20
// files of gnat's instead of ~150: most of a start's CPU was Node resolving, reading and
// compiling modules one by one (bench/RESULTS.md, "Start-up"). Packages stay outside it, read
// from node_modules as before. cli.js imports the bundle where the build made one, else serve.js.
import { chmodSync, cpSync, rmSync } from "node:fs";
import { build } from "esbuild";

chmodSync("dist/server/process/cli.js", 0o755);
cpSync("server/monitor/dashboard", "dist/server/monitor/dashboard", { recursive: true });

const out = "dist/server/process/bundle";
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { serve: "dist/server/process/serve.js" },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
// The monitor finds its dashboard beside its own module, which is now in the bundle's folder.
cpSync("server/monitor/dashboard", `${out}/dashboard`, { recursive: true });
