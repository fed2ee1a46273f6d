import { expect, test } from "vitest";
import { STALL_CAP, STALL_MAX_MS, STALL_MIN_MS, stallMark, stallTtl } from "../../server/core/outbound.js";

test("the stall mark is half of max_pending, capped so many slow receivers stay cheap", () => {
  expect(stallMark(1024 * 1024)).toBe(512 * 1024);
  expect(stallMark(64 * 1024 * 1024)).toBe(STALL_CAP);
});

test("a stall lasts 100 ms at the mark, growing with the backlog to 1 s at max_pending", () => {
  const mp = 64 * 1024 * 1024;
  const mark = stallMark(mp);
  expect(stallTtl(mark, mark, mp)).toBe(STALL_MIN_MS);
  expect(stallTtl(mark + (mp - mark) / 2, mark, mp)).toBe(550);
  expect(stallTtl(mp, mark, mp)).toBe(STALL_MAX_MS);
  expect(stallTtl(mp * 2, mark, mp)).toBe(STALL_MAX_MS);
});
