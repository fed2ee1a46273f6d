// Tested by test/client/commands.test.ts (and test/client/usage.test.ts: contexts, unreachable servers).
// natscli's connection flags, on every command that connects, and what they become: nats.js
// connection options, with a context (--context, or the selected one) filling what the flags
// leave out.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import { loadContext, selectedContext, type Context } from "./context.js";
import { parseDuration } from "./duration.js";
import { ClientError, describeError } from "./errors.js";
import { io } from "./io.js";

export const DEFAULT_URL = "nats://127.0.0.1:4222";

export interface ConnectionFlags {
  server?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  tlscert?: string;
  tlskey?: string;
  tlsca?: string;
  timeout: string;
  context?: string;
}

/** Add the connection flags to a command that connects. */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .option("-s, --server <url>", `NATS server URL(s), comma separated (env NATS_URL, else the context's, else ${DEFAULT_URL})`)
    .option("--user <user>", "username or token")
    .option("--password <password>", "password")
    .option("--token <token>", "authentication token")
    .option("--creds <file>", "user credentials file (JWT and nkey seed)")
    .option("--nkey <file>", "user nkey seed file")
    .option("--tlscert <file>", "TLS client certificate")
    .option("--tlskey <file>", "TLS client private key")
    .option("--tlsca <file>", "TLS certificate authority chain")
    .option("--timeout <duration>", "time to wait for a connection and for responses", "5s")
    .option("--context <name>", "use this context rather than the selected one");
}

/** The settings in force: flags, then NATS_URL, then the context, then the default URL. */
export function resolveSettings(flags: ConnectionFlags): Context & { url: string } {
  const ctxName = flags.context ?? selectedContext();
  const ctx: Context = ctxName === "" ? {} : loadContext(ctxName);
  const pick = <K extends keyof Context>(flag: string | undefined, key: K): Context[K] => flag ?? ctx[key];
  const env = io().env.NATS_URL;
  const settings: Context & { url: string } = { url: flags.server ?? (env !== undefined && env !== "" ? env : undefined) ?? ctx.url ?? DEFAULT_URL };
  const fields: [string | undefined, keyof Context][] = [
    [flags.user, "user"], [flags.password, "password"], [flags.token, "token"], [flags.creds, "creds"],
    [flags.nkey, "nkey"], [flags.tlscert, "cert"], [flags.tlskey, "key"], [flags.tlsca, "ca"],
  ];
  for (const [flag, key] of fields) {
    const v = pick(flag, key);
    if (v !== undefined && v !== "") settings[key] = v;
  }
  return settings;
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ClientError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Timeout in milliseconds from the flags. */
export function timeoutMs(flags: ConnectionFlags): number {
  return parseDuration(flags.timeout, "--timeout");
}

export async function natsOptions(flags: ConnectionFlags): Promise<{ url: string; options: NodeConnectionOptions }> {
  const s = resolveSettings(flags);
  const timeout = Math.max(1, Math.round(timeoutMs(flags)));
  // nats://user:pass@host (or nats://token@host), as natscli takes it: nats.js wants them apart.
  const servers: string[] = [];
  for (const raw of s.url.split(",").map((u) => u.trim()).filter((u) => u !== "")) {
    const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(raw);
    if (m === null) {
      servers.push(raw);
      continue;
    }
    servers.push(`${m[1]}${m[3]}`);
    const [user, pass] = m[2]!.split(":").map(decodeURIComponent);
    if (pass === undefined && s.token === undefined && s.user === undefined) s.token = user!;
    else if (s.user === undefined) {
      s.user = user!;
      if (pass !== undefined && s.password === undefined) s.password = pass;
    }
  }
  const options: NodeConnectionOptions = {
    servers,
    timeout,
    name: "gnat cli",
    // A command that cannot connect says so at once rather than retrying behind the user's back.
    maxReconnectAttempts: 0,
    reconnect: false,
  };
  if (s.user !== undefined) options.user = s.user;
  if (s.password !== undefined) options.pass = s.password;
  if (s.token !== undefined) options.token = s.token;
  const nats = await import("@nats-io/transport-node");
  if (s.creds !== undefined) options.authenticator = nats.credsAuthenticator(readFile(s.creds, "credentials file"));
  else if (s.nkey !== undefined) options.authenticator = nats.nkeyAuthenticator(new TextEncoder().encode(new TextDecoder().decode(readFile(s.nkey, "nkey seed file")).trim()));
  if (s.cert !== undefined || s.key !== undefined || s.ca !== undefined) {
    const tls: NonNullable<NodeConnectionOptions["tls"]> = {};
    if (s.cert !== undefined) tls.certFile = s.cert;
    if (s.key !== undefined) tls.keyFile = s.key;
    if (s.ca !== undefined) tls.caFile = s.ca;
    options.tls = tls;
  }
  // The URL as shown in messages: without its password.
  return { url: s.url.replace(/(:\/\/[^:@/]*):[^@/]*@/g, "$1:***@"), options };
}

/** Connect, or a ClientError in one line: "connection refused", the server's auth text, … */
export async function connectWith(flags: ConnectionFlags): Promise<{ nc: NatsConnection; url: string }> {
  const { url, options } = await natsOptions(flags);
  const { connect } = await import("@nats-io/transport-node");
  try {
    return { nc: await connect(options), url };
  } catch (err) {
    throw new ClientError(`cannot connect to ${url}: ${describeError(err)}`);
  }
}
