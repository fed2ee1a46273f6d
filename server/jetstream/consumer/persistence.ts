// Tested by test/jetstream/consumer.test.ts (restart) and test/jetstream/consumer-crash.test.ts.
// A durable's state on disk (file streams): written soon after a change, at most once per
// PERSIST_EVERY_MS, and at once (fsynced with sync_interval: always) before a double ack is
// confirmed. Two slots written in turn (state-file.ts), so a crash leaves the old or the new.

import { mkdirSync, rmSync } from "node:fs";
import type { JsonObject } from "../decode.js";
import { StateFile } from "../state-file.js";
import type { ConsumerServices } from "./types.js";

/** Persisted state of a durable (nats-server ConsumerState, plus the config). */
export interface PersistedConsumer {
  config: JsonObject;
  created: string;
  delivered: { consumer_seq: number; stream_seq: number };
  ack_floor: { consumer_seq: number; stream_seq: number };
  /** [stream seq, consumer seq, deadline ms]. */
  pending: Array<[number, number, number]>;
  /** [stream seq, redelivery count]. */
  redelivered: Array<[number, number]>;
  lss: number[] | null;
}

/** Longest a durable's state waits to be written after a change (see persist). */
const PERSIST_EVERY_MS = 50;
/** Where state lived before state-file.ts (one JSON file renamed into place): still read. */
const LEGACY_STATE = "state.json";

export class ConsumerPersistence {
  private scheduled = false;
  private confirms: string[] = [];
  private confirmScheduled = false;
  private stateFile: StateFile | null = null;

  constructor(
    /** Directory for persisted state (durables on file streams), or null: nothing is written. */
    private readonly dir: string | null,
    private readonly host: ConsumerServices,
    /** "<stream> > <consumer>", for warnings. */
    private readonly label: string,
    private readonly isClosed: () => boolean,
    private readonly snapshot: () => PersistedConsumer,
  ) {}

  /** Write the state soon (coalesced: once per turn of the event loop). */
  schedule(): void {
    if (this.dir === null || this.scheduled || this.isClosed()) return;
    this.scheduled = true;
    // At most one state write per PERSIST_EVERY_MS: a busy consumer acks thousands of messages a
    // second, and each write is a whole file and a rename. What a crash loses is at most that
    // window of acks, which come back as redeliveries (at-least-once), never as losses.
    const t = setTimeout(() => {
      this.scheduled = false;
      if (!this.isClosed()) this.write();
    }, PERSIST_EVERY_MS);
    t.unref();
  }

  /**
   * A double ack (an ack with a reply) is confirmed only once the state that holds it is on
   * disk, so a confirmed ack survives kill -9 (and, with sync_interval: always, a power loss).
   * The acks of one turn of the event loop share one state write.
   */
  confirm(reply: string): void {
    if (this.dir === null) {
      this.host.ic.publish(reply, Buffer.alloc(0));
      return;
    }
    this.confirms.push(reply);
    if (this.confirmScheduled) return;
    this.confirmScheduled = true;
    setImmediate(() => {
      this.confirmScheduled = false;
      const replies = this.confirms;
      this.confirms = [];
      if (this.isClosed()) return;
      if (!this.write(this.host.syncAlways)) return;
      for (const r of replies) this.host.ic.publish(r, Buffer.alloc(0));
    });
  }

  /** Write the state file; false when it could not be written. */
  write(sync = false): boolean {
    if (this.dir === null) return false;
    const st = this.snapshot();
    try {
      if (this.stateFile === null) {
        mkdirSync(this.dir, { recursive: true });
        this.stateFile = new StateFile(this.dir, LEGACY_STATE);
      }
      // Two slots written in turn: a crash leaves the old state or the new, never half of one.
      this.stateFile.write(JSON.stringify(st), sync);
      return true;
    } catch (e) {
      this.host.warn(`JetStream consumer '$G > ${this.label}' could not save its state: ${(e as Error).message}`);
      return false;
    }
  }

  /** The consumer is gone for good: its directory goes too. */
  remove(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Write a durable's state into `dir` as its own persistence would, fsynced (a restore). */
  static writeTo(dir: string, st: PersistedConsumer): void {
    mkdirSync(dir, { recursive: true });
    new StateFile(dir, LEGACY_STATE).write(JSON.stringify(st), true);
  }

  /** Read a durable's persisted state from its directory. */
  static read(dir: string): PersistedConsumer {
    const text = StateFile.read(dir, LEGACY_STATE);
    if (text === null) throw new Error("no state file");
    return JSON.parse(text) as PersistedConsumer;
  }
}
