// Tested by test/client/commands.test.ts.
// gnat pub SUBJECT [BODY]: natscli's `nats pub`.
import type { Command } from "commander";
import { connectionOptions, connectWith, type ConnectionFlags } from "../connect.js";
import { parseCount, parseDuration } from "../duration.js";
import { hasTemplate, render } from "../template.js";
import { buildHeaders, bodyOrStdin, collect, sleep } from "./common.js";
import { io } from "../io.js";

interface PubFlags extends ConnectionFlags {
  count: string;
  sleep?: string;
  header?: string[];
  reply?: string;
  quiet?: boolean;
}

export function pubCommand(program: Command): void {
  connectionOptions(program.command("pub")
    .description("publish a message; BODY (or stdin when BODY is absent and stdin is not a terminal) may hold templates: {{ Count }}, {{ TimeStamp }}, {{ Random 10 100 }} …")
    .argument("<subject>", "subject to publish to")
    .argument("[body]", "message body")
    .option("--count <n>", "publish this many messages", "1")
    .option("--sleep <duration>", "pause between messages")
    .option("-H, --header <key:value>", "add a header (repeatable)", collect)
    .option("--reply <subject>", "reply subject to send with the message")
    .option("-q, --quiet", "print nothing on success"))
    .action(async (subject: string, body: string | undefined, flags: PubFlags) => {
      const count = parseCount(flags.count, "--count");
      const pause = flags.sleep === undefined ? 0 : parseDuration(flags.sleep, "--sleep");
      const text = await bodyOrStdin(body);
      const { nc } = await connectWith(flags);
      const templated = hasTemplate(text);
      try {
        for (let i = 1; i <= count; i++) {
          const payload = templated ? render(text, { count: i }) : text;
          const headers = await buildHeaders(flags.header ?? [], i);
          nc.publish(subject, payload, {
            ...(headers === undefined ? {} : { headers }),
            ...(flags.reply === undefined ? {} : { reply: flags.reply }),
          });
          if (flags.quiet !== true) io().stderr.write(`Published ${Buffer.byteLength(payload)} bytes to "${subject}"\n`);
          if (pause > 0 && i < count) {
            await nc.flush();
            await sleep(pause);
          }
        }
        await nc.flush();
      } finally {
        await nc.close();
      }
    });
}
