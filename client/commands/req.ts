// Tested by test/client/commands.test.ts.
// gnat req SUBJECT [BODY]: natscli's `nats request`. The reply's body goes to stdout; unlike
// natscli, no responders (and a timeout) is an error, exit 1, so a script can tell.
import type { Command } from "commander";
import { connectionOptions, connectWith, timeoutMs, type ConnectionFlags } from "../connect.js";
import { formatDuration, parseCount } from "../duration.js";
import { ClientError } from "../errors.js";
import { hasTemplate, render } from "../template.js";
import { bodyOrStdin, buildHeaders, collect, formatMsg } from "./common.js";
import { io } from "../io.js";

interface ReqFlags extends ConnectionFlags {
  header?: string[];
  replies: string;
  raw?: boolean;
}

export function reqCommand(program: Command): void {
  connectionOptions(program.command("request").alias("req")
    .description("send a request and print the reply (or, with --replies, several)")
    .argument("<subject>", "subject to send the request to")
    .argument("[body]", "request body (templates as pub; stdin when absent and not a terminal)")
    .option("-H, --header <key:value>", "add a header (repeatable)", collect)
    .option("--replies <n>", "wait for this many replies (0: all that come within --timeout)", "1")
    .option("-r, --raw", "print the reply bodies only"))
    .action(async (subject: string, body: string | undefined, flags: ReqFlags) => {
      const replies = parseCount(flags.replies, "--replies", 0);
      const timeout = timeoutMs(flags);
      const text = await bodyOrStdin(body);
      const payload = hasTemplate(text) ? render(text, { count: 1 }) : text;
      const headers = await buildHeaders(flags.header ?? [], 1);
      const { nc } = await connectWith(flags);
      const nats = await import("@nats-io/transport-node");
      const started = performance.now();
      const show = (m: import("@nats-io/transport-node").Msg, n: number): void => {
        io().stderr.write(`Received with rtt ${formatDuration(performance.now() - started)}\n`);
        io().stdout.write(flags.raw === true ? `${m.string()}\n` : formatMsg(m, n, { raw: !m.headers }));
      };
      try {
        if (replies === 1) {
          const m = await nc.request(subject, payload, { timeout: Math.round(timeout), ...(headers === undefined ? {} : { headers }) });
          show(m, 1);
        } else {
          const it = await nc.requestMany(subject, payload, {
            maxWait: Math.round(timeout),
            // "count" stops at the n-th reply; "timer" takes all that come within the timeout.
            ...(replies === 0 ? { strategy: "timer" as const } : { strategy: "count" as const, maxMessages: replies }),
            ...(headers === undefined ? {} : { headers }),
          });
          let n = 0;
          for await (const m of it) {
            // A 503 status message in the stream is the server saying nobody listens.
            if (m.headers?.hasError === true && m.headers.code === 503) throw new nats.NoRespondersError(subject);
            show(m, ++n);
          }
          if (n === 0) throw new ClientError(`no reply on "${subject}" within ${flags.timeout}`);
        }
      } catch (err) {
        if (err instanceof nats.NoRespondersError || (err instanceof nats.errors.RequestError && err.isNoResponders())) throw new ClientError(`no responders available for request on "${subject}"`);
        if (err instanceof nats.TimeoutError) throw new ClientError(`no reply on "${subject}" within ${flags.timeout}`);
        throw err;
      } finally {
        await nc.close();
      }
    });
}
