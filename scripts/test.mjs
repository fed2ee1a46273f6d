#!/usr/bin/env node
// npm test (after the build): the suite in two phases (see vitest.config.ts). First the files that
// mostly wait on sockets and child processes, three at a time; then the ones that load the CPU or
// measure time, one at a time, so that none of them shares the machine with another. Arguments go
// to both phases (`npm test -- test/cluster` runs that folder's files of each). A JSON report asked
// for with --outputFile.json=F is written per phase and merged into F, so a caller sees one run.
// Exits non-zero when either phase fails; the second phase runs either way.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
let report = null;
const passed = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith("--outputFile.json=")) report = a.slice("--outputFile.json=".length);
  else if (a === "--outputFile.json" && i + 1 < args.length) report = args[++i];
  else passed.push(a);
}

const vitest = new URL("../node_modules/vitest/vitest.mjs", import.meta.url).pathname;
let status = 0;
const reports = [];
for (const phase of ["parallel", "serial"]) {
  const out = report === null ? null : `${report}.${phase}`;
  const r = spawnSync(process.execPath, [vitest, "run", "--passWithNoTests", ...passed,
    ...(out === null ? [] : [`--outputFile.json=${out}`])], {
    stdio: "inherit",
    env: { ...process.env, GNAT_TEST_PHASE: phase },
  });
  if (r.status !== 0) status = r.status ?? 1;
  if (out !== null) reports.push(out);
}

if (report !== null) {
  // vitest's JSON report (Jest's shape): counts summed, files listed once each.
  const merged = { numTotalTests: 0, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0,
    numTotalTestSuites: 0, numPassedTestSuites: 0, numFailedTestSuites: 0, numPendingTestSuites: 0,
    startTime: 0, success: true, testResults: [] };
  for (const f of reports) {
    let r;
    try {
      r = JSON.parse(readFileSync(f, "utf8"));
    } catch {
      merged.success = false; // a phase that wrote no report did not run to its end
      continue;
    }
    for (const k of Object.keys(merged)) if (k !== "startTime" && typeof merged[k] === "number" && typeof r[k] === "number") merged[k] += r[k];
    merged.startTime = merged.startTime === 0 ? r.startTime : Math.min(merged.startTime, r.startTime);
    merged.success &&= r.success;
    merged.testResults.push(...r.testResults);
    rmSync(f, { force: true });
  }
  writeFileSync(report, JSON.stringify(merged));
}
process.exit(status);
