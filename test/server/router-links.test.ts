// The router's rules for links (routes and leafnode connections), as nats-server 2.9's
// processMsgResults has them, checked with links that record what they are handed: which link a
// message may cross to, and how a queue group picks between local, routed and leaf members.
import { describe, expect, test } from "vitest";
import { Router, Subscription, type Client, type Link } from "../../server/core/router.js";

class FakeLink implements Client, Link {
  readonly link: Link = this;
  echo = false;
  noResponders = false;
  congested = false;
  /** What was forwarded: "subject [queues]". */
  readonly got: string[] = [];
  constructor(readonly cid: number, readonly kind: "route" | "leaf", readonly spoke = false, readonly remoteCluster = "") {}
  forward(_a: string, subject: string, _r: string, queues: readonly string[]): boolean {
    this.got.push(queues.length === 0 ? subject : `${subject} [${queues.join(",")}]`);
    return true;
  }
  deliver(): boolean { return false; }
  holdProducer(): void {}
  stallTtl(): number { return 0; }
  stallOn(): void {}
  release(): void {}
}

class FakeClient implements Client {
  echo = true;
  noResponders = false;
  congested = false;
  readonly got: string[] = [];
  constructor(readonly cid: number) {}
  deliver(_s: Subscription, subject: string): boolean {
    this.got.push(subject);
    return true;
  }
  holdProducer(): void {}
  stallTtl(): number { return 0; }
  stallOn(): void {}
  release(): void {}
}

const PAYLOAD = Buffer.from("x\r\n");

function publish(r: Router, from: Client, subject: string, queues: string[] | null = null): void {
  if (from.link === undefined) r.publish(from, subject, "", -1, PAYLOAD, 0, PAYLOAD.length);
  else r.publishFromLink(from, subject, "", queues, -1, PAYLOAD, 0, PAYLOAD.length);
}

function setup(): { r: Router; route1: FakeLink; route2: FakeLink; hubLeaf: FakeLink; spoke: FakeLink; hubLeafSameCluster: FakeLink; client: FakeClient } {
  const r = new Router();
  const route1 = new FakeLink(1, "route");
  const route2 = new FakeLink(2, "route");
  // We are the hub of these two leafs (both from cluster "edge"), and the spoke of a hub.
  const hubLeaf = new FakeLink(3, "leaf", false, "edge");
  const hubLeafSameCluster = new FakeLink(4, "leaf", false, "edge");
  const spoke = new FakeLink(5, "leaf", true, "core");
  const client = new FakeClient(6);
  for (const c of [route1, route2, hubLeaf, hubLeafSameCluster, spoke, client]) {
    r.subscribe(new Subscription(c, "s.>", "", "1"));
  }
  return { r, route1, route2, hubLeaf, spoke, hubLeafSameCluster, client };
}

describe("which links a message crosses to", () => {
  test("from a client: every link, once", () => {
    const { r, route1, route2, hubLeaf, spoke, hubLeafSameCluster, client } = setup();
    publish(r, client, "s.1");
    for (const l of [route1, route2, hubLeaf, spoke, hubLeafSameCluster]) expect(l.got).toEqual(["s.1"]);
  });

  test("from a route: never another route, nor a hub of ours (except service replies); our leafs, yes", () => {
    const { r, route1, route2, hubLeaf, spoke, hubLeafSameCluster, client } = setup();
    r.subscribe(new Subscription(spoke, "_R_.>", "", "2"));
    publish(r, route1, "s.1");
    publish(r, route1, "_R_.abc.1");
    expect(route2.got).toEqual([]);
    expect(route1.got).toEqual([]);
    expect(spoke.got).toEqual(["_R_.abc.1"]);
    expect(hubLeaf.got).toEqual(["s.1"]);
    expect(hubLeafSameCluster.got).toEqual(["s.1"]);
    expect(client.got).toEqual(["s.1"]);
  });

  test("from a hub (we are its spoke): not to routes; to our own leafs and clients", () => {
    const { r, route1, hubLeaf, spoke, client } = setup();
    publish(r, spoke, "s.1");
    expect(route1.got).toEqual([]);
    expect(hubLeaf.got).toEqual(["s.1"]);
    expect(spoke.got).toEqual([]);
    expect(client.got).toEqual(["s.1"]);
  });

  test("from a leaf of ours: routes, the hub, other leafs, but not a leaf of the same cluster", () => {
    const { r, route1, hubLeaf, spoke, hubLeafSameCluster, client } = setup();
    publish(r, hubLeaf, "s.1");
    expect(route1.got).toEqual(["s.1"]);
    expect(spoke.got).toEqual(["s.1"]);
    expect(hubLeafSameCluster.got).toEqual([]);
    expect(hubLeaf.got).toEqual([]);
    expect(client.got).toEqual(["s.1"]);
  });
});

describe("queue groups with leaf members", () => {
  const qsetup = (): { r: Router; leaf: FakeLink; route: FakeLink; local: FakeClient; pub: FakeClient } => {
    const r = new Router();
    return { r, leaf: new FakeLink(1, "leaf"), route: new FakeLink(2, "route"), local: new FakeClient(3), pub: new FakeClient(4) };
  };

  test("a local member is preferred to a leaf's", () => {
    const { r, leaf, local, pub } = qsetup();
    r.subscribe(new Subscription(leaf, "q", "g", "1"));
    r.subscribe(new Subscription(local, "q", "g", "2"));
    for (let i = 0; i < 50; i++) publish(r, pub, "q");
    expect(local.got.length).toBe(50);
    expect(leaf.got).toEqual([]);
  });

  test("a route's member is preferred to a leaf's", () => {
    const { r, leaf, route, pub } = qsetup();
    r.subscribe(new Subscription(leaf, "q", "g", "1"));
    r.subscribe(new Subscription(route, "q", "g", "2"));
    for (let i = 0; i < 20; i++) publish(r, pub, "q");
    expect(route.got.length).toBe(20);
    expect(leaf.got).toEqual([]);
  });

  test("with members only across a leafnode connection, the message crosses naming its group", () => {
    const { r, leaf, pub } = qsetup();
    r.subscribe(new Subscription(leaf, "q", "g", "1"));
    publish(r, pub, "q");
    expect(leaf.got).toEqual(["q [g]"]);
  });

  test("from a leaf, only the groups it names are served, by a local or routed member", () => {
    const { r, leaf, route, local } = qsetup();
    const other = new FakeLink(5, "leaf");
    r.subscribe(new Subscription(local, "q", "g", "1"));
    r.subscribe(new Subscription(route, "q", "g", "2"));
    r.subscribe(new Subscription(other, "q", "h", "3"));
    publish(r, leaf, "q", null);
    expect(local.got.length + route.got.length + other.got.length).toBe(0);
    for (let i = 0; i < 40; i++) publish(r, leaf, "q", ["g", "h"]);
    expect(local.got.length + route.got.length).toBe(40);
    expect(other.got.length).toBe(40);
  });
});
