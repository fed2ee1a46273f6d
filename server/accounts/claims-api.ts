// Tested by test/server/operator-resolver.test.ts.
// nats-server's account JWT requests, answered inside the system account (so only its users can
// make them): `$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE` and `$SYS.REQ.CLAIMS.UPDATE` take a new
// account JWT (signed by the operator or one of its signing keys), `$SYS.ACCOUNT.<id>.CLAIMS.UPDATE`
// is the older form of the first, `$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP` answers with the JWT
// held (an empty message when none), `$SYS.REQ.CLAIMS.LIST` with the accounts held. Replies have
// nats-server's ServerAPIClaimUpdateResponse shape.
import type { Logger } from "pino";
import type { InternalClient, InternalMsg } from "../core/internal-client.js";
import { decodeTyped } from "../auth/jwt.js";
import type { OperatorAccounts } from "./operator.js";

export function serveClaims(ic: InternalClient, accounts: OperatorAccounts, serverInfo: () => Record<string, unknown>, log: Logger): void {
  const respond = (reply: string, account: string, message: string, err: string | null): void => {
    if (err === null) log.debug(`${message} - ${account}`);
    else log.error(`${message} - ${account} - ${err}`);
    if (reply === "") return;
    const body = err === null
      ? { server: serverInfo(), data: { account, code: 200, message } }
      : { server: serverInfo(), error: { account, code: 500, description: `${message} - ${err}` } };
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
  ic.subscribe("$SYS.REQ.CLAIMS.LIST", (m) => {
    if (m.reply === "") return;
    ic.publish(m.reply, JSON.stringify({ server: serverInfo(), data: accounts.resolver.list() }));
  });
}
