// Tested by test/client/usage.test.ts.
// Named connection settings, as natscli's contexts: one JSON file per context in
// $XDG_CONFIG_HOME/gnat/context/ (or ~/.config/gnat/context/), the selected one's name in
// context.txt beside that folder.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ClientError, UsageError } from "./errors.js";
import { io } from "./io.js";

/** A context as stored; the keys are natscli's. */
export interface Context {
  description?: string;
  url?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

export const CONTEXT_KEYS = ["description", "url", "user", "password", "token", "creds", "nkey", "cert", "key", "ca"] as const;

export function configDir(env: NodeJS.ProcessEnv = io().env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
  return join(base, "gnat");
}

const contextDir = (): string => join(configDir(), "context");
const selectedFile = (): string => join(configDir(), "context.txt");

function checkName(name: string): void {
  // The name becomes a file name: nothing that could leave the folder.
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) throw new UsageError(`invalid context name "${name}": use letters, digits, ".", "_" and "-"`);
}

export function contextPath(name: string): string {
  checkName(name);
  return join(contextDir(), `${name}.json`);
}

export function listContexts(): string[] {
  if (!existsSync(contextDir())) return [];
  return readdirSync(contextDir()).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

export function loadContext(name: string): Context {
  const path = contextPath(name);
  if (!existsSync(path)) throw new ClientError(`unknown context "${name}"`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Context;
  } catch (err) {
    throw new ClientError(`context "${name}" (${path}) is not valid JSON: ${(err as Error).message}`);
  }
}

export function saveContext(name: string, ctx: Context): string {
  const path = contextPath(name);
  mkdirSync(contextDir(), { recursive: true });
  // It may hold a password or token: readable by its owner only.
  writeFileSync(path, `${JSON.stringify(ctx, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export function removeContext(name: string): void {
  const path = contextPath(name);
  if (!existsSync(path)) throw new ClientError(`unknown context "${name}"`);
  rmSync(path);
  if (selectedContext() === name) rmSync(selectedFile(), { force: true });
}

/** The selected context's name, or "" when none is (or it was removed by hand). */
export function selectedContext(): string {
  if (!existsSync(selectedFile())) return "";
  const name = readFileSync(selectedFile(), "utf8").trim();
  return name !== "" && existsSync(join(contextDir(), `${name}.json`)) ? name : "";
}

export function selectContext(name: string): void {
  if (!existsSync(contextPath(name))) throw new ClientError(`unknown context "${name}"`);
  mkdirSync(configDir(), { recursive: true });
  writeFileSync(selectedFile(), `${name}\n`);
}
