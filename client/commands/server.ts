// Tested by test/client/commands.test.ts (and test/client/usage.test.ts: passwd).
// gnat server info | ping | passwd | check connection (check stream|consumer|jetstream: check.ts): the parts of natscli's `nats server` that
// need no $SYS account. info prints the INFO the server sent this client.
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { connectionOptions, connectWith, natsOptions, type ConnectionFlags } from "../connect.js";
import { formatDuration, parseCount, parseDuration } from "../duration.js";
import { ClientError, describeError, UsageError } from "../errors.js";
import { jetstreamChecks } from "./check.js";
import { io } from "../io.js";

export function serverCommand(program: Command): void {
  const server = program.command("server").description("server information, ping, password hashing and health checks");

  connectionOptions(server.command("info")
    .description("print what the server says about itself when a client connects")
    .option("--json", "print the server's INFO as JSON"))
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      const { nc, url } = await connectWith(flags);
      const info = nc.info;
      await nc.close();
      if (info === undefined) throw new ClientError("the server sent no INFO");
      if (flags.json === true) {
        io().stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const i = info as unknown as Record<string, unknown>;
      const yes = (v: unknown): string => (v === true ? "yes" : "no");
      const rows: [string, unknown][] = [
        ["Server ID", i.server_id], ["Server name", i.server_name], ["Version", i.version],
        ["Protocol", i.proto], ["Go", i.go], ["Host", `${String(i.host)}:${String(i.port)}`],
        ["Max payload", `${String(i.max_payload)} bytes`], ["Headers", yes(i.headers)],
        ["JetStream", yes(i.jetstream)], ["Auth required", yes(i.auth_required)],
        ["TLS required", yes(i.tls_required)], ["Cluster", i.cluster], ["Client ID", i.client_id],
        ["Client IP", i.client_ip],
      ];
      const lines = [`Server information for ${url}`, ""];
      for (const [k, v] of rows) if (v !== undefined && v !== "") lines.push(`  ${`${k}:`.padEnd(15)} ${String(v)}`);
      const urls = i.connect_urls;
      if (Array.isArray(urls) && urls.length > 0) lines.push(`  ${"Connect URLs:".padEnd(15)} ${urls.join(", ")}`);
      io().stdout.write(`${lines.join("\n")}\n`);
    });

  connectionOptions(server.command("ping")
    .description("measure the round trip to the server (a PING answered by a PONG)")
    .option("--count <n>", "ping this many times", "1"))
    .action(async (flags: ConnectionFlags & { count: string }) => {
      const count = parseCount(flags.count, "--count");
      const { nc, url } = await connectWith(flags);
      const times: number[] = [];
      try {
        for (let i = 1; i <= count; i++) {
          const t0 = performance.now();
          await nc.flush();
          const ms = performance.now() - t0;
          times.push(ms);
          io().stdout.write(`${url}: rtt ${formatDuration(ms)}\n`);
        }
      } finally {
        await nc.close();
      }
      if (count > 1) {
        const avg = times.reduce((a, b) => a + b, 0) / times.length;
        io().stdout.write(`--- ${count} pings: min ${formatDuration(Math.min(...times))} avg ${formatDuration(avg)} max ${formatDuration(Math.max(...times))}\n`);
      }
    });

  server.command("passwd")
    .description("hash a password with bcrypt for a server config file (read twice from the terminal unless --pass)")
    .option("-p, --pass <password>", "the password to hash")
    .option("-g, --generate", "make up a strong password, print it on stderr and hash it")
    .option("--cost <n>", "bcrypt cost", "11")
    .action(async (flags: { pass?: string; generate?: boolean; cost: string }) => {
      const cost = parseCount(flags.cost, "--cost", 4);
      if (cost > 31) throw new UsageError(`invalid value "${flags.cost}" for --cost: expected 4 to 31`);
      let pass = flags.pass;
      if (flags.generate === true) {
        pass = randomBytes(24).toString("base64url");
        io().stderr.write(`Generated password: ${pass}\n`);
      }
      if (pass === undefined) pass = await readPassword();
      if (pass === "") throw new ClientError("the password is empty");
      const bcrypt = (await import("bcryptjs")).default;
      // Go's bcrypt (nats-server's) writes $2a$; bcryptjs writes $2b$. Same algorithm for any
      // password under 256 bytes, and either is accepted: print what nats-server users expect.
      io().stdout.write(`${bcrypt.hashSync(pass, cost).replace(/^\$2b\$/, "$2a$")}\n`);
    });

  const check = server.command("check").description("Nagios-style health checks (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)");
  connectionOptions(check.command("connection")
    .description("connect, measure the connect time, the round trip and a request, against thresholds")
    .option("--connect-warning <duration>", "warning threshold for the connect time", "500ms")
    .option("--connect-critical <duration>", "critical threshold for the connect time", "1s")
    .option("--rtt-warning <duration>", "warning threshold for the round trip", "500ms")
    .option("--rtt-critical <duration>", "critical threshold for the round trip", "1s")
    .option("--req-warning <duration>", "warning threshold for a request", "500ms")
    .option("--req-critical <duration>", "critical threshold for a request", "1s")
    // natscli's names for the warning thresholds.
    .option("--connect-warn <duration>", "the same as --connect-warning (natscli's name)")
    .option("--rtt-warn <duration>", "the same as --rtt-warning (natscli's name)")
    .option("--req-warn <duration>", "the same as --req-warning (natscli's name)"))
    .action(async (flags: CheckFlags & { connectWarn?: string; rttWarn?: string; reqWarn?: string }) => {
      flags.connectWarning = flags.connectWarn ?? flags.connectWarning;
      flags.rttWarning = flags.rttWarn ?? flags.rttWarning;
      flags.reqWarning = flags.reqWarn ?? flags.reqWarning;
      io().exitCode = await checkConnection(flags);
    });
  jetstreamChecks(check);
}

interface CheckFlags extends ConnectionFlags {
  connectWarning: string;
  connectCritical: string;
  rttWarning: string;
  rttCritical: string;
  reqWarning: string;
  reqCritical: string;
}

const withScheme = (hostPort: string): string => (hostPort.includes("://") ? hostPort : `nats://${hostPort}`);
const secs = (ms: number): string => (ms / 1000).toFixed(4);

async function checkConnection(flags: CheckFlags): Promise<number> {
  const th = {
    connect: [parseDuration(flags.connectWarning, "--connect-warning"), parseDuration(flags.connectCritical, "--connect-critical")] as const,
    rtt: [parseDuration(flags.rttWarning, "--rtt-warning"), parseDuration(flags.rttCritical, "--rtt-critical")] as const,
    req: [parseDuration(flags.reqWarning, "--req-warning"), parseDuration(flags.reqCritical, "--req-critical")] as const,
  };
  const crit: string[] = [];
  const warn: string[] = [];
  const ok: string[] = [];
  const perf: string[] = [];
  const judge = (value: number, [w, c]: readonly [number, number], label: string, text: string): void => {
    if (value > c) crit.push(`${text} > ${formatDuration(c)}`);
    else if (value > w) warn.push(`${text} > ${formatDuration(w)}`);
    else ok.push(text);
    perf.push(`${label}=${secs(value)}s;${secs(w)};${secs(c)}`);
  };
  const { url, options } = await natsOptions(flags);
  const nats = await import("@nats-io/transport-node");
  const t0 = performance.now();
  let nc: import("@nats-io/transport-node").NatsConnection;
  try {
    nc = await nats.connect(options);
  } catch (err) {
    io().stdout.write(`CRITICAL Connection CRIT:connection to ${url} failed: ${describeError(err).replace(/\|/g, "/")}\n`);
    return 2;
  }
  try {
    judge(performance.now() - t0, th.connect, "connect_time", `connected to ${withScheme(nc.getServer())} in ${formatDuration(performance.now() - t0)}`);
    const t1 = performance.now();
    await nc.flush();
    const rtt = performance.now() - t1;
    judge(rtt, th.rtt, "rtt", `rtt time ${formatDuration(rtt)}`);
    // A request to ourselves: the server routes a message out and back.
    const inbox = nats.createInbox();
    const sub = nc.subscribe(inbox, { max: 1, callback: (_e, m) => {
      m.respond(m.data);
    } });
    await nc.flush();
    const t2 = performance.now();
    try {
      await nc.request(inbox, "ping", { timeout: Math.max(1, Math.round(th.req[1] * 2 + 1000)) });
      const took = performance.now() - t2;
      judge(took, th.req, "request_time", `round trip took ${secs(took)}s`);
    } catch (err) {
      crit.push(`request failed: ${describeError(err)}`);
    }
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
  const status = crit.length > 0 ? "CRITICAL" : warn.length > 0 ? "WARNING" : "OK";
  const parts = [...crit.map((s) => `CRIT:${s}`), ...warn.map((s) => `WARN:${s}`), ...ok.map((s) => `OK:${s}`)];
  // Nagios: "STATUS SERVICE text | perfdata", no "|" in the text.
  io().stdout.write(`${status} Connection ${parts.join(", ").replace(/\|/g, "/")} | ${perf.join(" ")}\n`);
  return crit.length > 0 ? 2 : warn.length > 0 ? 1 : 0;
}

/** Read the password twice from the terminal without echo; from stdin's first line otherwise. */
async function readPassword(): Promise<string> {
  if (io().stdin.isTTY !== true) {
    const rl = createInterface({ input: io().stdin });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    throw new ClientError("no password given: use --pass, or run on a terminal");
  }
  const ask = (prompt: string): Promise<string> => new Promise((resolve, reject) => {
    io().stderr.write(prompt);
    const stdin = io().stdin;
    stdin.setRawMode?.(true);
    stdin.resume();
    let s = "";
    const onData = (d: Buffer): void => {
      for (const ch of d.toString()) {
        if (ch === "\r" || ch === "\n") {
          done();
          io().stderr.write("\n");
          resolve(s);
          return;
        }
        if (ch === "\u0003") {
          done();
          reject(new ClientError("interrupted"));
          return;
        }
        if (ch === "\u007f") s = s.slice(0, -1);
        else s += ch;
      }
    };
    const done = (): void => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
  const first = await ask("Enter password: ");
  const second = await ask("Reenter password: ");
  if (first !== second) throw new ClientError("the passwords do not match");
  return first;
}
