// A mirror and a source whose origin is in another account of the same server, reached through
// service imports (`external: { api, deliver }`), as nats-server's own tests configure it
// (jetstream_helpers_test.go, jsClusterAccountsTempl): the origin's account exports
// `$JS.API.CONSUMER.>` (to create the copying consumers), `$JS.FC.>` (flow control answers) as
// services and the delivery prefix as a stream; the copying account imports them, the API under
// `RI.JS.API`. The same config and requests run on gnat and on nats-server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { contents, infoWhen } from "./external-kit.js";
import { closeLeafSuite, startLeafServer, type LeafKind, type LeafServer } from "./leaf-kit.js";

const ACCOUNTS = `accounts {
  JS {
    jetstream: enabled
    users = [ { user: "rip", pass: "pass" } ]
    exports [
      { service: "$JS.API.CONSUMER.>" }
      { stream: "RI.DELIVER.SYNC.>" }
      { service: "$JS.FC.>" }
    ]
  }
  IA {
    jetstream: enabled
    users = [ { user: "dlc", pass: "pass" } ]
    imports [
      { service: { account: JS, subject: "$JS.API.CONSUMER.>" }, to: "RI.JS.API.CONSUMER.>" }
      { stream: { account: JS, subject: "RI.DELIVER.SYNC.>" } }
      { service: { account: JS, subject: "$JS.FC.>" } }
    ]
  }
}`;

for (const kind of ["gnat", "nats"] as LeafKind[]) {
  const skip = kind === "nats" && NATS_SERVER === null;
  describe.skipIf(skip)(`mirrors and sources across accounts through service imports (${kind})${skip ? ` (${SKIP_REASON})` : ""}`, () => {
    let server: LeafServer;
    let onJs: NatsConnection;
    let onIa: NatsConnection;
    let jsJsm: JetStreamManager;
    let iaJsm: JetStreamManager;
    const dir = mkdtempSync(join(tmpdir(), "gnat-xacct-"));

    beforeAll(async () => {
      server = await startLeafServer({ kind, name: `xacct-${kind}`, config: `jetstream { store_dir: "${join(dir, "js")}" }\n${ACCOUNTS}` });
      onJs = await connect({ servers: server.url, user: "rip", pass: "pass" });
      onIa = await connect({ servers: server.url, user: "dlc", pass: "pass" });
      jsJsm = await jetstreamManager(onJs);
      iaJsm = await jetstreamManager(onIa);
    }, 30_000);

    afterAll(() => closeLeafSuite([onJs, onIa], [server], dir));

    it("the importing account mirrors and sources the exporting account's stream, and keeps up with new messages", async () => {
      await jsJsm.streams.add({ name: "ORIGIN", subjects: ["foo.*"] });
      const js = jetstream(onJs);
      for (let i = 1; i <= 20; i++) await js.publish(`foo.${i % 2 === 0 ? "even" : "odd"}`, `m${i}`);
      await iaJsm.streams.add({ name: "MIR", mirror: { name: "ORIGIN", external: { api: "RI.JS.API", deliver: "RI.DELIVER.SYNC.MIRRORS" } } });
      await iaJsm.streams.add({ name: "SCA", sources: [{ name: "ORIGIN", filter_subject: "foo.even", external: { api: "RI.JS.API", deliver: "RI.DELIVER.SYNC.SOURCES" } }] });
      const m = await infoWhen(iaJsm, "MIR", (i) => i.state.messages === 20 && i.mirror?.lag === 0, "the mirror caught up");
      expect(m.mirror).toMatchObject({ name: "ORIGIN", external: { api: "RI.JS.API", deliver: "RI.DELIVER.SYNC.MIRRORS" }, lag: 0 });
      expect(m.mirror?.error).toBeUndefined();
      await infoWhen(iaJsm, "SCA", (i) => i.state.messages === 10 && i.sources?.[0]?.lag === 0, "the source caught up");
      for (let i = 21; i <= 40; i++) await js.publish(`foo.${i % 2 === 0 ? "even" : "odd"}`, `m${i}`);
      await infoWhen(iaJsm, "MIR", (i) => i.state.messages === 40 && i.mirror?.lag === 0, "the mirror kept up");
      await infoWhen(iaJsm, "SCA", (i) => i.state.messages === 20 && i.sources?.[0]?.lag === 0, "the source kept up");
      const mirrored = await contents(onIa, "MIR", 40);
      expect(mirrored.map(([seq, subj, d]) => [seq, subj, d])).toEqual(Array.from({ length: 40 }, (_, i) => [i + 1, `foo.${(i + 1) % 2 === 0 ? "even" : "odd"}`, `m${i + 1}`]));
      const sourced = await contents(onIa, "SCA", 20);
      expect(sourced.map(([seq, subj, d]) => [seq, subj, d])).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1, "foo.even", `m${2 * i + 2}`]));
    }, 30_000);
  });
}
