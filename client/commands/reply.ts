// Tested by test/client/commands.test.ts.
// gnat reply SUBJECT [BODY]: natscli's `nats reply`, answering each request with BODY (templates
// as pub, and {{ Request }} for the request's body) or with what --command prints, the request
// body on its stdin. Like natscli it joins the queue group NATS-RPLY-22, so several repliers
// share the load.
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { connectionOptions, connectWith, type ConnectionFlags } from "../connect.js";
import { parseCount, parseDuration } from "../duration.js";
import { UsageError } from "../errors.js";
import { render } from "../template.js";
import { buildHeaders, collect, sleep } from "./common.js";
import { io } from "../io.js";

interface ReplyFlags extends ConnectionFlags {
  queue: string;
  count?: string;
  command?: string;
  echo?: boolean;
  sleep?: string;
  header?: string[];
}

function runCommand(command: string, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Its stderr is gnat's (passed on, so it goes wherever the command's own stderr goes).
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], env: io().env });
    const out: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => io().stderr.write(d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) io().stderr.write(`gnat: command exited with status ${code}\n`);
      resolve(Buffer.concat(out));
    });
    child.stdin.on("error", () => { /* the command need not read its input */ });
    child.stdin.end(input);
  });
}

export function replyCommand(program: Command): void {
  connectionOptions(program.command("reply")
    .description("answer requests on a subject with BODY, the request itself (--echo) or a command's output (--command)")
    .argument("<subject>", "subject to answer on")
    .argument("[body]", "reply body (templates: {{ Count }}, {{ Request }}, {{ TimeStamp }} …)")
    .option("--queue <group>", "queue group to join", "NATS-RPLY-22")
    .option("--count <n>", "exit after answering this many requests")
    .option("--command <cmd>", "run this shell command for each request and reply with its output")
    .option("--echo", "reply with the request's body and headers")
    .option("--sleep <duration>", "wait this long before each reply")
    .option("-H, --header <key:value>", "add a header to each reply (repeatable)", collect))
    .action(async (subject: string, body: string | undefined, flags: ReplyFlags) => {
      const count = flags.count === undefined ? 0 : parseCount(flags.count, "--count");
      const pause = flags.sleep === undefined ? 0 : parseDuration(flags.sleep, "--sleep");
      if (body === undefined && flags.command === undefined && flags.echo !== true) throw new UsageError("nothing to reply with: give a BODY, --echo or --command");
      const { nc } = await connectWith(flags);
      const sub = nc.subscribe(subject, { queue: flags.queue, ...(count === 0 ? {} : { max: count }) });
      await nc.flush();
      io().stderr.write(`Listening on "${subject}" in group "${flags.queue}"\n`);
      const stop = (): void => void nc.close();
      io().onInterrupt(stop);
      let n = 0;
      for await (const m of sub) {
        n++;
        io().stderr.write(`[#${n}] Received on subject "${m.subject}"\n`);
        if (pause > 0) await sleep(pause);
        let data: Uint8Array | string;
        if (flags.command !== undefined) data = await runCommand(render(flags.command, { count: n, request: m.string() }), Buffer.from(m.data));
        else if (flags.echo === true) data = m.data;
        else data = render(body ?? "", { count: n, request: m.string() });
        const headers = flags.echo === true ? m.headers : await buildHeaders(flags.header ?? [], n);
        m.respond(data, headers === undefined ? undefined : { headers });
      }
      // Stopped by a signal, the connection is closed already: nothing to flush.
      if (!nc.isClosed()) {
        await nc.flush();
        await nc.close();
      }
    });
}
