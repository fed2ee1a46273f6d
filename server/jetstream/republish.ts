// Tested by test/jetstream/sourcing.test.ts.
// The headers of a republished message (nats-server 2.10 processJetStreamMsg): the stored ones,
// then where the message lives, and the payload's size when only headers are republished.

export function republishHeaders(
  hdr: Buffer | null, stream: string, subject: string, seq: number, ts: string, lastSeq: number, headersOnlySize: number,
): Buffer {
  let extra = `Nats-Stream: ${stream}\r\nNats-Subject: ${subject}\r\nNats-Sequence: ${seq}\r\nNats-Time-Stamp: ${ts}\r\nNats-Last-Sequence: ${lastSeq}\r\n`;
  if (headersOnlySize >= 0) extra += `Nats-Msg-Size: ${headersOnlySize}\r\n`;
  extra += "\r\n";
  if (hdr === null || hdr.length < 4) return Buffer.from(`NATS/1.0\r\n${extra}`, "utf8");
  return Buffer.concat([hdr.subarray(0, hdr.length - 2), Buffer.from(extra, "utf8")]);
}
