// Tested by test/server/auth-callout.test.ts.
// The auth callout in force (nats-server 2.10's `auth_callout`, or in operator mode the account
// JWTs' authorization claims): made again by each setAuthorization, and attached to the
// authenticator, which hands it every CONNECT but the auth users'. Part of the composition root.
import type { KeyPair } from "@nats-io/nkeys";
import { nkeysLib } from "../auth/nkeys.js";
import { AuthCallout, type CalloutHost } from "../accounts/auth-callout.js";
import type { OperatorMode } from "../accounts/operator-mode.js";
import type { AuthCalloutOptions, Authenticator } from "../auth/auth.js";

/** What the callout needs of the server, beside the CalloutHost functions. */
export type CalloutSource = Omit<CalloutHost, "curveKey">;

export class Callouts {
  /** The server's curve key (xkey encryption), made when first needed. */
  private curve: KeyPair | null = null;
  private current: AuthCallout | null = null;

  constructor(private readonly s: CalloutSource) {}

  /** The callout for a new authorization (the previous one is closed); null without one. */
  install(authenticator: Authenticator | null, operator: OperatorMode | null, config: AuthCalloutOptions | undefined): void {
    this.close();
    const host: CalloutHost = { ...this.s, curveKey: () => (this.curve ??= nkeysLib().createCurve()) };
    if (operator !== null) {
      // Operator mode: an account's JWT may name auth users; its users are then called out in it.
      this.current = new AuthCallout(null, host, operator.accounts);
      operator.authenticator.external = this.current;
    } else if (authenticator !== null && config !== undefined) {
      this.current = new AuthCallout(config, host);
      authenticator.external = this.current;
    }
  }

  close(): void {
    this.current?.close();
    this.current = null;
  }
}
