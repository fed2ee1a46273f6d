// Operator-mode fixtures for tests: operators, accounts and users made with @nats-io/jwt, and
// CONNECT lines that sign a server's nonce, as a client with a creds file would.
import {
  createAccount, createOperator, createUser, encodeAccount, encodeActivation, encodeOperator, encodeUser, fmtCreds,
  type Account, type KeyPair, type Operator, type User,
} from "@nats-io/jwt";

/** Full account limits: nothing limited. nats-server reads a limit left out of the JWT as 0. */
export const OPEN_LIMITS = {
  subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
} as const;

export const now = (): number => Math.floor(Date.now() / 1000);

export interface TestOperator {
  okp: KeyPair;
  jwt: string;
  sys: KeyPair;
  sysJwt: string;
  /** Extra keys that may sign accounts. */
  signingKeys: KeyPair[];
}

export async function makeOperator(opts: { signingKey?: boolean; exp?: number; operator?: Partial<Operator> } = {}): Promise<TestOperator> {
  const okp = createOperator();
  const sys = createAccount();
  const signingKeys = opts.signingKey === true ? [createOperator()] : [];
  const jwt = await encodeOperator("O", okp, {
    system_account: sys.getPublicKey(),
    ...(signingKeys.length > 0 ? { signing_keys: signingKeys.map((k) => k.getPublicKey()) } : {}),
    ...opts.operator,
  }, opts.exp !== undefined ? { exp: opts.exp } : {});
  const sysJwt = await encodeAccount("SYS", sys, { limits: OPEN_LIMITS }, { signer: okp });
  return { okp, jwt, sys, sysJwt, signingKeys };
}

export interface TestAccount {
  akp: KeyPair;
  jwt: string;
  id: string;
}

export async function makeAccount(signer: KeyPair, name: string, account: Partial<Account> = {}, opts: { exp?: number; akp?: KeyPair } = {}): Promise<TestAccount> {
  const akp = opts.akp ?? createAccount();
  const jwt = await encodeAccount(name, akp, { limits: OPEN_LIMITS, ...account }, { signer, ...(opts.exp !== undefined ? { exp: opts.exp } : {}) });
  return { akp, jwt, id: akp.getPublicKey() };
}

export interface TestUser {
  ukp: KeyPair;
  jwt: string;
  creds: Uint8Array;
}

/**
 * A user of account `account` (its key pair, or its public key with `signer` one of its signing
 * keys). `scoped`: the JWT carries nothing of its own (for scoped signing keys).
 */
export async function makeUser(account: KeyPair | string, user: Partial<User> = {},
  opts: { exp?: number; ukp?: KeyPair; signer?: KeyPair; scoped?: boolean } = {}): Promise<TestUser> {
  const ukp = opts.ukp ?? createUser();
  const jwt = await encodeUser("U", ukp, account, user, {
    ...(opts.signer !== undefined ? { signer: opts.signer } : {}),
    ...(opts.exp !== undefined ? { exp: opts.exp } : {}),
    ...(opts.scoped === true ? { scopedUser: true } : {}),
  });
  return { ukp, jwt, creds: fmtCreds(jwt, ukp) };
}

/** An activation of `exporter`'s export `subject` for `importer` (a public account key). */
export async function makeActivation(exporter: KeyPair, importer: string, subject: string, kind: "stream" | "service"): Promise<string> {
  return encodeActivation("act", importer, exporter, kind, { subject });
}

/** The nonce of an INFO signed by the user's key, base64url (what credsAuthenticator sends). */
export function signNonce(ukp: KeyPair, info: Record<string, unknown>): string {
  const nonce = typeof info.nonce === "string" ? info.nonce : "";
  return Buffer.from(ukp.sign(new TextEncoder().encode(nonce))).toString("base64url");
}

/** A CONNECT with the user's JWT and the nonce signed (or not, for bearer tokens). */
export function connectAs(u: { ukp: KeyPair; jwt: string }, extra: Record<string, unknown> = {}, sign = true) {
  return (info: Record<string, unknown>): string =>
    `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, jwt: u.jwt, ...(sign ? { sig: signNonce(u.ukp, info) } : {}), ...extra })}\r\n`;
}

/** A config (nats-server syntax) for operator mode with a memory resolver and these accounts preloaded. */
export function operatorConfig(op: TestOperator, accounts: TestAccount[], extra = ""): string {
  const pre = [`${op.sys.getPublicKey()}: ${op.sysJwt}`, ...accounts.map((a) => `${a.id}: ${a.jwt}`)];
  return `operator: ${op.jwt}\nsystem_account: ${op.sys.getPublicKey()}\nresolver: MEMORY\nresolver_preload: {\n  ${pre.join("\n  ")}\n}\n${extra}`;
}

export { createAccount, createUser, createOperator };
