// gnat sub SUBJECT: natscli's `nats sub`. "Subscribing on …" goes to stderr once the server has
// the subscription, so a script (or a test) can wait for it before publishing.
import type { Command } from "commander";
import { connectionOptions, connectWith, type ConnectionFlags } from "../connect.js";
import { parseCount } from "../duration.js";
import { formatMsg } from "./common.js";

interface SubFlags extends ConnectionFlags {
  queue?: string;
  count?: string;
  raw?: boolean;
  headersOnly?: boolean;
}

export function subCommand(program: Command): void {
  connectionOptions(program.command("sub")
    .description("subscribe to a subject and print the messages")
    .argument("<subject>", "subject (wildcards allowed)")
    .option("--queue <group>", "join this queue group")
    .option("--count <n>", "exit after this many messages")
    .option("-r, --raw", "print the bodies only")
    .option("--headers-only", "print the headers only"))
    .action(async (subject: string, flags: SubFlags) => {
      const count = flags.count === undefined ? 0 : parseCount(flags.count, "--count");
      const { nc } = await connectWith(flags);
      const sub = nc.subscribe(subject, {
        ...(flags.queue === undefined ? {} : { queue: flags.queue }),
        ...(count === 0 ? {} : { max: count }),
      });
      await nc.flush();
      process.stderr.write(`Subscribing on ${subject}${flags.queue === undefined ? "" : ` in group ${flags.queue}`}\n`);
      const stop = (): void => void nc.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      let n = 0;
      for await (const m of sub) {
        n++;
        process.stdout.write(formatMsg(m, n, { raw: flags.raw === true, headersOnly: flags.headersOnly === true }));
      }
      await nc.close();
    });
}
