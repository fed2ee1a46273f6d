// The gnat command as a server (cli.ts hands over every command line that is not a client
// command): flags and config file → options → startServer; signals stop it cleanly, reload its
// config file (SIGHUP), reopen its log file (SIGUSR1) or put it in lame duck mode (SIGUSR2);
// --signal sends those to a running gnat.
import { ConfigError } from "../config/index.js";
import { CLIENT_USAGE } from "./client-commands.js";
import { buildOptions, displayName, parseArgs, programName, tlsUsage, usage, UsageError, type ParsedArgs } from "./flags.js";
import { GNAT_VERSION, SERVER_VERSION, startServer, type Server } from "../server.js";
import type { ServerOptions } from "../options.js";
import { processSignal } from "./signal.js";

/** Runs the server the command line describes: an exit code, or -1 while it serves. */
export async function serve(): Promise<number> {
  const invoked = programName(process.argv[1]);
  const program = displayName(invoked);
  let parsed: ParsedArgs;
  let built: { options: ServerOptions; warnings: string[] };
  try {
    parsed = parseArgs(process.argv.slice(2));
    if (parsed.state.help) {
      process.stdout.write(`${usage(program)}\n\n${CLIENT_USAGE}\n`);
      return 0;
    }
    if (parsed.state.helpTls) {
      process.stdout.write(tlsUsage());
      return 0;
    }
    if (parsed.state.version) {
      process.stdout.write(`gnat: v${GNAT_VERSION} (NATS protocol ${SERVER_VERSION} compatible)\n`);
      return 0;
    }
    if (parsed.state.signal !== "") {
      // As nats-server: the signal is sent before any config file is read, then we exit.
      processSignal(parsed.state.signal, program);
      return 0;
    }
    built = buildOptions(parsed, invoked);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program}: ${err.message}\nSee '${program} --help'.\n`);
      return 1;
    }
    if (err instanceof ConfigError || err instanceof Error) {
      process.stderr.write(`${program}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (parsed.state.testConfig) {
    for (const w of built.warnings) process.stderr.write(`${program}: warning: ${w}\n`);
    process.stdout.write(`${program}: configuration file ${parsed.state.configFile || "(none)"} test is successful\n`);
    return 0;
  }

  // Handlers go in before the server starts: a harness may signal as soon as the ports file
  // (written while starting) appears.
  let server: Server | null = null;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    if (server === null) return; // still starting: stopped right after it is up
    server.log.info(`Trapped "${signal}" signal`);
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGINT", () => stop("interrupt"));
  process.on("SIGTERM", () => {
    // nats-server lets a lame duck shutdown finish rather than cut it short.
    if (server?.inLameDuckMode === true) server.log.info(`Trapped "terminated" signal`);
    else stop("terminated");
  });
  process.on("SIGHUP", () => {
    if (server === null || stopping) return;
    server.log.info(`Trapped "hangup" signal`);
    try {
      server.reload();
    } catch (err) {
      server.log.error(`Failed to reload server configuration: ${(err as Error).message}`);
    }
  });
  process.on("SIGUSR1", () => {
    if (server === null || stopping) return;
    server.log.info(`Trapped "user defined signal 1" signal`);
    server.reopenLogFile();
  });
  process.on("SIGUSR2", () => {
    if (server === null || stopping) return;
    server.log.info(`Trapped "user defined signal 2" signal`);
    server.lameDuck().then(() => process.exit(0), () => process.exit(1));
  });
  process.on("uncaughtException", (err) => {
    if (server) server.log.fatal({ err }, "uncaught exception");
    else process.stderr.write(`${program}: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });

  try {
    server = await startServer(built.options);
  } catch (err) {
    process.stderr.write(`${program}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const w of built.warnings) server.log.warn(w);
  if (parsed.state.configFile) {
    // A reload reads the file again, with the command-line flags over it, as at start-up.
    const p = parsed;
    server.configLoader = () => {
      const again = buildOptions(p, invoked);
      for (const w of again.warnings) server?.log.warn(w);
      return again.options;
    };
  }
  if (stopping) {
    await server.close();
    return 0;
  }
  return -1;
}
