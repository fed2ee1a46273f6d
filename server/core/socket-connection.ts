// Tested by test/server/outbound.test.ts, test/flow/flow-control.test.ts and test/cluster/routes.test.ts.
// The outbound side every connection over a socket shares, a client's (connection.ts) and a link's
// to another server (cluster/link-connection.ts): pooled buffers written once per turn (the
// server flushes every dirty connection after the read that dirtied it), flow control both ways
// (a congested receiver stalls its producers; a producer stalled on receivers stops reading),
// the write deadline, and the socket's last write.
import { viewOf } from "../../protocol/bytes.js";
import { POOLED_SIZE, ProducerStall, stallMark, stallTtl, type BufferPool } from "./outbound.js";
import type { Client, Subscription } from "./router.js";
import type { ClientSocket } from "./connection-types.js";

/** What the outbound side needs of whoever owns the connection. */
export interface OutboundHost {
  readonly buffers: BufferPool;
  /** Queue `c` for a flush once the current work is done. */
  markDirty(c: { dirty: boolean; flush(): void }): void;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

export abstract class SocketConnection implements Client {
  abstract echo: boolean;
  abstract noResponders: boolean;
  closed = false;
  closeReason = "";
  /** Already in the server's dirty list. */
  dirty = false;
  /** Pending outbound bytes are past the stall mark (see Client in router.ts). */
  congested = false;
  outMsgs = 0;
  outBytes = 0;
  /** Times this connection was stalled as a producer, and for how long in all (ms). */
  stalls = 0;
  stalledMs = 0;

  /** Bytes not yet handed to the socket: outBuf[0, outLen). */
  protected outBuf: Buffer = EMPTY;
  protected outView: DataView = EMPTY_VIEW;
  protected outLen = 0;
  /** What the socket still held after the last flush or drain. */
  protected socketPending = 0;
  protected readonly stallMarkBytes: number;
  /** Receivers this connection waits on while its socket is paused. */
  protected readonly stall = new ProducerStall<Client>(() => this.startStall(), (timedOut) => this.endStall(timedOut));
  /** Pooled buffers the socket still holds; all free again once it drains. */
  private inFlight: Buffer[] | null = null;
  /** Producers stalled on this connection, released when it drains or closes. */
  private held: Client[] | null = null;
  private stallStart = 0;
  private writeTimer: NodeJS.Timeout | null = null;

  constructor(readonly cid: number, readonly socket: ClientSocket, private readonly outHost: OutboundHost,
    protected readonly maxPending: number) {
    this.stallMarkBytes = stallMark(maxPending);
    socket.on("drain", () => this.onDrain());
  }

  abstract deliver(sub: Subscription, subject: string, reply: string, hdrLen: number, buf: Buffer, start: number, end: number): boolean;
  /** What reads the socket's bytes; closed first, so nothing more is read. */
  protected abstract readonly parser: { close(): void };
  /** Closing: the timers stop and the subscriptions leave the router (the buffers go after). */
  protected abstract closing(): void;
  /** Closed, for `reason`: the owner is told (the socket is ended after). */
  protected abstract closedFor(reason: string): void;

  /** Bytes queued for this connection: not yet handed to the socket, plus what the socket holds. */
  get pendingBytes(): number {
    return this.outLen + this.socket.writableLength;
  }

  /** The write deadline in ms (0: none); read at each flush that leaves bytes in the socket. */
  protected writeDeadline(): number {
    return 0;
  }

  /** A write made no progress for a whole write deadline. */
  protected writeDeadlineExceeded(): void {
    this.close("Slow Consumer (Write Deadline)", false);
  }

  /** The owner holds the socket's input for its own reasons: a stall's end does not resume it. */
  protected readingHeld(): boolean {
    return false;
  }

  /** A stall began (`startStall`) or ended; for the owner's counters and logs. */
  protected stallBegan(): void {}
  protected stallEnded(_timedOut: boolean): void {}

  // ---- the buffer ---------------------------------------------------------------------------

  /** Queue protocol bytes (INFO, +OK, PONG, -ERR, RS+ …). */
  queue(bytes: Buffer | string): void {
    if (this.closed) return;
    const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    const n = b.length;
    if (this.outLen + n > this.outBuf.length) this.makeRoom(n);
    this.outBuf.set(b, this.outLen);
    this.outLen += n;
    this.markDirty();
  }

  protected markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.outHost.markDirty(this);
    }
  }

  /**
   * Make room for `need` more bytes. A full buffer is written out rather than grown (as
   * nats-server does), so busy connections write in buffer-sized pieces and copy nothing twice.
   */
  protected makeRoom(need: number): void {
    if (this.outLen > 0) this.flush();
    this.outBuf = this.outHost.buffers.take(need);
    this.outView = viewOf(this.outBuf);
  }

  /** Hand everything queued to the socket in one write. */
  flush(): void {
    this.dirty = false;
    const len = this.outLen;
    if (len === 0 || this.socket.destroyed) return;
    const buf = this.outBuf;
    this.outLen = 0;
    this.socket.write(len === buf.length ? buf : buf.subarray(0, len));
    this.outBuf = EMPTY;
    this.outView = EMPTY_VIEW;
    const pending = this.socket.writableLength;
    if (pending !== 0) {
      // The socket still holds the buffer: it goes back to the pool when the socket drains.
      this.socketPending = pending;
      if (buf.length >= POOLED_SIZE) (this.inFlight ??= []).push(buf);
      // Congested only while a "drain" is to come, which is what releases the producers.
      if (pending > this.stallMarkBytes && this.socket.writableNeedDrain) this.congested = true;
      this.armWriteDeadline();
    } else {
      // Written through to the kernel already: the buffer is free for the next connection.
      this.socketPending = 0;
      this.outHost.buffers.give(buf);
    }
  }

  private onDrain(): void {
    this.socketPending = this.socket.writableLength;
    if (this.socketPending !== 0) return;
    // Every write has completed: the buffers are ours again. Recycling them keeps a busy
    // connection from allocating (and the GC from collecting) a buffer per flush.
    const held = this.inFlight;
    if (held !== null) {
      this.inFlight = null;
      for (let i = 0; i < held.length; i++) this.outHost.buffers.give(held[i]!);
    }
    if (this.writeTimer !== null) {
      clearTimeout(this.writeTimer);
      this.writeTimer = null;
    }
    // The kernel's socket buffer still holds what it took, so the reader stays busy while the
    // producers come back.
    this.congested = false;
    this.releaseProducers();
  }

  // ---- flow control (see Client in router.ts) ---------------------------------------------

  holdProducer(producer: Client): void {
    (this.held ??= []).push(producer);
  }

  private releaseProducers(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (let i = 0; i < held.length; i++) held[i]!.release(this);
  }

  stallTtl(): number {
    return stallTtl(this.socketPending + this.outLen, this.stallMarkBytes, this.maxPending);
  }

  /**
   * A receiver this connection just fed is congested: stop reading this socket (after the
   * chunk in hand) until every such receiver drains or is closed, or the stall times out (as
   * nats-server's does: 100 ms to 1 s, longer the fuller the receiver). The kernel then pushes
   * back on the producer, as nats-server's stalled read loop does.
   */
  stallOn(receiver: Client): void {
    if (!this.closed && this.stall.add(receiver)) receiver.holdProducer(this);
  }

  release(receiver: Client): void {
    this.stall.release(receiver);
  }

  private startStall(): void {
    this.socket.pause();
    this.stallStart = Date.now();
    this.stalls++;
    this.stallBegan();
  }

  /** Read again: the receivers drained, or one is still behind and the wait ran out (delivering to it again stalls anew). */
  private endStall(timedOut: boolean): void {
    this.stalledMs += Date.now() - this.stallStart;
    this.stallEnded(timedOut);
    if (!this.closed && !this.readingHeld()) this.socket.resume();
  }

  /**
   * The write deadline is for writes that make no progress: a consumer that is behind but
   * reading keeps its connection (the byte budget, max_pending, bounds how far behind).
   */
  private armWriteDeadline(): void {
    const d = this.writeDeadline();
    if (d <= 0 || this.writeTimer !== null) return;
    const sent = this.bytesToKernel();
    const armedAt = Date.now();
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null;
      if (this.closed || this.socket.writableLength === 0) return;
      if (this.bytesToKernel() > sent) return this.armWriteDeadline();
      // A timer this late means our own event loop stalled (nothing could be written): judge
      // the peer over a window in which we were running.
      if (Date.now() - armedAt > d * 1.5) return this.armWriteDeadline();
      this.writeDeadlineExceeded();
    }, d);
    this.writeTimer.unref();
  }

  /** Bytes the socket has handed to the kernel (bytesWritten counts queued bytes too). */
  private bytesToKernel(): number {
    return this.socket.bytesWritten - this.socket.writableLength;
  }

  // ---- closing ----------------------------------------------------------------------------

  /**
   * Close the connection once. With `flush`, what is queued (an -ERR, say) is written first and
   * the socket is ended gracefully (destroyed after `graceMs` anyway: a peer that never reads
   * must not hold it open forever); without, it is destroyed.
   */
  close(reason: string, flush: boolean): void {
    if (this.closed) return;
    this.parser.close();
    if (flush && this.outLen > 0 && !this.socket.destroyed) this.flush();
    this.closed = true;
    this.closeReason = reason;
    this.closing();
    this.stopOutbound();
    this.closedFor(reason);
    if (flush && !this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), this.closeGraceMs());
      t.unref();
      this.socket.once("close", () => clearTimeout(t));
    } else {
      this.socket.destroy();
    }
  }

  /** How long a gracefully ended socket may take to close. */
  protected closeGraceMs(): number {
    return 1000;
  }

  /** Producers this connection held go on at once; those it waited on forget it when they drain. */
  private stopOutbound(): void {
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.writeTimer = null;
    this.congested = false;
    this.releaseProducers();
    this.stall.clear();
    this.inFlight = null;
    this.outBuf = EMPTY;
    this.outView = EMPTY_VIEW;
    this.outLen = 0;
  }
}
