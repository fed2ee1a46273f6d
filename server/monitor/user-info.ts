// Tested by test/monitor/sys-requests.test.ts.
// nats-server 2.10's `$SYS.REQ.USER.INFO`: any client may ask, in its own account, who it is to
// the server — `{"server": …, "data": {"user", "account", "permissions", "expires"}}`, the
// permissions in nats-server's JSON (`publish` / `subscribe` allow and deny, `responses` max and
// ttl) and `expires` the time its credentials have left (ns), when they expire.
import type { InternalClient } from "../core/internal-client.js";
import type { ClientConnection } from "../core/connection.js";
import type { Permissions } from "../auth/permissions.js";

export const USER_INFO_SUBJECT = "$SYS.REQ.USER.INFO";

function publicPermissions(p: Permissions | null): Record<string, unknown> | undefined {
  if (p === null) return undefined;
  const out: Record<string, unknown> = {};
  if (p.publish !== undefined) out.publish = p.publish;
  if (p.subscribe !== undefined) out.subscribe = p.subscribe;
  if (p.allowResponses !== undefined) out.responses = { max: p.allowResponses.max, ttl: p.allowResponses.expires * 1e6 };
  return out;
}

/** Answer USER.INFO in one account (through its internal client). */
export function serveUserInfo(ic: InternalClient, client: (cid: number) => ClientConnection | undefined, serverInfo: () => Record<string, unknown>): void {
  ic.subscribe(USER_INFO_SUBJECT, (m) => {
    if (m.reply === "") return;
    const c = client(m.fromCid);
    if (c === undefined) {
      ic.publish(m.reply, JSON.stringify({ server: serverInfo(), error: { code: 400 } }));
      return;
    }
    const u = c.user;
    const data: Record<string, unknown> = { user: u?.name ?? "", account: c.account };
    const perms = publicPermissions(u?.permissions ?? null);
    if (perms !== undefined) data.permissions = perms;
    if (u?.expiresAt !== undefined) data.expires = Math.max(0, u.expiresAt - Date.now()) * 1e6;
    ic.publish(m.reply, JSON.stringify({ server: serverInfo(), data }));
  });
}
