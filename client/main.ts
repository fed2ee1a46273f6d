// Tested by test/client/usage.test.ts.
// The gnat command as a NATS client: `gnat pub|sub|req|reply|bench|top|server|context …`, natscli's
// commands and flags on the official nats.js client. The server's cli.ts hands over when the
// first argument names one of these, so a server start never loads this module or its packages.
import { Command, CommanderError } from "commander";
import { benchCommand } from "./commands/bench.js";
import { consumerCommand } from "./commands/consumer.js";
import { contextCommand } from "./commands/context.js";
import { kvCommand } from "./commands/kv.js";
import { objCommand } from "./commands/obj.js";
import { pubCommand } from "./commands/pub.js";
import { replyCommand } from "./commands/reply.js";
import { reqCommand } from "./commands/req.js";
import { serverCommand } from "./commands/server.js";
import { streamCommand } from "./commands/stream.js";
import { subCommand } from "./commands/sub.js";
import { topCommand } from "./commands/top.js";
import { ClientError, describeError, UsageError } from "./errors.js";
import { io, withIO, type ClientIO } from "./io.js";

function program(): Command {
  const p = new Command("gnat")
    .description("gnat as a NATS client (natscli's commands); without a command, gnat is the server")
    .exitOverride()
    .configureOutput({
      writeOut: (str) => io().stdout.write(str),
      writeErr: (str) => io().stderr.write(str),
      // commander's own choice (a terminal's width, else 80), made on the command's streams.
      getOutHelpWidth: () => (io().stdout.isTTY === true ? io().stdout.columns : undefined) ?? 80,
      getErrHelpWidth: () => (io().stderr.isTTY === true ? io().stderr.columns : undefined) ?? 80,
      // commander's errors ("error: unknown option '--x'\n(Did you mean --y?)") become one line.
      outputError: (str, write) => write(`gnat: ${str.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")}\n`),
    })
    .showSuggestionAfterError(true);
  pubCommand(p);
  subCommand(p);
  reqCommand(p);
  replyCommand(p);
  benchCommand(p);
  topCommand(p);
  serverCommand(p);
  streamCommand(p);
  consumerCommand(p);
  kvCommand(p);
  objCommand(p);
  contextCommand(p);
  // A group with no subcommand named: say what is missing, in one line, as a usage error.
  for (const group of p.commands.filter((c) => c.commands.length > 0)) {
    for (const cmd of [group, ...group.commands.filter((c) => c.commands.length > 0)]) {
      cmd.allowExcessArguments(true).action(() => {
        const names = cmd.commands.map((c) => c.name()).join(", ");
        const given = cmd.args[0];
        throw new UsageError(given === undefined
          ? `${commandPath(cmd)}: missing subcommand (${names}); see 'gnat ${commandPath(cmd)} --help'`
          : `${commandPath(cmd)}: unknown subcommand '${given}' (${names})`);
      });
    }
  }
  return p;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Run a client command; resolves to the exit code (0 OK, 1 failure, 2 usage; check: Nagios's).
 * On the process's stdout, stderr, stdin, environment and signals unless `cio` gives others.
 */
export function runClient(argv: string[], cio?: ClientIO): Promise<number> {
  return cio === undefined ? run(argv) : withIO(cio, () => run(argv));
}

async function run(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return io().exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander refuses is a usage error
      // (it already printed the message).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      io().stderr.write(`gnat: ${err.message}\n`);
      return 2;
    }
    io().stderr.write(`gnat: ${describeError(err)}\n`);
    return err instanceof ClientError ? err.exitCode : 1;
  }
}
