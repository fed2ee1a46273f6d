// Outbound buffers are lent from a server-wide pool: a connection holds one only while it has
// bytes queued, so ten thousand idle connections hold none, and busy ones recycle the same few.

/** Size of a pooled buffer; a connection that needs more between flushes gets a bigger one. */
export const POOLED_SIZE = 64 * 1024;

export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Larger buffers, by power-of-two size class, for deliveries bigger than POOLED_SIZE. */
  private readonly large = new Map<number, Buffer[]>();
  private largeBytes = 0;

  /**
   * @param maxFree pooled-size buffers kept for reuse
   * @param maxLargeBytes bytes of larger buffers kept for reuse, all classes together
   */
  constructor(private readonly maxFree = 64, private readonly maxLargeBytes = 8 * 1024 * 1024) {}

  /** A buffer of at least `min` bytes. */
  take(min: number): Buffer {
    if (min <= POOLED_SIZE) {
      const b = this.free.pop();
      if (b !== undefined) return b;
      return Buffer.allocUnsafeSlow(POOLED_SIZE);
    }
    // Big messages (64 KiB payloads and up) get a buffer of the next power of two, so a stream
    // of them reuses a few buffers instead of allocating one per message.
    const size = 2 ** Math.ceil(Math.log2(min));
    const list = this.large.get(size);
    const b = list?.pop();
    if (b !== undefined) {
      this.largeBytes -= size;
      return b;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Return a buffer nobody references any more. */
  give(b: Buffer): void {
    const n = b.length;
    if (n === POOLED_SIZE) {
      if (this.free.length < this.maxFree) this.free.push(b);
      return;
    }
    if (n < POOLED_SIZE || this.largeBytes + n > this.maxLargeBytes || (n & (n - 1)) !== 0) return;
    let list = this.large.get(n);
    if (list === undefined) this.large.set(n, (list = []));
    list.push(b);
    this.largeBytes += n;
  }
}

/**
 * Flow control: past this many pending outbound bytes a receiver stalls the producers that feed
 * it. nats-server stalls at half of max_pending; gnat stalls sooner, at 1 MiB, to keep memory
 * low when many receivers are behind at once. The reader does not run dry meanwhile: a producer
 * is released when the receiver's queue has gone to the kernel, whose socket buffers (several
 * MiB on loopback, autotuned) keep the reader busy while the producer wakes. 4 MiB measured no
 * faster and held four times the memory.
 */
export const STALL_CAP = 1024 * 1024;

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

/** What a producer needs of the receivers it waits on. */
export interface StallReceiver {
  stallTtl(): number;
}

/**
 * A producer's side of a stall, shared by socket and internal producers: the receivers it waits
 * on, and the bounded wait (stallTtl, from the first receiver). `onStart` runs when the first
 * receiver holds it, `onEnd(timedOut)` when the last lets go or the wait runs out.
 */
export class ProducerStall<R extends StallReceiver> {
  /** Made on the first stall: most connections never produce faster than they are read. */
  private by: Set<R> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly onStart: () => void, private readonly onEnd: (timedOut: boolean) => void) {}

  get active(): boolean {
    return this.by !== null && this.by.size > 0;
  }

  /** Wait on `receiver` too; false when already waiting on it. */
  add(receiver: R): boolean {
    const by = (this.by ??= new Set());
    if (by.has(receiver)) return false;
    by.add(receiver);
    if (by.size === 1) {
      this.onStart();
      this.timer = setTimeout(() => {
        this.timer = null;
        by.clear();
        this.onEnd(true);
      }, receiver.stallTtl());
      this.timer.unref();
    }
    return true;
  }

  /** `receiver` drained or closed; the stall ends with the last one. */
  release(receiver: R): void {
    const by = this.by;
    if (by === null || !by.delete(receiver) || by.size !== 0) return;
    this.stopTimer();
    this.onEnd(false);
  }

  /** Forget every receiver without ending the stall's effects (the producer is closing). */
  clear(): void {
    this.stopTimer();
    this.by?.clear();
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
