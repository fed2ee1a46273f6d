// Tested by test/differential/jetstream.test.ts (replies compared byte for byte).
// JSON as Go's encoding/json writes it: same as JSON.stringify except that <, > and & (and the
// JavaScript line separators) are escaped. Clients do not care, but byte-identical replies make
// differential tests and captured transcripts comparable.

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029",
};

export function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}
