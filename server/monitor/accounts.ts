// What monitoring sums over: every account's router and JetStream ($G and the system account
// always, the configured ones beside them).
import type { JetStream } from "../jetstream/jetstream.js";
import type { Router } from "../core/router.js";
import type { MonitoredServer } from "./source.js";

export function accountRouters(s: MonitoredServer): { account: string; router: Router }[] {
  return [...s.accounts.accounts.values()].map((a) => ({ account: a.name, router: a.router }));
}

export function accountJetStreams(s: MonitoredServer): JetStream[] {
  const out: JetStream[] = [];
  for (const a of s.accounts.accounts.values()) if (a.jetstream !== null) out.push(a.jetstream);
  return out;
}
