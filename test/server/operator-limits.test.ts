// Account and user JWT limits (issue #24), side by side with nats-server: an account JWT past its
// own `imports` or `exports` limit fails claim validation (refused as an update, not usable at
// connect); `wildcards: false` and a user's `data` limit are carried and not enforced by
// nats-server 2.9, nor by gnat. Exports and imports changed by a claims update apply at once.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startGnat, tempDir } from "../kit/gnat.js";
import { connectNode } from "../kit/clients.js";
import { NATS_SERVER, freePort, spawnNatsServer, stopAll } from "../kit/processes.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { makeAccount, makeOperator, makeUser, OPEN_LIMITS, type TestOperator } from "../helpers/operator.js";

const t = tempDir("gnat-oplimits-");
afterAll(() => t.remove());
afterEach(() => stopAll());

let n = 0;
function fullConfig(op: TestOperator, extra = ""): string {
  const dir = join(t.dir, `jwt-${++n}`);
  mkdirSync(dir, { recursive: true });
  return `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\nresolver { type: full, dir: "${dir}" }\n` +
    `resolver_preload: {\n  ${op.sys.getPublicKey()}: ${op.sysJwt}\n}\n${extra}`;
}

/** gnat and (when installed) nats-server with the same operator: [name, url, stop]. */
async function both(op: TestOperator): Promise<[string, string, () => Promise<void>][]> {
  const g = await startGnat(configToOptions(parseConfig(fullConfig(op))).options);
  const out: [string, string, () => Promise<void>][] = [["gnat", g.url, () => g.close()]];
  if (NATS_SERVER !== null) {
    const port = await freePort();
    const file = join(t.dir, `nats-${++n}.conf`);
    writeFileSync(file, fullConfig(op, `port: ${port}\nhost: 127.0.0.1\n`));
    const ns = await spawnNatsServer(["-c", file], port);
    out.push(["nats-server", ns.url, () => ns.stop()]);
  }
  return out;
}

type Reply = { data?: Record<string, unknown>; error?: Record<string, unknown> };
async function push(nc: NatsConnection, id: string, jwt: string): Promise<Reply> {
  const r = (await nc.request(`$SYS.REQ.ACCOUNT.${id}.CLAIMS.UPDATE`, jwt, { timeout: 3000 })).json<Reply & { server: unknown }>();
  return { ...(r.data !== undefined ? { data: r.data } : {}), ...(r.error !== undefined ? { error: r.error } : {}) };
}

const IMPORTS = "the account contains more imports than allowed by the operator";
const EXPORTS = "the account contains more exports than allowed by the operator";

describe("account JWT limits on imports and exports, and a user's data limit", () => {
  test("an account JWT past its imports or exports limit is refused as nats-server refuses it; data is not enforced", async () => {
    const op = await makeOperator();
    const servers = await both(op);
    const got: Record<string, unknown[]> = {};
    try {
      const exporter = await makeAccount(op.okp, "E", { exports: [{ name: "s", subject: "feed.>", type: "stream" }] });
      const feed = (name: string, subject = "feed.>") => ({ name, account: exporter.id, subject, type: "stream" as const });
      const cases = [
        await makeAccount(op.okp, "I", { limits: { ...OPEN_LIMITS, imports: 0 }, imports: [feed("f")] }),
        await makeAccount(op.okp, "X", { limits: { ...OPEN_LIMITS, exports: 0 }, exports: [{ name: "s", subject: "feed", type: "stream" }] }),
        await makeAccount(op.okp, "B", { limits: { ...OPEN_LIMITS, imports: 0, exports: 0 }, exports: [{ name: "s", subject: "feed", type: "stream" }], imports: [feed("f")] }),
        // A limit the JWT leaves out is 0.
        await makeAccount(op.okp, "N", { limits: { conn: -1, subs: -1, payload: -1, data: -1 }, imports: [feed("f")] }),
        await makeAccount(op.okp, "T", { limits: { ...OPEN_LIMITS, imports: 1 }, imports: [feed("f"), feed("g", "feed.x")] }),
        // Within: taken. (wildcards: false does not refuse a wildcard export in nats-server 2.9.)
        await makeAccount(op.okp, "O", { limits: { ...OPEN_LIMITS, imports: 1, exports: 1 }, imports: [feed("f")], exports: [{ name: "s", subject: "o", type: "stream" }] }),
        await makeAccount(op.okp, "W", { limits: { ...OPEN_LIMITS, wildcards: false }, exports: [{ name: "s", subject: "feed.>", type: "stream" }] }),
      ];
      for (const [name, url] of servers) {
        const sys = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(op.sys)).creds) });
        const r: unknown[] = [];
        await push(sys, exporter.id, exporter.jwt);
        for (const c of cases) {
          const a = await push(sys, c.id, c.jwt);
          r.push(a.error?.description ?? a.data?.message);
        }
        // A refused account is not held: its users cannot connect.
        const refused = await makeUser(cases[0]!.akp);
        r.push(await connectNode(url, { authenticator: credsAuthenticator(refused.creds), reconnect: false }).then(async (nc) => {
          await nc.close();
          return "connected";
        }, (e: unknown) => String(e).includes("Authorization Violation") ? "refused" : String(e)));
        // data: a user allowed 1 byte of data publishes 10, and it is delivered (nats-server 2.9 does not enforce data).
        const d = await makeAccount(op.okp, "D", { limits: { ...OPEN_LIMITS, data: 1 } });
        await push(sys, d.id, d.jwt);
        const u = await makeUser(d.akp, { data: 1 });
        const nc = await connectNode(url, { authenticator: credsAuthenticator(u.creds) });
        const sub = nc.subscribe("x", { max: 1 });
        nc.publish("x", "0123456789");
        for await (const m of sub) r.push(m.string());
        await nc.close();
        got[name] = r;
        await sys.close();
      }
    } finally {
      for (const [, , stop] of servers) await stop();
    }
    const failed = (...errs: string[]) => `jwt validation failed - validation errors: [${errs.join(" ")}]`;
    expect(got.gnat).toEqual([
      failed(IMPORTS, IMPORTS), failed(EXPORTS), failed(IMPORTS, IMPORTS, EXPORTS), failed(IMPORTS, IMPORTS), failed(IMPORTS, IMPORTS),
      "jwt updated", "jwt updated", "refused", "0123456789",
    ]);
    if (got["nats-server"] !== undefined) expect(got.gnat).toEqual(got["nats-server"]);
  }, 30_000);
});

describe("exports and imports changed by claims updates", () => {
  test("an import added, then its export taken away: the importer's users get the exporter's messages and service, then not (as nats-server)", async () => {
    const op = await makeOperator();
    const servers = await both(op);
    const got: Record<string, unknown[]> = {};
    try {
      for (const [name, url] of servers) {
        const akp = (await makeAccount(op.okp, "A")).akp;
        const bkp = (await makeAccount(op.okp, "B")).akp;
        const a0 = await makeAccount(op.okp, "A", {}, { akp });
        const b0 = await makeAccount(op.okp, "B", {}, { akp: bkp });
        const sys = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(op.sys)).creds) });
        await push(sys, a0.id, a0.jwt);
        await push(sys, b0.id, b0.jwt);
        const ua = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(akp)).creds) });
        const ub = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(bkp)).creds) });
        const heard: string[] = [];
        ub.subscribe("feed.>", { callback: (_e, m) => void heard.push(m.string()) });
        ua.subscribe("svc", { callback: (_e, m) => m.respond("served") });
        await ub.flush();
        await ua.flush();
        /** What B hears of a publish in A, and what a request from B gets. */
        const probe = async (tag: string): Promise<[boolean, string]> => {
          ua.publish("feed.x", tag);
          await ua.flush();
          await ub.flush();
          const reply = await ub.request("svc", "", { timeout: 1000 }).then((m) => m.string(), (e: unknown) => String((e as Error).message).slice(0, 20));
          return [heard.includes(tag), reply];
        };
        const r: unknown[] = [await probe("before")];
        const a1 = await makeAccount(op.okp, "A", { exports: [{ name: "f", subject: "feed.>", type: "stream" }, { name: "s", subject: "svc", type: "service" }] }, { akp });
        const b1 = await makeAccount(op.okp, "B", { imports: [{ name: "f", account: a1.id, subject: "feed.>", type: "stream" }, { name: "s", account: a1.id, subject: "svc", type: "service" }] }, { akp: bkp });
        await push(sys, a1.id, a1.jwt);
        await push(sys, b1.id, b1.jwt);
        r.push(await probe("imported"));
        const a2 = await makeAccount(op.okp, "A", {}, { akp });
        await push(sys, a2.id, a2.jwt);
        r.push(await probe("withdrawn"));
        got[name] = r;
        await ua.close();
        await ub.close();
        await sys.close();
      }
    } finally {
      for (const [, , stop] of servers) await stop();
    }
    expect(got.gnat).toEqual([[false, "no responders: 'svc'"], [true, "served"], [false, "no responders: 'svc'"]]);
    // nats-server 2.9 keeps a withdrawn service import's subscription, marked invalid: the request
    // times out there instead of getting no responders at once. Everything else is the same.
    if (got["nats-server"] !== undefined) {
      expect(got.gnat!.slice(0, 2)).toEqual(got["nats-server"].slice(0, 2));
      expect(got["nats-server"][2]).toEqual([false, "timeout"]);
    }
  }, 30_000);

  test("an import of an account not there yet is wired when the exporter comes (as nats-server)", async () => {
    const op = await makeOperator();
    const servers = await both(op);
    const got: Record<string, boolean> = {};
    try {
      for (const [name, url] of servers) {
        const a = await makeAccount(op.okp, "A", { exports: [{ name: "f", subject: "feed.>", type: "stream" }] });
        const b = await makeAccount(op.okp, "B", { imports: [{ name: "f", account: a.id, subject: "feed.>", type: "stream" }] });
        const sys = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(op.sys)).creds) });
        await push(sys, b.id, b.jwt);
        const ub = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(b.akp)).creds) });
        let heard = 0;
        ub.subscribe("feed.>", { callback: () => void heard++ });
        await ub.flush();
        await push(sys, a.id, a.jwt);
        const ua = await connectNode(url, { authenticator: credsAuthenticator((await makeUser(a.akp)).creds) });
        ua.publish("feed.x", "late");
        await ua.flush();
        await ub.flush();
        got[name] = heard === 1;
        await ua.close();
        await ub.close();
        await sys.close();
      }
    } finally {
      for (const [, , stop] of servers) await stop();
    }
    expect(got.gnat).toBe(true);
    if (got["nats-server"] !== undefined) expect(got.gnat).toBe(got["nats-server"]);
  }, 30_000);
});
