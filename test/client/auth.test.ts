// The connection flags that prove who the client is — --token, --nkey, --creds (operator mode),
// --tlsca/--tlscert/--tlskey (and a token or user:password in the URL) — run in-process (test/client/kit.ts) against gnat and nats-server
// configured to require them: accepted with the right credentials, one line and exit 1 without.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SKIP_REASON } from "../differential/harness.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { makeAccount, makeOperator, makeUser, operatorConfig } from "../helpers/operator.js";
import { clientSuite, gnat, HAS_NATS_SERVER, KINDS, startTarget, type Run, type Target } from "./kit.js";

const { env } = clientSuite();

function refused(r: Run, re: RegExp): void {
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^gnat: cannot connect to [^\n]+\n$/);
  expect(r.stderr).toMatch(re);
  expect(r.code).toBe(1);
}

function ok(r: Run): void {
  expect(r.stderr, r.stderr).toMatch(/^Published \d+ bytes/);
  expect(r.code).toBe(0);
}

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

describe.each(KINDS)("credentials against %s", (kind) => {
  const skip = kind === "nats-server" && !HAS_NATS_SERVER;
  if (skip) console.warn(`\n*** ${SKIP_REASON} ***\n`);
  const targets: Target[] = [];
  afterAll(async () => {
    for (const t of targets) await t.close();
  });
  const serve = async (config: string): Promise<Target> => {
    const t = await startTarget(kind, config);
    targets.push(t);
    return t;
  };

  test.skipIf(skip)("--token, and a token in the URL", async () => {
    const t = await serve(`authorization { token: "s3cr3t" }\n`);
    ok(await gnat(["pub", "x", "hi", "--token", "s3cr3t", "-s", t.url], env));
    ok(await gnat(["pub", "x", "hi", "-s", t.url.replace("nats://", "nats://s3cr3t@")], env));
    refused(await gnat(["pub", "x", "hi", "--token", "wrong", "-s", t.url], env), /authorization violation/i);
    refused(await gnat(["pub", "x", "hi", "-s", t.url], env), /authorization violation/i);
  });

  test.skipIf(skip)("--nkey with a user seed file", async () => {
    const user = createUser();
    const seedFile = join(certs.dir, `${kind}-user.nk`);
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    const other = join(certs.dir, `${kind}-other.nk`);
    writeFileSync(other, new TextDecoder().decode(createUser().getSeed()));
    const t = await serve(`authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    ok(await gnat(["pub", "x", "hi", "--nkey", seedFile, "-s", t.url], env));
    refused(await gnat(["pub", "x", "hi", "--nkey", other, "-s", t.url], env), /authorization violation/i);
    // A seed file that is not there: one line naming it, before any connection.
    const missing = await gnat(["pub", "x", "hi", "--nkey", join(certs.dir, "none.nk"), "-s", t.url], env);
    expect(missing.stderr).toMatch(/^gnat: cannot read nkey seed file \S+none\.nk: ENOENT\n$/);
    expect(missing.code).toBe(1);
  });

  test.skipIf(skip)("--creds with a user's creds file in operator mode", async () => {
    const op = await makeOperator();
    const acc = await makeAccount(op.okp, "A");
    const user = await makeUser(acc.akp);
    const stranger = await makeUser((await makeAccount(op.okp, "B")).akp); // an account the server does not know
    const credsFile = join(certs.dir, `${kind}-user.creds`);
    writeFileSync(credsFile, user.creds);
    const strangerFile = join(certs.dir, `${kind}-stranger.creds`);
    writeFileSync(strangerFile, stranger.creds);
    const t = await serve(operatorConfig(op, [acc]));
    ok(await gnat(["pub", "x", "hi", "--creds", credsFile, "-s", t.url], env));
    refused(await gnat(["pub", "x", "hi", "--creds", strangerFile, "-s", t.url], env), /authorization violation/i);
    refused(await gnat(["pub", "x", "hi", "-s", t.url], env), /authorization violation/i);
    const missing = await gnat(["pub", "x", "hi", "--creds", join(certs.dir, "none.creds"), "-s", t.url], env);
    expect(missing.stderr).toMatch(/^gnat: [^\n]*none\.creds[^\n]*\n$/);
    expect(missing.code).toBe(1);
  });

  test.skipIf(skip)("--tlsca with --tlscert/--tlskey where the server verifies clients", async () => {
    const t = await serve(`tls { cert_file: "${certs.server.cert}", key_file: "${certs.server.key}", ca_file: "${certs.ca}", verify: true }\n`);
    const tlsFlags = ["--tlsca", certs.ca, "--tlscert", certs.alice.cert, "--tlskey", certs.alice.key];
    ok(await gnat(["pub", "x", "hi", ...tlsFlags, "-s", t.url], env));
    ok(await gnat(["pub", "x", "hi", ...tlsFlags, "-s", t.url.replace("nats://", "tls://")], env));
    // No client certificate: the server refuses the handshake.
    const r = await gnat(["pub", "x", "hi", "--tlsca", certs.ca, "-s", t.url], env);
    expect(r.stderr).toMatch(/^gnat: cannot connect to [^\n]+\n$/);
    expect(r.code).toBe(1);
    // A CA that did not sign the server's certificate: the client refuses it.
    const wrongCa = await gnat(["pub", "x", "hi", "--tlsca", certs.otherCa, "--tlscert", certs.alice.cert, "--tlskey", certs.alice.key, "-s", t.url], env);
    expect(wrongCa.stderr).toMatch(/^gnat: cannot connect to [^\n]+\n$/);
    expect(wrongCa.code).toBe(1);
  });
});
