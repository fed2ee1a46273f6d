#!/usr/bin/env node
// npm start: build only when a source is newer than the build (a fresh start takes 0.2 s, a build
// several), then run gnat with npm start's defaults and the user's flags after them:
// `npm start -- -p 4333`. gnat reads flags as nats-server does, so a later flag wins.
// Runs in the package root (npm's working directory for scripts).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";

const DEFAULTS = ["-js", "-sd", "./data", "-m", "8222"];
const CLI = join("dist", "server", "process", "cli.js");
// Copied as is by the build.
const DASHBOARD = join("server", "monitor", "dashboard");

/** The newest mtime among the build's inputs: the .ts sources, the dashboard it copies, its config. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (p.endsWith(".ts") || p.startsWith(DASHBOARD))) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of ["protocol", "server", "bench"]) walk(dir);
  for (const f of ["tsconfig.json", "package.json"]) if (existsSync(f)) newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}

/** The build is stale when it is missing or older than a source (tsc rewrites cli.js every build). */
function buildIsStale() {
  return !existsSync(CLI) || statSync(CLI).mtimeMs < newestSource();
}

if (buildIsStale()) {
  const npm = process.env["npm_execpath"];
  const build = npm ? spawnSync(process.execPath, [npm, "run", "build"], { stdio: "inherit" }) : spawnSync("npm", ["run", "build"], { stdio: "inherit", shell: process.platform === "win32" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const child = spawn(process.execPath, [CLI, ...DEFAULTS, ...process.argv.slice(2)], { stdio: "inherit" });
// Signals sent to this process go on to gnat (stop, reload, reopen, lame duck). Ctrl-C reaches
// gnat from the terminal itself, so SIGINT is only kept from stopping this process first.
for (const sig of ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"]) process.on(sig, () => child.kill(sig));
process.on("SIGINT", () => {});
child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
