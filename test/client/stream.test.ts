// gnat sub --stream: a JetStream stream read through an ordered consumer, against gnat and
// nats-server with JetStream on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startTarget, type Target } from "./kit.js";

const { env } = clientSuite();

describe.each(KINDS)("sub --stream against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  let target: Target;
  let dir: string;
  let s: string[];
  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "gnat-client-js-"));
    target = await startTarget(kind, `jetstream { store_dir: "${dir}" }\n`);
    s = ["-s", target.url];
    const nc = await connect({ servers: target.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: "memory" });
    await nc.close();
    expect((await gnat(["pub", "orders.new", "order {{Count}}", "--count", "3", "-H", "k:v", ...s], env)).code).toBe(0);
    expect((await gnat(["pub", "orders.old", "other", ...s], env)).code).toBe(0);
  });
  afterAll(async () => {
    if (skip) return;
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(skip)("--all --count reads the stored messages on the subject and exits", async () => {
    const r = await gnat(["sub", "orders.new", "--stream", "ORDERS", "--all", "--count", "3", "--raw", ...s], env);
    expect(r.stdout).toBe("order 1\norder 2\norder 3\n");
    expect(r.code).toBe(0);
  });

  test.skipIf(skip)("without --raw each message names its stream, sequence and headers", async () => {
    const r = await gnat(["sub", "orders.>", "--stream", "ORDERS", "--start-seq", "3", "--count", "2", ...s], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[#1\] Received JetStream message: stream: ORDERS seq 3 \/ subject: orders\.new \/ time: \d{4}-[^\n]+\nk: v\n\norder 3\n\n\[#2\] [^\n]+seq 4 \/ subject: orders\.old[^\n]+\n\nother\n\n$/);
  });

  test.skipIf(skip)("--last starts at the stream's last message", async () => {
    const r = await gnat(["sub", "orders.>", "--stream", "ORDERS", "--last", "--count", "1", "--raw", ...s], env);
    expect(r.stdout).toBe("other\n");
  });

  test.skipIf(skip)("a stream that does not exist is one line and exit 1", async () => {
    const r = await gnat(["sub", "x", "--stream", "NOPE", ...s], env);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^gnat: cannot read stream "NOPE": [^\n]+\n$/);
    expect(r.code).toBe(1);
  });
});

test("--all without --stream is a usage error, exit 2", async () => {
  const r = await gnat(["sub", "x", "--all"], env);
  expect(r.stderr).toMatch(/^gnat: [^\n]*need --stream\n$/);
  expect(r.code).toBe(2);
});
