// Leafnode permissions against nats-server, both ways: the hub applies its leaf user's publish and
// subscribe permissions to the leaf connection (the user's subscribe side is what the hub sends
// the leaf; its publish side is what the leaf may send, the hub telling it only that interest)
// and tells the leaf of them in its INFO, which the leaf enforces too; the leaf's remote adds its
// deny_imports and deny_exports. The user is a configured one (with a password) or a user JWT in
// operator mode. Denied messages are sent before an allowed one: once that one is in, the
// denied ones would have been too.
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { until } from "./kit.js";
import { closeLeafSuite, leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";
import { makeAccount, makeOperator, makeUser, operatorConfig } from "../helpers/operator.js";

const NO_NATS = NATS_SERVER === null;
const MIXES: [LeafKind, LeafKind][] = [["gnat", "gnat"], ["nats", "gnat"], ["gnat", "nats"]];
const PUB = { allow: ["up.>", "_INBOX.>"], deny: ["up.secret"] };
const SUB = { allow: ["down.>", "_INBOX.>"], deny: ["down.secret"] };
const REMOTE_DENY = `deny_imports: ["down.noimport"], deny_exports: ["up.noexport"]`;

/** Hub config and how the leaf and the hub's clients authenticate, for a user of each kind. */
async function setup(auth: "users" | "jwt", dir: string): Promise<{ hubConfig: string; leafAuth: (port: number) => string; client: Parameters<typeof connect>[0] }> {
  if (auth === "users") {
    return {
      hubConfig: `authorization { users [
        { user: leaf, password: pw, permissions: { publish: ${JSON.stringify(PUB)}, subscribe: ${JSON.stringify(SUB)} } }
        { user: client, password: pw }
      ] }`,
      leafAuth: (port) => `url: "nats-leaf://leaf:pw@127.0.0.1:${port}"`,
      client: { user: "client", pass: "pw" },
    };
  }
  const op = await makeOperator();
  const acc = await makeAccount(op.okp, "A");
  writeFileSync(join(dir, "leaf.creds"), (await makeUser(acc.akp, { pub: PUB, sub: SUB })).creds);
  return {
    hubConfig: operatorConfig(op, [acc]),
    leafAuth: (port) => `url: "nats-leaf://127.0.0.1:${port}", credentials: "${join(dir, "leaf.creds")}"`,
    client: { authenticator: credsAuthenticator((await makeUser(acc.akp)).creds) },
  };
}

for (const auth of ["users", "jwt"] as const) {
  for (const [hubKind, leafKind] of MIXES) {
    const needsNats = hubKind === "nats" || leafKind === "nats";
    describe.skipIf(needsNats && NO_NATS)(`${leafKind} leaf of a ${hubKind} hub, its ${auth === "users" ? "configured user's" : "user JWT's"} permissions${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
      const tag = `${auth}-${hubKind}-${leafKind}`;
      const dir = mkdtempSync(join(tmpdir(), "gnat-leafperms-"));
      let hub: LeafServer;
      let leaf: LeafServer;
      let onHub: NatsConnection;
      let onLeaf: NatsConnection;

      beforeAll(async () => {
        const s = await setup(auth, dir);
        hub = await startLeafServer({ kind: hubKind, name: `hub-${tag}`, hub: true, config: s.hubConfig });
        leaf = await startLeafServer({ kind: leafKind, name: `leaf-${tag}`, leafnodes: `  remotes [ { ${s.leafAuth(hub.leafPort)}, ${REMOTE_DENY} } ]` });
        await leafsUp([hub, leaf]);
        onHub = await connect({ servers: hub.url, ...s.client });
        onLeaf = await connect({ servers: leaf.url });
      }, 30_000);

      afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub], dir));

      it("sends the leaf only what its user may subscribe to, less the remote's deny_imports", async () => {
        const got: string[] = [];
        const s1 = onLeaf.subscribe("down.>", { callback: (_e, m) => got.push(m.subject) });
        const s2 = onLeaf.subscribe("other.>", { callback: (_e, m) => got.push(m.subject) });
        await onLeaf.flush();
        await until(async () => {
          onHub.publish("down.probe");
          await onHub.flush();
          return got.includes("down.probe");
        }, "the leaf's interest on the hub");
        for (const subj of ["down.secret", "down.noimport", "other.x", "down.ok"]) onHub.publish(subj);
        await until(() => got.includes("down.ok"), "down.ok on the leaf");
        expect(got.filter((x) => x !== "down.probe")).toEqual(["down.ok"]);
        s1.unsubscribe();
        s2.unsubscribe();
      });

      it("takes from the leaf only what its user may publish, less the remote's deny_exports", async () => {
        const got: string[] = [];
        const s1 = onHub.subscribe("up.>", { callback: (_e, m) => got.push(m.subject) });
        const s2 = onHub.subscribe("elsewhere.>", { callback: (_e, m) => got.push(m.subject) });
        await onHub.flush();
        await until(async () => {
          onLeaf.publish("up.probe");
          await onLeaf.flush();
          return got.includes("up.probe");
        }, "the hub's interest on the leaf");
        for (const subj of ["up.secret", "up.noexport", "elsewhere.x", "up.ok"]) onLeaf.publish(subj);
        await until(() => got.includes("up.ok"), "up.ok on the hub");
        expect(got.filter((x) => x !== "up.probe")).toEqual(["up.ok"]);
        s1.unsubscribe();
        s2.unsubscribe();
      });

      it("answers a request across the link where the permissions allow it", async () => {
        const svc = onHub.subscribe("up.svc", { callback: (_e, m) => m.respond(`hub says ${m.string()}`) });
        await onHub.flush();
        await until(async () => {
          try {
            return (await onLeaf.request("up.svc", "hi", { timeout: 500 })).string() === "hub says hi";
          } catch {
            return false;
          }
        }, "a request from the leaf answered by the hub");
        svc.unsubscribe();
      });
    });
  }
}

/**
 * A raw leaf on a hub's leafnode port: its INFO, then CONNECT as `leaf`, then `after` (LS+ lines);
 * everything the hub sends until `enough` says so, it closes the connection, or 10 s pass.
 */
function rawLeaf(port: number, after: string, enough: (out: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port });
    let out = "";
    let sent = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, 10_000);
    s.on("data", (d) => {
      out += d.toString("latin1");
      if (sent && enough(out)) return done();
      if (!sent && out.includes("\r\n")) {
        sent = true;
        s.write(`CONNECT {"user":"leaf","pass":"pw","tls_required":false,"server_id":"NRAWLEAF","name":"raw","headers":true}\r\n`);
        s.write(after);
      }
    });
    s.on("close", done);
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe.skipIf(NO_NATS)(`a hub's answer to a leaf whose user has permissions, gnat and nats-server side by side${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const hubs: Record<LeafKind, LeafServer | undefined> = { gnat: undefined, nats: undefined };
  const config = `authorization { users [ { user: leaf, password: pw, permissions: { publish: ${JSON.stringify(PUB)}, subscribe: ${JSON.stringify(SUB)} } } ] }`;

  beforeAll(async () => {
    hubs.gnat = await startLeafServer({ kind: "gnat", name: "rawhub-gnat", hub: true, config });
    hubs.nats = await startLeafServer({ kind: "nats", name: "rawhub-nats", hub: true, config });
  }, 30_000);

  afterAll(() => closeLeafSuite([], [hubs.gnat, hubs.nats]));

  /** The INFO that answers the CONNECT (connect_info), as JSON. */
  const connectInfo = (out: string): Record<string, unknown> => {
    const line = out.split("\r\n").find((l) => l.startsWith("INFO ") && l.includes('"connect_info":true'));
    return JSON.parse(line?.slice(5) ?? "{}") as Record<string, unknown>;
  };

  it("tells the leaf its user's permissions in the INFO answering its CONNECT (import: subscribe, export: publish)", async () => {
    const answered = (out: string): boolean => /INFO [^\r]*"connect_info":true[^\r]*\r\n/.test(out);
    const [g, n] = await Promise.all([rawLeaf(hubs.gnat!.leafPort, "", answered), rawLeaf(hubs.nats!.leafPort, "", answered)]);
    const pick = (i: Record<string, unknown>): unknown => ({ import: i.import, export: i.export, remote_account: i.remote_account });
    expect(pick(connectInfo(g))).toEqual(pick(connectInfo(n)));
    expect(connectInfo(g).import).toEqual(SUB);
  });

  it("cuts off a leaf that tells interest in a subject its user may not subscribe to, with nats-server's error", async () => {
    const [g, n] = await Promise.all([rawLeaf(hubs.gnat!.leafPort, "LS+ other.x\r\n"), rawLeaf(hubs.nats!.leafPort, "LS+ other.x\r\n")]);
    const err = (out: string): string | undefined => out.split("\r\n").find((l) => l.startsWith("-ERR"));
    expect(err(n)).toBe(`-ERR 'Permissions Violation for Subscription to "other.x"'`);
    expect(err(g)).toBe(err(n));
  });

  it("keeps a leaf whose interest its user may subscribe to", async () => {
    const ponged = (out: string): boolean => out.includes("PONG\r\n");
    const [g, n] = await Promise.all([rawLeaf(hubs.gnat!.leafPort, "LS+ down.x\r\nPING\r\n", ponged), rawLeaf(hubs.nats!.leafPort, "LS+ down.x\r\nPING\r\n", ponged)]);
    for (const out of [g, n]) {
      expect(out).toContain("PONG");
      expect(out).not.toContain("-ERR");
    }
  });
});
