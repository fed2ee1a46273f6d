// Regression: a client that connected while a route was forming never learnt the new node's
// URL. The route registered between the client's INFO and its CONNECT; the update INFO went only
// to clients whose CONNECT had been taken, and nothing sent it later. nats.js's "events -
// disreconnect" lost it (the harness dials the first node as soon as the second has written its
// ports file, then stops the first: the client had no other URL to go to).
// nats-server sends INFO updates only to clients past their first PONG, and a client whose INFO
// is older than the last change of the cluster's URLs gets a new one right after that PONG
// (client.go processPing, lastCURLsUpdate). The same transcript runs against both.
import { afterEach, describe, expect, it } from "vitest";
import { NATS_SERVER, SKIP_REASON } from "../differential/harness.js";
import { RawClient } from "../kit/clients.js";
import { meshed, startNode, type Kind, type Node } from "../cluster/kit.js";

const KINDS: Kind[] = ["gnat", "nats"];

/** The connect_urls of each INFO the client got, in order. */
function infoUrls(c: RawClient): string[][] {
  return [...c.text().matchAll(/^INFO (.*)\r$/gm)].map((m) => ((JSON.parse(m[1]!) as { connect_urls?: string[] }).connect_urls ?? []).slice().sort());
}

describe("connect_urls for a client that connected while a route formed", () => {
  const nodes: Node[] = [];
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const n of nodes.splice(0)) await n.stop();
  });

  for (const kind of KINDS) {
    const skip = kind === "nats" && NATS_SERVER === null;
    it.skipIf(skip)(`are sent after its first PONG, not before (${kind})${skip ? ` (${SKIP_REASON})` : ""}`, async () => {
      const a = await startNode({ name: `cu-a-${kind}`, kind });
      nodes.push(a);
      // Greeted before the second node exists: its INFO has one URL.
      const early = new RawClient(a.port);
      clients.push(early);
      await early.until((o) => o.includes("\r\n"));
      // Its CONNECT is taken but no PING follows yet.
      early.send(`CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n`);
      // One greeted that says nothing until the route is up (the race nats.js lost).
      const quiet = new RawClient(a.port);
      clients.push(quiet);
      await quiet.until((o) => o.includes("\r\n"));
      // A client past its first PONG, for contrast: it takes updates as they come.
      const ready = await RawClient.open(a.port);
      clients.push(ready);
      const b = await startNode({ name: `cu-b-${kind}`, kind, routes: [`nats-route://127.0.0.1:${a.clusterPort}`] });
      nodes.push(b);
      await meshed([a, b]);
      const both = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort();
      await ready.until(() => infoUrls(ready).some((u) => u.length === 2));
      expect(infoUrls(ready)).toEqual([[], both]);
      // A round trip on the early client after the update: the update did not go to it.
      early.send("PING\r\n");
      await early.until((o) => /PONG\r\n/.test(o));
      await early.until(() => infoUrls(early).length === 2);
      expect(infoUrls(early)).toEqual([[], both]);
      // ...and came after the PONG.
      expect(early.afterInfo.startsWith("PONG\r\nINFO ")).toBe(true);
      quiet.send(`CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n`);
      await quiet.until(() => infoUrls(quiet).length === 2);
      expect(infoUrls(quiet)).toEqual([[], both]);
      expect(quiet.afterInfo.startsWith("PONG\r\nINFO ")).toBe(true);
      // A second PING gets a PONG only.
      early.send("PING\r\n");
      await early.until((o) => o.split("PONG\r\n").length === 3);
      expect(infoUrls(early)).toHaveLength(2);
    });
  }
});
