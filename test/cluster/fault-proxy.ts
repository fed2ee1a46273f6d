// A TCP proxy for route links, on loopback, that can delay them, black-hole them, cut them and
// refuse them (a partition), and heal them. One proxy sits in front of each node's route port
// (the node advertises the proxy's port, so gossip leads the others there too); every route
// connection a node accepts passes through its proxy. A connection is known by its pair of nodes:
// the proxy's own node, and the dialling node, whose name it reads from the INFO the dialler
// sends (CONNECT then INFO, in gnat and nats-server alike), or, for a leafnode link (whose
// CONNECT carries no INFO), from the proxy itself: `proxy(owner, port, dialer)`. Faults are set
// per pair.
//
// What passes is TCP-faithful: bytes are never lost or reordered inside a connection. A delay
// holds each chunk for its time; a black hole holds everything (a close included) until healed,
// so the nodes only notice through their pings; a cut resets the pair's connections; a partition
// cuts them and resets new ones until healed. Bounded: everything stops by itself at `deadline`.
import { createServer, connect, type Server, type Socket } from "node:net";

export type Fault =
  | { kind: "delay"; ms: number }
  | { kind: "blackhole" }
  | { kind: "partition" };

/** Bytes held in one direction before its source is paused (as a full TCP window would). */
const HIGH_WATER = 4 * 1024 * 1024;
/** How much of the dialler's first bytes is searched for its name. */
const SNIFF_MAX = 64 * 1024;
const END = null;

export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The proxies of one cluster and the faults on their links. */
export class FaultNet {
  private readonly proxies: FaultProxy[] = [];
  private readonly faults = new Map<string, Fault>();
  private readonly stopTimer: NodeJS.Timeout;
  /** Connections seen, per pair (for the test's log). */
  readonly accepted = new Map<string, number>();
  closed = false;

  constructor(deadlineMs: number) {
    this.stopTimer = setTimeout(() => void this.close(), deadlineMs);
    this.stopTimer.unref();
  }

  /**
   * A proxy in front of `owner`'s route port `target`, listening on a free loopback port; with
   * `dialer`, every connection through it is that node's (a leafnode remote's).
   */
  async proxy(owner: string, target: number, dialer?: string): Promise<FaultProxy> {
    const p = new FaultProxy(this, owner, target, dialer);
    await p.listen();
    this.proxies.push(p);
    return p;
  }

  /** Connections of `pair` open now through the proxies. */
  live(pair: string): number {
    let n = 0;
    for (const p of this.proxies) for (const pipe of p.pipes) if (!pipe.closed && pipe.pair === pair) n++;
    return n;
  }

  /** Every open connection, for a failure's report. */
  describe(): string[] {
    const out: string[] = [];
    for (const p of this.proxies) {
      for (const pipe of p.pipes) {
        const dir = (d: Direction): string => `${d.q.length} chunks/${d.bytes} B held${d.done ? ", ended" : ""}${d.waitingDrain ? ", waiting for drain" : ""}`;
        out.push(`${p.owner}'s proxy: ${pipe.dialer || "(not yet known)"} → ${p.owner}${pipe.closed ? " (reset)" : ""}; up ${dir(pipe.up)}; down ${dir(pipe.down)}; `
          + `sockets ${pipe.client.destroyed ? "closed" : "open"}/${pipe.server.destroyed ? "closed" : "open"}`);
      }
    }
    return out;
  }

  faultOf(pair: string): Fault | undefined {
    return this.faults.get(pair);
  }

  /** Set a fault on the pairs; a partition (and a cut) resets their connections at once. */
  set(pairs: string[], fault: Fault): void {
    for (const k of pairs) this.faults.set(k, fault);
    if (fault.kind === "partition") this.cut(pairs);
    this.kick();
  }

  /** Reset the pairs' connections now (they may connect again at once). */
  cut(pairs: string[]): void {
    for (const p of this.proxies) p.cut(pairs);
  }

  /** Lift every fault: held bytes flow again, in order. */
  heal(): void {
    this.faults.clear();
    this.kick();
  }

  private kick(): void {
    for (const p of this.proxies) p.kick();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stopTimer);
    await Promise.all(this.proxies.map((p) => p.close()));
  }
}

interface Chunk {
  buf: Buffer | typeof END;
  at: number;
}

/** One direction of a proxied connection. */
class Direction {
  readonly q: Chunk[] = [];
  bytes = 0;
  timer: NodeJS.Timeout | null = null;
  waitingDrain = false;
  done = false;
  constructor(readonly src: Socket, readonly dst: Socket) {}
}

class Pipe {
  /** The dialling node's name, once read; "?" if it never said. */
  dialer = "";
  private sniffed = "";
  readonly up: Direction;
  readonly down: Direction;
  closed = false;

  constructor(private readonly proxy: FaultProxy, readonly client: Socket, readonly server: Socket) {
    this.up = new Direction(client, server);
    this.down = new Direction(server, client);
    for (const d of [this.up, this.down]) {
      d.src.on("data", (b: Buffer) => this.take(d, b));
      d.src.on("end", () => this.take(d, END));
      d.src.on("close", () => this.take(d, END));
      d.src.on("error", () => {});
    }
    if (proxy.dialer !== undefined) {
      this.dialer = proxy.dialer;
      this.known();
    }
  }

  get pair(): string {
    return this.dialer === "" || this.dialer === "?" ? "" : pairKey(this.proxy.owner, this.dialer);
  }

  private take(d: Direction, b: Buffer | typeof END): void {
    if (this.closed || d.done) return;
    if (b === END) d.done = true;
    d.q.push({ buf: b, at: Date.now() });
    if (b !== END) {
      d.bytes += b.length;
      if (d.bytes > HIGH_WATER) d.src.pause();
      if (d === this.up && this.dialer === "") this.sniff(b);
    } else if (d === this.up && this.dialer === "") {
      this.dialer = "?";
    }
    this.pump(d);
  }

  private sniff(b: Buffer): void {
    this.sniffed += b.toString("latin1");
    const m = /"server_name":"([^"]*)"/.exec(this.sniffed);
    if (m !== null) this.dialer = m[1]!;
    else if (this.sniffed.length > SNIFF_MAX) this.dialer = "?";
    if (this.dialer === "") return;
    this.sniffed = "";
    this.known();
  }

  /** The dialler is known: count the connection, and let it pass unless its pair is partitioned. */
  private known(): void {
    this.proxy.net.accepted.set(this.pair || "?", (this.proxy.net.accepted.get(this.pair || "?") ?? 0) + 1);
    if (this.pair !== "" && this.proxy.net.faultOf(this.pair)?.kind === "partition") this.reset();
    else this.pump(this.down);
  }

  /** Move what may pass now; come back when a delay is up or the destination drained. */
  pump(d: Direction): void {
    if (this.closed || d.waitingDrain) return;
    // Nothing passes either way before the dialler is known (its INFO comes with CONNECT).
    if (this.dialer === "") return;
    if (d.timer !== null) {
      clearTimeout(d.timer);
      d.timer = null;
    }
    const fault = this.pair === "" ? undefined : this.proxy.net.faultOf(this.pair);
    while (d.q.length > 0) {
      if (fault?.kind === "blackhole" || fault?.kind === "partition") return;
      const c = d.q[0]!;
      if (fault?.kind === "delay") {
        const wait = c.at + fault.ms - Date.now();
        if (wait > 0) {
          d.timer = setTimeout(() => {
            d.timer = null;
            this.pump(d);
          }, wait);
          d.timer.unref();
          return;
        }
      }
      d.q.shift();
      if (c.buf === END) {
        d.dst.end();
        continue;
      }
      d.bytes -= c.buf.length;
      if (d.bytes <= HIGH_WATER / 4 && d.src.isPaused()) d.src.resume();
      if (d.dst.destroyed) continue;
      if (!d.dst.write(c.buf)) {
        d.waitingDrain = true;
        d.dst.once("drain", () => {
          d.waitingDrain = false;
          this.pump(d);
        });
        return;
      }
    }
  }

  /** An abrupt close of both sides (RST), as a cut cable's reset would look. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of [this.up, this.down]) if (d.timer !== null) clearTimeout(d.timer);
    for (const s of [this.client, this.server]) {
      if (!s.destroyed) {
        try {
          s.resetAndDestroy();
        } catch {
          s.destroy();
        }
      }
    }
    this.proxy.pipes.delete(this);
  }
}

export class FaultProxy {
  private server: Server | null = null;
  readonly pipes = new Set<Pipe>();
  port = 0;

  constructor(readonly net: FaultNet, readonly owner: string, readonly target: number, readonly dialer?: string) {}

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const a = srv.address();
        this.port = typeof a === "object" && a !== null ? a.port : 0;
        this.server = srv;
        resolve();
      });
    });
  }

  private accept(client: Socket): void {
    if (this.net.closed) {
      client.destroy();
      return;
    }
    const server = connect({ host: "127.0.0.1", port: this.target, allowHalfOpen: true, noDelay: true });
    const pipe = new Pipe(this, client, server);
    this.pipes.add(pipe);
    const forget = (): void => {
      if (client.destroyed && server.destroyed) this.pipes.delete(pipe);
    };
    client.on("close", forget);
    server.on("close", forget);
  }

  cut(pairs: string[]): void {
    for (const p of [...this.pipes]) if (pairs.includes(p.pair)) p.reset();
  }

  kick(): void {
    for (const p of this.pipes) {
      p.pump(p.up);
      p.pump(p.down);
    }
  }

  close(): Promise<void> {
    for (const p of [...this.pipes]) p.reset();
    return new Promise((resolve) => {
      if (this.server === null) return resolve();
      this.server.close(() => resolve());
    });
  }
}
