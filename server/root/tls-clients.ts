// Tested by test/transport/tls.test.ts.
// Clients on a TLS client port: INFO in plain text (unless handshake_first), then the handshake;
// the connection begins once the handshake is done. A client that never completes it is closed
// after the TLS timeout, without a word (as nats-server: nothing more can be said in plain).
// Part of the composition root: the server hands it the raw sockets of its client port.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { Authenticator } from "../auth/auth.js";
import { newNonce } from "../auth/auth.js";
import { peerCertIdentity, peerCertsPem } from "../auth/cert-identity.js";
import type { ClientSocket, ConnectionInit } from "../core/connection.js";
import { TlsAcceptor, tlsVersionName, type TlsOptions } from "../transport/tls.js";

/** A TLS client between accept and the end of its handshake: what its INFO already said. */
interface TlsPending {
  cid: number;
  nonce: string;
  infoSent: boolean;
}

/** What the TLS client port needs of the server. */
export interface TlsClientsHost {
  readonly log: Logger;
  readonly options: { allowNonTls: boolean };
  readonly authenticator: Authenticator | null;
  /** Shutting down: a socket still in its handshake is dropped. */
  readonly closing: boolean;
  /** Taking no new clients (shutting down or in lame duck mode). */
  readonly refusing: boolean;
  nextCid(): number;
  /** The INFO line a TLS client gets before its handshake. */
  tlsInfo(cid: number, nonce: string, remoteAddress: string): Buffer;
  accept(socket: ClientSocket, cid: number, init: ConnectionInit): void;
}

export class TlsClients {
  private readonly acceptor: TlsAcceptor<TlsPending>;

  /** Certificates are read now, so a bad one fails the server's start, as nats-server's. */
  constructor(t: TlsOptions, private readonly host: TlsClientsHost) {
    this.acceptor = new TlsAcceptor<TlsPending>(t, host.log, (s, p) => this.secure(s, p));
  }

  get options(): TlsOptions {
    return this.acceptor.options;
  }

  /** Client certificates are asked for and checked. */
  get verify(): boolean {
    return this.acceptor.verify;
  }

  /** A raw socket of the client port. */
  accept(raw: Socket): void {
    const h = this.host;
    const tls = this.acceptor;
    if (h.refusing) {
      raw.destroy();
      return;
    }
    const cid = h.nextCid();
    const nonce = h.authenticator?.nonceRequired === true ? newNonce() : "";
    tls.negotiate(raw, (infoSent) => {
      if (h.closing) {
        raw.destroy();
        return;
      }
      if (infoSent) raw.write(h.tlsInfo(cid, nonce, raw.remoteAddress ?? ""));
      const handshake = (): void => {
        h.log.debug({ cid, ip: raw.remoteAddress, port: raw.remotePort }, "starting TLS client connection handshake");
        tls.upgrade(raw, { cid, nonce, infoSent });
      };
      if (!infoSent || !h.options.allowNonTls) {
        handshake();
        return;
      }
      // allow_non_tls: the client's first byte decides (0x16 starts a TLS handshake record).
      tls.sniff(raw, (wantsTls) => {
        if (h.closing) raw.destroy();
        else if (wantsTls) handshake();
        else {
          h.accept(raw, cid, { nonce, infoSent: true });
          raw.resume();
        }
      });
    });
  }

  private secure(s: TLSSocket, p: TlsPending): void {
    const init: ConnectionInit = {
      nonce: p.nonce,
      infoSent: p.infoSent,
      tls: { version: tlsVersionName(s.getProtocol()), cipher: s.getCipher().standardName, first: !p.infoSent },
    };
    if (this.host.authenticator?.tlsMap === true) init.cert = peerCertIdentity(s);
    init.peerCerts = () => peerCertsPem(s);
    this.host.accept(s, p.cid, init);
  }

  /**
   * New settings for connections from now on (open ones keep their session). Throws, keeping
   * the old settings, when the new ones do not load or change what cannot change.
   */
  setOptions(next: TlsOptions): void {
    // Who a certificate names is decided by the authenticator, built once.
    if ((next.verifyAndMap === true) !== (this.acceptor.options.verifyAndMap === true)) {
      throw new Error("verify_and_map cannot change without a restart");
    }
    this.acceptor.setOptions(next);
  }

  close(): void {
    this.acceptor.close();
  }
}
