// Outbound buffers are lent from a server-wide pool: a connection holds one only while it has
// bytes queued, so ten thousand idle connections hold none, and busy ones recycle the same few.

/** Size of a pooled buffer; a connection that needs more between flushes gets a bigger one. */
export const POOLED_SIZE = 64 * 1024;

export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxFree = 64) {}

  /** A buffer of at least `min` bytes. */
  take(min: number): Buffer {
    if (min <= POOLED_SIZE) {
      const b = this.free.pop();
      if (b !== undefined) return b;
      return Buffer.allocUnsafeSlow(POOLED_SIZE);
    }
    return Buffer.allocUnsafeSlow(min);
  }

  /** Return a buffer nobody references any more. */
  give(b: Buffer): void {
    if (b.length === POOLED_SIZE && this.free.length < this.maxFree) this.free.push(b);
  }
}

/**
 * Flow control: past this many pending outbound bytes a receiver stalls the producers that feed
 * it. nats-server stalls at half of max_pending; gnat stalls sooner (a few MiB is already more
 * than a loopback socket's kernel buffer, so a reader never runs dry) to keep memory low when
 * many receivers are behind at once.
 */
export const STALL_CAP = 4 * 1024 * 1024;

export function stallMark(maxPending: number): number {
  return Math.min(Math.floor(maxPending / 2), STALL_CAP);
}

/**
 * How long a producer waits on one stall before it reads again anyway, as nats-server bounds it:
 * 100 ms at the stall mark, growing with the receiver's backlog to 1 s at max_pending. A receiver
 * that keeps reading drains long before; one that stopped is cut off by max_pending or the write
 * deadline while its producers trickle on.
 */
export const STALL_MIN_MS = 100;
export const STALL_MAX_MS = 1000;

export function stallTtl(pending: number, mark: number, maxPending: number): number {
  if (pending >= maxPending) return STALL_MAX_MS;
  if (pending <= mark || maxPending <= mark) return STALL_MIN_MS;
  return STALL_MIN_MS + Math.floor(((STALL_MAX_MS - STALL_MIN_MS) * (pending - mark)) / (maxPending - mark));
}
