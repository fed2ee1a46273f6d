// Tested by test/server/outbound.test.ts and test/e2e/ (every delivery goes through it).
// nats-server's habit: after a read, each connection written to is flushed once. Connections
// that queued bytes mark themselves dirty; one microtask later each is flushed, once, whatever
// number of messages it was given. Part of the composition root: one list per server.
export interface Flushable {
  dirty: boolean;
  flush(): void;
}

export class FlushList {
  private list: Flushable[] = [];
  private scheduled = false;

  /** `flushAll`: what the microtask runs, the server's flush (which calls flush()). */
  constructor(private readonly flushAll: () => void) {}

  add(c: Flushable): void {
    this.list.push(c);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushAll);
    }
  }

  /** Write every connection that has something queued, once each. */
  flush(): void {
    this.scheduled = false;
    const list = this.list;
    if (list.length === 0) return;
    this.list = [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.dirty) c.flush();
    }
  }
}
