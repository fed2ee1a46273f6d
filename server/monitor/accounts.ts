// What monitoring sums over when accounts are configured: every account's router and JetStream.
// Without accounts, just the server's router and $G's JetStream, as before.
import type { JetStream } from "../jetstream/jetstream.js";
import type { Router } from "../core/router.js";
import type { MonitoredServer } from "./source.js";

export function accountRouters(s: MonitoredServer): { account: string; router: Router }[] {
  const reg = s.accounts;
  if (reg === undefined || reg === null) return [{ account: "$G", router: s.router }];
  return [...reg.accounts.values()].map((a) => ({ account: a.name, router: a.router }));
}

export function accountJetStreams(s: MonitoredServer): JetStream[] {
  const reg = s.accounts;
  const out: JetStream[] = s.jetstream === null ? [] : [s.jetstream];
  if (reg !== undefined && reg !== null) for (const a of reg.accounts.values()) if (a.jetstream !== null) out.push(a.jetstream);
  return out;
}
