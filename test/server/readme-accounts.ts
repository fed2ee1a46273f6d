import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The config block of the README's Accounts section (loaded and exercised by the accounts tests). */
export function readmeAccountsConfig(): string {
  const readme = readFileSync(join(resolve(import.meta.dirname, "../.."), "README.md"), "utf8");
  const start = readme.indexOf("## Accounts");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 5));
  const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks[0]!;
}
