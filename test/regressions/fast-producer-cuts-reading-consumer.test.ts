// Regression: a producer faster than its subscriber got the subscriber cut off as a slow
// consumer ("max pending exceeded") although it never stopped reading; every message after the
// cut was lost. The server must slow the producer instead.
import { expect, test } from "vitest";
import { rawPublish, rawSubscriber } from "../flow/raw.js";
import { gnatSuite } from "../kit/gnat.js";

// A small byte budget makes the old failure quick to reach: 30 MB published, 4 MiB allowed.
const server = gnatSuite({ maxPending: 4 * 1024 * 1024 });

test("a subscriber that keeps reading gets every message from a faster producer", async () => {
  const n = 30_000;
  const sub = await rawSubscriber(server().port, "firehose", n, { slowMs: 1 });
  const pub = await rawPublish(server().port, "firehose", n, 1024);
  await sub.done;
  expect(sub.received()).toBe(n);
  expect(server().slowConsumers).toBe(0);
  pub.destroy();
  sub.socket.destroy();
}, 30_000);
