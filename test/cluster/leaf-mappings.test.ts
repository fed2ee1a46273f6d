// Subject mappings across a leafnode link, as nats-server applies them: each side tells the other
// of its mapping sources as interest, so what the other side publishes on a source comes across
// and is mapped where the mapping is. Every mix of gnat and nats-server (nats-server on both
// sides is the reference the others must match).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { until } from "./kit.js";
import { closeLeafSuite, leafsUp, remoteTo, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;
const MIXES: [LeafKind, LeafKind][] = [["gnat", "gnat"], ["nats", "gnat"], ["gnat", "nats"], ["nats", "nats"]];

for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`mappings: ${leafKind} leaf of a ${hubKind} hub${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    let hub: LeafServer;
    let leaf: LeafServer;
    let onHub: NatsConnection;
    let onLeaf: NatsConnection;
    const tag = `${hubKind}-${leafKind}`;

    beforeAll(async () => {
      hub = await startLeafServer({
        kind: hubKind, name: `mhub-${tag}`, hub: true,
        config: `mappings { "up.*": "mapped.up.{{partition(4,1)}}.$1" }`,
      });
      leaf = await startLeafServer({
        kind: leafKind, name: `mleaf-${tag}`, leafnodes: remoteTo(hub),
        config: `mappings { "down.*": "mapped.down.$1" }`,
      });
      await leafsUp([hub, leaf]);
      onHub = await connect({ servers: hub.url });
      onLeaf = await connect({ servers: leaf.url });
    }, 30_000);

    afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub]));

    it("a leaf's publish on a hub mapping's source is mapped at the hub, nobody on the leaf listening", async () => {
      const got: string[] = [];
      const sub = onHub.subscribe("mapped.up.>", { callback: (_e, m) => got.push(m.subject) });
      await onHub.flush();
      // The hub told the leaf of "up.*" when the link came up: no wait for interest is needed,
      // but the subscription above must have reached the hub (flush) before the publishes.
      await until(async () => {
        onLeaf.publish("up.k1", "x");
        await onLeaf.flush();
        return got.length > 0;
      }, "a mapped message at the hub");
      sub.unsubscribe();
      expect(new Set(got).size).toBe(1);
      expect(got[0]).toMatch(/^mapped\.up\.[0-3]\.k1$/);
    });

    it("a hub's publish on a leaf mapping's source is mapped at the leaf", async () => {
      const got: string[] = [];
      const sub = onLeaf.subscribe("mapped.down.>", { callback: (_e, m) => got.push(m.subject) });
      await onLeaf.flush();
      await until(async () => {
        onHub.publish("down.k2", "y");
        await onHub.flush();
        return got.length > 0;
      }, "a mapped message at the leaf");
      sub.unsubscribe();
      expect(new Set(got)).toEqual(new Set(["mapped.down.k2"]));
    });

    it("the partition a key lands in is the same whichever server maps it", async () => {
      const got: string[] = [];
      const sub = onHub.subscribe("mapped.up.*.same", { callback: (_e, m) => got.push(m.subject) });
      await onHub.flush();
      onHub.publish("up.same", "local");
      await until(() => got.length >= 1, "the hub's own publish, mapped");
      // k1's partition differs from same's only by chance; compare with the reference value
      // every server computes: FNV-1a("same") % 4.
      expect(got[0]).toBe(`mapped.up.${fnv1a("same") % 4}.same`);
      sub.unsubscribe();
    });
  });
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
