// Tested by test/server/operator-resolver.test.ts.
// nats-server's account JWT requests, answered inside the system account (so only its users can
// make them): `$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE` and `$SYS.REQ.CLAIMS.UPDATE` take a new
// account JWT (signed by the operator or one of its signing keys), `$SYS.ACCOUNT.<id>.CLAIMS.UPDATE`
// is the older form of the first, `$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP` answers with the JWT
// held (an empty message when none), `$SYS.REQ.CLAIMS.LIST` with the accounts held. With the full
// resolver, `$SYS.REQ.CLAIMS.DELETE` takes a generic JWT self-signed by the operator (or one of its
// signing keys) listing accounts to delete (`allow_delete: true`). Replies have nats-server's
// ServerAPIClaimUpdateResponse shape.
import type { Logger } from "pino";
import type { InternalClient, InternalMsg } from "../core/internal-client.js";
import { decodeJwt, decodeTyped, isPublicKey, type Claims } from "../auth/jwt.js";
import type { OperatorAccounts } from "./operator.js";
import { DirResolver } from "./resolver.js";

export function serveClaims(ic: InternalClient, accounts: OperatorAccounts, serverInfo: () => Record<string, unknown>, log: Logger,
  systemAccount = ""): void {
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
    const validation = err === "account not trusted" || err.startsWith("claim ");
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
  ic.subscribe("$SYS.REQ.CLAIMS.LIST", (m) => {
    if (m.reply === "") return;
    ic.publish(m.reply, JSON.stringify({ server: serverInfo(), data: accounts.resolver.list() }));
  });
}
