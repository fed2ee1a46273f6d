// Slowing password guessing, per client IP. nats-server answers every failed CONNECT at once
// (-ERR 'Authorization Violation', a close, a log line, an auth-error event); only bcrypt's cost
// slows a guesser. gnat answers the first few failures from an IP the same way, then backs off:
// the -ERR of each further failure waits, and so does the INFO of each new connection from that
// IP, by the same delay, so a guesser cannot win time by hanging up early (a success would be
// told apart from a failure sooner than the -ERR comes, but not sooner than the INFO does).
// Timers only: the event loop is never blocked. An IP with few failures is never delayed.

export interface AuthThrottleOptions {
  /** Failures from one IP answered without delay. */
  free: number;
  /** Delay after the first failure past `free`, ms; it doubles with each further one… */
  baseMs: number;
  /** …up to this. */
  maxMs: number;
  /** An IP's failures are forgotten once it has had none for this long, ms. */
  windowMs: number;
  /** IPs remembered at most; past it the least recently failing is forgotten. */
  maxTracked: number;
  /**
   * Leave loopback clients (127.0.0.0/8, ::1) alone: a guesser there is already on the machine,
   * and a test suite that embeds gnat and checks its wrong-password handling must not slow down.
   */
  exemptLoopback: boolean;
}

export const DEFAULT_AUTH_THROTTLE: Readonly<AuthThrottleOptions> = {
  free: 5,
  baseMs: 100,
  maxMs: 5000,
  windowMs: 60_000,
  maxTracked: 10_000,
  exemptLoopback: true,
};

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127.");
}

interface Failures {
  count: number;
  last: number;
}

export class AuthThrottle {
  private readonly ips = new Map<string, Failures>();
  private readonly o: AuthThrottleOptions;

  constructor(options: Partial<AuthThrottleOptions> = {}, private readonly now: () => number = Date.now) {
    this.o = { ...DEFAULT_AUTH_THROTTLE, ...options };
  }

  /** A CONNECT from `ip` failed: how long to wait before answering it, ms. */
  failed(ip: string): number {
    if (this.o.exemptLoopback && isLoopback(ip)) return 0;
    const now = this.now();
    const prev = this.ips.get(ip);
    const count = prev !== undefined && now - prev.last <= this.o.windowMs ? prev.count + 1 : 1;
    const delay = this.delayFor(count);
    // Re-inserted so the map's order is the order of last failure (the oldest go first).
    this.ips.delete(ip);
    this.ips.set(ip, { count, last: now });
    if (this.ips.size > this.o.maxTracked) this.ips.delete(this.ips.keys().next().value!);
    return delay;
  }

  /** How long a new connection from `ip` waits before it is greeted, ms (0: not at all). */
  admitDelay(ip: string): number {
    if (this.ips.size === 0) return 0;
    const f = this.ips.get(ip);
    if (f === undefined) return 0;
    const now = this.now();
    if (now - f.last > this.o.windowMs) {
      this.ips.delete(ip);
      return 0;
    }
    return this.delayFor(f.count);
  }

  /** Recent failures remembered for `ip` (for tests and monitoring). */
  failures(ip: string): number {
    return this.ips.get(ip)?.count ?? 0;
  }

  private delayFor(count: number): number {
    const over = count - this.o.free;
    if (over <= 0) return 0;
    return Math.min(this.o.maxMs, this.o.baseMs * 2 ** Math.min(over - 1, 30));
  }
}
