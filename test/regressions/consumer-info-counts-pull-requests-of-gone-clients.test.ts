// Regression: CONSUMER.INFO reported num_waiting for pull requests whose requester had gone (no
// interest left on the reply subject) until they expired; nats-server drops those first
// (processWaiting) and counts live requests only. Found with a nats.go probe next to
// go/jsconform (a Fetch from a connection that then closed: num_waiting stayed 1 on gnat,
// 0 on nats-server).
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { jetStreamSuite } from "../jetstream/helpers.js";

let nc: NatsConnection;
let server: Server;
jetStreamSuite("gnat-deadwait-", (t) => { nc = t.nc; server = t.server; });

test("num_waiting leaves out a pull request whose requester stopped listening", async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "DW", subjects: ["dw"], storage: "memory" });
  await jsm.consumers.add("DW", { durable_name: "dw", ack_policy: AckPolicy.Explicit });
  const other = await connect({ servers: server.url });
  const inbox = createInbox();
  const sub = other.subscribe(inbox);
  other.publish("$JS.API.CONSUMER.MSG.NEXT.DW.dw", JSON.stringify({ batch: 1, expires: 30e9 }), { reply: inbox });
  await other.flush();
  expect((await jsm.consumers.info("DW", "dw")).num_waiting).toBe(1);
  // The requester goes away; its UNSUB is processed before the PONG of the flush.
  sub.unsubscribe();
  await other.flush();
  expect((await jsm.consumers.info("DW", "dw")).num_waiting).toBe(0);
  await other.close();
});
