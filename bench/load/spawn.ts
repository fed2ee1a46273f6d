// The load generator's worker threads (bench/load/worker.ts), started and awaited the same way by
// the load benchmark (bench/load.ts) and the cluster benchmark (bench/cluster.ts).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Role, WorkerMsg } from "./worker.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "worker.js");

export interface Handle {
  worker: Worker;
  ready: Promise<void>;
  done: Promise<Extract<WorkerMsg, { type: "done" }>>;
  go(): void;
}

export function spawnRole(role: Role): Handle {
  const worker = new Worker(WORKER, { workerData: role });
  let readyResolve!: () => void;
  let doneResolve!: (m: Extract<WorkerMsg, { type: "done" }>) => void;
  let readyReject!: (e: Error) => void;
  let doneReject!: (e: Error) => void;
  const ready = new Promise<void>((r, j) => {
    readyResolve = r;
    readyReject = j;
  });
  const done = new Promise<Extract<WorkerMsg, { type: "done" }>>((r, j) => {
    doneResolve = r;
    doneReject = j;
  });
  ready.catch(() => {});
  done.catch(() => {});
  const fail = (e: Error): void => {
    readyReject(e);
    doneReject(e);
  };
  worker.on("message", (m: WorkerMsg) => {
    if (m.type === "ready") readyResolve();
    else if (m.type === "done") doneResolve(m);
    else fail(new Error(m.message));
  });
  worker.on("error", fail);
  return { worker, ready, done, go: () => worker.postMessage("go") };
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, j) => setTimeout(() => j(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);
}
