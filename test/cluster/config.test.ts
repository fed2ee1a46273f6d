// The cluster's configuration, as nats-server reads it: the `cluster {}` block, the cluster flags
// over it, and what is refused (gateways; cluster keys gnat does not build) rather than ignored.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfigFile } from "../../server/config/index.js";
import { buildOptions, parseArgs } from "../../server/process/flags.js";
import { parseRouteUrl } from "../../server/cluster/options.js";
import { resolveOptions } from "../../server/options.js";
import { startServer } from "../../server/index.js";
import { tempDir } from "../kit/gnat.js";
import { freePort } from "../kit/processes.js";

const dir = mkdtempSync(join(tmpdir(), "gnat-cluster-conf-"));
let n = 0;
function file(text: string): string {
  const f = join(dir, `c${++n}.conf`);
  writeFileSync(f, text);
  return f;
}

describe("cluster {} block", () => {
  test("reads name, listen, routes, authorization, no_advertise, connect_retries and advertise", () => {
    const o = loadConfigFile(file(`cluster {
      name: east
      listen: 127.0.0.1:6333
      routes: [ nats-route://a:b@10.0.0.1:6222, "nats://10.0.0.2:6222" ]
      authorization { user: ruser, password: T0p, timeout: 3 }
      no_advertise: true
      connect_retries: 4
      advertise: "10.0.0.9:6333"
    }`), {}).options;
    expect(o.cluster).toEqual({
      name: "east", host: "127.0.0.1", port: 6333, noAdvertise: true, connectRetries: 4, advertise: "10.0.0.9:6333",
      routes: ["nats-route://a:b@10.0.0.1:6222", "nats://10.0.0.2:6222"],
      authorization: { user: "ruser", password: "T0p", timeout: 3 },
    });
  });

  test("a block without a port is no cluster, as in nats-server; -1 is any free port", () => {
    expect(loadConfigFile(file("cluster { name: x }"), {}).options.cluster).toBeNull();
    expect(resolveOptions(loadConfigFile(file("cluster { port: -1 }"), {}).options).cluster?.port).toBe(0);
  });

  test.each([
    ["cluster { port: 1, permissions { import: a } }", /cluster\.permissions' is not supported by gnat yet: refusing to start/],
    ["cluster { port: 1, tls { cert_file: /nonexistent/x.pem, key_file: /nonexistent/x.key } }", /open \/nonexistent\/x\.pem: no such file or directory/],
    ["cluster { port: 1, pool_size: 3 }", /pool_size' is not supported by gnat: it speaks one route per server/],
    ["cluster { port: 1, compression: s2_auto }", /compression' is not supported by gnat: routes are not compressed/],
    ["cluster { port: 1, accounts: [A] }", /cluster\.accounts' is not supported by gnat yet/],
    ["gateway { name: x, port: 7222 }", /'gateway' is not supported by gnat: superclusters/],
  ])("refuses %s rather than ignore it", (text, re) => {
    expect(() => loadConfigFile(file(text), {})).toThrow(re);
  });

  test("takes pool_size: -1 and compression: off, which are what it speaks", () => {
    expect(loadConfigFile(file("cluster { port: 1, pool_size: -1, compression: off }"), {}).options.cluster?.port).toBe(1);
  });

  test("a bad route URL fails at start", () => {
    expect(() => resolveOptions(loadConfigFile(file("cluster { port: 1, routes: [ 'nats-route://' ] }"), {}).options)).toThrow(/error parsing route url/);
  });
});

describe("cluster flags", () => {
  const opts = (args: string[]): ReturnType<typeof buildOptions>["options"] => buildOptions(parseArgs(args), "gnat").options;

  test("--cluster, --cluster_name, --routes, --no_advertise, --connect_retries, --cluster_advertise", () => {
    const o = opts(["--cluster", "nats://u:p@127.0.0.1:6333", "--cluster_name", "c9", "--routes", "nats-route://127.0.0.1:6334, nats-route://127.0.0.1:6335",
      "--no_advertise", "--connect_retries", "7", "--cluster_advertise", "1.2.3.4:6333"]);
    expect(o.cluster).toMatchObject({
      name: "c9", host: "127.0.0.1", port: 6333, noAdvertise: true, connectRetries: 7, advertise: "1.2.3.4:6333",
      routes: ["nats-route://127.0.0.1:6334", "nats-route://127.0.0.1:6335"], authorization: { user: "u", password: "p" },
    });
  });

  test("--cluster host:-1 is any free port; --cluster '' turns the file's cluster off", () => {
    expect(opts(["--cluster", "nats://127.0.0.1:-1"]).cluster?.port).toBe(0);
    expect(opts(["-c", file("cluster { port: 6222 }"), "--cluster", ""]).cluster).toBeNull();
  });

  test("--routes without a cluster is nats-server's error", () => {
    expect(() => opts(["--routes", "nats://127.0.0.1:6222"])).toThrow("solicited routes require cluster capabilities, e.g. --cluster");
  });

  test("--cluster with a user and no password is nats-server's error", () => {
    expect(() => opts(["--cluster", "nats://u@127.0.0.1:6222"])).toThrow("expected cluster password to be set");
  });

  test("flags change single keys of the file's block", () => {
    const o = opts(["-c", file("cluster { name: a, port: 6222, routes: [ nats://127.0.0.1:7000 ] }"), "--cluster_name", "b"]);
    expect(o.cluster).toMatchObject({ name: "b", port: 6222, routes: ["nats://127.0.0.1:7000"] });
  });
});

describe("route URLs", () => {
  test("user, password, host and port; IPv6 in brackets; 6222 by default", () => {
    expect(parseRouteUrl("nats-route://a%40b:p%3Aw@127.0.0.1:7000")).toMatchObject({ host: "127.0.0.1", port: 7000, user: "a@b", pass: "p:w", hostPort: "127.0.0.1:7000" });
    expect(parseRouteUrl("nats://[::1]:7000")).toMatchObject({ host: "::1", port: 7000, hostPort: "[::1]:7000" });
    expect(parseRouteUrl("nats://host")).toMatchObject({ port: 6222 });
  });
});

describe("a cluster port that is taken", () => {
  test("startServer throws, and what had started stops: the client port and the store are free again", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const taken = (holder.address() as { port: number }).port;
    const port = await freePort();
    const store = tempDir("gnat-cluster-taken-");
    const opts = { host: "127.0.0.1", port, noLog: true, jetstream: true, storeDir: store.dir };
    try {
      await expect(startServer({ ...opts, cluster: { host: "127.0.0.1", port: taken } }))
        .rejects.toThrow(/address already in use|EADDRINUSE/i);
      // The same client port and store directory start at once: nothing of the first was left.
      const s = await startServer(opts);
      expect(s.port).toBe(port);
      await s.close();
    } finally {
      holder.close();
      store.remove();
    }
  });
});
