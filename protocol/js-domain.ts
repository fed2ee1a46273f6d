// Tested by test/cluster/leaf-domain.test.ts.
// JetStream domains as subjects: which `$JS.<domain>.API.…` subjects an account with JetStream
// maps onto its own API. Pure: the server builds its mappings with it at start, before any
// JetStream file is read.

/**
 * nats-server generateJSMappingTable: what an account with JetStream in domain `d` maps, so
 * `$JS.<d>.API.…` (from its own clients, or from across a leafnode) reaches its `$JS.API.…`.
 */
export function domainMappings(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [suffix, to] of [["INFO", "$JS.API.INFO"], ["STREAM.>", "$JS.API.STREAM.>"], ["CONSUMER.>", "$JS.API.CONSUMER.>"],
    ["DIRECT.>", "$JS.API.DIRECT.>"], ["META.>", "$JS.API.META.>"], ["SERVER.>", "$JS.API.SERVER.>"],
    ["ACCOUNT.>", "$JS.API.ACCOUNT.>"], ["$KV.>", "$KV.>"], ["$OBJ.>", "$OBJ.>"]]) {
    out[`$JS.${d}.API.${suffix}`] = to!;
  }
  return out;
}
