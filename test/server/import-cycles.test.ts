// No import loops in server/ or protocol/ (type-only imports count too): each module can be read,
// and tested, with what it imports below it. The loops api.ts <-> consumer-api.ts and
// consumer.ts <-> stream.ts were broken by moving the shared piece down (api-reply.ts) and by
// an interface the lower module declares (ConsumerStream in consumer/types.ts); accounts <->
// imports, the router <-> internal client and http-engine <-> its engines likewise (ARCHITECTURE.md).

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dirs = ["server", "protocol"].map((d) => join(root, d));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Relative imports and re-exports of a module, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  }
  return out;
}

test("server/ and protocol/ have no import cycle", () => {
  const graph = new Map(dirs.flatMap(files).map((f) => [f, importsOf(f).filter((t) => dirs.some((d) => t.startsWith(d)))]));
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const walk = (f: string, path: string[]): void => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(" > "));
      return;
    }
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) walk(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) walk(f, []);
  expect(graph.size).toBeGreaterThan(90);
  expect(cycles).toEqual([]);
});
