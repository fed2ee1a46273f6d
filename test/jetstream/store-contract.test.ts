// One specification for every StreamStore. Each test ends by reopening the store (the file
// stores really reopen from disk) and checking the state and every message are identical.

import { afterEach, describe, expect, it } from "vitest";
import { DiscardPolicy, NO_LIMITS, StoreError, memStoreMsgSize, type StoreLimits, type StreamStore } from "../../server/jetstream/store.js";
import { buf, factories, type StoreFactory } from "./helpers.js";

function limits(l: Partial<StoreLimits>): StoreLimits {
  return { ...NO_LIMITS, ...l };
}

function snapshot(store: StreamStore) {
  const msgs: Array<{ seq: number; subject: string; ts: bigint; hdr: string | null; data: string }> = [];
  for (let m = store.loadNextMsg(">", 0); m !== null; m = store.loadNextMsg(">", m.seq + 1)) {
    msgs.push({ seq: m.seq, subject: m.subject, ts: m.ts, hdr: m.hdr?.toString() ?? null, data: m.data.toString() });
  }
  return { state: store.state(), msgs, subjects: store.subjectsState(">") };
}

describe.each(factories)("StreamStore contract: $name", (factory: StoreFactory) => {
  let ctx: Awaited<ReturnType<StoreFactory["make"]>>;
  let store: StreamStore;

  async function open(l?: StoreLimits): Promise<StreamStore> {
    ctx = await factory.make(l);
    store = ctx.store;
    return store;
  }

  /** Reopen and require the same state and messages; continue with the reopened store. */
  async function survivesReopen(): Promise<void> {
    const before = snapshot(store);
    store = await ctx.reopen();
    expect(snapshot(store)).toEqual(before);
  }

  afterEach(async () => { await ctx.cleanup(); });

  it("numbers messages from 1 and returns them as stored", async () => {
    await open();
    const a = store.storeMsg("foo", null, buf("one"));
    const b = store.storeMsg("bar", buf("NATS/1.0\r\nA: b\r\n\r\n"), buf("two"), 123n);
    expect(a.seq).toBe(1);
    expect(b).toEqual({ seq: 2, ts: 123n });
    const m1 = store.loadMsg(1)!;
    expect(m1.subject).toBe("foo");
    expect(m1.hdr).toBeNull();
    expect(m1.data.toString()).toBe("one");
    expect(m1.ts).toBe(a.ts);
    const m2 = store.loadMsg(2)!;
    expect(m2.hdr!.toString()).toBe("NATS/1.0\r\nA: b\r\n\r\n");
    expect(store.loadMsg(3)).toBeNull();
    expect(store.loadMsg(0)).toBeNull();
    await store.whenDurable(2);
    await survivesReopen();
  });

  it("keeps a copy of the payload, not the caller's buffer", async () => {
    await open();
    const data = buf("hello");
    store.storeMsg("foo", null, data);
    data.fill(0);
    expect(store.loadMsg(1)!.data.toString()).toBe("hello");
  });

  it("keeps a copy of a view into a bigger buffer (the publish path hands the store a read buffer's slice)", async () => {
    await open();
    const read = buf("PUB-LINE NATS/1.0\r\nA: b\r\n\r\npayload\r\nNEXT");
    const hdr = read.subarray(9, 27);
    const data = read.subarray(27, 34);
    store.storeMsg("v.\u00e9", hdr, data);
    read.fill(0);
    const m = store.loadMsg(1)!;
    expect(m.subject).toBe("v.\u00e9");
    expect(m.hdr!.toString()).toBe("NATS/1.0\r\nA: b\r\n\r\n");
    expect(m.data.toString()).toBe("payload");
    await store.whenDurable(1);
    await survivesReopen();
    expect(store.loadMsg(1)!.subject).toBe("v.\u00e9");
  });

  it("subjectOf answers from the index: the stored subject, null once gone", async () => {
    await open();
    store.storeMsg("a.\u00ff", null, buf("one"));
    store.storeMsg("b", null, buf("two"));
    expect(store.subjectOf(1)).toBe("a.\u00ff");
    expect(store.subjectOf(2)).toBe("b");
    expect(store.subjectOf(3)).toBeNull();
    expect(store.subjectOf(0)).toBeNull();
    store.removeMsg(1);
    expect(store.subjectOf(1)).toBeNull();
    await store.whenDurable(2);
    await survivesReopen();
    expect(store.subjectOf(2)).toBe("b");
    expect(store.subjectOf(1)).toBeNull();
  });

  it("timestamps in nanoseconds close to now, increasing", async () => {
    await open();
    const a = store.storeMsg("foo", null, buf(""));
    const b = store.storeMsg("foo", null, buf(""));
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    expect(a.ts > nowNs - 5_000_000_000n && a.ts <= nowNs + 5_000_000_000n).toBe(true);
    expect(b.ts > a.ts).toBe(true);
  });

  it("reports state: counts, bytes by the store's msgSize, first and last", async () => {
    await open();
    const r1 = store.storeMsg("a.b", null, buf("12345"));
    store.storeMsg("a.c", buf("NATS/1.0\r\n\r\n"), buf("xy"));
    const r3 = store.storeMsg("a.b", null, buf(""));
    const st = store.state();
    expect(st).toMatchObject({ msgs: 3, first_seq: 1, last_seq: 3, first_ts: r1.ts, last_ts: r3.ts, num_deleted: 0, deleted: [], num_subjects: 2 });
    expect(st.bytes).toBe(
      store.msgSize("a.b", null, buf("12345")) + store.msgSize("a.c", buf("NATS/1.0\r\n\r\n"), buf("xy")) + store.msgSize("a.b", null, buf("")),
    );
    await survivesReopen();
  });

  it("starts empty at first_seq 0 / last_seq 0", async () => {
    await open();
    expect(store.state()).toMatchObject({ msgs: 0, bytes: 0, first_seq: 0, last_seq: 0, first_ts: 0n, num_subjects: 0 });
  });

  it("removes a message, lists it as an interior delete, and never reuses its sequence", async () => {
    await open();
    for (let i = 0; i < 5; i++) store.storeMsg(`s.${i}`, null, buf(`m${i}`));
    const removed: Array<[number, string]> = [];
    store.onRemove = (seq, subject) => removed.push([seq, subject]);
    expect(store.removeMsg(3)).toBe(true);
    expect(store.removeMsg(3)).toBe(false);
    expect(store.removeMsg(99)).toBe(false);
    expect(removed).toEqual([[3, "s.2"]]);
    expect(store.loadMsg(3)).toBeNull();
    expect(store.state()).toMatchObject({ msgs: 4, first_seq: 1, last_seq: 5, num_deleted: 1, deleted: [3] });
    store.removeMsg(5);
    expect(store.state()).toMatchObject({ msgs: 3, last_seq: 5 });
    expect(store.storeMsg("s.x", null, buf("")).seq).toBe(6);
    await survivesReopen();
  });

  it("moves first_seq past removed messages at the front", async () => {
    await open();
    for (let i = 0; i < 5; i++) store.storeMsg("s", null, buf(`m${i}`));
    store.removeMsg(2);
    store.removeMsg(1);
    expect(store.state()).toMatchObject({ msgs: 3, first_seq: 3, num_deleted: 0, deleted: [] });
    expect(store.state().first_ts).toBe(store.loadMsg(3)!.ts);
    await survivesReopen();
  });

  it("empties to first_seq = last_seq + 1 when the last message goes", async () => {
    await open();
    store.storeMsg("s", null, buf("a"));
    store.storeMsg("s", null, buf("b"));
    store.removeMsg(1);
    store.removeMsg(2);
    expect(store.state()).toMatchObject({ msgs: 0, bytes: 0, first_seq: 3, last_seq: 2, num_deleted: 0 });
    await survivesReopen();
    expect(store.storeMsg("s", null, buf("c")).seq).toBe(3);
    await survivesReopen();
  });

  it("erases a message: gone like a remove", async () => {
    await open();
    store.storeMsg("s", null, buf("secret"));
    store.storeMsg("s", null, buf("other"));
    expect(store.eraseMsg(1)).toBe(true);
    expect(store.loadMsg(1)).toBeNull();
    expect(store.state()).toMatchObject({ msgs: 1, first_seq: 2 });
    await survivesReopen();
  });

  it("skips sequences: at the end they are deleted, on an empty store they move first", async () => {
    await open();
    expect(store.skipMsg()).toBe(1);
    expect(store.state()).toMatchObject({ msgs: 0, first_seq: 2, last_seq: 1 });
    store.storeMsg("s", null, buf("a"));
    expect(store.skipMsg(3)).toBe(3);
    expect(() => store.skipMsg(9)).toThrow(StoreError);
    expect(store.storeMsg("s", null, buf("b")).seq).toBe(4);
    expect(store.state()).toMatchObject({ msgs: 2, first_seq: 2, last_seq: 4, num_deleted: 1, deleted: [3] });
    await survivesReopen();
  });

  it("loads the next message matching a literal, * or > filter", async () => {
    await open();
    store.storeMsg("orders.eu.new", null, buf("1"));
    store.storeMsg("orders.us.new", null, buf("2"));
    store.storeMsg("orders.eu.paid", null, buf("3"));
    store.storeMsg("billing.eu", null, buf("4"));
    store.storeMsg("orders.eu.new", null, buf("5"));
    expect(store.loadNextMsg("orders.eu.new", 2)!.seq).toBe(5);
    expect(store.loadNextMsg("orders.*.new", 2)!.seq).toBe(2);
    expect(store.loadNextMsg("orders.*.new", 3)!.seq).toBe(5);
    expect(store.loadNextMsg("orders.>", 4)!.seq).toBe(5);
    expect(store.loadNextMsg("*.eu", 0)!.seq).toBe(4);
    expect(store.loadNextMsg(">", 0)!.seq).toBe(1);
    expect(store.loadNextMsg("", 3)!.seq).toBe(3);
    expect(store.loadNextMsg("orders", 0)).toBeNull();
    expect(store.loadNextMsg("orders.eu.new", 6)).toBeNull();
    expect(store.loadNextMsg("nope.>", 0)).toBeNull();
  });

  it("loads the next matching message only up to toSeq when given, far past the 64 looked at first", async () => {
    await open();
    for (let i = 0; i < 200; i++) store.storeMsg(`noise.${i % 50}`, null, buf("n"));
    store.storeMsg("orders.eu.new", null, buf("201"));
    store.storeMsg("orders.us.new", null, buf("202"));
    expect(store.loadNextMsg("orders.*.new", 1)!.seq).toBe(201);
    expect(store.loadNextMsg("orders.*.new", 1, 200)).toBeNull();
    expect(store.loadNextMsg("orders.*.new", 1, 201)!.seq).toBe(201);
    expect(store.loadNextMsg("orders.us.new", 1, 201)).toBeNull();
    expect(store.loadNextMsg("orders.us.new", 1, 202)!.seq).toBe(202);
    expect(store.loadNextMsg("", 150, 149)).toBeNull();
    expect(store.loadNextMsg(">", 150, 150)!.seq).toBe(150);
    expect(store.loadNextMsg("noise.*", 190, 500)!.seq).toBe(190);
    expect(store.loadNextMsg("orders.>", 1, 10_000)!.seq).toBe(201);
  });

  it("finds a sparse wildcard match across many subjects as subjects come and go", async () => {
    await open();
    for (let i = 0; i < 300; i++) store.storeMsg(i % 100 === 50 ? `rare.${i}` : `noise.${i % 120}`, null, buf("n"));
    expect(store.loadNextMsg("rare.*", 1)!.subject).toBe("rare.50");
    expect(store.loadNextMsg("rare.*", 52)!.subject).toBe("rare.150");
    expect(store.loadNextMsg("rare.*", 252)).toBeNull();
    // A new matching subject after the filter was asked once.
    store.storeMsg("rare.new", null, buf("n"));
    for (let i = 0; i < 100; i++) store.storeMsg(`noise.${i}`, null, buf("n"));
    expect(store.loadNextMsg("rare.*", 252)!.subject).toBe("rare.new");
    // A matching subject gone, then back (a new list for the same subject).
    expect(store.removeMsg(151)).toBe(true);
    expect(store.loadNextMsg("rare.*", 52)!.subject).toBe("rare.250");
    store.storeMsg("rare.150", null, buf("again"));
    expect(store.loadNextMsg("rare.*", 301)!.subject).toBe("rare.new");
    expect(store.loadNextMsg("rare.*", 302)!.subject).toBe("rare.150");
    expect(store.loadNextMsg("rare.150", 1)!.seq).toBe(402);
    expect(store.loadNextMsg("rare.*", 303)!.seq).toBe(402);
    expect(store.numPending("rare.*", 1)).toBe(4);
  });

  it("a sparse wildcard search sees subjects that came or came back after it last looked", async () => {
    await open();
    const noise = (n: number): void => { for (let i = 0; i < n; i++) store.storeMsg(`noise.${i % 50}`, null, buf("n")); };
    noise(500);
    store.storeMsg("rare.a", null, buf("r")); // 501
    noise(500);
    expect(store.loadNextMsg("rare.*", 1)!.seq).toBe(501);
    store.storeMsg("rare.b", null, buf("r")); // 1002
    noise(500);
    expect(store.loadNextMsg("rare.*", 502)!.seq).toBe(1002);
    expect(store.removeMsg(501)).toBe(true);
    store.storeMsg("rare.a", null, buf("r")); // 1503
    noise(500);
    expect(store.loadNextMsg("rare.*", 1)!.seq).toBe(1002);
    expect(store.loadNextMsg("rare.*", 1003)!.seq).toBe(1503);
    expect(store.loadNextMsg("rare.*", 1504)).toBeNull();
  });

  it("loads the last message for a subject or filter", async () => {
    await open();
    store.storeMsg("kv.a", null, buf("1"));
    store.storeMsg("kv.b", null, buf("2"));
    store.storeMsg("kv.a", null, buf("3"));
    store.storeMsg("other", null, buf("4"));
    expect(store.loadLastMsg("kv.a")!.data.toString()).toBe("3");
    expect(store.loadLastMsg("kv.*")!.seq).toBe(3);
    expect(store.loadLastMsg(">")!.seq).toBe(4);
    expect(store.loadLastMsg("kv.c")).toBeNull();
    expect(store.lastSeqForSubject("kv.b")).toBe(2);
    expect(store.lastSeqForSubject("kv.c")).toBe(0);
  });

  it("finds the first sequence stored at or after a time, across deleted runs", async () => {
    await open();
    expect(store.seqFromTime(0n)).toBe(1);
    // Times 10, 20, … 400 ns: seq k at 10·k.
    for (let k = 1; k <= 40; k++) store.storeMsg("t", null, buf(`${k}`), BigInt(10 * k));
    const check = (): void => {
      const live: number[] = [];
      for (let m = store.loadNextMsg(">", 0); m !== null; m = store.loadNextMsg(">", m.seq + 1)) live.push(m.seq);
      for (let t = 0; t <= 420; t += 5) {
        const want = live.find((s) => 10 * s >= t) ?? 41;
        expect(store.seqFromTime(BigInt(t)), `t=${t}`).toBe(want);
      }
    };
    check();
    // Holes of every length, a lone survivor among them, and the front gone.
    for (const s of [1, 2, 3, 7, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 40]) store.removeMsg(s);
    check();
    await survivesReopen();
    check();
    store.purge();
    expect(store.seqFromTime(0n)).toBe(41);
  });

  it("finds the next message with headers from the index", async () => {
    await open();
    const h = buf("NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n");
    for (let k = 1; k <= 12; k++) store.storeMsg("h", k % 4 === 0 ? h : null, buf(`${k}`));
    expect(store.nextSeqWithHeaders(0)).toBe(4);
    expect(store.nextSeqWithHeaders(5)).toBe(8);
    expect(store.nextSeqWithHeaders(13)).toBe(0);
    store.removeMsg(8);
    expect(store.nextSeqWithHeaders(5)).toBe(12);
    await survivesReopen();
    expect(store.nextSeqWithHeaders(1)).toBe(4);
    expect(store.nextSeqWithHeaders(9)).toBe(12);
    store.removeMsg(12);
    expect(store.nextSeqWithHeaders(5)).toBe(0);
  });

  it("counts pending messages from a sequence per filter", async () => {
    await open();
    for (let i = 1; i <= 10; i++) store.storeMsg(i % 2 === 0 ? "even.x" : "odd.x", null, buf(`${i}`));
    expect(store.numPending(">", 0)).toBe(10);
    expect(store.numPending(">", 6)).toBe(5);
    expect(store.numPending("even.x", 5)).toBe(3);
    expect(store.numPending("*.x", 9)).toBe(2);
    expect(store.numPending("odd.>", 11)).toBe(0);
  });

  it("reports per-subject state for a filter", async () => {
    await open();
    store.storeMsg("a.1", null, buf(""));
    store.storeMsg("a.2", null, buf(""));
    store.storeMsg("a.1", null, buf(""));
    store.storeMsg("b.1", null, buf(""));
    expect(store.subjectsState("a.*")).toEqual(new Map([
      ["a.1", { msgs: 2, first_seq: 1, last_seq: 3 }],
      ["a.2", { msgs: 1, first_seq: 2, last_seq: 2 }],
    ]));
    expect(store.subjectsState("b.1").get("b.1")).toEqual({ msgs: 1, first_seq: 4, last_seq: 4 });
    expect(store.subjectsState(">").size).toBe(3);
  });

  describe("purge", () => {
    async function fill(): Promise<void> {
      await open();
      // 1 a, 2 b, 3 a, 4 b, 5 a, 6 c
      for (const s of ["a", "b", "a", "b", "a", "c"]) store.storeMsg(s, null, buf(s));
    }

    it("everything: first becomes last + 1", async () => {
      await fill();
      const removed: number[] = [];
      store.onRemove = (seq) => removed.push(seq);
      expect(store.purge()).toBe(6);
      expect(removed).toEqual([1, 2, 3, 4, 5, 6]);
      expect(store.state()).toMatchObject({ msgs: 0, bytes: 0, first_seq: 7, last_seq: 6, num_subjects: 0 });
      await survivesReopen();
      expect(store.storeMsg("a", null, buf("")).seq).toBe(7);
      await survivesReopen();
    });

    it("up to but not including seq", async () => {
      await fill();
      expect(store.purge({ seq: 4 })).toBe(3);
      expect(store.state()).toMatchObject({ msgs: 3, first_seq: 4, last_seq: 6 });
      expect(store.purge({ seq: 1 })).toBe(0);
      await survivesReopen();
    });

    it("by subject filter", async () => {
      await fill();
      expect(store.purge({ filter: "a" })).toBe(3);
      expect(store.state()).toMatchObject({ msgs: 3, first_seq: 2, deleted: [3, 5] });
      expect(store.subjectsState(">").has("a")).toBe(false);
      await survivesReopen();
    });

    it("by filter keeping the newest N", async () => {
      await fill();
      expect(store.purge({ filter: "a", keep: 1 })).toBe(2);
      expect(store.loadNextMsg("a", 0)!.seq).toBe(5);
      expect(store.purge({ filter: "a", keep: 5 })).toBe(0);
      await survivesReopen();
    });

    it("keep without filter keeps the newest N of the stream", async () => {
      await fill();
      expect(store.purge({ keep: 2 })).toBe(4);
      expect(store.state()).toMatchObject({ msgs: 2, first_seq: 5 });
      await survivesReopen();
    });

    it("by filter below seq", async () => {
      await fill();
      expect(store.purge({ filter: "b", seq: 4 })).toBe(1);
      expect(store.loadNextMsg("b", 0)!.seq).toBe(4);
      await survivesReopen();
    });

    it("by wildcard filter", async () => {
      await fill();
      store.storeMsg("x.y", null, buf(""));
      store.storeMsg("x.z", null, buf(""));
      expect(store.purge({ filter: "x.*" })).toBe(2);
      expect(store.state().msgs).toBe(6);
      await survivesReopen();
    });
  });

  describe("compact", () => {
    it("removes below seq", async () => {
      await open();
      for (let i = 0; i < 10; i++) store.storeMsg("s", null, buf(`${i}`));
      store.removeMsg(5);
      expect(store.compact(5)).toBe(4);
      expect(store.state()).toMatchObject({ msgs: 5, first_seq: 6, last_seq: 10, num_deleted: 0 });
      expect(store.compact(3)).toBe(0);
      await survivesReopen();
    });

    it("past the end makes the next message take seq", async () => {
      await open();
      store.storeMsg("s", null, buf(""));
      expect(store.compact(100)).toBe(1);
      expect(store.state()).toMatchObject({ msgs: 0, first_seq: 100, last_seq: 99 });
      await survivesReopen();
      expect(store.storeMsg("s", null, buf("")).seq).toBe(100);
      await survivesReopen();
    });
  });

  describe("limits", () => {
    it("max_msgs discards the oldest", async () => {
      await open(limits({ maxMsgs: 3 }));
      const removed: number[] = [];
      store.onRemove = (seq) => removed.push(seq);
      for (let i = 0; i < 5; i++) store.storeMsg("s", null, buf(`${i}`));
      expect(removed).toEqual([1, 2]);
      expect(store.state()).toMatchObject({ msgs: 3, first_seq: 3, last_seq: 5 });
      await survivesReopen();
    });

    it("max_bytes discards the oldest until the stream fits", async () => {
      await open();
      const size = store.msgSize("s", null, buf("0123456789"));
      store.updateConfig(limits({ maxBytes: size * 3 }));
      for (let i = 0; i < 5; i++) store.storeMsg("s", null, buf("0123456789"));
      expect(store.state()).toMatchObject({ msgs: 3, bytes: size * 3, first_seq: 3 });
      await survivesReopen();
    });

    it("max_msgs_per_subject keeps the newest per subject", async () => {
      await open(limits({ maxMsgsPerSubject: 1 }));
      store.storeMsg("kv.a", null, buf("1"));
      store.storeMsg("kv.b", null, buf("2"));
      store.storeMsg("kv.a", null, buf("3"));
      store.storeMsg("kv.a", null, buf("4"));
      expect(store.state()).toMatchObject({ msgs: 2, first_seq: 2, last_seq: 4, deleted: [3] });
      expect(store.loadLastMsg("kv.a")!.data.toString()).toBe("4");
      await survivesReopen();
    });

    it("discard new leaves the decision to the stream layer", async () => {
      await open(limits({ maxMsgs: 2, discard: DiscardPolicy.New }));
      for (let i = 0; i < 3; i++) store.storeMsg("s", null, buf(""));
      expect(store.fastState().msgs).toBe(3);
    });

    it("updateConfig applies new limits at once", async () => {
      await open();
      for (let i = 0; i < 10; i++) store.storeMsg(i < 5 ? "a" : "b", null, buf(`${i}`));
      store.updateConfig(limits({ maxMsgsPerSubject: 2 }));
      expect(store.state().msgs).toBe(4);
      store.updateConfig(limits({ maxMsgs: 1 }));
      expect(store.state()).toMatchObject({ msgs: 1, first_seq: 10 });
      await survivesReopen();
      // The limits themselves persist (memory: same instance).
      store.storeMsg("c", null, buf(""));
      expect(store.state().msgs).toBe(1);
    });

    it("max_age removes messages once they are older", async () => {
      await open(limits({ maxAgeMs: 50 }));
      const removed: number[] = [];
      store.onRemove = (seq) => removed.push(seq);
      store.storeMsg("s", null, buf("old"));
      store.storeMsg("s", null, buf("old"));
      await expect.poll(() => store.fastState().msgs, { timeout: 5000, interval: 10 }).toBe(0);
      expect(removed).toEqual([1, 2]);
      store.storeMsg("s", null, buf("new"));
      expect(store.fastState().msgs).toBe(1);
      await expect.poll(() => store.fastState().msgs, { timeout: 5000, interval: 10 }).toBe(0);
      expect(store.state()).toMatchObject({ first_seq: 4, last_seq: 3 });
      await survivesReopen();
    });

    it("max_age removes messages already too old when limits are applied", async () => {
      await open();
      store.storeMsg("s", null, buf(""), 1n);
      store.storeMsg("s", null, buf(""));
      store.updateConfig(limits({ maxAgeMs: 60_000 }));
      expect(store.state()).toMatchObject({ msgs: 1, first_seq: 2 });
    });
  });

  it("refuses every call once closed", async () => {
    await open();
    store.storeMsg("s", null, buf(""));
    await store.close();
    expect(() => store.storeMsg("s", null, buf(""))).toThrow(/closed/);
    expect(() => store.loadMsg(1)).toThrow(/closed/);
    store = await ctx.reopen();
  });
});

describe("bytes accounting matches nats-server", () => {
  it("memory store: subject + header + payload + 16", () => {
    expect(memStoreMsgSize("foo", null, Buffer.alloc(10))).toBe(29);
    expect(memStoreMsgSize("foo", Buffer.alloc(12), Buffer.alloc(10))).toBe(41);
  });
});
