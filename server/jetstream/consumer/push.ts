// Tested by test/jetstream/consumer.test.ts.
// Push consumers: idle heartbeats to the deliver subject and flow control (nats-server's
// $JS.FC requests, with its slow-start window).

import type { InternalClient, InternalMsg } from "../../core/internal-client.js";
import type { StoredMsg } from "../store.js";
import type { ConsumerState } from "./state.js";
import { msgSize, sendStatus } from "./types.js";

/** nats-server JsFlowControlMaxPending. */
const FC_MAX_PENDING = 32 * 1024 * 1024;

export class PushControl {
  private hbTimer: NodeJS.Timeout | null = null;
  private lastPushSent = Date.now();
  /**
   * Push flow control, as nats-server: bytes sent and not yet covered by a flow-control reply;
   * the window, which starts at 1/16 of FC_MAX_PENDING and doubles with each reply (slow
   * start); the outstanding request's reply subject and the bytes it covers.
   */
  private fcPending = 0;
  private fcWindow = FC_MAX_PENDING / 16;
  private fcCovers = 0;
  private fcOutstanding = "";
  private fcSeq = 0;

  constructor(
    private readonly ic: InternalClient,
    private readonly st: ConsumerState,
    /** "$JS.FC.<stream>.<consumer>": flow-control requests are replied to below it. */
    private readonly fcPrefix: string,
    private readonly deliverSubject: () => string,
    private readonly isClosed: () => boolean,
  ) {}

  /** Sent as much as flow control allows: wait for the outstanding reply. */
  get blocked(): boolean {
    return this.fcPending > this.fcWindow;
  }

  /**
   * A heartbeat goes out `every` ms after the last push, as nats-server's reset timer does; a
   * fixed interval let up to twice that pass, which nats.go (checking every 2 heartbeats)
   * could take for an inactive consumer. The timer is re-aimed when it fires, not per message.
   */
  scheduleHeartbeat(every: number, inMs: number): void {
    this.hbTimer = setTimeout(() => {
      if (this.isClosed()) return;
      const idle = Date.now() - this.lastPushSent;
      if (idle < every) return this.scheduleHeartbeat(every, every - idle);
      this.heartbeat(every);
      this.scheduleHeartbeat(every, every);
    }, inMs);
    this.hbTimer.unref();
  }

  private heartbeat(everyMs: number): void {
    if (this.isClosed() || Date.now() - this.lastPushSent < everyMs) return;
    const to = this.deliverSubject();
    if (!this.ic.hasInterest(to)) return;
    this.lastPushSent = Date.now();
    let extra = this.st.lastHeaders();
    if (this.fcOutstanding !== "") extra += `Nats-Consumer-Stalled: ${this.fcOutstanding}\r\n`;
    sendStatus(this.ic, to, "100 Idle Heartbeat", extra);
  }

  /** `sm` was pushed at `now`; with flow control, its size counts to the window. */
  sent(sm: StoredMsg, now: number, flowControl: boolean): void {
    this.lastPushSent = now;
    if (!flowControl) return;
    const size = msgSize(sm);
    this.fcPending += size;
    if (this.fcOutstanding === "") {
      if (this.fcPending > this.fcWindow / 2) this.sendFlowControl();
    } else if (this.fcPending - this.fcCovers >= this.fcWindow) {
      this.fcCovers += size;
    }
  }

  private sendFlowControl(): void {
    this.fcOutstanding = `${this.fcPrefix}.${(++this.fcSeq).toString(36)}`;
    this.fcCovers = this.fcPending;
    this.ic.publish(this.deliverSubject(), Buffer.alloc(0), {
      reply: this.fcOutstanding, headers: Buffer.from("NATS/1.0 100 FlowControl Request\r\n\r\n"),
    });
  }

  /** A reply on $JS.FC: true when it was the one awaited (the window has grown; deliver on). */
  onFlowControlReply(m: InternalMsg): boolean {
    if (m.subject !== this.fcOutstanding) return false;
    this.fcOutstanding = "";
    this.fcWindow = Math.min(this.fcWindow * 2, FC_MAX_PENDING);
    this.fcPending = Math.max(0, this.fcPending - this.fcCovers);
    this.fcCovers = 0;
    return true;
  }

  stop(): void {
    if (this.hbTimer !== null) clearTimeout(this.hbTimer);
    this.hbTimer = null;
  }
}
