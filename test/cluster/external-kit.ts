// The shared body of external-sourcing.test.ts (gnat hub) and external-sourcing-nats.test.ts
// (nats-server hub): mirrors and sources with `external: { api, deliver }` across a leafnode link
// between two JetStream domains (hub, edge), gnat the leaf; two files so each stays short.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { until } from "../kit/wait.js";
import { nameHash } from "../../server/jetstream/source-config.js";
import { closeLeafSuite, leafsUp, remoteTo, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const NO_NATS = NATS_SERVER === null;

export async function infoWhen(jsm: JetStreamManager, name: string, ok: (i: StreamInfo) => boolean, what: string): Promise<StreamInfo> {
  return until(async () => {
    const i = await jsm.streams.info(name);
    return ok(i) ? i : null;
  }, { timeout: 15_000, what });
}

/** Every message of a stream: [seq, subject, data, Nats-Stream-Source]. */
export async function contents(nc: NatsConnection, stream: string, n: number): Promise<Array<[number, string, string, string]>> {
  const c = await jetstream(nc).consumers.get(stream);
  const out: Array<[number, string, string, string]> = [];
  if (n === 0) return out;
  for await (const m of await c.fetch({ max_messages: n, expires: 3000 })) {
    out.push([m.seq, m.subject, m.string(), m.headers?.get("Nats-Stream-Source") ?? ""]);
    if (out.length === n) break;
  }
  return out;
}

export function describeExternal(hubKind: LeafKind): void {
  const needsNats = hubKind === "nats";
  describe.skipIf(needsNats && NO_NATS)(`external mirrors and sources: gnat leaf (edge) of a ${hubKind} hub (hub)${needsNats && NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
    let hub: LeafServer;
    let leaf: LeafServer;
    let onHub: NatsConnection;
    let onLeaf: NatsConnection;
    let hubJsm: JetStreamManager;
    let leafJsm: JetStreamManager;
    const dir = mkdtempSync(join(tmpdir(), "gnat-external-"));

    const connectLeaf = async (): Promise<void> => {
      onLeaf = await connect({ servers: leaf.url });
      leafJsm = await jetstreamManager(onLeaf);
    };

    beforeAll(async () => {
      hub = await startLeafServer({
        kind: hubKind, name: `xhub-${hubKind}`, hub: true,
        config: `jetstream { domain: hub, store_dir: "${join(dir, "hub")}" }`,
      });
      leaf = await startLeafServer({
        kind: "gnat", name: `xleaf-${hubKind}`, leafnodes: remoteTo(hub),
        config: `jetstream { domain: edge, store_dir: "${join(dir, "leaf")}" }`,
      });
      await leafsUp([hub, leaf]);
      onHub = await connect({ servers: hub.url });
      hubJsm = await jetstreamManager(onHub);
      await connectLeaf();
    }, 30_000);

    afterAll(() => closeLeafSuite([onHub, onLeaf], [leaf, hub], dir));

    it("the hub mirrors and sources a stream of the edge (api $JS.edge.API)", async () => {
      await leafJsm.streams.add({ name: "ORIG", subjects: ["orig.>"] });
      const js = jetstream(onLeaf);
      for (let i = 1; i <= 20; i++) await js.publish(`orig.${i % 2 === 0 ? "even" : "odd"}`, `o${i}`);
      await hubJsm.streams.add({ name: "HM", mirror: { name: "ORIG", external: { api: "$JS.edge.API", deliver: "" } } });
      await hubJsm.streams.add({ name: "HS", sources: [{ name: "ORIG", filter_subject: "orig.even", external: { api: "$JS.edge.API", deliver: "dlv.hub" } }] });
      const m = await infoWhen(hubJsm, "HM", (i) => i.state.messages === 20 && i.mirror?.lag === 0, "the hub's mirror caught up");
      expect(m.mirror).toMatchObject({ name: "ORIG", external: { api: "$JS.edge.API", deliver: "" }, lag: 0 });
      const s = await infoWhen(hubJsm, "HS", (i) => i.state.messages === 10 && i.sources?.[0]?.lag === 0, "the hub's source caught up");
      // (nats-server 2.9 leaves filter_subject out of the source's info; 2.10 and gnat show it.)
      expect(s.sources?.[0]).toMatchObject({ name: "ORIG", external: { api: "$JS.edge.API", deliver: "dlv.hub" }, ...(hubKind === "gnat" ? { filter_subject: "orig.even" } : {}) });
      const mirrored = await contents(onHub, "HM", 20);
      expect(mirrored.map(([seq, subj, d]) => [seq, subj, d])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, `orig.${(i + 1) % 2 === 0 ? "even" : "odd"}`, `o${i + 1}`]));
      // The copies name their origin as nats-server's composeIName does: <name>:<hash of the API prefix>.
      const sourced = await contents(onHub, "HS", 10);
      const hash = nameHash("$JS.edge.API");
      // nats-server 2.9 writes "<name> <seq>" only; 2.10 (and gnat) add the filter and destination.
      const tail = hubKind === "gnat" ? " orig.even >" : "";
      expect(sourced.map(([, , d, h]) => [d, h])).toEqual(Array.from({ length: 10 }, (_, i) => [`o${2 * i + 2}`, `ORIG:${hash} ${2 * i + 2}${tail}`]));
    });

    it("the edge mirrors and sources a stream of the hub (api $JS.hub.API), with a delivery prefix and a filter", async () => {
      await hubJsm.streams.add({ name: "HO", subjects: ["ho.>"] });
      const js = jetstream(onHub);
      for (let i = 1; i <= 30; i++) await js.publish(`ho.${["a", "b", "c"][i % 3]}.${i}`, `h${i}`);
      await leafJsm.streams.add({ name: "LM", mirror: { name: "HO", external: { api: "$JS.hub.API", deliver: "dlv.edge" } } });
      await leafJsm.streams.add({ name: "LS", sources: [{ name: "HO", filter_subject: "ho.a.>", external: { api: "$JS.hub.API", deliver: "" } }] });
      const m = await infoWhen(leafJsm, "LM", (i) => i.state.messages === 30 && i.mirror?.lag === 0, "the edge's mirror caught up");
      expect(m.mirror).toMatchObject({ name: "HO", external: { api: "$JS.hub.API", deliver: "dlv.edge" }, lag: 0 });
      expect(m.mirror?.active).toBeGreaterThanOrEqual(0);
      expect(m.mirror?.error).toBeUndefined();
      const s = await infoWhen(leafJsm, "LS", (i) => i.state.messages === 10 && i.sources?.[0]?.lag === 0, "the edge's source caught up");
      expect(s.sources?.[0]).toMatchObject({ name: "HO", external: { api: "$JS.hub.API", deliver: "" }, filter_subject: "ho.a.>" });
      const hash = nameHash("$JS.hub.API");
      const sourced = await contents(onLeaf, "LS", 10);
      expect(sourced.map(([seq, subj, d, h]) => [seq, subj, d, h])).toEqual(
        Array.from({ length: 10 }, (_, i) => [i + 1, `ho.a.${3 * i + 3}`, `h${3 * i + 3}`, `HO:${hash} ${3 * i + 3} ho.a.> >`]));
    });

    it("after the edge restarts, its mirror and source go on from where they were: no gap, no duplicate", async () => {
      await leaf.kill();
      const js = jetstream(onHub);
      for (let i = 31; i <= 60; i++) await js.publish(`ho.${["a", "b", "c"][i % 3]}.${i}`, `h${i}`);
      await leaf.restart();
      await onLeaf.close().catch(() => {});
      await connectLeaf();
      await infoWhen(leafJsm, "LM", (i) => i.state.messages === 60 && i.mirror?.lag === 0, "the edge's mirror caught up after the restart");
      await infoWhen(leafJsm, "LS", (i) => i.state.messages === 20 && i.sources?.[0]?.lag === 0, "the edge's source caught up after the restart");
      const mirrored = await contents(onLeaf, "LM", 60);
      expect(mirrored.map(([seq, , d]) => [seq, d])).toEqual(Array.from({ length: 60 }, (_, i) => [i + 1, `h${i + 1}`]));
      const sourced = await contents(onLeaf, "LS", 20);
      expect(sourced.map(([, , d]) => d)).toEqual(Array.from({ length: 20 }, (_, i) => `h${3 * i + 3}`));
    }, 30_000);

    it("after the hub restarts (the link drops, the origin's consumer is gone), the edge's mirror asks again and goes on", async () => {
      await hub.kill();
      await hub.restart();
      await onHub.close().catch(() => {});
      onHub = await connect({ servers: hub.url });
      hubJsm = await jetstreamManager(onHub);
      await leafsUp([hub, leaf]);
      const js = jetstream(onHub);
      for (let i = 61; i <= 70; i++) await js.publish(`ho.${["a", "b", "c"][i % 3]}.${i}`, `h${i}`);
      await infoWhen(leafJsm, "LM", (i) => i.state.messages === 70 && i.mirror?.lag === 0, "the edge's mirror caught up after the hub's restart");
      const mirrored = await contents(onLeaf, "LM", 70);
      expect(mirrored.map(([seq, , d]) => [seq, d])).toEqual(Array.from({ length: 70 }, (_, i) => [i + 1, `h${i + 1}`]));
    }, 30_000);

    it.skipIf(hubKind !== "gnat")("an origin that does not exist yet is reported, then copied once it appears", async () => {
      await leafJsm.streams.add({ name: "LATE", mirror: { name: "NOTYET", external: { api: "$JS.hub.API", deliver: "" } } });
      const i = await infoWhen(leafJsm, "LATE", (x) => x.mirror?.error !== undefined, "the mirror's error");
      expect(i.mirror?.error).toMatchObject({ code: 404, err_code: 10059 });
      await hubJsm.streams.add({ name: "NOTYET", subjects: ["notyet"] });
      await jetstream(onHub).publish("notyet", "n1");
      const ok = await infoWhen(leafJsm, "LATE", (x) => x.state.messages === 1, "the late origin copied");
      expect(ok.mirror?.error).toBeUndefined();
    }, 30_000);
  });
}
