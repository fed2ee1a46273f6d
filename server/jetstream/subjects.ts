// Subject relations the JetStream layer needs beyond protocol/subject.ts. Inputs are plain JS
// strings (API JSON); callers convert with toWire before handing a filter to a store.

export { isValidSubject, subjectMatches, hasWildcard } from "../../protocol/subject.js";

/**
 * nats-server SubjectsCollide: could some literal subject match both a and b? Used for the
 * overlap checks between streams' subjects and for the STREAM.NAMES subject filter.
 */
export function subjectsCollide(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = a.split(".");
  const tb = b.split(".");
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === ">" || y === ">") return true;
    if (x === "*" || y === "*") continue;
    if (x !== y) return false;
  }
  if (ta.length === tb.length) return true;
  // Different lengths collide only if the shorter one ends in '>' (handled above).
  return false;
}
