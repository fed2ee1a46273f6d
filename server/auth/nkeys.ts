// Tested by test/server/auth/auth.test.ts and test/server/operator.test.ts.
// @nats-io/nkeys and @nats-io/jwt, read the first time a key or a JWT is checked: they are two
// dozen CommonJS files (tweetnacl included) that a server without nkey users or operator mode
// never needs, and clients' test harnesses give each new server seconds to start.
import { createRequire } from "node:module";
import type * as NKeys from "@nats-io/nkeys";
import type * as Jwt from "@nats-io/jwt";

const load = createRequire(import.meta.url);
let nkeys: typeof NKeys | null = null;
let jwt: typeof Jwt | null = null;

/** @nats-io/nkeys, read the first time it is asked for. */
export function nkeysLib(): typeof NKeys {
  return (nkeys ??= load("@nats-io/nkeys") as typeof NKeys);
}

/** @nats-io/jwt, read the first time it is asked for. */
export function jwtLib(): typeof Jwt {
  return (jwt ??= load("@nats-io/jwt") as typeof Jwt);
}

/** @nats-io/nkeys's fromPublic: a public key (throws when it is not one). */
export function fromPublic(key: string): ReturnType<typeof NKeys.fromPublic> {
  return nkeysLib().fromPublic(key);
}

/** @nats-io/jwt's decode: the claims, with the signature checked against the issuer's key. */
export function decodeClaims<T>(token: string): Jwt.ClaimsData<T> {
  return jwtLib().decode<T>(token);
}

/** @nats-io/nkeys's fromSeed: a key pair from a seed (throws when it is not one). */
export function fromSeed(seed: string): ReturnType<typeof NKeys.fromSeed> {
  nkeys ??= load("@nats-io/nkeys") as typeof NKeys;
  return nkeys.fromSeed(new TextEncoder().encode(seed));
}
