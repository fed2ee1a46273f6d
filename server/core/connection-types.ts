// What a connection needs of the world around it: its byte stream (ClientSocket, which transports
// implement), its account and what its transport settled (TLS). Types only; the connection is
// connection.ts, and ConnectionHost (the server's side) stays beside it.
import type { CertIdentity } from "../auth/cert-identity.js";
import type { Router } from "./router.js";

/**
 * What a connection needs of its byte stream. A net.Socket is one; other transports (WebSocket)
 * provide the same few members.
 */
export interface ClientSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** nats-server's connection type (JWT allowed_connection_types); absent: STANDARD. */
  readonly connectionType?: string;
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly writableLength: number;
  /** Bytes accepted by write() so far, those still queued included. */
  readonly bytesWritten: number;
  readonly destroyed: boolean;
  /** A write() returned false and "drain" has not been emitted since. */
  readonly writableNeedDrain: boolean;
  write(bytes: Uint8Array): boolean;
  /** Stop reading (flow control); resume() starts again. */
  pause(): unknown;
  resume(): unknown;
  end(): unknown;
  end(bytes: Uint8Array): unknown;
  destroy(): unknown;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "drain" | "close" | "end", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
}

/** What a connection holds of its account: the name, and the router of its subject space. */
export interface ConnectionAccount {
  readonly name: string;
  readonly router: Router;
}

/** What a transport settled before the connection began (TLS: INFO went out before the handshake). */
export interface ConnectionInit {
  /** The nonce the INFO already sent carried. */
  nonce?: string;
  /** INFO was sent already (in plain text, before the TLS handshake). */
  infoSent?: boolean;
  /** The TLS session, for monitoring; absent on plain connections. */
  tls?: ConnectionTls;
  /** The client certificate's identity (verify_and_map). */
  cert?: CertIdentity | null;
  /** The client's certificates as PEM, read when an auth callout asks (verified: the chain Node checked). */
  peerCerts?: () => { verified: boolean; certs: string[] };
}

/** A TLS connection's session, as /connz shows it. */
export interface ConnectionTls {
  /** "1.3" */
  version: string;
  /** "TLS_AES_128_GCM_SHA256" */
  cipher: string;
  /** The handshake came before INFO (handshake_first). */
  first: boolean;
}
