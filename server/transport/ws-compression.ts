// Tested by test/transport/websocket-compression.test.ts.
// permessage-deflate (RFC 7692) as nats-server 2.9 negotiates and uses it (websocket.go): the
// facts both HTTP engines and the leafnode dialler share, so every side answers the same bytes.

/** The one extension nats-server speaks. */
export const PMC_EXTENSION = "permessage-deflate";

/**
 * What nats-server answers (and what its leafnode remotes offer): no context takeover either way,
 * whatever the offer's parameters said, so each message is deflated on its own.
 */
export const PMC_NEGOTIATED = `${PMC_EXTENSION}; server_no_context_takeover; client_no_context_takeover`;

/**
 * nats-server does not compress what it writes at once when it is this small or smaller
 * (wsCompressThreshold): a PONG costs more deflated than plain.
 */
export const WS_COMPRESS_THRESHOLD = 64;

/** Whether one of a request's Sec-WebSocket-Extensions values names permessage-deflate, as nats-server checks (any ";" token). */
export function offersDeflate(header: string | readonly string[] | undefined): boolean {
  const values = header === undefined ? [] : typeof header === "string" ? [header] : header;
  for (const list of values) {
    for (const ext of list.split(",")) {
      for (const p of ext.split(";")) {
        if (p.trim().toLowerCase() === PMC_EXTENSION) return true;
      }
    }
  }
  return false;
}

/**
 * The Sec-WebSocket-Extensions an accepting server answers an offer with: nats-server's fixed
 * value when compression is on and the client offered permessage-deflate, else none ("").
 */
export function acceptedExtensions(compression: boolean, offer: string | readonly string[] | undefined): string {
  return compression && offersDeflate(offer) ? PMC_NEGOTIATED : "";
}

/**
 * A leafnode remote's check of the hub's answer (nats-server's leafNodeSolicitWSConnection): no
 * permessage-deflate, no compression (not an error); permessage-deflate without both
 * no_context_takeover parameters is an error. null: fine; else the error's text.
 */
export function checkAnswer(answer: string): { compress: boolean; error: string | null } {
  for (const ext of answer.split(",")) {
    const params = ext.split(";").map((p) => p.trim().toLowerCase());
    const i = params.indexOf(PMC_EXTENSION);
    if (i < 0) continue;
    const rest = params.slice(i + 1);
    const ok = rest.includes("server_no_context_takeover") && rest.includes("client_no_context_takeover");
    return { compress: ok, error: ok ? null : "compression negotiation error" };
  }
  return { compress: false, error: null };
}
