// Tested by test/jetstream/consumer.test.ts.
// replay_policy original: messages go out as far apart as they were stored.

import type { StoredMsg } from "../store.js";

export class ReplayPacer {
  /** The stored time of the last message sent, and when it was sent. */
  private replayTs = 0n;
  private replayAt = 0;
  private timer: NodeJS.Timeout | null = null;

  /** `wake` runs the delivery loop again once a held message is due. */
  constructor(private readonly wake: () => void) {}

  /**
   * A message goes out as long after the previous one as it was stored after it (nats-server
   * waits the timestamps' difference between deliveries). True when `sm` is not due yet; the
   * timer wakes the loop when it is.
   */
  hold(sm: StoredMsg): boolean {
    const now = Date.now();
    if (this.replayTs !== 0n) {
      const due = this.replayAt + Number(sm.ts - this.replayTs) / 1e6;
      if (due > now + 1) {
        if (this.timer === null) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.wake();
          }, Math.ceil(due - now));
          this.timer.unref();
        }
        return true;
      }
    }
    this.replayTs = sm.ts;
    this.replayAt = now;
    return false;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
