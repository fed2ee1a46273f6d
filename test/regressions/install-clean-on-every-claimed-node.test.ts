// `npm install` on a Node that package.json's engines claims must not warn EBADENGINE: every
// package in the lock file (dev ones too: `npm install` installs them) accepts the oldest Node of
// each line engines names. (@nats-io/nuid 3.0.0, under @nats-io/transport-node 3.4, wants Node 22.)
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, test } from "vitest";

const root = resolve(import.meta.dirname, "../..");

type V = [number, number, number];

function cmp(a: V, b: V): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Just enough of npm's range grammar for engines fields: ||, comparators, ^, ~, x and partial versions. */
function satisfies(v: V, range: string): boolean {
  return range.split("||").some((alt) => {
    const parts = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1").split(/\s+/).filter((p) => p !== "");
    return parts.every((p) => {
      const m = /^(>=|<=|>|<|=|\^|~)?v?(\*|x|\d+)(?:\.(\*|x|\d+))?(?:\.(\*|x|\d+))?$/i.exec(p);
      if (m === null) throw new Error(`range not understood: ${range}`);
      const op = m[1] ?? "=";
      const nums = [m[2], m[3], m[4]].map((n) => (n === undefined || /^[*x]$/i.test(n) ? null : Number(n)));
      const given = nums.findIndex((n) => n === null);
      const exact = given === -1 ? 3 : given; // how many parts are numbers
      const lo: V = [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
      if (exact === 0) return true; // *, x
      // The next version above what the partial (or caret/tilde) range allows.
      const bump = (i: number): V => (i === 0 ? [lo[0] + 1, 0, 0] : i === 1 ? [lo[0], lo[1] + 1, 0] : [lo[0], lo[1], lo[2] + 1]);
      switch (op) {
        case ">=": return cmp(v, lo) >= 0;
        case ">": return exact === 3 ? cmp(v, lo) > 0 : cmp(v, bump(exact - 1)) >= 0;
        case "<": return cmp(v, lo) < 0;
        case "<=": return exact === 3 ? cmp(v, lo) <= 0 : cmp(v, bump(exact - 1)) < 0;
        case "^": return cmp(v, lo) >= 0 && cmp(v, bump(lo[0] !== 0 || exact === 1 ? 0 : lo[1] !== 0 || exact === 2 ? 1 : 2)) < 0;
        case "~": return cmp(v, lo) >= 0 && cmp(v, bump(exact === 1 ? 0 : 1)) < 0;
        default: return cmp(v, lo) >= 0 && cmp(v, bump(exact - 1)) < 0;
      }
    });
  });
}

test("the range check reads engines fields as npm does", () => {
  expect(satisfies([20, 11, 0], ">= 22.x")).toBe(false);
  expect(satisfies([22, 0, 0], ">= 22.x")).toBe(true);
  expect(satisfies([20, 11, 0], "^20.19.0 || >=22.12.0")).toBe(false);
  expect(satisfies([20, 19, 1], "^20.19.0 || >=22.12.0")).toBe(true);
  expect(satisfies([24, 0, 0], "^18.0.0 || ^20.0.0 || >=22.0.0")).toBe(true);
  expect(satisfies([19, 0, 0], "^18.0.0 || ^20.0.0 || >=22.0.0")).toBe(false);
  expect(satisfies([20, 0, 0], "^10 || ^12 || ^13.7 || ^14 || >=15.0.1")).toBe(true);
  expect(satisfies([14, 16, 9], ">= 14.16")).toBe(true);
  expect(satisfies([14, 15, 9], ">= 14.16")).toBe(false);
  expect(satisfies([20, 0, 0], "*")).toBe(true);
});

test("every locked package accepts the oldest Node of each line package.json's engines claims", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
  const floors = pkg.engines.node.split("||").map((r) => r.trim().replace(/^[\^~>=]+/, "").split(".").map(Number) as V);
  expect(floors.length).toBeGreaterThan(0);
  const bad: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
    if (range === undefined) continue;
    for (const v of floors) if (!satisfies(v, range)) bad.push(`${path} wants node ${range}, not ${v.join(".")}`);
  }
  expect(bad).toEqual([]);
});
