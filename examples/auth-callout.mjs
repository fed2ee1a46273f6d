// An auth callout service (nats-server 2.10's auth_callout, ADR-26) with the official clients:
// the server asks it about every client that is not one of its auth_users, and it answers with a
// user JWT — the account the user lands in and its permissions — or with an error.
//
//   gnat -c examples/auth-callout.conf           # in one terminal
//   node examples/auth-callout.mjs               # in another (NATS_URL=nats://host:port to point elsewhere)
//
// - The service connects as `auth` (an auth user) and answers on $SYS.REQ.USER.AUTH in AUTH.
// - Its users live here, not in the server's config: alice (SHOP, may use orders.>) and viewer
//   (SHOP, may only subscribe). Anyone else is refused: the client gets 'Authorization Violation'.
// - The issuer's seed is the service's secret: make your own with @nats-io/jwt's createAccount()
//   (or `nk -gen account`) and put its public key in the config's `issuer`.
//
// The functions are exported so that test/examples/ runs them against an in-process gnat.

import { connect } from "@nats-io/transport-node";
import { decode, encodeAuthorizationResponse, encodeUser, fromSeed } from "@nats-io/jwt";
import { pathToFileURL } from "node:url";

export const ISSUER_SEED = "SAANGNNWBICXXLUUOINPLLT7DP3J4K7VD2HHKMCSYBNE2GXZ3ZWFYM5NMM";

/** The service's users: password, account, permissions. */
export const USERS = {
  alice: { password: "wonderland", account: "SHOP", permissions: { pub: { allow: ["orders.>"] }, sub: { allow: ["orders.>", "_INBOX.>"] } } },
  viewer: { password: "look-only", account: "SHOP", permissions: { pub: { allow: [] , deny: [">"] }, sub: { allow: ["orders.>"] } } },
};

/**
 * Decide one authorization request (the JWT the server sent): the signed answer.
 * @param {string} requestJwt
 * @param {(line: string) => void} [log]
 */
export async function decide(requestJwt, log = () => {}) {
  const issuer = fromSeed(new TextEncoder().encode(ISSUER_SEED));
  // The request is signed by the server's nkey; its `nats` says who is connecting.
  const req = decode(requestJwt).nats;
  const { user = "", pass = "" } = req.connect_opts;
  const known = Object.hasOwn(USERS, user) ? USERS[user] : undefined;
  let answer;
  if (known !== undefined && known.password === pass) {
    log(`${user}: allowed into ${known.account}`);
    answer = { jwt: await encodeUser(user, req.user_nkey, issuer, known.permissions, { aud: known.account }) };
  } else {
    log(`${user || "(no user)"}: refused`);
    answer = { error: "unknown user or wrong password" };
  }
  // The answer is for this request's user key and this server (its id).
  return encodeAuthorizationResponse(req.user_nkey, req.server_id.id, issuer, answer, {});
}

/**
 * Run the service until the connection closes.
 * @param {import("@nats-io/transport-node").NatsConnection} nc a connection as an auth user
 * @param {(line: string) => void} [log]
 */
export async function serve(nc, log = () => {}) {
  const requests = nc.subscribe("$SYS.REQ.USER.AUTH");
  await nc.flush();
  void (async () => {
    for await (const m of requests) m.respond(await decide(m.string(), log));
  })();
  return () => requests.unsubscribe();
}

async function main() {
  const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const nc = await connect({ servers, user: "auth", pass: "auth-secret" });
  await serve(nc, (l) => console.log(`auth service: ${l}`));
  console.log("auth service ready");

  // Two clients, as any application would connect: alice is let in, bob is not.
  const alice = await connect({ servers, user: "alice", pass: "wonderland" });
  const sub = alice.subscribe("orders.new", { max: 1 });
  alice.publish("orders.new", "one book");
  for await (const m of sub) console.log(`alice got ${m.subject}: ${m.string()}`);
  await alice.close();
  await connect({ servers, user: "bob", pass: "builder" }).then(
    (c) => c.close(),
    (e) => console.log(`bob: ${e.message}`),
  );
  await nc.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
