// Tested by test/server/tls-config.test.ts.
// TLS settings for the client port: their shape, defaults and checks. No sockets here (the
// listener side is transport/tls.ts), so options and connections can read them.

/**
 * nats-server's `tls {}` block (and --tls* flags), camel-cased. Certificates are file paths, or
 * PEM text in the *Pem fields (embedding); a *Pem field wins over its file.
 */
export interface TlsOptions {
  /** cert_file: the server certificate (chain), PEM. */
  certFile?: string;
  /** key_file: its private key, PEM. */
  keyFile?: string;
  /** ca_file: CAs that client certificates must chain to (without: the system's). */
  caFile?: string;
  certPem?: string;
  keyPem?: string;
  caPem?: string;
  /** Require a client certificate signed by a trusted CA. */
  verify?: boolean;
  /** verify, and the certificate's identity names the user (authorization users). */
  verifyAndMap?: boolean;
  /** How long the handshake may take, ms; nats-server's default is 2 s. */
  timeout?: number;
  /** 2.10's handshake_first: the handshake comes before INFO. */
  handshakeFirst?: boolean;
  /**
   * With handshakeFirst: ms to wait for the client's handshake before falling back to INFO in
   * plain text and the usual order (2.10's `handshake_first: auto`, 50 ms, or a duration). 0 or
   * absent: no fallback, the handshake must come first.
   */
  handshakeFirstFallback?: number;
  /**
   * pinned_certs: hex SHA-256 of the client certificate's SubjectPublicKeyInfo (DER); a client
   * whose certificate is not among them is closed after the handshake. Empty: no pinning.
   */
  pinnedCerts?: string[];
}

/** nats-server's TLS_TIMEOUT. */
export const DEFAULT_TLS_TIMEOUT_MS = 2000;

/** A TLS block missing what it needs, in nats-server's words; null when fine. */
export function tlsOptionsError(t: TlsOptions): string | null {
  if (t.certFile === undefined && t.certPem === undefined) return "missing 'cert_file' in TLS configuration";
  if (t.keyFile === undefined && t.keyPem === undefined) return "missing 'key_file' in TLS configuration";
  if (t.timeout !== undefined && (typeof t.timeout !== "number" || !Number.isFinite(t.timeout) || t.timeout < 0)) {
    return `invalid TLS timeout: ${String(t.timeout)}`;
  }
  for (const k of t.pinnedCerts ?? []) {
    if (!/^[A-Fa-f0-9]{64}$/.test(k)) {
      return `error parsing tls config, 'pinned_certs' key ${k.toLowerCase()} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`;
    }
  }
  return null;
}

/** Whether a client must present a trusted certificate. */
export function tlsVerify(t: TlsOptions): boolean {
  return t.verify === true || t.verifyAndMap === true;
}

export function tlsTimeoutMs(t: TlsOptions): number {
  return t.timeout === undefined || t.timeout === 0 ? DEFAULT_TLS_TIMEOUT_MS : t.timeout;
}

