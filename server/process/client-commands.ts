// Tested by test/client/usage.test.ts.
// `gnat pub …`, `gnat sub …` and the other client commands live in client/, apart from the
// server: cli.ts asks here whether its first argument names one, and if so hands the command line
// over. client/main.js is found by looking upwards from this file, so it is found whichever folder
// of dist/server/ the CLI sits in, and it (with its packages) is loaded only when needed.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The first arguments that make gnat a client; anything else starts the server. */
export const CLIENT_COMMANDS: readonly string[] = ["pub", "sub", "req", "request", "reply", "bench", "top", "server", "context", "stream", "str", "consumer", "con", "kv", "obj", "object"];

/** For the server's --help: the client commands beside the server's flags. */
export const CLIENT_USAGE = `Client commands (natscli's; 'gnat COMMAND --help' for each one's flags):
    pub SUBJECT [BODY]                       publish a message (--count, --sleep, -H key:value, --reply)
    sub SUBJECT                              print messages (--queue, --count, --raw, --headers-only, --stream)
    req|request SUBJECT [BODY]               send a request, print the reply (--replies, --timeout)
    reply SUBJECT [BODY]                     answer requests (--command, --echo, --queue)
    bench SUBJECT                            benchmark (--pub N --sub M --msgs X --size S, --js,
                                             --request, --reply, --csv FILE)
    top [MONITOR_URL]                        live view of a server's monitoring endpoints (q quits)
    server info|ping|passwd                  server details, round trip, bcrypt a password
    server check connection|stream|consumer|jetstream
                                             Nagios checks (exit 0 OK, 1 WARNING, 2 CRITICAL)
    stream ls|report|info|add|edit|rm|purge|get|view
                                             JetStream streams (--json; -f to skip "Really …?")
    consumer ls|report|info|add|rm|next      JetStream consumers (add --pull --deliver all --defaults)
    kv add|info|get|put|create|update|del|purge|watch|ls|history
                                             key-value buckets
    obj add|put|get|ls|info|rm               object store buckets (a progress bar for large files)
    context add|select|ls|rm|show            named connection settings
    Connection: -s/--server, --user, --password, --token, --creds, --nkey, --tlscert, --tlskey,
    --tlsca, --timeout, --context (default server: $NATS_URL, the selected context, nats://127.0.0.1:4222)`;

export function isClientCommand(arg: string | undefined): boolean {
  return arg !== undefined && CLIENT_COMMANDS.includes(arg);
}

/** dist/client/main.js, looked for in each folder above this file's. */
export function clientEntry(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, "client", "main.js");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error("the gnat client (client/main.js) is not installed beside the server");
  }
}

/** Run the client command in `argv`; resolves to its exit code. */
export async function runClientCommand(argv: string[]): Promise<number> {
  const mod = (await import(pathToFileURL(clientEntry()).href)) as { runClient(argv: string[]): Promise<number> };
  return mod.runClient(argv);
}
