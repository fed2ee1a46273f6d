// Mirrors and sources with `external: { api, deliver }`: through a server's own domain prefix,
// and across a leafnode link between two domains with gnat on both sides (external-kit.ts; the
// nats-server hub: external-sourcing-nats.test.ts). gnat's copies are made as nats-server makes
// them (a push consumer on the origin through the API prefix), resuming after restarts without
// gaps or duplicates.
import { describe, expect, it } from "vitest";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../server/index.js";
import { contents, describeExternal, infoWhen } from "./external-kit.js";

describe("external through the server's own domain (no link: the request is mapped as nats-server maps it)", () => {
  it("a mirror and a source by $JS.solo.API copy a stream of the same server", async () => {
    const store = mkdtempSync(join(tmpdir(), "gnat-solo-"));
    const s = await startServer({ host: "127.0.0.1", port: 0, noLog: true, jetstream: true, jetStreamDomain: "solo", storeDir: store });
    const nc = await connect({ servers: s.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "O", subjects: ["o.*"], storage: "memory" });
      const js = jetstream(nc);
      for (let i = 1; i <= 5; i++) await js.publish(`o.${i}`, `v${i}`);
      await jsm.streams.add({ name: "M", storage: "memory", mirror: { name: "O", external: { api: "$JS.solo.API", deliver: "" } } });
      await jsm.streams.add({ name: "S", storage: "memory", sources: [{ name: "O", external: { api: "$JS.solo.API", deliver: "" } }] });
      await infoWhen(jsm, "M", (i) => i.state.messages === 5 && i.mirror?.lag === 0, "the mirror");
      await infoWhen(jsm, "S", (i) => i.state.messages === 5 && i.sources?.[0]?.lag === 0, "the source");
      await js.publish("o.6", "v6");
      await infoWhen(jsm, "M", (i) => i.state.messages === 6, "the mirror's sixth");
      expect((await contents(nc, "M", 6)).map(([seq, subj, d]) => [seq, subj, d])).toEqual(Array.from({ length: 6 }, (_, i) => [i + 1, `o.${i + 1}`, `v${i + 1}`]));
      await infoWhen(jsm, "S", (i) => i.state.messages === 6, "the source's sixth");
    } finally {
      await nc.close();
      await s.close();
      rmSync(store, { recursive: true, force: true });
    }
  });
});

describeExternal("gnat");
