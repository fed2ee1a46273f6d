// Tested by test/jetstream/store-contract.test.ts.
// Memory store: the index entries hold the payloads. Durable the moment storeMsg returns.

import { BaseStore } from "./base-store.js";
import { MsgEntry } from "./msg-index.js";
import {
  memStoreMsgSize, StorageType, StoreError, StoreErrorCode,
  type StoredMsg, type StoreLimits,
} from "./store.js";

const resolved: Promise<void> = Promise.resolve();

export class MemoryStore extends BaseStore {
  readonly type = StorageType.Memory;

  constructor(limits?: StoreLimits) {
    super();
    if (limits !== undefined) this.updateConfig(limits);
  }

  msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return memStoreMsgSize(subject, hdr, data);
  }

  protected validate(subject: string): void {
    if (subject.length === 0) throw new StoreError(StoreErrorCode.InvalidArgument, "subject required");
  }

  protected persistStore(seq: number, ts: bigint, subject: string, hdr: Buffer | null, data: Buffer, size: number): MsgEntry {
    // One copy for header and payload: the caller's buffers are usually slices of a socket read.
    const hl = hdr === null ? 0 : hdr.length;
    const buf = Buffer.allocUnsafe(hl + data.length);
    if (hdr !== null) hdr.copy(buf, 0);
    data.copy(buf, hl);
    return new MsgEntry(seq, subject, ts, size, hl, hdr === null ? null : buf.subarray(0, hl), buf.subarray(hl), -1, 0, 0);
  }

  protected persistSkip(): void {}

  protected persistRemove(e: MsgEntry, erase: boolean): void {
    if (erase) { e.hdr?.fill(0); e.data?.fill(0); }
    e.hdr = null;
    e.data = null;
  }

  protected persistFloor(): void {}
  protected persistPurgeAll(): void {}

  protected readMsg(e: MsgEntry): StoredMsg {
    return { subject: e.subject, seq: e.seq, ts: e.ts, hdr: e.hdr, data: e.data ?? Buffer.alloc(0) };
  }

  whenDurable(): Promise<void> { return resolved; }
  flush(): Promise<void> { return resolved; }
  protected release(): Promise<void> { return resolved; }

  async delete(): Promise<void> {
    await this.close();
    this.resetIndex();
  }
}
