// Tested by test/server/operator-resolver.test.ts.
// nats-server's account JWT requests, answered inside the system account (so only its users can
// make them): `$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE` and `$SYS.REQ.CLAIMS.UPDATE` take a new
// account JWT (signed by the operator or one of its signing keys), `$SYS.ACCOUNT.<id>.CLAIMS.UPDATE`
// is the older form of the first, `$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP` answers with the JWT
// held (an empty message when none), `$SYS.REQ.CLAIMS.LIST` with the accounts held. With the full
// resolver, `$SYS.REQ.CLAIMS.DELETE` takes a generic JWT self-signed by the operator (or one of its
// signing keys) listing accounts to delete (`allow_delete: true`), and the servers keep their
// directories alike (`interval`): each asks `$SYS.REQ.CLAIMS.PACK` with the hash of what it holds
// (a queue group of the servers answers: nothing when the hashes match, else one `<key>|<jwt>`
// message per account and an empty one to end), and takes what is newer. Replies have
// nats-server's ServerAPIClaimUpdateResponse shape.
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { InternalClient, InternalMsg } from "../core/internal-client.js";
import { decodeJwt, decodeTyped, isPublicKey, type Claims } from "../auth/jwt.js";
import type { OperatorAccounts } from "./operator.js";
import { DirResolver } from "./resolver.js";

/** The directory resolver's sync: an internal client of the system account that does not hear itself (echo off). */
export interface ClaimsSync {
  client: InternalClient;
  /** ms between pack requests (nats-server's default: 2 minutes). */
  interval: number;
  /** The server's id, to name its reply inbox. */
  serverId: string;
  /** How many other servers (routes, leafnodes in the system account) may answer a lookup now. */
  peers(): number;
}

/** nats-server's DEFAULT_ACCOUNT_FETCH_TIMEOUT: how long a lookup of an unknown account waits for the others. */
export const ACCOUNT_FETCH_TIMEOUT_MS = 1900;

export function serveClaims(ic: InternalClient, accounts: OperatorAccounts, serverInfo: () => Record<string, unknown>, log: Logger,
  systemAccount = "", sync: ClaimsSync | null = null): { close(): void } {
  // nats-server's respondToUpdate: the account left out when the request is not about one.
  const respond = (reply: string, account: string, message: string, err: string | null): void => {
    const about = account === "" ? "" : ` - ${account}`;
    if (err === null) log.debug(`${message}${about}`);
    else log.error(`${message}${about} - ${err}`);
    if (reply === "") return;
    const acc = account === "" ? {} : { account };
    const body = err === null
      ? { server: serverInfo(), data: { ...acc, code: 200, message } }
      : { server: serverInfo(), error: { ...acc, code: 500, description: `${message} - ${err}` } };
    ic.publish(reply, JSON.stringify(body));
  };
  const update = (m: InternalMsg, expected: string): void => {
    const jwt = m.data.toString("utf8").trim();
    let subject: string;
    try {
      subject = decodeTyped(jwt, "account").sub;
    } catch (e) {
      return respond(m.reply, "n/a", "jwt update resulted in error", (e as Error).message);
    }
    if (expected !== "" && subject !== expected) return respond(m.reply, expected, "jwt update resulted in error", "subject does not match jwt content");
    const err = accounts.update(jwt);
    if (err === null) return respond(m.reply, subject, "jwt updated", null);
    const validation = err === "account not trusted" || err.startsWith("claim ") || err.startsWith("validation errors");
    respond(m.reply, subject, validation ? "jwt validation failed" : "jwt update resulted in error", err);
  };
  ic.subscribe("$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", (m) => update(m, m.subject.split(".")[3] ?? ""));
  ic.subscribe("$SYS.ACCOUNT.*.CLAIMS.UPDATE", (m) => update(m, m.subject.split(".")[2] ?? ""));
  ic.subscribe("$SYS.REQ.CLAIMS.UPDATE", (m) => update(m, ""));
  ic.subscribe("$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP", (m) => {
    if (m.reply === "") return;
    const id = m.subject.split(".")[3] ?? "";
    ic.publish(m.reply, accounts.resolver.fetch(id) ?? "");
  });
  // As nats-server: only the directory resolver answers deletes (a memory one has no responder).
  const dir = accounts.resolver instanceof DirResolver ? accounts.resolver : null;
  const deleteRequest = (m: InternalMsg, resolver: DirResolver): void => {
    let subject = "";
    const ids: string[] = [];
    let err: string | null = null;
    try {
      const c: Claims = decodeJwt(m.data.toString("utf8").trim());
      subject = c.sub;
      const list = c.nats.accounts;
      if (!resolver.deleteAllowed) err = "delete must be enabled in server config";
      else if (c.sub !== c.iss) err = "not self signed";
      else if (!accounts.trust.keys.has(c.iss)) err = "not trusted";
      else if (!Array.isArray(list)) err = "malformed request";
      else {
        for (const id of list as unknown[]) {
          if (!isPublicKey(id, "A")) {
            err = "malformed request";
            break;
          }
          if (id === systemAccount) {
            err = "not allowed to delete system account";
            break;
          }
          ids.push(id);
        }
      }
    } catch (e) {
      err = (e as Error).message;
    }
    if (err !== null) return respond(m.reply, "", `delete accounts request by ${subject} failed`, err);
    const errs: string[] = [];
    for (const id of ids) {
      const e = accounts.remove(id);
      if (e !== null) errs.push(e);
    }
    const passed = ids.length - errs.length;
    if (errs.length === 0) respond(m.reply, "", `deleted ${passed} accounts`, null);
    else respond(m.reply, "", `deleted ${passed} accounts, failed for ${errs.length}`, errs.join("\n"));
  };
  if (dir !== null) ic.subscribe("$SYS.REQ.CLAIMS.DELETE", (m) => deleteRequest(m, dir));
  const timer = dir !== null && sync !== null ? serveSync(dir, accounts, sync, log) : null;
  if (dir !== null && sync !== null) accounts.fetcher = lookupFromPeers(sync, log);
  ic.subscribe("$SYS.REQ.CLAIMS.LIST", (m) => {
    if (m.reply === "") return;
    ic.publish(m.reply, JSON.stringify({ server: serverInfo(), data: accounts.resolver.list() }));
  });
  return {
    close: () => {
      if (timer !== null) clearInterval(timer);
      accounts.fetcher = null;
    },
  };
}

/**
 * nats-server's fetch (DirAccResolver.Fetch for a JWT it does not hold): ask the other servers
 * on `$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP` and take the first JWT one answers. A server that
 * does not hold it answers with nothing (2.10; a 2.9 server stays silent): once every peer has,
 * or after ACCOUNT_FETCH_TIMEOUT_MS, the account is not found. Alone, there is no one to ask.
 */
function lookupFromPeers(sync: ClaimsSync, log: Logger): (account: string) => Promise<string | null> {
  const ic = sync.client;
  const prefix = `$SYS._INBOX.${sync.serverId.slice(0, 8)}.lookup`;
  const waiting = new Map<string, { empties: number; done: (jwt: string | null) => void }>();
  ic.subscribe(`${prefix}.*`, (m) => {
    const w = waiting.get(m.subject);
    if (w === undefined) return;
    if (m.data.length > 0) return w.done(m.data.toString("utf8").trim());
    if (--w.empties <= 0) w.done(null);
  });
  let seq = 0;
  return (account) => {
    // The server's own responder (another internal client) answers too: one empty more.
    const peers = sync.peers();
    if (peers === 0) return Promise.resolve(null);
    const inbox = `${prefix}.${++seq}`;
    return new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => {
        log.debug({ account: account }, "fetching jwt timed out");
        done(null);
      }, ACCOUNT_FETCH_TIMEOUT_MS);
      // The client waiting keeps the server busy; this timer alone does not hold a closing process.
      timer.unref();
      const done = (jwt: string | null): void => {
        if (!waiting.delete(inbox)) return;
        clearTimeout(timer);
        resolve(jwt);
      };
      waiting.set(inbox, { empties: peers + 1, done });
      ic.publish(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, "", { reply: inbox });
    });
  };
}

/** nats-server's DirJWTStore.Hash: the XOR of the SHA-256 of every JWT held (not expired). */
export function storeHash(jwts: Iterable<string>): Buffer {
  const out = Buffer.alloc(32);
  for (const jwt of jwts) {
    const h = createHash("sha256").update(jwt).digest();
    for (let i = 0; i < 32; i++) out[i]! ^= h[i]!;
  }
  return out;
}

/** The JWTs a pack carries and the hash counts: those not expired (nats-server's PackWalk). */
function packable(dir: DirResolver): [string, string][] {
  const now = Math.floor(Date.now() / 1000);
  const out: [string, string][] = [];
  for (const id of dir.list()) {
    const jwt = dir.fetch(id);
    if (jwt === null) continue;
    try {
      const exp = decodeJwt(jwt).exp;
      if (typeof exp === "number" && exp > 0 && exp < now) continue;
    } catch {
      continue;
    }
    out.push([id, jwt]);
  }
  return out;
}

/** Answer pack requests, and ask for one every `interval`, merging what is newer. */
function serveSync(dir: DirResolver, accounts: OperatorAccounts, sync: ClaimsSync, log: Logger): NodeJS.Timeout {
  const ic = sync.client;
  // One server of the cluster answers each request (a queue group); the asker's own member never does (echo off).
  ic.subscribe("$SYS.REQ.CLAIMS.PACK", (m) => {
    if (m.reply === "") return;
    const held = packable(dir);
    if (m.data.equals(storeHash(held.map(([, j]) => j)))) {
      ic.publish(m.reply, "");
      return;
    }
    for (const [id, jwt] of held) ic.publish(m.reply, `${id}|${jwt}`);
    ic.publish(m.reply, "");
  }, { queue: "responder" });
  const inbox = `$SYS._INBOX.${sync.serverId.slice(0, 8)}.${randomBytes(8).toString("hex")}`;
  ic.subscribe(inbox, (m) => {
    if (m.data.length === 0) return;
    for (const line of m.data.toString("utf8").split("\n")) {
      if (line === "") continue;
      const [id, jwt, ...rest] = line.split("|");
      if (id === undefined || jwt === undefined || rest.length > 0 || !isPublicKey(id, "A")) {
        log.error(`Merging resulted in error: line in package didn't contain 2 entries: ${JSON.stringify(line)}`);
        return;
      }
      // What is held already changes nothing (and is not applied again).
      if (dir.fetch(id) === jwt.trim()) continue;
      const err = accounts.update(jwt.trim(), id);
      if (err !== null) log.debug({ account: id }, `merge of account JWT skipped: ${err}`);
      else log.debug({ account: id }, "account JWT merged from a pack");
    }
  });
  const timer = setInterval(() => {
    ic.publish("$SYS.REQ.CLAIMS.PACK", storeHash(packable(dir).map(([, j]) => j)), { reply: inbox });
  }, sync.interval);
  timer.unref();
  return timer;
}
