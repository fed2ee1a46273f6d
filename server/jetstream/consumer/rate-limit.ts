// Tested by test/jetstream/consumer.test.ts.
// rate_limit_bps of a push consumer.

/**
 * A token bucket of bytes (golang.org/x/time/rate's shape, as nats-server's rate_limit_bps uses):
 * it refills at `perSec` and holds at most `burst`, starting full.
 */
export class TokenBucket {
  private tokens: number;
  private at = 0;

  constructor(private readonly perSec: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Take `n` bytes at wall-clock `now` (ms): 0 when taken, else ms until they would be there. */
  take(n: number, now: number): number {
    if (this.at !== 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSec) / 1000);
    this.at = now;
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return Math.max(1, Math.ceil(((need - this.tokens) * 1000) / this.perSec));
  }
}
