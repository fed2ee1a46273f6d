// TLS on routes, as nats-server runs it: the handshake first, both ends show the certificate,
// `verify` makes each check the other's. gnat and nats-server both ways; a node whose
// certificate another CA signed gets no route.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { makeRouteCert, makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { connectTo, interestArrived, meshed, startNode, until, type Kind, type Node } from "./kit.js";

const skip = NATS_SERVER === null;
let certs: TestCerts;
let good: { cert: string; key: string };
let stranger: { cert: string; key: string };
beforeAll(() => {
  certs = makeTestCerts();
  good = makeRouteCert(certs);
  stranger = makeRouteCert(certs, "stranger", "ca2");
});
afterAll(() => certs.cleanup());

let nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes = [];
});

const tls = (p: { cert: string; key: string }, ca = certs.ca): string =>
  `tls { cert_file: "${p.cert}", key_file: "${p.key}", ca_file: "${ca}", verify: true, timeout: 2 }`;

describe.skipIf(skip)(`route TLS${skip ? ` (${SKIP_REASON})` : ""}`, () => {
  for (const [a, b] of [["gnat", "nats"], ["nats", "gnat"], ["gnat", "gnat"]] as [Kind, Kind][]) {
    it(`${b} routes to ${a} over TLS and messages cross`, async () => {
      const x = await startNode({ name: "x", kind: a, clusterConfig: tls(good) });
      nodes.push(x);
      const y = await startNode({ name: "y", kind: b, clusterConfig: tls(good), routes: [`nats-route://127.0.0.1:${x.clusterPort}`] });
      nodes.push(y);
      await meshed([x, y]);
      const cx = await connectTo(x);
      const cy = await connectTo(y);
      try {
        const got: string[] = [];
        cx.subscribe("secure", { callback: (_e, m) => got.push(m.string()) });
        await interestArrived(cx, cy);
        cy.publish("secure", "over tls");
        await until(() => got.length === 1, "the message over a TLS route");
        expect(got).toEqual(["over tls"]);
      } finally {
        await cx.close();
        await cy.close();
      }
    });

    it(`a ${b} whose certificate another CA signed gets no route to ${a}`, async () => {
      const x = await startNode({ name: "x", kind: a, clusterConfig: tls(good) });
      nodes.push(x);
      const y = await startNode({ name: "y", kind: b, clusterConfig: tls(stranger, certs.otherCa), routes: [`nats-route://127.0.0.1:${x.clusterPort}`] });
      nodes.push(y);
      await until(() => /TLS route handshake error/i.test(x.log() + y.log()), "a handshake error logged");
      expect(await x.routeCount()).toBe(0);
      expect(await y.routeCount()).toBe(0);
    });
  }
});
