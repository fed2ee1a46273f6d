// The count a consumer keeps (ConsumerState.numPending) against a store directly: the paths the
// server-level tests cannot reach, such as a failed write that takes its messages out of the
// store without onRemove (the store's generation moves, and the count is taken again).
import { describe, expect, it } from "vitest";
import { zeroConsumerConfig, type ConsumerConfig } from "../../server/jetstream/consumer/config.js";
import { ConsumerState } from "../../server/jetstream/consumer/state.js";
import { FileStore } from "../../server/jetstream/file-store.js";
import { MemoryStore } from "../../server/jetstream/memory-store.js";
import { StoreError } from "../../server/jetstream/store.js";
import { buf, tempDir } from "./helpers.js";

function config(filter: string): ConsumerConfig {
  return { ...zeroConsumerConfig(), deliver_policy: "all", ack_policy: "none", filter_subject: filter };
}

describe("ConsumerState's kept num_pending", () => {
  it("is taken again after a failed write removed messages it had counted (no onRemove for those)", async () => {
    const { dir, remove } = tempDir();
    let fail = false;
    const store = FileStore.open({ dir, warn: () => {}, writeFault: () => (fail ? Object.assign(new Error("ENOSPC"), { code: "ENOSPC" }) : null) });
    try {
      for (let i = 0; i < 3; i++) store.storeMsg(`a.${i}`, null, buf("ok"));
      await store.whenDurable(3);
      const cfg = config("a.*");
      const st = new ConsumerState();
      st.selectStart(store, cfg);
      expect(st.numPending(store, cfg)).toBe(3);
      fail = true;
      const lost = store.storeMsg("a.9", null, buf("lost"));
      expect(st.numPending(store, cfg)).toBe(4);
      const gen = store.generation;
      await expect(store.whenDurable(lost.seq)).rejects.toBeInstanceOf(StoreError);
      await expect.poll(() => store.generation).not.toBe(gen);
      expect(store.fastState().msgs).toBe(3);
      expect(st.numPending(store, cfg)).toBe(3);
      fail = false;
      store.storeMsg("a.5", null, buf("after"));
      store.storeMsg("b.5", null, buf("not ours"));
      expect(st.numPending(store, cfg)).toBe(4);
    } finally {
      await store.close();
      remove();
    }
  });

  it("follows deliveries, a put-back and removals before and after its position", () => {
    const store = new MemoryStore();
    const cfg = config("a.*");
    const st = new ConsumerState();
    for (let i = 0; i < 10; i++) store.storeMsg(i % 2 === 0 ? `a.${i}` : `b.${i}`, null, buf("x"));
    st.selectStart(store, cfg);
    // Its own count only hears of removals through removed() (the stream's onRemove fan-out).
    store.onRemove = (seq, subject) => st.removed(seq, subject, (s) => s.startsWith("a."));
    expect(st.numPending(store, cfg)).toBe(5);
    const first = st.nextMsg(store, cfg, () => {});
    expect(first?.seq).toBe(1);
    expect(st.numPending(store, cfg)).toBe(4);
    st.unget(first!.seq, 1, cfg);
    expect(st.numPending(store, cfg)).toBe(5);
    expect(st.nextMsg(store, cfg, () => {})?.seq).toBe(1);
    expect(st.nextMsg(store, cfg, () => {})?.seq).toBe(3);
    store.removeMsg(1); // behind it: no change
    store.removeMsg(5); // ahead, ours
    store.removeMsg(6); // ahead, not ours
    expect(st.numPending(store, cfg)).toBe(2);
    store.storeMsg("a.x", null, buf("x"));
    store.removeMsg(11); // stored and removed before it was counted
    store.storeMsg("a.y", null, buf("x"));
    expect(st.numPending(store, cfg)).toBe(3);
    store.purge({ filter: "a.*" });
    expect(st.numPending(store, cfg)).toBe(0);
  });
});
