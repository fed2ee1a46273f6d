// The full directory resolver and claims updates: account JWTs pushed on $SYS.REQ.ACCOUNT.<id>.
// CLAIMS.UPDATE by a system-account user, answered as nats-server answers (compared side by
// side), kept in the directory across a SIGKILL, and applied to connected clients (a revoked
// user is closed, a scoped key's new template changes what a connected user may publish).
import { mkdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startGnat, tempDir } from "../kit/gnat.js";
import { connectNode } from "../kit/clients.js";
import { NATS_SERVER, freePort, spawnGnat, spawnNatsServer, stopAll } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { createAccount, createOperator, makeAccount, makeOperator, makeUser, OPEN_LIMITS, type TestOperator } from "../helpers/operator.js";
import { encodeGeneric } from "@nats-io/jwt";
import { storeHash } from "../../server/accounts/claims-api.js";
import { meshed, startNode } from "../cluster/kit.js";

const t = tempDir("gnat-resolver-");
afterAll(() => t.remove());
afterEach(() => stopAll());

let n = 0;
function fullConfig(op: TestOperator, extra = "", allowDelete = false): { dir: string; text: string } {
  const dir = join(t.dir, `jwt-${++n}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    text: `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\nresolver { type: full, dir: "${dir}", allow_delete: ${allowDelete} }\n` +
      `resolver_preload: {\n  ${op.sys.getPublicKey()}: ${op.sysJwt}\n}\n${extra}`,
  };
}

async function sysConnection(url: string, op: TestOperator): Promise<NatsConnection> {
  const u = await makeUser(op.sys);
  return connectNode(url, { authenticator: credsAuthenticator(u.creds) });
}

type Reply = { server: Record<string, unknown>; data?: Record<string, unknown>; error?: Record<string, unknown> };
async function push(nc: NatsConnection, id: string, jwt: string): Promise<Reply> {
  const m = await nc.request(`$SYS.REQ.ACCOUNT.${id}.CLAIMS.UPDATE`, jwt, { timeout: 3000 });
  return m.json<Reply>();
}

describe("the full directory resolver", () => {
  test("an account pushed to a running server is stored, looked up, and its users connect — after a SIGKILL too", async () => {
    const op = await makeOperator();
    const { dir, text } = fullConfig(op);
    const conf = join(t.dir, `full-${n}.conf`);
    writeFileSync(conf, text);
    const g = await spawnGnat(["-c", conf], t.dir);
    const sys = await sysConnection(g.url, op);
    const b = await makeAccount(op.okp, "B");
    const r = await push(sys, b.id, b.jwt);
    expect(r.data).toEqual({ account: b.id, code: 200, message: "jwt updated" });
    expect(readFileSync(join(dir, `${b.id}.jwt`), "utf8")).toBe(b.jwt);
    const looked = await sys.request(`$SYS.REQ.ACCOUNT.${b.id}.CLAIMS.LOOKUP`, "", { timeout: 3000 });
    expect(looked.string()).toBe(b.jwt);
    const none = await sys.request(`$SYS.REQ.ACCOUNT.${createAccount().getPublicKey()}.CLAIMS.LOOKUP`, "", { timeout: 3000 });
    expect(none.data.length).toBe(0);
    const ub = await makeUser(b.akp);
    const nc = await connectNode(g.url, { authenticator: credsAuthenticator(ub.creds) });
    await nc.flush();
    await nc.close();
    await sys.close();
    await g.stop("SIGKILL");

    const again = await spawnGnat(["-c", conf], t.dir);
    const nc2 = await connectNode(again.url, { authenticator: credsAuthenticator(ub.creds) });
    await nc2.flush();
    await nc2.close();
  });

  test("updates are answered as nats-server answers them: taken, refused for a stranger's signature, refused for the wrong subject", async () => {
    const op = await makeOperator();
    const gnatConf = fullConfig(op);
    const gnat = await startGnat(configToOptions(parseConfig(gnatConf.text)).options);
    const servers: [string, string][] = [["gnat", gnat.url]];
    if (NATS_SERVER !== null) {
      const port = await freePort();
      const natsConf = fullConfig(op, `port: ${port}\nhost: 127.0.0.1\n`);
      const file = join(t.dir, `nats-${n}.conf`);
      writeFileSync(file, natsConf.text);
      const ns = await spawnNatsServer(["-c", file], port);
      servers.push(["nats-server", ns.url]);
    }
    try {
      const b = await makeAccount(op.okp, "B");
      const stranger = await makeAccount((await makeOperator()).okp, "X");
      const answers: Record<string, unknown[]> = {};
      for (const [name, url] of servers) {
        const sys = await sysConnection(url, op);
        const ok = await push(sys, b.id, b.jwt);
        const wrong = await push(sys, stranger.id, b.jwt);
        const garbage = await push(sys, b.id, "not a jwt");
        expect(Object.keys(ok.server).sort(), name).toEqual(expect.arrayContaining(["host", "id", "name", "seq", "time", "ver"]));
        answers[name] = [ok.data, wrong.error, garbage.error?.code, garbage.error?.account];
        await sys.close();
      }
      expect(answers.gnat).toEqual([
        { account: b.id, code: 200, message: "jwt updated" },
        { account: stranger.id, code: 500, description: "jwt update resulted in error - subject does not match jwt content" },
        500, "n/a",
      ]);
      if (answers["nats-server"] !== undefined) expect(answers.gnat).toEqual(answers["nats-server"]);
    } finally {
      await gnat.close();
    }
  });

  test("an account JWT signed by a stranger operator is refused and not stored", async () => {
    const op = await makeOperator();
    const { dir, text } = fullConfig(op);
    const gnat = await startGnat(configToOptions(parseConfig(text)).options);
    try {
      const sys = await sysConnection(gnat.url, op);
      const stranger = await makeAccount((await makeOperator()).okp, "X");
      const r = await push(sys, stranger.id, stranger.jwt);
      expect(r.error).toEqual({ account: stranger.id, code: 500, description: "jwt validation failed - account not trusted" });
      expect(existsSync(join(dir, `${stranger.id}.jwt`))).toBe(false);
      await sys.close();
    } finally {
      await gnat.close();
    }
  });

  test("a user outside the system account cannot push updates", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const { text } = fullConfig(op);
    const o = configToOptions(parseConfig(text)).options;
    const gnat = await startGnat({ ...o, resolverPreload: { ...o.resolverPreload, [a.id]: a.jwt } });
    try {
      const u = await makeUser(a.akp);
      const nc = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds) });
      await expect(nc.request(`$SYS.REQ.ACCOUNT.${a.id}.CLAIMS.UPDATE`, a.jwt, { timeout: 1000 })).rejects.toThrow(/no responders|503/i);
      await nc.close();
    } finally {
      await gnat.close();
    }
  });
});

describe("claims updates reach connected clients", () => {
  test("a revocation closes the revoked user at once with 'User Authentication Revoked', and refuses it next time", async () => {
    const op = await makeOperator();
    const a = await makeAccount(op.okp, "A");
    const { text } = fullConfig(op);
    const o = configToOptions(parseConfig(text)).options;
    const gnat = await startGnat({ ...o, resolverPreload: { ...o.resolverPreload, [a.id]: a.jwt } });
    try {
      const u = await makeUser(a.akp);
      const other = await makeUser(a.akp);
      const nc = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds), reconnect: false });
      const keep = await connectNode(gnat.url, { authenticator: credsAuthenticator(other.creds), reconnect: false });
      const closed = nc.closed();
      const revoked = await makeAccount(op.okp, "A", { revocations: { [u.ukp.getPublicKey()]: Math.floor(Date.now() / 1000) + 1 } }, { akp: a.akp });
      const sys = await sysConnection(gnat.url, op);
      expect((await push(sys, a.id, revoked.jwt)).data?.code).toBe(200);
      expect(String(await closed)).toMatch(/User Authentication Revoked/i);
      await keep.flush();
      await expect(connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds), reconnect: false })).rejects.toThrow(/Authorization Violation/);
      await keep.close();
      await sys.close();
    } finally {
      await gnat.close();
    }
  });

  test("a lowered connection limit closes the newest clients past it and keeps the oldest", async () => {
    const op = await makeOperator();
    const akp = createAccount();
    const a = await makeAccount(op.okp, "A", {}, { akp });
    const o = configToOptions(parseConfig(fullConfig(op).text)).options;
    const gnat = await startGnat({ ...o, resolverPreload: { ...o.resolverPreload, [a.id]: a.jwt } });
    try {
      const u = await makeUser(akp);
      const ncs: NatsConnection[] = [];
      for (let i = 0; i < 3; i++) {
        const nc = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds), reconnect: false });
        await nc.flush();
        ncs.push(nc);
      }
      const sys = await sysConnection(gnat.url, op);
      const one = await makeAccount(op.okp, "A", { limits: { ...OPEN_LIMITS, conn: 1 } }, { akp });
      expect((await push(sys, a.id, one.jwt)).data?.code).toBe(200);
      for (const nc of ncs.slice(1)) expect(String(await nc.closed())).toMatch(/maximum account active connections exceeded/);
      await ncs[0]!.flush();
      expect(ncs[0]!.isClosed()).toBe(false);
      await ncs[0]!.close();
      await sys.close();
    } finally {
      await gnat.close();
    }
  });

  test("a scoped signing key's new template changes what a connected user may publish", async () => {
    const op = await makeOperator();
    const scope = createAccount();
    const akp = createAccount();
    const withTemplate = (allow: string[]) => makeAccount(op.okp, "A", {
      signing_keys: [{ kind: "user_scope", key: scope.getPublicKey(), role: "r", template: { pub: { allow, deny: [] }, sub: { allow: [">"], deny: [] }, subs: -1, data: -1, payload: -1 } }],
    }, { akp });
    const a1 = await withTemplate(["one"]);
    const { text } = fullConfig(op);
    const o = configToOptions(parseConfig(text)).options;
    const gnat = await startGnat({ ...o, resolverPreload: { ...o.resolverPreload, [a1.id]: a1.jwt } });
    try {
      const u = await makeUser(a1.id, {}, { signer: scope, scoped: true });
      const nc = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds) });
      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error));
      })();
      nc.publish("two", "x");
      await until(() => errors.some((e) => e.includes('Publish to "two"')), { what: "the violation for two" });
      const sys = await sysConnection(gnat.url, op);
      const a2 = await withTemplate(["two"]);
      expect((await push(sys, a2.id, a2.jwt)).data?.code).toBe(200);
      const sub = nc.subscribe("two", { max: 1 });
      nc.publish("two", "now");
      for await (const m of sub) expect(m.string()).toBe("now");
      nc.publish("one", "x");
      await until(() => errors.some((e) => e.includes('Publish to "one"')), { what: "the violation for one" });
      await nc.close();
      await sys.close();
    } finally {
      await gnat.close();
    }
  });
});

describe("claims deletes (allow_delete)", () => {
  /** A delete request: generic claims listing `accounts`, for `subject`, signed by `signer`. */
  const deletion = (subject: TestOperator["okp"] | string, data: Record<string, unknown>, signer?: TestOperator["okp"]): Promise<string> =>
    encodeGeneric("delete", subject, "generic", data, signer !== undefined ? { signer } : {});
  type Reply = { data?: Record<string, unknown>; error?: Record<string, unknown> };
  const del = async (nc: NatsConnection, token: string): Promise<Reply> => {
    const r = (await nc.request("$SYS.REQ.CLAIMS.DELETE", token, { timeout: 3000 })).json<Reply & { server: unknown }>();
    return { ...(r.data !== undefined ? { data: r.data } : {}), ...(r.error !== undefined ? { error: r.error } : {}) };
  };

  test("answered as nats-server answers them, with and without allow_delete", async () => {
    const op = await makeOperator();
    const servers: [string, string, boolean][] = [];
    const gnats = [];
    for (const allow of [true, false]) {
      const g = await startGnat(configToOptions(parseConfig(fullConfig(op, "", allow).text)).options);
      gnats.push(g);
      servers.push([`gnat allow_delete: ${allow}`, g.url, allow]);
      if (NATS_SERVER !== null) {
        const port = await freePort();
        const file = join(t.dir, `nats-del-${++n}.conf`);
        writeFileSync(file, fullConfig(op, `port: ${port}\nhost: 127.0.0.1\n`, allow).text);
        servers.push([`nats-server allow_delete: ${allow}`, (await spawnNatsServer(["-c", file], port)).url, allow]);
      }
    }
    try {
      const answers: Record<string, Reply[]> = {};
      for (const [name, url] of servers) {
        const sys = await sysConnection(url, op);
        const b = await makeAccount(op.okp, "B");
        await push(sys, b.id, b.jwt);
        const opKey = op.okp.getPublicKey();
        answers[name] = [
          await del(sys, await deletion(op.okp, { accounts: [b.id] })),
          await del(sys, await deletion(opKey, { accounts: [b.id] }, createOperator())),
          await del(sys, await deletion(createOperator(), { accounts: [b.id] })),
          await del(sys, await deletion(op.okp, { accounts: [op.sys.getPublicKey()] })),
          await del(sys, await deletion(op.okp, { accounts: ["nope"] })),
          await del(sys, await deletion(op.okp, {})),
        ];
        await sys.close();
      }
      const by = (k: string): string => k.replace(/^(?:gnat|nats-server) /, "");
      for (const [name, , allow] of servers) {
        const a = answers[name]!;
        if (allow) {
          expect(a[0], name).toEqual({ data: { code: 200, message: "deleted 1 accounts" } });
          const failed = (why: string, sub = op.okp.getPublicKey()): Reply => ({ error: { code: 500, description: `delete accounts request by ${sub} failed - ${why}` } });
          expect(a[1], name).toEqual(failed("not self signed"));
          expect(a[2]!.error?.description, name).toMatch(/failed - not trusted$/);
          expect(a.slice(3), name).toEqual([failed("not allowed to delete system account"), failed("malformed request"), failed("malformed request")]);
        } else {
          expect(a[0], name).toEqual({ error: { code: 500, description: `delete accounts request by ${op.okp.getPublicKey()} failed - delete must be enabled in server config` } });
        }
        // Same as nats-server's, where it ran.
        const twin = Object.keys(answers).find((k) => k !== name && by(k) === by(name));
        if (twin !== undefined && name.startsWith("gnat")) {
          const strip = (r: Reply[]): unknown[] => r.map((x) => JSON.stringify(x).replace(/by O[A-Z2-7]{55}/g, "by O…"));
          expect(strip(a), name).toEqual(strip(answers[twin]!));
        }
      }
    } finally {
      for (const g of gnats) await g.close();
    }
  }, 60_000);

  test("a deleted account's JWT leaves the directory, its clients are closed and none connects until it is pushed again", async () => {
    const op = await makeOperator();
    const { dir, text } = fullConfig(op, "", true);
    const gnat = await startGnat(configToOptions(parseConfig(text)).options);
    try {
      const sys = await sysConnection(gnat.url, op);
      const b = await makeAccount(op.okp, "B");
      await push(sys, b.id, b.jwt);
      const u = await makeUser(b.akp);
      const nc = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds), reconnect: false });
      const closed = nc.closed();
      expect(await del(sys, await deletion(op.okp, { accounts: [b.id] }))).toEqual({ data: { code: 200, message: "deleted 1 accounts" } });
      expect(String(await closed)).toMatch(/Account Authentication Expired/i);
      expect(existsSync(join(dir, `${b.id}.jwt`))).toBe(false);
      await expect(connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds) })).rejects.toThrow(/Authorization Violation/);
      await push(sys, b.id, await (await makeAccount(op.okp, "B", {}, { akp: b.akp })).jwt);
      const back = await connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds) });
      await back.close();
      await sys.close();
    } finally {
      await gnat.close();
    }
  });
});

describe("the directory resolver's sync (interval, $SYS.REQ.CLAIMS.PACK)", () => {
  /** Ask one pack: every message until the empty one that ends it. */
  async function pack(nc: NatsConnection, hash: Uint8Array): Promise<string[]> {
    const inbox = `_INBOX.pack.${Math.random().toString(36).slice(2)}`;
    const lines: string[] = [];
    const done = new Promise<void>((resolve) => {
      nc.subscribe(inbox, {
        callback: (_e, m) => {
          if (m.data.length === 0) resolve();
          else lines.push(m.string());
        },
      });
    });
    await nc.flush();
    nc.publish("$SYS.REQ.CLAIMS.PACK", hash, { reply: inbox });
    await done;
    return lines.sort();
  }

  test("a pack request is answered as nats-server answers it: the JWTs held when the hash differs, nothing when it matches", async () => {
    const op = await makeOperator();
    const servers: [string, string][] = [];
    const g = await startGnat(configToOptions(parseConfig(fullConfig(op).text)).options);
    servers.push(["gnat", g.url]);
    if (NATS_SERVER !== null) {
      const port = await freePort();
      const file = join(t.dir, `nats-pack-${++n}.conf`);
      writeFileSync(file, fullConfig(op, `port: ${port}\nhost: 127.0.0.1\n`).text);
      servers.push(["nats-server", (await spawnNatsServer(["-c", file], port)).url]);
    }
    try {
      const b = await makeAccount(op.okp, "B");
      const answers: Record<string, string[][]> = {};
      for (const [name, url] of servers) {
        const sys = await sysConnection(url, op);
        await push(sys, b.id, b.jwt);
        const all = await pack(sys, new Uint8Array(32));
        const same = await pack(sys, storeHash([op.sysJwt, b.jwt]));
        answers[name] = [all, same];
        await sys.close();
      }
      expect(answers.gnat).toEqual([[`${op.sys.getPublicKey()}|${op.sysJwt}`, `${b.id}|${b.jwt}`].sort(), []]);
      if (answers["nats-server"] !== undefined) expect(answers.gnat).toEqual(answers["nats-server"]);
    } finally {
      await g.close();
    }
  });

  test("every interval gnat asks for a pack and takes the newer JWTs: an account it never had becomes usable", async () => {
    const op = await makeOperator();
    const gnat = await startGnat(configToOptions(parseConfig(fullConfig(op).text.replace("allow_delete: false", "allow_delete: false, interval: \"100ms\""))).options);
    try {
      const b = await makeAccount(op.okp, "B");
      const forged = await makeAccount((await makeOperator()).okp, "X");
      // Another server of the cluster, as far as gnat can tell: a member of the responder queue group.
      const sys = await sysConnection(gnat.url, op);
      const asked: Buffer[] = [];
      sys.subscribe("$SYS.REQ.CLAIMS.PACK", {
        queue: "responder",
        callback: (_e, m) => {
          asked.push(Buffer.from(m.data));
          m.respond(`${b.id}|${b.jwt}\n${forged.id}|${forged.jwt}`);
          m.respond(new Uint8Array(0));
        },
      });
      await sys.flush();
      const u = await makeUser(b.akp);
      await until(async () => connectNode(gnat.url, { authenticator: credsAuthenticator(u.creds) }).then(async (nc) => {
        await nc.close();
        return true;
      }, () => false), { what: "account B merged from a pack", timeout: 10_000 });
      // The request carries the hash of what gnat held then (its system account's JWT at first).
      expect(asked[0]!.equals(storeHash([op.sysJwt]))).toBe(true);
      // Only what the operator signed is taken.
      const look = await sys.request(`$SYS.REQ.ACCOUNT.${forged.id}.CLAIMS.LOOKUP`, "", { timeout: 3000 });
      expect(look.data.length).toBe(0);
      await sys.close();
    } finally {
      await gnat.close();
    }
  });
});

describe.skipIf(NATS_SERVER === null)("the pack sync across a cluster of gnat and nats-server", () => {
  test("an account pushed to nats-server reaches gnat through the sync, and one pushed to gnat reaches nats-server", async () => {
    const op = await makeOperator();
    const conf = (name: string): string => {
      const dir = join(t.dir, `sync-${name}-${++n}`);
      mkdirSync(dir, { recursive: true });
      return `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\nresolver { type: full, dir: "${dir}", interval: "200ms" }\n` +
        `resolver_preload: {\n  ${op.sys.getPublicKey()}: ${op.sysJwt}\n}\n`;
    };
    const ns = await startNode({ name: "ns", kind: "nats", config: conf("ns") });
    const g = await startNode({ name: "g", kind: "gnat", config: conf("g"), routes: [`nats-route://127.0.0.1:${ns.clusterPort}`] });
    try {
      await meshed([ns, g]);
      const canConnect = (url: string, creds: Uint8Array) => async (): Promise<boolean> =>
        connectNode(url, { authenticator: credsAuthenticator(creds), reconnect: false }).then(async (nc) => {
          await nc.close();
          return true;
        }, () => false);
      const b = await makeAccount(op.okp, "B");
      const ub = await makeUser(b.akp);
      const toNs = await sysConnection(ns.url, op);
      expect((await push(toNs, b.id, b.jwt)).data?.message).toBe("jwt updated");
      await until(canConnect(g.url, ub.creds), { what: "gnat to know account B", timeout: 15_000 });

      const c = await makeAccount(op.okp, "C");
      const uc = await makeUser(c.akp);
      const toG = await sysConnection(g.url, op);
      expect((await push(toG, c.id, c.jwt)).data?.message).toBe("jwt updated");
      await until(canConnect(ns.url, uc.creds), { what: "nats-server to know account C", timeout: 15_000 });
      await toNs.close();
      await toG.close();
    } finally {
      await g.stop();
      await ns.stop();
    }
  }, 60_000);
});
