// The leafnodes block, as nats-server reads it, and what gnat refuses rather than ignores: TLS,
// credentials and nkeys of remotes (and operator mode's rules), WebSocket remotes, min_version,
// keys it does not know.
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfigFile } from "../../server/config/index.js";
import { resolveOptions } from "../../server/options.js";
import { parseLeafUrl } from "../../server/cluster/leaf-options.js";
import { startServer } from "../../server/index.js";
import { createUser } from "@nats-io/nkeys";
import { makeAccount, makeOperator, operatorConfig } from "../helpers/operator.js";

const dir = mkdtempSync(join(tmpdir(), "gnat-leaf-conf-"));
let n = 0;
function file(text: string): string {
  const f = join(dir, `l${++n}.conf`);
  writeFileSync(f, text);
  return f;
}
const seed = new TextDecoder().decode(createUser().getSeed());
const load = (text: string): ReturnType<typeof resolveOptions> => resolveOptions(loadConfigFile(file(text), {}).options);

describe("leafnodes {} block", () => {
  test("reads the listener, its authorization, advertise, no_advertise, reconnect and remotes", () => {
    const o = load(`
      accounts { A { users [ { user: a, password: p } ] }, B {} }
      leafnodes {
        listen: 127.0.0.1:7433
        authorization { user: leaf, password: s3cret, timeout: 3, account: A }
        advertise: "10.0.0.9:7433"
        no_advertise: true
        reconnect: 5
        remotes [
          { url: "nats-leaf://u:p@10.0.0.1:7422", account: B, hub: false, deny_imports: ["x.>"], deny_exports: "y.*" }
          { urls: [ "nats://10.0.0.2:7422", "10.0.0.3" ], no_randomize: true }
        ]
      }`);
    expect(o.leafnodes).toEqual({
      host: "127.0.0.1", port: 7433, advertise: "10.0.0.9:7433", noAdvertise: true, reconnect: 5,
      authorization: { user: "leaf", password: "s3cret", timeout: 3, account: "A" },
      remotes: [
        { urls: ["nats-leaf://u:p@10.0.0.1:7422"], account: "B", hub: false, denyImports: ["x.>"], denyExports: ["y.*"] },
        { urls: ["nats://10.0.0.2:7422", "10.0.0.3"], account: "", noRandomize: true },
      ],
    });
  });

  test("takes users with their accounts, and the alias leaf", () => {
    const o = load(`accounts { A {} }
      leaf { port: -1, authorization { users [ { user: x, password: y, account: A }, { user: z, password: w } ] } }`);
    expect(o.leafnodes?.port).toBe(-1);
    expect(o.leafnodes?.authorization?.users).toEqual([{ user: "x", password: "y", account: "A" }, { user: "z", password: "w" }]);
  });

  test("reads a remote's credentials file (~ is the home directory) and nkey seed", () => {
    const o = load(`leafnodes { remotes [ { url: "nats-leaf://h:1", credentials: "~/x.creds" }, { url: "nats-leaf://h:2", seed: "${seed}" } ] }`);
    expect(o.leafnodes?.remotes[0]?.credentials).toBe(join(homedir(), "x.creds"));
    expect(o.leafnodes?.remotes[1]?.nkey).toBe(seed);
  });

  test("operator mode: remotes bind accounts by public key, leafnode users are refused (nats-server's errors)", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const conf = (leaf: string): string => `${operatorConfig(op, [a])}\nleafnodes { ${leaf} }`;
    expect(load(conf(`remotes [ { url: "nats-leaf://h:1", account: ${a.id}, credentials: /x.creds } ]`)).leafnodes?.remotes[0]?.account).toBe(a.id);
    expect(() => load(conf(`remotes [ { url: "nats-leaf://h:1" } ]`))).toThrow(/operator mode requires account nkeys in remotes/);
    expect(() => load(conf(`port: 7422, authorization { users [ { user: a, password: b } ] }`))).toThrow(/operator mode does not allow specifying user in leafnode config/);
    expect(() => load(conf(`port: 7422, authorization { user: a, password: b, account: A }`))).toThrow(/operator mode and non account nkeys are incompatible/);
  });

  test("a block with neither a port nor remotes is no leafnodes, as in nats-server", () => {
    expect(load("leafnodes { host: 127.0.0.1 }").leafnodes).toBeNull();
  });

  test("URLs: nats-leaf:// and nats:// with credentials, the default port 7422", () => {
    expect(parseLeafUrl("nats-leaf://u:p%40@h:1")).toMatchObject({ host: "h", port: 1, user: "u", pass: "p@", display: "nats-leaf://h:1" });
    expect(parseLeafUrl("10.1.2.3")).toMatchObject({ hostPort: "10.1.2.3:7422", tls: false });
    expect(parseLeafUrl("tls://u:p@h:1")).toMatchObject({ host: "h", port: 1, user: "u", display: "tls://h:1", tls: true, ws: false });
    expect(parseLeafUrl("ws://h")).toMatchObject({ port: 80, tls: false, ws: true });
    expect(parseLeafUrl("wss://h:8443")).toMatchObject({ port: 8443, tls: true, ws: true });
  });

  test.each([
    // nats-server's texts for a bad TLS block (leaf TLS itself: test/cluster/leaf-tls.test.ts).
    ["leafnodes { port: 7422, tls { cert_file: x } }", /missing 'key_file' in TLS configuration/],
    ["leafnodes { remotes [ { url: 'nats-leaf://h:1', tls { ca_file: /nonexist } } ] }", /open \/nonexist: no such file or directory/],
    ["leafnodes { remotes [ { url: 'nats-leaf://h:1', tls { cert_file: /nonexist } } ] }", /missing 'key_file' in TLS configuration/],
    ["leafnodes { remotes [ { url: 'nats-leaf://h:1', nkey: 'SUnope' } ] }", /Remote leafnode nkey is not a valid seed: "SUnope"/],
    [`leafnodes { remotes [ { url: 'nats-leaf://h:1', credentials: /x.creds, nkey: ${seed} } ] }`, /Remote leafnode can not have both creds and nkey defined/],
    ["leafnodes { remotes [ { url: 'ws://h:1', ws_no_masking: true } ] }", /unmasked WebSocket frames on leafnode connections are not supported by gnat yet/],
    ["leafnodes { port: 7422, min_version: 2.8.0 }", /'leafnodes\.min_version' is not supported by gnat yet/],
    ["leafnodes { port: 7422, authorization { user: a, password: b, users: [ { user: c, password: d } ] } }", /can not have a single user\/pass and a users array/],
    ["leafnodes { port: 7422, authorization { users: [ { user: c, password: d }, { user: c, password: e } ] } }", /duplicate user "c" detected in leafnode authorization/],
    ["leafnodes { port: 7422, authorization { user: a, password: b, account: NOPE } }", /cannot find local account "NOPE" specified in leafnode authorization/],
    ["leafnodes { remotes [ { url: 'nats-leaf://h:1', account: NOPE } ] }", /cannot find local account "NOPE" specified in leafnode remote/],
    ["leafnodes { port: 7422, authorization { token: x } }", /'leafnodes\.authorization\.token' is not supported by gnat yet/],
    ["leafnodes { port: 7422, bogus: 1 }", /'leafnodes\.bogus' is not supported by gnat yet/],
    ["leafnodes { remotes [ { url: 'nats-leaf://h:1', bogus: 1 } ] }", /'leafnodes\.remotes\.bogus' is not supported by gnat yet/],
    ["leafnodes { remotes [ { account: A } ] }", /leafnode remote has no url|cannot find local account/],
    ["leafnodes: 7422", /Expected map to define a leafnode/],
  ])("refuses %s rather than ignore it", (text, re) => {
    expect(() => load(text)).toThrow(re);
  });

  test("an embedder's leafnodes options are checked the same way", async () => {
    await expect(startServer({ port: 0, noLog: true, leafnodes: { host: "127.0.0.1", port: 0, advertise: "", noAdvertise: false, reconnect: 1, remotes: [{ urls: ["nats-leaf://h:1"], account: "NOPE" }] } }))
      .rejects.toThrow(/cannot find local account "NOPE" specified in leafnode remote/);
  });

  test("an embedder's remote nkey must be a user seed", async () => {
    await expect(startServer({ port: 0, noLog: true, leafnodes: { host: "127.0.0.1", port: 0, advertise: "", noAdvertise: false, reconnect: 1, remotes: [{ urls: ["nats-leaf://127.0.0.1:1"], account: "", nkey: "SUnope" }] } }))
      .rejects.toThrow(/Remote leafnode nkey is not a valid seed: "SUnope"/);
  });

  test("any other scheme is a plain leafnode URL, as nats-server takes it (nats.js's harness writes leaf://)", () => {
    for (const u of ["leaf://h:1", "gopher://h:1"]) expect(parseLeafUrl(u)).toMatchObject({ host: "h", port: 1, tls: false, ws: false });
  });
});
