// JetStream domains over a leafnode link (nats-server 2.10's leafnode.go addLeafNodeConnection and
// jetstream_api.go generateJSMappingTable): a leaf with `jetstream { domain: edge }` answers
// `$JS.edge.API.>` from the hub's side (its account maps it onto `$JS.API.>`), while `$JS.API.>`
// itself never crosses, so each side's plain API stays its own. Both directions: gnat leaf of a
// nats-server hub, and nats-server leaf of a gnat hub; gnat leaf of a gnat hub too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { closeLeafSuite, leafsUp, remoteTo, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";
import { startServer } from "../../server/index.js";

// nats-server 2.10 validateJetStreamOptions: the same words, as a start-up error.
describe("jetstream { domain } is checked as nats-server checks it", () => {
  it.each([
    ["a.b", "invalid domain name: may not contain ., * or >"],
    ["a*", "invalid domain name: may not contain ., * or >"],
    ["a b", 'invalid domain name: derived "$JS.a b.API.>" is not a valid subject'],
  ])("%j", async (domain, text) => {
    await expect(startServer({ port: 0, noLog: true, jetstream: true, jetStreamDomain: domain })).rejects.toThrow(text);
  });
});

const NO_NATS = NATS_SERVER === null;
const MIXES: [LeafKind, LeafKind][] = [["nats", "gnat"], ["gnat", "nats"], ["gnat", "gnat"]];

for (const [hubKind, leafKind] of MIXES) {
  const needsNats = hubKind === "nats" || leafKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`domain edge: ${leafKind} leaf of a ${hubKind} hub${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    let hub: LeafServer;
    let leaf: LeafServer;
    let onHub: NatsConnection;
    let onLeaf: NatsConnection;
    const dir = mkdtempSync(join(tmpdir(), "gnat-domain-"));
    const tag = `${hubKind}-${leafKind}`;

    beforeAll(async () => {
      hub = await startLeafServer({
        kind: hubKind, name: `dhub-${tag}`, hub: true,
        config: `jetstream { domain: hub, store_dir: "${join(dir, "hub")}" }`,
      });
      leaf = await startLeafServer({
        kind: leafKind, name: `dleaf-${tag}`, leafnodes: remoteTo(hub),
        config: `jetstream { domain: edge, store_dir: "${join(dir, "leaf")}" }`,
      });
      await leafsUp([hub, leaf]);
      onHub = await connect({ servers: hub.url });
      onLeaf = await connect({ servers: leaf.url });
    }, 30_000);

    afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub], dir));

    it("the leaf reports its domain: client INFO, /jsz, account info", async () => {
      expect((onLeaf.info as { domain?: string } | undefined)?.domain).toBe("edge");
      const jsz = await leaf.monitor("/jsz");
      expect((jsz.config as Record<string, unknown>).domain).toBe("edge");
      const info = JSON.parse((await onLeaf.request("$JS.API.INFO", "")).string()) as Record<string, unknown>;
      expect(info.domain).toBe("edge");
    });

    it("a hub client reaches the leaf's JetStream as domain edge: create, publish, consume", async () => {
      const jsm = await jetstreamManager(onHub, { domain: "edge" });
      const ai = await jsm.getAccountInfo();
      expect(ai.domain).toBe("edge");
      await jsm.streams.add({ name: "EDGE", subjects: ["edge.>"], allow_direct: true });
      // The stream is the leaf's: its own API sees it, the hub's does not.
      const local = await jetstreamManager(onLeaf);
      expect((await local.streams.info("EDGE")).config.subjects).toEqual(["edge.>"]);
      const hubOwn = await jetstreamManager(onHub);
      expect((await hubOwn.getAccountInfo()).domain).toBe("hub");
      await expect(hubOwn.streams.info("EDGE")).rejects.toThrow(/stream not found/);

      const js = jetstream(onHub, { domain: "edge" });
      for (let i = 1; i <= 5; i++) {
        const ack = await js.publish(`edge.${i}`, `m${i}`);
        expect(ack).toMatchObject({ stream: "EDGE", seq: i, domain: "edge" });
      }
      const si = await jsm.streams.info("EDGE");
      expect(si.state.messages).toBe(5);
      expect((si as unknown as { domain?: string }).domain).toBe("edge");

      // A direct get is served by a queue group: mapped on arrival, the request names none, and
      // any group may take it (nats-server's pmrIgnoreEmptyQueueFilter).
      expect((await jsm.direct.getMessage("EDGE", { seq: 2 }))?.string()).toBe("m2");
      expect((await jsm.direct.getMessage("EDGE", { last_by_subj: "edge.5" }))?.seq).toBe(5);

      await jsm.consumers.add("EDGE", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const c = await js.consumers.get("EDGE", "C");
      const got: string[] = [];
      const msgs = await c.fetch({ max_messages: 5, expires: 5000 });
      for await (const m of msgs) {
        got.push(m.string());
        m.ack();
      }
      expect(got).toEqual(["m1", "m2", "m3", "m4", "m5"]);
      await jsm.streams.delete("EDGE");
    });

    it("the leaf's own clients reach it by domain too (the account's mapping); advisories name the domain", async () => {
      const jsm = await jetstreamManager(onLeaf, { domain: "edge" });
      expect((await jsm.getAccountInfo()).domain).toBe("edge");
      const adv = onLeaf.subscribe("$JS.EVENT.ADVISORY.STREAM.CREATED.ADV", { max: 1 });
      await onLeaf.flush();
      await jsm.streams.add({ name: "ADV", subjects: ["adv"], storage: StorageType.Memory });
      for await (const m of adv) expect(m.json<{ domain?: string }>().domain).toBe("edge");
      expect(adv.getProcessed()).toBe(1);
      await jsm.streams.delete("ADV");
    });
  });
}
