// Go programs built against Debian's nats.go (GOPATH mode, no module proxy) for the tests that
// drive gnat from another runtime. `goMissing` is why they skip ("" when Go and nats.go are there).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const NATS_GO = "/usr/share/gocode/src/github.com/nats-io/nats.go";
const goBin = spawnSync("sh", ["-c", "command -v go"], { encoding: "utf8" }).stdout.trim();

export const goMissing = !goBin ? "go is not installed (apt-get install golang-go)"
  : !existsSync(NATS_GO) ? "nats.go is not installed (apt-get install golang-github-nats-io-go-nats-dev)" : "";

/** Build the package in `src` into a fresh temp dir; returns the binary's path. */
export function buildGo(src: string, name: string): string {
  const bin = join(mkdtempSync(join(tmpdir(), `gnat-go-${name}-`)), name);
  const env = { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "", GOPROXY: "off", GOTOOLCHAIN: "local", GOCACHE: join(tmpdir(), "gnat-go-cache") };
  const r = spawnSync(goBin, ["build", "-o", bin, "."], { cwd: src, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`go build failed:\n${r.stderr}`);
  return bin;
}
