// The consumer's redelivery queue (RedeliveryQueue in server/jetstream/consumer/redelivery-queue.ts): order kept,
// membership answered without a scan, removal from the middle, put-back at the front.
import { describe, expect, test } from "vitest";
import { RedeliveryQueue } from "../../server/jetstream/consumer/index.js";

const drain = (q: RedeliveryQueue): number[] => {
  const out: number[] = [];
  while (q.length > 0) out.push(q.shift());
  return out;
};

describe("RedeliveryQueue", () => {
  test("first in, first out; has() follows what is queued", () => {
    const q = new RedeliveryQueue();
    for (const s of [5, 3, 9]) q.push(s);
    expect(q.length).toBe(3);
    expect([q.has(3), q.has(4)]).toEqual([true, false]);
    expect(q.shift()).toBe(5);
    expect(q.has(5)).toBe(false);
    expect(drain(q)).toEqual([3, 9]);
    expect(q.length).toBe(0);
  });

  test("remove takes a seq out of the middle; removing one not queued changes nothing", () => {
    const q = new RedeliveryQueue();
    for (const s of [1, 2, 3, 4]) q.push(s);
    q.shift();
    q.remove(3);
    q.remove(42);
    q.remove(1); // already taken
    expect(q.has(3)).toBe(false);
    expect(drain(q)).toEqual([2, 4]);
  });

  test("unshift puts a taken seq back in front, before and after the head has moved", () => {
    const q = new RedeliveryQueue();
    q.unshift(7);
    for (const s of [1, 2]) q.push(s);
    const a = q.shift();
    const b = q.shift();
    q.unshift(b);
    expect([a, b]).toEqual([7, 1]);
    expect(drain(q)).toEqual([1, 2]);
  });

  test("a long queue taken from the front, with pushes between, keeps its order", () => {
    const q = new RedeliveryQueue();
    const want: number[] = [];
    let next = 1;
    const got: number[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) { q.push(next); want.push(next++); }
      for (let i = 0; i < 70; i++) got.push(q.shift());
    }
    got.push(...drain(q));
    expect(got).toEqual(want);
  });
});
