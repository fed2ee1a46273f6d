// examples/work-queue.mjs against an in-process gnat: its functions driven step by step, then the
// script itself run as a user would run it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, describe, expect, test } from "vitest";
import { DLQ, STREAM, deadLetters, produce, setup, startDeadLetters, startWorker } from "../../examples/work-queue.mjs";
import { gnatSuite } from "../kit/gnat.js";

const server = gnatSuite({ jetstream: true }, "gnat-ex-wq-");
const conns: NatsConnection[] = [];
const open = async (): Promise<NatsConnection> => {
  const c = await connect({ servers: server().url });
  conns.push(c);
  return c;
};

afterAll(async () => {
  for (const c of conns) if (!c.isClosed()) await c.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("work queue example", () => {
  test("every task is done once by a live worker; a dead worker's task is redone after ack_wait; the poison task ends in the DLQ", async () => {
    const admin = await open();
    const ackWaitMs = 1000;
    await setup(admin, { ackWaitMs, maxDeliver: 3 });
    const dead: string[] = [];
    const stopDlq = await startDeadLetters(admin, (task) => dead.push(task));

    // A worker that takes a task and dies holding it.
    const doomed = await open();
    let doomedTook: { task: string; at: number } | null = null;
    const stopDoomed = await startWorker(doomed, async (task) => {
      doomedTook = { task, at: Date.now() };
      await doomed.close();
      throw new Error("crashed");
    });

    const tasks = Array.from({ length: 30 }, (_, i) => `task ${i}${".".repeat(i % 3)}`);
    tasks.splice(12, 0, "poison");
    await produce(admin, tasks);
    const until = Date.now() + 3000;
    while (doomedTook === null && Date.now() < until) await sleep(10);
    expect(doomedTook).not.toBeNull();

    const done: Array<{ task: string; worker: string; deliveries: number; at: number }> = [];
    const stops: Array<() => Promise<void>> = [];
    for (const worker of ["w1", "w2", "w3"]) {
      const nc = await open();
      stops.push(await startWorker(nc, async (task, { deliveries }) => {
        if (task === "poison") throw new Error("cannot process");
        await sleep(5 * (task.split(".").length - 1));
        done.push({ task, worker, deliveries, at: Date.now() });
      }));
    }

    const jsm = await jetstreamManager(admin);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if ((await jsm.streams.info(STREAM)).state.messages === 0 && dead.length === 1) break;
      await sleep(50);
    }
    await Promise.all([stopDoomed(), ...stops.map((s) => s())]);
    await stopDlq();

    const expected = ["Hello World!", ...tasks.filter((t) => t !== "poison")].sort();
    expect(done.map((d) => d.task).sort()).toEqual(expected); // each exactly once
    expect(new Set(done.map((d) => d.worker)).size).toBeGreaterThan(1); // shared out
    const redone = done.find((d) => d.task === doomedTook!.task)!;
    expect(redone.deliveries).toBe(2);
    expect(redone.at - doomedTook!.at).toBeGreaterThanOrEqual(ackWaitMs - 50);
    expect(dead).toEqual(["poison"]);
    expect(await deadLetters(admin)).toEqual([{ task: "poison", from: 14, deliveries: 3 }]);
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(0);
    expect((await jsm.streams.info(DLQ)).state.messages).toBe(1);
  });

  test("the script runs against gnat and exits 0", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/work-queue.mjs"], {
      env: { ...process.env, NATS_URL: server().url }, timeout: 55_000,
    });
    expect(stdout).toContain('[dlq] task #7 "poison" moved to TASKS_DLQ');
    expect(stdout).toMatch(/"Hello World!" done \(delivery 2\)/);
    expect(stdout).toContain("done: 6 tasks completed, 1 in TASKS_DLQ, 0 left in TASKS");
  }, 60_000);
});
