// TLS for the client port, as nats-server does it: INFO goes out in plain text (it says
// tls_required), then the client starts the handshake and everything after is inside TLS; with
// handshake_first the handshake comes before INFO. Adapter only: the accepted socket is handed to
// an unlistened tls.Server, which runs the handshake, its timeout and the client-certificate
// check, and the secure socket goes on to the server like any other.
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { tlsOptionsError, tlsTimeoutMs, tlsVerify, type TlsOptions } from "../tls-options.js";

export { DEFAULT_TLS_TIMEOUT_MS, tlsTimeoutMs, tlsVerify, type TlsOptions } from "../tls-options.js";

/** A file's bytes, or an error worded as Go's os.Open words it (nats-server shows that). */
function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new Error(`open ${path}: ${why}`);
  }
}

export interface Material {
  cert: Buffer | string;
  key: Buffer | string;
  ca?: Buffer | string;
}

/** Read the certificate, key and CA; throws with nats-server's texts. */
export function loadMaterial(t: TlsOptions): Material {
  const err = tlsOptionsError(t);
  if (err !== null) throw new Error(err);
  let cert: Buffer | string;
  let key: Buffer | string;
  try {
    cert = t.certPem ?? readPem(t.certFile!);
    key = t.keyPem ?? readPem(t.keyFile!);
  } catch (e) {
    throw new Error(`error parsing X509 certificate/key pair: ${(e as Error).message}`);
  }
  // Go's words for PEM it cannot find (OpenSSL's "no start line" says less).
  if (!String(cert).includes("-----BEGIN")) throw new Error("error parsing X509 certificate/key pair: tls: failed to find any PEM data in certificate input");
  if (!String(key).includes("-----BEGIN")) throw new Error("error parsing X509 certificate/key pair: tls: failed to find any PEM data in key input");
  const m: Material = { cert, key };
  if (t.caPem !== undefined) m.ca = t.caPem;
  else if (t.caFile !== undefined) m.ca = readPem(t.caFile);
  // OpenSSL skips what it cannot read in a CA file; Go wants one certificate at least.
  if (m.ca !== undefined && !hasCertificate(String(m.ca))) throw new Error("failed to parse root ca certificate");
  return m;
}

function hasCertificate(pem: string): boolean {
  for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      // not this one
    }
  }
  return false;
}

/** OpenSSL's complaint about a bad pair, as the Go text nats-server gives for it. */
function pairError(e: Error): string {
  const msg = e.message;
  if (/key values mismatch/i.test(msg)) return "error parsing X509 certificate/key pair: tls: private key does not match public key";
  return `error parsing X509 certificate/key pair: ${msg}`;
}

function makeTlsServer(t: TlsOptions): TlsServer {
  const m = loadMaterial(t);
  const verify = tlsVerify(t);
  try {
    return createTlsServer({
      ...m,
      // nats-server's floor.
      minVersion: "TLSv1.2",
      requestCert: verify,
      rejectUnauthorized: verify,
      handshakeTimeout: tlsTimeoutMs(t),
    });
  } catch (e) {
    throw new Error(pairError(e as Error));
  }
}

/**
 * The certificate, key and CA of a TLS block as a secure context, for a connection that is both
 * ends at once (a route: it accepts with the certificate and dials with it too). Throws
 * nats-server's texts.
 */
export function linkSecureContext(t: TlsOptions): { context: SecureContext; hasCa: boolean } {
  const m = loadMaterial(t);
  try {
    return { context: createSecureContext({ ...m, minVersion: "TLSv1.2" }), hasCa: m.ca !== undefined };
  } catch (e) {
    throw new Error(pairError(e as Error));
  }
}

/**
 * The secure context of a connection this server dials as a client (a leafnode remote): the
 * certificate and key are optional (both or neither: the hub may not ask for one), the CA checks
 * the server's certificate (without it: the system's CAs). Throws nats-server's texts.
 */
export function dialSecureContext(t: TlsOptions): SecureContext {
  const hasCert = t.certFile !== undefined || t.certPem !== undefined;
  const hasKey = t.keyFile !== undefined || t.keyPem !== undefined;
  if (hasCert && !hasKey) throw new Error("missing 'key_file' in TLS configuration");
  if (!hasCert && hasKey) throw new Error("missing 'cert_file' in TLS configuration");
  if (hasCert) return linkSecureContext(t).context;
  let ca: Buffer | string | undefined;
  if (t.caPem !== undefined) ca = t.caPem;
  else if (t.caFile !== undefined) ca = readPem(t.caFile);
  if (ca !== undefined && !hasCertificate(String(ca))) throw new Error("failed to parse root ca certificate");
  return createSecureContext({ ...(ca !== undefined ? { ca } : {}), minVersion: "TLSv1.2" });
}

/** Load the TLS settings once to check them (config files, startup); throws nats-server's text. */
export function checkTlsOptions(t: TlsOptions): void {
  makeTlsServer(t).close();
}

/**
 * Runs client handshakes for one listener. The settings can be swapped (certificate rotation on
 * a config reload): new connections get the new ones, open ones keep theirs.
 */
export class TlsAcceptor<T> {
  private server: TlsServer;
  private settings: TlsOptions;
  /** pinned_certs, lower-case; null: no pinning. */
  private pinned: Set<string> | null = null;
  /**
   * Handshakes under way, by peer address: the tls.Server makes the secure socket itself, and
   * the peer's address and port are what it shares with the accepted one.
   */
  private readonly pending = new Map<string, { ctx: T; raw: Socket }>();

  /** `onSecure` gets each secure socket with what `upgrade` was given for it. */
  constructor(t: TlsOptions, private readonly log: Logger, private readonly onSecure: (s: TLSSocket, ctx: T) => void) {
    this.settings = t;
    this.server = this.wire(makeTlsServer(t));
    this.pinned = pinnedSet(t);
  }

  get options(): TlsOptions {
    return this.settings;
  }

  get verify(): boolean {
    return tlsVerify(this.settings);
  }

  get handshakeFirst(): boolean {
    return this.settings.handshakeFirst === true;
  }

  /** ms to wait for a handshake-first client before INFO in plain; 0: no fallback. */
  get fallbackMs(): number {
    return this.handshakeFirst ? this.settings.handshakeFirstFallback ?? 0 : 0;
  }

  get timeoutMs(): number {
    return tlsTimeoutMs(this.settings);
  }

  /** New settings for new connections; throws (keeping the old ones) when they do not load. */
  setOptions(t: TlsOptions): void {
    const next = this.wire(makeTlsServer(t));
    this.server = next;
    this.settings = t;
    this.pinned = pinnedSet(t);
  }

  private wire(s: TlsServer): TlsServer {
    s.on("secureConnection", (socket: TLSSocket) => {
      const key = peerKey(socket);
      const ctx = this.pending.get(key)?.ctx;
      this.pending.delete(key);
      if (ctx === undefined) {
        socket.destroy();
        return;
      }
      if (this.pinned !== null && !this.pinned.has(spkiSha256(socket))) {
        this.log.error({ ip: socket.remoteAddress, port: socket.remotePort }, "TLS handshake error: certificate not pinned");
        socket.destroy();
        return;
      }
      this.onSecure(socket, ctx);
    });
    s.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
      const what = err.code === "ERR_TLS_HANDSHAKE_TIMEOUT" ? "TLS handshake timeout" : `TLS handshake error: ${describe(err)}`;
      this.log.error({ ip: socket.remoteAddress, port: socket.remotePort }, what);
      this.pending.delete(peerKey(socket));
      socket.destroy();
    });
    return s;
  }

  /**
   * When INFO goes out on an accepted socket: `start(true)` for INFO in plain before the
   * handshake, `start(false)` for the handshake first. With handshake_first and a fallback,
   * whoever speaks first decides: a client that sends bytes first gets the handshake (the bytes
   * stay in the socket's buffer, and the TLS socket reads them from there), one that waits
   * fallbackMs gets INFO.
   */
  negotiate(raw: Socket, start: (infoFirst: boolean) => void): void {
    const fallback = this.fallbackMs;
    if (fallback === 0) {
      start(!this.handshakeFirst);
      return;
    }
    const decide = (clientFirst: boolean): void => {
      clearTimeout(timer);
      raw.off("readable", onReadable);
      raw.off("close", onClose);
      start(!clientFirst);
    };
    const onReadable = (): void => decide(true);
    const onClose = (): void => clearTimeout(timer);
    const timer = setTimeout(() => decide(false), fallback);
    raw.on("readable", onReadable);
    raw.once("close", onClose);
    raw.on("error", () => raw.destroy());
  }

  /**
   * allow_non_tls, after INFO: whether the client's first byte starts a TLS handshake record
   * (0x16). The bytes stay in the socket for whoever reads next. A client that says nothing for
   * the TLS timeout goes on in plain text, as nats-server's.
   */
  sniff(raw: Socket, decide: (wantsTls: boolean) => void): void {
    let done = false;
    const finish = (wantsTls: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      raw.off("readable", onReadable);
      decide(wantsTls);
    };
    const onReadable = (): void => {
      const chunk = raw.read() as Buffer | null;
      if (chunk === null || chunk.length === 0) return;
      raw.unshift(chunk);
      finish(chunk[0] === 0x16);
    };
    const timer = setTimeout(() => finish(false), this.timeoutMs);
    raw.on("readable", onReadable);
    raw.once("close", () => { clearTimeout(timer); done = true; });
    raw.on("error", () => raw.destroy());
  }

  /**
   * Run the handshake on an accepted socket; `onSecure` gets the secure socket and `ctx` once it
   * is done. A handshake that fails or does not finish in time closes the socket.
   */
  upgrade(raw: Socket, ctx: T): void {
    const key = peerKey(raw);
    const entry = { ctx, raw };
    this.pending.set(key, entry);
    raw.once("close", () => {
      if (this.pending.get(key) === entry) this.pending.delete(key);
    });
    raw.on("error", () => raw.destroy());
    this.server.emit("connection", raw);
  }

  /** Handshakes still under way are cut off (the server is closing). */
  close(): void {
    for (const { raw } of this.pending.values()) raw.destroy();
    this.pending.clear();
  }
}

function pinnedSet(t: TlsOptions): Set<string> | null {
  return t.pinnedCerts === undefined || t.pinnedCerts.length === 0 ? null : new Set(t.pinnedCerts.map((k) => k.toLowerCase()));
}

/** The peer certificate's key id as pinned_certs holds it; "" without a certificate. */
export function spkiSha256(s: TLSSocket): string {
  const x = s.getPeerX509Certificate();
  if (x === undefined) return "";
  return createHash("sha256").update(x.publicKey.export({ type: "spki", format: "der" })).digest("hex");
}

function peerKey(s: Socket): string {
  return `${s.remoteAddress ?? ""}|${s.remotePort ?? 0}`;
}

/** An OpenSSL error, short: "peer did not return a certificate", not the whole stack line. */
function describe(err: Error): string {
  const m = /:SSL routines:[^:]*:([^:]+):/.exec(err.message);
  return m?.[1] ?? err.message.trim();
}

/** "TLSv1.3" → "1.3", as nats-server's connz shows it. */
export function tlsVersionName(protocol: string | null): string {
  if (protocol === null) return "";
  return protocol.startsWith("TLSv") ? protocol.slice(4) : protocol;
}
