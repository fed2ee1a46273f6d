// The server's nkey made with node:crypto (server/auth/server-identity.ts) is an nkey as
// @nats-io/nkeys reads it: a server public key ("N…", the server id), and a seed whose key pair
// has that public key and signs what the public key verifies.
import { fromPublic, fromSeed } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import { ServerIdentity } from "../../../server/auth/server-identity.js";

describe("the server identity", () => {
  it("is a server nkey whose key pair signs for it", () => {
    for (let i = 0; i < 20; i++) {
      const id = new ServerIdentity();
      expect(id.publicKey).toMatch(/^N[A-Z2-7]{55}$/);
      // fromPublic checks the prefix byte and the CRC-16.
      const pub = fromPublic(id.publicKey);
      const pair = id.keyPair();
      expect(pair.getPublicKey()).toBe(id.publicKey);
      // The seed is a server seed ("SN…") that nkeys reads back to the same key.
      const seed = new TextDecoder().decode(pair.getSeed());
      expect(seed).toMatch(/^SN[A-Z2-7]{56}$/);
      expect(fromSeed(pair.getSeed()).getPublicKey()).toBe(id.publicKey);
      const data = new TextEncoder().encode(`nonce-${i}`);
      expect(pub.verify(data, pair.sign(data))).toBe(true);
    }
  });

  it("is a new key at each start", () => {
    expect(new ServerIdentity().publicKey).not.toBe(new ServerIdentity().publicKey);
  });
});
