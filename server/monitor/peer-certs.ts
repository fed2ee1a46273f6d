// Tested by test/differential/tls.test.ts.
// /connz?auth=true: the certificates a TLS client presented, in nats-server's TLSPeerCert shape.
// Read from the socket on request only.
import { createHash, X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { goNameString } from "../auth/cert-identity.js";

export interface PeerCertInfo {
  subject: string;
  spki_sha256: string;
  cert_sha256: string;
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/**
 * The peer's chain, leaf first; [] for a socket without one. nats-server lists what the client
 * sent; Node gives that completed from the trusted CAs, so for a client that sends its leaf alone
 * (nats.go, say) the CA may appear here and not there. OpenSSL clients (Node's) send the chain
 * up to the CA, and then the two agree (test/differential/tls.test.ts).
 */
export function peerCertificates(socket: unknown): PeerCertInfo[] {
  const s = socket as { getPeerCertificate?: (detailed: boolean) => PeerCertificate & { issuerCertificate?: PeerCertificate } };
  if (typeof s.getPeerCertificate !== "function") return [];
  const out: PeerCertInfo[] = [];
  const seen = new Set<string>();
  let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = s.getPeerCertificate(true);
  while (cert !== undefined && cert.raw !== undefined && cert.raw.length > 0) {
    const fp = sha256(cert.raw);
    if (seen.has(fp)) break;
    seen.add(fp);
    try {
      const x = new X509Certificate(cert.raw);
      out.push({ subject: goNameString(cert.raw), spki_sha256: sha256(x.publicKey.export({ type: "spki", format: "der" })), cert_sha256: fp });
    } catch {
      break;
    }
    cert = cert.issuerCertificate;
  }
  return out;
}
