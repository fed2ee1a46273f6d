// Tested by test/cluster/leaf-tls.test.ts (and leafnodes.test.ts for plain connections).
// The socket work of a leafnode connection before its LeafConn exists, as nats-server does it:
// dialling a hub (TCP, its INFO read in plain text first, then the TLS handshake when the remote
// wants TLS or the INFO asks for it) and, on a hub with a leafnode tls block, sending INFO in plain
// text and then taking the leaf's handshake.
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, TLSSocket, type SecureContext } from "node:tls";
import { linkSecureContext } from "../transport/tls.js";
import { tlsTimeoutMs, tlsVerify } from "../tls-options.js";
import type { LeafNodeOptions } from "./leaf-options.js";

/** Why a dial failed: the TCP connect, the hub's INFO, or the TLS handshake (their log lines differ). */
export type DialStage = "connect" | "info" | "tls";

export interface LeafDialOptions {
  host: string;
  port: number;
  /** The remote always wants TLS (a tls:// URL, a tls block). */
  wantsTls: boolean;
  /** The context for the handshake (asked for only when TLS happens). */
  tlsContext: () => SecureContext;
  /** Skip checking the hub's certificate. */
  insecure: boolean;
  tlsTimeoutMs: number;
  infoWaitMs: number;
}

/**
 * Dial a hub. `done` gets the socket to run the connection on (a TLS socket when the handshake
 * happened), the hub's INFO line (already read off the socket) and whether it is TLS; or the stage
 * that failed and why. Returns the TCP socket, to destroy if the server closes meanwhile.
 */
export function dialLeaf(o: LeafDialOptions,
  done: (fail: { stage: DialStage; err: Error } | null, ok: { socket: Socket; info: Buffer; secure: boolean } | null) => void): Socket {
  const socket = netConnect({ host: o.host, port: o.port, noDelay: true });
  let settled = false;
  const fail = (stage: DialStage, err: Error): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    done({ stage, err }, null);
  };
  const onError = (err: Error): void => fail("connect", err);
  socket.once("error", onError);
  socket.once("connect", () => {
    socket.off("error", onError);
    // The hub's INFO comes in plain text first; it says whether TLS follows.
    readInfoLine(socket, o.infoWaitMs, (err, line) => {
      if (err !== null || line === null) return fail("info", err ?? new Error("leafnode: no INFO from the remote server"));
      let asksTls = false;
      try {
        asksTls = (JSON.parse(line.toString("latin1").slice(5)) as { tls_required?: unknown }).tls_required === true;
      } catch {
        // The connection's parser will say what is wrong with it.
      }
      if (!o.wantsTls && !asksTls) {
        settled = true;
        done(null, { socket, info: line, secure: false });
        return;
      }
      const ts = tlsConnect({
        socket, secureContext: o.tlsContext(), rejectUnauthorized: !o.insecure,
        ...(isIP(o.host) === 0 ? { servername: o.host } : {}),
      });
      const timer = setTimeout(() => {
        ts.destroy();
        fail("tls", new Error("timeout"));
      }, o.tlsTimeoutMs);
      timer.unref();
      ts.once("error", (e: Error) => {
        clearTimeout(timer);
        ts.destroy();
        fail("tls", e);
      });
      ts.once("secureConnect", () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        ts.setNoDelay(true);
        done(null, { socket: ts, info: line, secure: true });
      });
      socket.resume();
    });
  });
  return socket;
}

/**
 * A hub's side of leafnode TLS: INFO in plain text (it says tls_required), then the leaf's
 * handshake. `secure` gets the TLS socket; `failed` why not ("timeout" or the handshake's error).
 */
export function acceptLeafTls(raw: Socket, info: string, tls: { context: SecureContext; verify: boolean; timeout: number },
  secure: (ts: TLSSocket) => void, failed: (why: string) => void): void {
  raw.write(info);
  const ts = new TLSSocket(raw, { isServer: true, secureContext: tls.context, requestCert: tls.verify, rejectUnauthorized: tls.verify });
  const timer = setTimeout(() => {
    ts.destroy();
    failed("timeout");
  }, tls.timeout);
  timer.unref();
  ts.once("secure", () => {
    clearTimeout(timer);
    ts.setNoDelay(true);
    secure(ts);
  });
  ts.once("error", (err) => {
    clearTimeout(timer);
    ts.destroy();
    failed(err.message);
  });
  raw.resume();
}

/**
 * Read one line (a hub's INFO) from a socket that has just connected, in `ms` at most; the socket
 * is left paused with nothing else read from it after the line (bytes that came with it in the
 * same chunk are handed over too: a plain hub may say more).
 */
function readInfoLine(socket: Socket, ms: number, done: (err: Error | null, line: Buffer | null) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const finish = (err: Error | null, line: Buffer | null): void => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onErr);
    socket.off("close", onClose);
    socket.pause();
    done(err, line);
  };
  const onData = (d: Buffer): void => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    if (buf.includes(10)) finish(null, buf);
    else if (buf.length > 64 * 1024) finish(new Error("leafnode: the remote server's INFO is too long"), null);
  };
  const onErr = (e: Error): void => finish(e, null);
  const onClose = (): void => finish(new Error("leafnode: the remote server closed the connection before its INFO"), null);
  const timer = setTimeout(() => finish(new Error("leafnode: no INFO from the remote server in time"), null), ms);
  timer.unref();
  socket.on("data", onData);
  socket.once("error", onErr);
  socket.once("close", onClose);
}

/** A hub's leafnode TLS from its block (null: none); the certificates are read now, so a bad one fails the start or the reload. */
export function hubTls(o: LeafNodeOptions): { context: SecureContext; verify: boolean; timeout: number } | null {
  const t = o.tls;
  return t === undefined ? null : { context: linkSecureContext(t).context, verify: tlsVerify(t), timeout: tlsTimeoutMs(t) };
}
