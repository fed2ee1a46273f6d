// Tested by test/client/usage.test.ts.
// gnat context add | select | ls | rm | show: natscli's named connection settings.
import type { Command } from "commander";
import { CONTEXT_KEYS, contextPath, listContexts, loadContext, removeContext, saveContext, selectContext, selectedContext, type Context } from "../context.js";
import { io } from "../io.js";

interface AddFlags {
  server?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  tlscert?: string;
  tlskey?: string;
  tlsca?: string;
  description?: string;
  select?: boolean;
}

export function contextCommand(program: Command): void {
  const ctx = program.command("context").description("named connection settings: add, select, ls, rm, show");

  ctx.command("add")
    .description("save (or replace) a context")
    .argument("<name>", "context name")
    .option("-s, --server <url>", "NATS server URL(s)")
    .option("--user <user>", "username")
    .option("--password <password>", "password")
    .option("--token <token>", "authentication token")
    .option("--creds <file>", "user credentials file")
    .option("--nkey <file>", "user nkey seed file")
    .option("--tlscert <file>", "TLS client certificate")
    .option("--tlskey <file>", "TLS client private key")
    .option("--tlsca <file>", "TLS certificate authority chain")
    .option("--description <text>", "what the context is for")
    .option("--select", "select it as well")
    .action((name: string, f: AddFlags) => {
      const c: Context = {};
      const set = (k: keyof Context, v: string | undefined): void => {
        if (v !== undefined) c[k] = v;
      };
      set("description", f.description); set("url", f.server); set("user", f.user); set("password", f.password);
      set("token", f.token); set("creds", f.creds); set("nkey", f.nkey); set("cert", f.tlscert); set("key", f.tlskey); set("ca", f.tlsca);
      const path = saveContext(name, c);
      if (f.select === true) selectContext(name);
      io().stderr.write(`Saved context "${name}" in ${path}\n`);
    });

  ctx.command("select")
    .description("use this context when a command names no server")
    .argument("<name>", "context name")
    .action((name: string) => {
      selectContext(name);
      io().stderr.write(`Selected context "${name}"\n`);
    });

  ctx.command("ls").alias("list")
    .description("list the contexts; the selected one is marked *")
    .action(() => {
      const selected = selectedContext();
      const names = listContexts();
      if (names.length === 0) {
        io().stderr.write("No contexts defined\n");
        return;
      }
      for (const name of names) {
        const c = loadContext(name);
        const line = `${name}${name === selected ? "*" : ""}`;
        io().stdout.write(`${c.description ? `${line.padEnd(20)} ${c.description}` : line}\n`);
      }
    });

  ctx.command("rm").alias("remove")
    .description("delete a context")
    .argument("<name>", "context name")
    .option("-f, --force", "accepted for natscli compatibility; gnat does not ask")
    .action((name: string) => {
      removeContext(name);
      io().stderr.write(`Removed context "${name}"\n`);
    });

  ctx.command("show").alias("info")
    .description("print a context's settings (the password and token masked)")
    .argument("[name]", "context name (default: the selected one)")
    .action((name: string | undefined) => {
      const n = name ?? selectedContext();
      const c = loadContext(n === "" ? "default" : n);
      io().stdout.write(`Context "${n}" (${contextPath(n)})\n`);
      for (const k of CONTEXT_KEYS) {
        const v = c[k];
        if (v !== undefined && v !== "") io().stdout.write(`  ${`${k}:`.padEnd(13)} ${k === "password" || k === "token" ? "*****" : v}\n`);
      }
    });
}
