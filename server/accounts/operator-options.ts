// Tested by test/server/operator.test.ts.
// Operator mode's options (nats-server `operator`, `resolver`, `resolver_preload`) and the
// configuration errors nats-server gives for combinations it refuses (its
// validateTrustedOperators). Pure: the JWTs are decoded and checked, nothing is started.
import { decodeTyped, isPublicKey, timeIssue, type Claims } from "../auth/jwt.js";
import type { AuthorizationOptions } from "../auth/auth.js";
import type { AccountsOptions } from "./options.js";

/** `resolver: MEMORY`, or the directory resolver (`resolver { type: full, dir, … }`). */
export type ResolverOptions =
  | { type: "memory" }
  | {
    type: "full";
    dir: string;
    /** Claims updates may delete accounts ($SYS.REQ.CLAIMS.DELETE). */
    allowDelete?: boolean;
    /** ms between syncs with the other servers ($SYS.REQ.CLAIMS.PACK); 0 or absent: a minute, as nats-server. */
    interval?: number;
  };

/** nats-server's DirAccResolver sync interval when none (or 0) is configured. */
export const DEFAULT_RESOLVER_INTERVAL_MS = 60_000;

export interface OperatorModeOptions {
  /** Trusted operator JWTs (already read from their files). */
  operators: string[];
  resolver: ResolverOptions | null;
  /** Account JWTs by account public key (nats-server `resolver_preload`). */
  resolverPreload: Record<string, string>;
}

/** The trusted operators, decoded: their claims and every key that may sign an account. */
export interface OperatorTrust {
  operators: Claims[];
  /** Operator identities and signing keys. */
  keys: Set<string>;
  /** The system account the operator JWT names ("" when none). */
  systemAccount: string;
}

/** Decode the operator JWTs; throws with nats-server's wording when one is not valid. */
export function operatorTrust(jwts: string[]): OperatorTrust {
  const operators: Claims[] = [];
  const keys = new Set<string>();
  let systemAccount = "";
  for (const j of jwts) {
    let c: Claims;
    try {
      c = decodeTyped(j, "operator");
    } catch (e) {
      throw new Error(`error parsing operator JWT: ${(e as Error).message}`);
    }
    const issue = timeIssue(c);
    if (issue !== null) throw new Error(`error parsing operator JWT: ${issue}`);
    operators.push(c);
    if (c.nats.strict_signing_key_usage !== true) keys.add(c.sub);
    for (const k of Array.isArray(c.nats.signing_keys) ? c.nats.signing_keys : []) {
      if (typeof k === "string") keys.add(k);
    }
    if (systemAccount === "" && typeof c.nats.system_account === "string") systemAccount = c.nats.system_account;
  }
  for (const k of keys) {
    if (!isPublicKey(k, "O")) throw new Error(`trusted Keys "${k}" are required to be a valid public operator nkey`);
  }
  return { operators, keys, systemAccount };
}

/**
 * nats-server's validateTrustedOperators, for what gnat can tell from options: null when fine.
 * `systemAccount` is the configured one.
 */
export function operatorConfigError(op: OperatorModeOptions, systemAccount: string, accounts: AccountsOptions | null,
  authorization: AuthorizationOptions | null): string | null {
  if (op.operators.length === 0) return null;
  let trust: OperatorTrust;
  try {
    trust = operatorTrust(op.operators);
  } catch (e) {
    return (e as Error).message;
  }
  if (op.resolver === null) return "operators require an account resolver to be configured";
  if (accounts !== null && Object.keys(accounts).length > 0) return "operators do not allow Accounts to be configured directly";
  if ((authorization?.users?.length ?? 0) > 0 || (authorization?.nkeys?.length ?? 0) > 0) return "operators do not allow users to be configured directly";
  // nats-server 2.10: in operator mode a callout is an account's (its JWT's authorization claims).
  if (authorization?.callout !== undefined) return "operators do not allow authorization callouts to be configured directly";
  if (systemAccount !== "") {
    const named = trust.operators.map((c) => c.nats.system_account).filter((s) => typeof s === "string" && s !== "");
    if (named.length > 0 && !named.includes(systemAccount)) return "system_account in config and operator JWT must be identical";
  } else if (trust.systemAccount === "" && op.resolver.type === "full") {
    return "using nats based account resolver - the system account needs to be specified in configuration or the operator jwt";
  }
  for (const k of Object.keys(op.resolverPreload)) {
    if (!isPublicKey(k, "A")) return `preload account error for "${k}": not a valid public account key`;
  }
  return null;
}
