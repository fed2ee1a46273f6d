// Leafnode credentials against nats-server, both ways: a leaf whose remote has a creds file (user
// JWT, the seed signing the hub's nonce) dials a hub in operator mode and is bound to the user's
// account; a leaf whose creds the hub does not trust is refused; a leaf whose user JWT expires is
// cut off at its expiry. A remote with an nkey seed dials a hub with nkey users.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { createUser } from "@nats-io/nkeys";
import { freePort, NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { interestArrived, until } from "./kit.js";
import { closeLeafSuite, leafsUp, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";
import { createAccount, createOperator, makeAccount, makeOperator, makeUser, now, OPEN_LIMITS, operatorConfig, type TestAccount, type TestOperator } from "../helpers/operator.js";

const NO_NATS = NATS_SERVER === null;
const MIXES: [LeafKind, LeafKind][] = [["gnat", "gnat"], ["nats", "gnat"], ["gnat", "nats"]];

/** A remotes block dialling `hub` with these extra keys. */
function remote(hub: LeafServer, extra: string): string {
  return `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${extra} } ]`;
}

/** Leafnode connections of a hub as /leafz lists them. */
async function leafz(hub: LeafServer): Promise<{ account: string }[]> {
  return ((await hub.monitor("/leafz")) as { leafs?: { account: string }[] }).leafs ?? [];
}

for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`${leafKind} leaf with a creds file, ${hubKind} hub in operator mode${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    const tag = `${hubKind}-${leafKind}`;
    const dir = mkdtempSync(join(tmpdir(), "gnat-leafcreds-"));
    let op: TestOperator;
    let acc: TestAccount;
    let hub: LeafServer;
    let leaf: LeafServer;
    let onHub: NatsConnection;
    let onLeaf: NatsConnection;
    const extra: (LeafServer | undefined)[] = [];

    beforeAll(async () => {
      op = await makeOperator();
      acc = await makeAccount(op.okp, "A");
      const leafUser = await makeUser(acc.akp);
      const clientUser = await makeUser(acc.akp);
      writeFileSync(join(dir, "leaf.creds"), leafUser.creds);
      hub = await startLeafServer({ kind: hubKind, name: `hub-${tag}`, hub: true, config: operatorConfig(op, [acc]) });
      leaf = await startLeafServer({ kind: leafKind, name: `leaf-${tag}`, leafnodes: remote(hub, `credentials: "${join(dir, "leaf.creds")}"`) });
      await leafsUp([hub, leaf]);
      onHub = await connect({ servers: hub.url, authenticator: credsAuthenticator(clientUser.creds) });
      onLeaf = await connect({ servers: leaf.url });
    }, 30_000);

    afterAll(() => closeLeafSuite([onHub, onLeaf], [...extra, leaf, hub], dir));

    it("binds the leaf to its user's account, and messages cross both ways", async () => {
      expect((await leafz(hub)).map((l) => l.account)).toEqual([acc.id]);
      const got: string[] = [];
      const a = onLeaf.subscribe(`down.${tag}`, { callback: (_e, m) => got.push(`leaf:${m.string()}`) });
      const b = onHub.subscribe(`up.${tag}`, { callback: (_e, m) => got.push(`hub:${m.string()}`) });
      await interestArrived(onLeaf, onHub);
      await interestArrived(onHub, onLeaf);
      onHub.publish(`down.${tag}`, "to the leaf");
      onLeaf.publish(`up.${tag}`, "to the hub");
      await until(() => got.length >= 2, "a message each way");
      expect(got.sort()).toEqual(["hub:to the hub", "leaf:to the leaf"]);
      a.unsubscribe();
      b.unsubscribe();
    });

    it("refuses a leaf whose user is of an account the operator did not sign", async () => {
      const stranger = await makeAccount(createOperator(), "X");
      writeFileSync(join(dir, "stranger.creds"), (await makeUser(stranger.akp)).creds);
      const bad = await startLeafServer({ kind: leafKind, name: `bad-${tag}`, leafnodes: remote(hub, `credentials: "${join(dir, "stranger.creds")}"`) });
      extra.push(bad);
      await until(() => bad.log().includes("Authorization Violation"), "the hub's refusal in the leaf's log", 15_000);
      expect((await leafz(hub)).map((l) => l.account)).toEqual([acc.id]);
      expect(await bad.leafCount()).toBe(0);
    }, 30_000);

    it("refuses a leaf whose user JWT allows only client connections (a leaf is LEAFNODE)", async () => {
      writeFileSync(join(dir, "std.creds"), (await makeUser(acc.akp, { allowed_connection_types: ["STANDARD"] })).creds);
      const std = await startLeafServer({ kind: leafKind, name: `std-${tag}`, leafnodes: remote(hub, `credentials: "${join(dir, "std.creds")}"`) });
      extra.push(std);
      await until(() => std.log().includes("Authorization Violation"), "the hub's refusal in the leaf's log", 15_000);
      expect(await std.leafCount()).toBe(0);
    }, 30_000);

    it("cuts off a leaf when its user JWT expires", async () => {
      writeFileSync(join(dir, "short.creds"), (await makeUser(acc.akp, {}, { exp: now() + 10 })).creds);
      const short = await startLeafServer({ kind: leafKind, name: `short-${tag}`, leafnodes: remote(hub, `credentials: "${join(dir, "short.creds")}"`) });
      extra.push(short);
      await until(async () => (await short.leafCount()) === 1, "the short-lived leaf bound", 15_000);
      await until(async () => (await short.leafCount()) === 0, "the short-lived leaf cut off at its expiry", 20_000);
      // It dials again, and its expired JWT is refused: the hub keeps only the first leaf.
      await until(async () => (await leafz(hub)).length === 1, "one leaf left on the hub", 15_000);
    }, 45_000);
  });
}

// nats-server 2.9 has no `nkey` on remotes (newer ones do): gnat leafs only, to either hub.
for (const hubKind of ["gnat", "nats"] as const) {
  describe.skipIf(hubKind === "nats" && NO_NATS)(`gnat leaf with an nkey seed, ${hubKind} hub with nkey users`, () => {
    let hub: LeafServer;
    let leaf: LeafServer;
    let bad: LeafServer | undefined;
    const ukp = createUser();

    beforeAll(async () => {
      const client = createUser();
      hub = await startLeafServer({
        kind: hubKind, name: `nkhub-${hubKind}`, hub: true,
        config: `authorization { users [ { nkey: ${ukp.getPublicKey()} }, { nkey: ${client.getPublicKey()} } ] }`,
      });
      leaf = await startLeafServer({ kind: "gnat", name: `nkleaf-${hubKind}`, leafnodes: remote(hub, `nkey: "${new TextDecoder().decode(ukp.getSeed())}"`) });
      await leafsUp([hub, leaf]);
    }, 30_000);

    afterAll(() => closeLeafSuite([], [bad, leaf, hub]));

    it("signs the hub's nonce with the seed and is bound", async () => {
      expect(await hub.leafCount()).toBe(1);
      expect(await leaf.leafCount()).toBe(1);
    });

    it("is refused with a seed the hub does not know", async () => {
      bad = await startLeafServer({ kind: "gnat", name: `nkbad-${hubKind}`, leafnodes: remote(hub, `nkey: "${new TextDecoder().decode(createUser().getSeed())}"`) });
      await until(() => bad!.log().includes("Authorization Violation"), "the hub's refusal in the leaf's log", 15_000);
      expect(await hub.leafCount()).toBe(1);
      expect(await bad!.leafCount()).toBe(0);
    }, 30_000);
  });
}

// An account JWT's `leaf` limit: past it a leaf is refused with nats-server's error.
for (const hubKind of ["gnat", "nats"] as const) {
  describe.skipIf(hubKind === "nats" && NO_NATS)(`an account's leafnode limit on a ${hubKind} hub`, () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-leaflimit-"));
    const servers: (LeafServer | undefined)[] = [];

    afterAll(() => closeLeafSuite([], servers.reverse(), dir));

    it("binds one leaf of an account limited to one, and refuses the next with 'maximum account active connections exceeded'", async () => {
      const op = await makeOperator();
      const acc = await makeAccount(op.okp, "L", { limits: { ...OPEN_LIMITS, leaf: 1 } });
      writeFileSync(join(dir, "l.creds"), (await makeUser(acc.akp)).creds);
      const hub = await startLeafServer({ kind: hubKind, name: `limhub-${hubKind}`, hub: true, config: operatorConfig(op, [acc]) });
      servers.push(hub);
      const first = await startLeafServer({ kind: "gnat", name: `lim1-${hubKind}`, leafnodes: remote(hub, `credentials: "${join(dir, "l.creds")}"`) });
      servers.push(first);
      await leafsUp([hub, first]);
      const second = await startLeafServer({ kind: "gnat", name: `lim2-${hubKind}`, leafnodes: remote(hub, `credentials: "${join(dir, "l.creds")}"`) });
      servers.push(second);
      await until(() => second.log().includes("maximum account active connections exceeded"), "the hub's refusal in the second leaf's log", 15_000);
      expect(await hub.leafCount()).toBe(1);
      expect(await first.leafCount()).toBe(1);
      expect(await second.leafCount()).toBe(0);
    }, 45_000);
  });
}

// A revocation pushed while the leaf is connected: the hub cuts it off, as it does a client.
for (const hubKind of ["gnat", "nats"] as const) {
  describe.skipIf(hubKind === "nats" && NO_NATS)(`a revocation of a connected leaf's user on a ${hubKind} hub`, () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-leafrevoke-"));
    const servers: (LeafServer | undefined)[] = [];
    let sys: NatsConnection | undefined;

    afterAll(() => closeLeafSuite([sys], servers.reverse(), dir));

    it("closes the leaf with 'User Authentication Revoked' and refuses it when it dials again", async () => {
      const op = await makeOperator();
      const akp = createAccount();
      const acc = await makeAccount(op.okp, "R", {}, { akp });
      const ukp = createUser();
      writeFileSync(join(dir, "r.creds"), (await makeUser(akp, {}, { ukp })).creds);
      const hub = await startLeafServer({ kind: hubKind, name: `revhub-${hubKind}`, hub: true, config: operatorConfig(op, [acc]) });
      servers.push(hub);
      const leaf = await startLeafServer({ kind: "gnat", name: `revleaf-${hubKind}`, leafnodes: remote(hub, `credentials: "${join(dir, "r.creds")}"`) });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      sys = await connect({ servers: hub.url, authenticator: credsAuthenticator((await makeUser(op.sys)).creds) });
      const revoking = await makeAccount(op.okp, "R", { revocations: { [ukp.getPublicKey()]: now() + 5 } }, { akp });
      await sys.request(`$SYS.REQ.ACCOUNT.${acc.id}.CLAIMS.UPDATE`, revoking.jwt, { timeout: 5000 });
      await until(() => leaf.log().includes("User Authentication Revoked"), "the revocation in the leaf's log", 15_000);
      await until(async () => (await hub.leafCount()) === 0, "no leaf on the hub", 15_000);
      await until(() => leaf.log().includes("Authorization Violation"), "the revoked leaf refused when it dials again", 15_000);
      expect(await hub.leafCount()).toBe(0);
    }, 45_000);
  });
}

// Over WebSocket a leaf's connection type is LEAFNODE_WS: a user JWT that allows it is bound, one
// that allows LEAFNODE only is refused.
for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`${leafKind} leaf with a creds file over WebSocket, ${hubKind} hub in operator mode${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    const tag = `ws-${hubKind}-${leafKind}`;
    const dir = mkdtempSync(join(tmpdir(), "gnat-leafcredsws-"));
    const servers: (LeafServer | undefined)[] = [];

    afterAll(() => closeLeafSuite([], servers.reverse(), dir));

    it("binds a user allowed LEAFNODE_WS and refuses one allowed LEAFNODE only", async () => {
      const op = await makeOperator();
      const acc = await makeAccount(op.okp, "W");
      writeFileSync(join(dir, "ws.creds"), (await makeUser(acc.akp, { allowed_connection_types: ["LEAFNODE_WS"] })).creds);
      writeFileSync(join(dir, "tcp.creds"), (await makeUser(acc.akp, { allowed_connection_types: ["LEAFNODE"] })).creds);
      const wsPort = await freePort();
      const hub = await startLeafServer({ kind: hubKind, name: `wshub-${tag}`, hub: true, config: `${operatorConfig(op, [acc])}\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }` });
      servers.push(hub);
      const wsRemote = (creds: string): string => `  remotes [ { url: "ws://127.0.0.1:${wsPort}", credentials: "${join(dir, creds)}" } ]`;
      const good = await startLeafServer({ kind: leafKind, name: `wsgood-${tag}`, leafnodes: wsRemote("ws.creds") });
      servers.push(good);
      await leafsUp([hub, good]);
      const bad = await startLeafServer({ kind: leafKind, name: `wsbad-${tag}`, leafnodes: wsRemote("tcp.creds") });
      servers.push(bad);
      await until(() => bad.log().includes("Authorization Violation"), "the hub's refusal in the leaf's log", 15_000);
      expect(await hub.leafCount()).toBe(1);
      expect(await bad.leafCount()).toBe(0);
    }, 45_000);
  });
}

// A creds file that cannot be used: logged at start in nats-server's words (the remote still
// dials, and is refused).
for (const leafKind of ["gnat", "nats"] as const) {
  describe.skipIf(leafKind === "nats" && NO_NATS)(`a ${leafKind} leaf whose creds file is missing or malformed`, () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-leafbadcreds-"));
    const servers: (LeafServer | undefined)[] = [];

    afterAll(() => closeLeafSuite([], servers.reverse(), dir));

    it("logs nats-server's lines for each, and is not bound", async () => {
      const op = await makeOperator();
      const acc = await makeAccount(op.okp, "A");
      const hub = await startLeafServer({ kind: "gnat", name: `badhub-${leafKind}`, hub: true, config: operatorConfig(op, [acc]) });
      servers.push(hub);
      writeFileSync(join(dir, "junk.creds"), "not a creds file\n");
      const missing = join(dir, "missing.creds");
      const junk = join(dir, "junk.creds");
      const leaf = await startLeafServer({
        kind: leafKind, name: `badleaf-${leafKind}`,
        leafnodes: `  remotes [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${missing}" }, { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${junk}" } ]`,
      });
      servers.push(leaf);
      // (gnat's log is JSON: its quotes are escaped there.)
      const logged = (text: string): boolean => leaf.log().includes(text) || leaf.log().includes(JSON.stringify(text).slice(1, -1));
      await until(() => logged(`Error reading LeafNode Remote Credentials file "${missing}"`)
        && logged(`LeafNode Remote Credentials file "${junk}" malformed`), "both lines in the leaf's log", 15_000);
      expect(await hub.leafCount()).toBe(0);
    }, 30_000);
  });
}

// A user JWT's `subs` limit holds a leaf's interest on the hub, as a client's subscriptions.
for (const hubKind of ["gnat", "nats"] as const) {
  describe.skipIf(hubKind === "nats" && NO_NATS)(`a leaf user's subscription limit on a ${hubKind} hub`, () => {
    const dir = mkdtempSync(join(tmpdir(), "gnat-leafsubs-"));
    const servers: (LeafServer | undefined)[] = [];
    let onLeaf: NatsConnection | undefined;

    afterAll(() => closeLeafSuite([onLeaf], servers.reverse(), dir));

    it("takes the leaf's interest up to the limit, answering the rest with 'maximum subscriptions exceeded'", async () => {
      const op = await makeOperator();
      const acc = await makeAccount(op.okp, "S");
      writeFileSync(join(dir, "s.creds"), (await makeUser(acc.akp, { subs: 3 })).creds);
      const hub = await startLeafServer({ kind: hubKind, name: `subshub-${hubKind}`, hub: true, config: operatorConfig(op, [acc]) });
      servers.push(hub);
      const leaf = await startLeafServer({ kind: "gnat", name: `subsleaf-${hubKind}`, leafnodes: remote(hub, `credentials: "${join(dir, "s.creds")}"`) });
      servers.push(leaf);
      await leafsUp([hub, leaf]);
      onLeaf = await connect({ servers: leaf.url });
      for (const s of ["a", "b", "c", "d"]) onLeaf.subscribe(`lim.${s}`);
      await onLeaf.flush();
      await until(() => leaf.log().includes("maximum subscriptions exceeded"), "the hub's answer in the leaf's log", 15_000);
      const lz = (await hub.monitor("/leafz?subs=1")) as { leafs: { subscriptions: number }[] };
      expect(lz.leafs.map((l) => l.subscriptions)).toEqual([3]);
    }, 30_000);
  });
}
