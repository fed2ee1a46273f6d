// Operator mode across a cluster (issue #24): the full resolver of each server asks the others for
// an account JWT it does not hold ($SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP over the system account,
// as nats-server's fetch), and a claims update pushed to one server reaches the others at once
// (not at the next pack sync: the interval here is an hour). Mixed clusters of gnat and
// nats-server where nats-server is installed, gnat with gnat everywhere.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { tempDir } from "../kit/gnat.js";
import { connectNode } from "../kit/clients.js";
import { NATS_SERVER } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { makeAccount, makeOperator, makeUser, OPEN_LIMITS, type TestOperator } from "../helpers/operator.js";
import { meshed, startNode, type Kind, type Node } from "../cluster/kit.js";

const t = tempDir("gnat-op-cluster-");
afterAll(() => t.remove());

let n = 0;
/** A full resolver's config; its directory is returned, JWTs written there first are held at start. */
function conf(op: TestOperator, jwts: Record<string, string> = {}): { dir: string; text: string } {
  const dir = join(t.dir, `jwt-${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [id, jwt] of Object.entries(jwts)) writeFileSync(join(dir, `${id}.jwt`), jwt);
  return {
    dir,
    text: `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\nresolver { type: full, dir: "${dir}", interval: "1h" }\n` +
      `resolver_preload: {\n  ${op.sys.getPublicKey()}: ${op.sysJwt}\n}\n`,
  };
}

async function sysConnection(url: string, op: TestOperator): Promise<NatsConnection> {
  const u = await makeUser(op.sys);
  return connectNode(url, { authenticator: credsAuthenticator(u.creds) });
}

const canConnect = async (url: string, creds: Uint8Array): Promise<boolean> =>
  connectNode(url, { authenticator: credsAuthenticator(creds), reconnect: false }).then(async (nc) => {
    await nc.flush();
    await nc.close();
    return true;
  }, () => false);

/** Two nodes, `second` routed to `first`, each with its own directory (`jwts` in the first's). */
async function pair(op: TestOperator, first: Kind, second: Kind, jwts: Record<string, string> = {}): Promise<{ a: Node; b: Node; dirs: string[] }> {
  const ca = conf(op, jwts);
  const cb = conf(op);
  const a = await startNode({ name: "a", kind: first, config: ca.text });
  const b = await startNode({ name: "b", kind: second, config: cb.text, routes: [`nats-route://127.0.0.1:${a.clusterPort}`] });
  await meshed([a, b]);
  return { a, b, dirs: [ca.dir, cb.dir] };
}

const kinds: [string, Kind, Kind][] = [["gnat", "gnat", "gnat"]];
// (And nats-server asking gnat: gnat answers lookups as nats-server 2.10 does.)
if (NATS_SERVER !== null) kinds.push(["nats-server", "nats", "gnat"], ["gnat (asked by nats-server)", "gnat", "nats"]);

describe.each(kinds)("an account held by %s only", (_name, holder, asker) => {
  test("a user of it connecting to the other server is let in: the JWT is looked up over the system account and kept", async () => {
    const op = await makeOperator();
    const b = await makeAccount(op.okp, "B");
    const { a, b: g, dirs } = await pair(op, holder, asker, { [b.id]: b.jwt });
    try {
      // The system account's interest has crossed the route: a lookup from gnat's side is answered.
      const sys = await sysConnection(g.url, op);
      // (gnat answers too, with nothing: every reply is heard, not only the first.)
      const heard: string[] = [];
      const inbox = sys.subscribe("_INBOX.probe.>", { callback: (_e, m) => void heard.push(m.string()) });
      await until(async () => {
        sys.publish(`$SYS.REQ.ACCOUNT.${b.id}.CLAIMS.LOOKUP`, "", { reply: "_INBOX.probe.1" });
        await sys.flush();
        return heard.includes(b.jwt);
      }, { what: "the holder to answer lookups over the route", timeout: 15_000 });
      inbox.unsubscribe();
      const u = await makeUser(b.akp);
      expect(await canConnect(g.url, u.creds)).toBe(true);
      expect(readFileSync(join(dirs[1]!, `${b.id}.jwt`), "utf8")).toBe(b.jwt);
      // An account no server holds is refused (after the peers said so), and nothing is stored.
      const x = await makeAccount(op.okp, "X");
      const ux = await makeUser(x.akp);
      const started = Date.now();
      await expect(connectNode(g.url, { authenticator: credsAuthenticator(ux.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
      expect(Date.now() - started).toBeLessThan(5000);
      // (nats-server 2.9 stores the first answer, an empty one from a 2.10-like peer included, as an empty file.)
      if (asker === "gnat") expect(existsSync(join(dirs[1]!, `${x.id}.jwt`))).toBe(false);
      await sys.close();
    } finally {
      await g.stop();
      await a.stop();
    }
  }, 60_000);
});

describe.each(kinds.filter(([, , asker]) => asker === "gnat"))("an importing account and its exporter held by %s only", (_name, holder, asker) => {
  test("a user of the importer connecting to gnat: both JWTs are looked up, and the import works", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A", { exports: [{ name: "feed", subject: "feed.>", type: "stream" }] });
    const b = await makeAccount(op.okp, "B", { imports: [{ name: "feed", account: a.id, subject: "feed.>", type: "stream" }] });
    const { a: h, b: g, dirs } = await pair(op, holder, asker, { [a.id]: a.jwt, [b.id]: b.jwt });
    try {
      const sys = await sysConnection(g.url, op);
      const heard: string[] = [];
      sys.subscribe("_INBOX.probe.>", { callback: (_e, m) => void heard.push(m.string()) });
      await until(async () => {
        sys.publish(`$SYS.REQ.ACCOUNT.${a.id}.CLAIMS.LOOKUP`, "", { reply: "_INBOX.probe.1" });
        await sys.flush();
        return heard.includes(a.jwt);
      }, { what: "the holder to answer lookups over the route", timeout: 15_000 });
      const ub = await makeUser(b.akp);
      const nb = await connectNode(g.url, { authenticator: credsAuthenticator(ub.creds), reconnect: false });
      expect(readFileSync(join(dirs[1]!, `${a.id}.jwt`), "utf8")).toBe(a.jwt);
      const sub = nb.subscribe("feed.>", { max: 1 });
      await nb.flush();
      const ua = await makeUser(a.akp);
      const na = await connectNode(g.url, { authenticator: credsAuthenticator(ua.creds), reconnect: false });
      na.publish("feed.one", "hello");
      for await (const m of sub) expect(m.string()).toBe("hello");
      await na.close();
      await nb.close();
      await sys.close();
    } finally {
      await g.stop();
      await h.stop();
    }
  }, 60_000);
});

const updateKinds: [string, Kind][] = [["gnat", "gnat"]];
if (NATS_SERVER !== null) updateKinds.push(["nats-server", "nats"]);

describe.each(updateKinds)("an account resolved at run time, between gnat and %s", (_name, other) => {
  test("its messages cross the route both ways (each server tells the other of its interest in it)", async () => {
    const op = await makeOperator();
    const b = await makeAccount(op.okp, "B");
    const c = await makeAccount(op.okp, "C");
    const d = await makeAccount(op.okp, "D");
    const e = await makeAccount(op.okp, "E");
    const { a: o, b: g, dirs } = await pair(op, other, "gnat", { [b.id]: b.jwt, [c.id]: c.jwt, [d.id]: d.jwt, [e.id]: e.jwt });
    try {
      // C: interest from the other server arrives before any client of C has come to gnat,
      // which holds C's JWT: gnat takes C into use then (as nats-server looks an RS+'s account up).
      const sysG = await sysConnection(g.url, op);
      await until(async () => {
        await sysG.request(`$SYS.REQ.ACCOUNT.${c.id}.CLAIMS.UPDATE`, c.jwt, { timeout: 2000 }).catch(() => null);
        return existsSync(join(dirs[1]!, `${c.id}.jwt`));
      }, { what: "gnat to hold C", timeout: 15_000 });
      const uc = await makeUser(c.akp);
      const subOther = await connectNode(o.url, { authenticator: credsAuthenticator(uc.creds) });
      subOther.subscribe("early", { callback: (_e, m) => m.respond("seen") });
      await subOther.flush();
      // (Its RS+ has crossed once a system-account probe subscribed after it has: interest travels in order.)
      const probe = await sysConnection(o.url, op);
      probe.subscribe("probe.c", { callback: (_e, m) => m.respond("") });
      await probe.flush();
      await until(async () => (await sysG.request("probe.c", "", { timeout: 500 }).catch(() => null)) !== null, { what: "the probe across the route", timeout: 15_000 });
      const pubGnat = await connectNode(g.url, { authenticator: credsAuthenticator(uc.creds) });
      expect((await pubGnat.request("early", "", { timeout: 3000 })).string()).toBe("seen");
      await pubGnat.close();
      await subOther.close();
      // D: the same, for an account gnat does not even hold: the route's interest in it is kept
      // until a client's CONNECT has it looked up on the other server.
      const ud = await makeUser(d.akp);
      const subD = await connectNode(o.url, { authenticator: credsAuthenticator(ud.creds) });
      subD.subscribe("early.d", { callback: (_e, m) => m.respond("seen d") });
      await subD.flush();
      probe.subscribe("probe.d", { callback: (_e, m) => m.respond("") });
      await probe.flush();
      await until(async () => (await sysG.request("probe.d", "", { timeout: 500 }).catch(() => null)) !== null, { what: "the probe across the route", timeout: 15_000 });
      const pubD = await connectNode(g.url, { authenticator: credsAuthenticator(ud.creds) });
      expect((await pubD.request("early.d", "", { timeout: 3000 })).string()).toBe("seen d");
      await pubD.close();
      await subD.close();
      // E: interest taken back (RS-) before gnat knew E is not applied when it does.
      const ue = await makeUser(e.akp);
      const subE = await connectNode(o.url, { authenticator: credsAuthenticator(ue.creds) });
      const gone = subE.subscribe("gone", { callback: (_e, m) => m.respond("stale") });
      await subE.flush();
      gone.unsubscribe();
      await subE.flush();
      probe.subscribe("probe.e", { callback: (_e, m) => m.respond("") });
      await probe.flush();
      await until(async () => (await sysG.request("probe.e", "", { timeout: 500 }).catch(() => null)) !== null, { what: "the probe across the route", timeout: 15_000 });
      const pubE = await connectNode(g.url, { authenticator: credsAuthenticator(ue.creds) });
      await expect(pubE.request("gone", "", { timeout: 3000 })).rejects.toThrow(/no responders/);
      await pubE.close();
      await subE.close();
      await probe.close();
      await sysG.close();
      const u = await makeUser(b.akp);
      const onOther = await connectNode(o.url, { authenticator: credsAuthenticator(u.creds) });
      const onGnat = await connectNode(g.url, { authenticator: credsAuthenticator(u.creds) });
      for (const [sub, pub] of [[onGnat, onOther], [onOther, onGnat]] as const) {
        const s = sub.subscribe("q", { callback: (_e, m) => m.respond("here") });
        await sub.flush();
        await until(async () => (await pub.request("q", "", { timeout: 500 }).catch(() => null))?.string() === "here",
          { what: "a request across the route in account B", timeout: 15_000 });
        s.unsubscribe();
        await sub.flush();
      }
      await onOther.close();
      await onGnat.close();
    } finally {
      await g.stop();
      await o.stop();
    }
  }, 60_000);
});


describe.each(updateKinds)("claims updates between gnat and %s", (_name, other) => {
  test("an update pushed to either server is taken by the other at once, and changes its connected users", async () => {
    const op = await makeOperator();
    const akp = (await makeAccount(op.okp, "A")).akp;
    const a1 = await makeAccount(op.okp, "A", {}, { akp });
    const { a: o, b: g, dirs } = await pair(op, other, "gnat", {});
    try {
      const toOther = await sysConnection(o.url, op);
      const toGnat = await sysConnection(g.url, op);
      // Pushed to the other server (again until its route has carried gnat's interest): gnat stores it and its users connect.
      const u = await makeUser(akp);
      await until(async () => {
        const r = await toOther.request(`$SYS.REQ.ACCOUNT.${a1.id}.CLAIMS.UPDATE`, a1.jwt, { timeout: 2000 }).catch(() => null);
        if (r === null) return false;
        return existsSync(join(dirs[1]!, `${a1.id}.jwt`));
      }, { what: "gnat to take the update pushed to the other server", timeout: 15_000 });
      expect(readFileSync(join(dirs[1]!, `${a1.id}.jwt`), "utf8")).toBe(a1.jwt);
      const nc = await connectNode(g.url, { authenticator: credsAuthenticator(u.creds), reconnect: false });
      await nc.flush();
      // Pushed to gnat: a revocation of u reaches the other server, and gnat closes u at once.
      const closed = nc.closed();
      const a2 = await makeAccount(op.okp, "A", { limits: OPEN_LIMITS, revocations: { [u.ukp.getPublicKey()]: Math.floor(Date.now() / 1000) + 1 } }, { akp });
      const r = await toGnat.request(`$SYS.REQ.ACCOUNT.${a2.id}.CLAIMS.UPDATE`, a2.jwt, { timeout: 3000 });
      expect(r.json<{ data?: { code: number } }>().data?.code).toBe(200);
      expect(String(await closed)).toMatch(/User Authentication Revoked/i);
      await until(() => existsSync(join(dirs[0]!, `${a2.id}.jwt`)) && readFileSync(join(dirs[0]!, `${a2.id}.jwt`), "utf8") === a2.jwt,
        { what: "the other server to store the update pushed to gnat", timeout: 15_000 });
      expect(await canConnect(o.url, u.creds)).toBe(false);
      await toOther.close();
      await toGnat.close();
    } finally {
      await g.stop();
      await o.stop();
    }
  }, 60_000);
});
