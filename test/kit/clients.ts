// Clients for tests: the nats.js Node client, and a raw protocol client over TCP.
import { connect as netConnect, type Socket } from "node:net";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

/** A @nats-io/transport-node connection to a server (or URL). */
export function connectNode(to: string | { url: string }, opts: ConnectionOptions = {}): Promise<NatsConnection> {
  return connect({ ...opts, servers: typeof to === "string" ? to : to.url });
}

/** A raw protocol client: what it was sent, in order, and whether the server closed it. */
export class RawClient {
  out = "";
  closed = false;
  private readonly sock: Socket;
  private waiters: (() => void)[] = [];

  constructor(port: number, host = "127.0.0.1") {
    this.sock = netConnect(port, host);
    this.sock.on("data", (d) => {
      this.out += d.toString("latin1");
      this.wake();
    });
    this.sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.sock.on("error", () => {});
  }

  /** Connect, send CONNECT with `opts`, and wait for the PONG that shows it was taken. */
  static async open(port: number, opts: Record<string, unknown> = {}): Promise<RawClient> {
    const c = new RawClient(port);
    await c.until((o) => o.includes("\r\n"));
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, ...opts })}\r\nPING\r\n`);
    await c.until((o) => o.includes("PONG\r\n"));
    return c;
  }

  /** The socket itself (to half-close it, say). */
  get socket(): Socket {
    return this.sock;
  }

  send(s: string | Buffer): void {
    this.sock.write(s);
  }

  /** Same as send. */
  write(s: string | Buffer): void {
    this.sock.write(s);
  }

  /** Everything received so far. */
  text(): string {
    return this.out;
  }

  /** Everything after the INFO line. */
  get afterInfo(): string {
    return this.out.slice(this.out.indexOf("\r\n") + 2);
  }

  /** Wait until `pred(out)` holds, or the connection closes (then the result is checked). */
  async until(pred: (out: string) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.out)) {
      if (this.closed) throw new Error(`closed before expected output; got ${JSON.stringify(this.out)}`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.out)}`);
      await this.nextWake(deadline);
    }
  }

  /** Wait until what was received matches `re`. */
  async waitFor(re: RegExp, ms = 5000): Promise<void> {
    try {
      await this.until((o) => re.test(o), ms);
    } catch (e) {
      throw new Error(`waiting for ${re}: ${(e as Error).message}`);
    }
  }

  /** A PING round trip: everything the server sent before it is in `out` afterwards. */
  async ping(): Promise<void> {
    const n = (this.out.match(/PONG\r\n/g) ?? []).length;
    this.send("PING\r\n");
    await this.until((o) => (o.match(/PONG\r\n/g) ?? []).length > n);
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`not closed; got ${JSON.stringify(this.out)}`);
      await this.nextWake(deadline);
    }
  }

  close(): void {
    this.sock.destroy();
  }

  private nextWake(deadline: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, Math.max(1, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * A raw client past CONNECT {"verbose":false} and its PONG (INFO not awaited first: the
 * server greets before it reads).
 */
export async function rawClient(port: number): Promise<RawClient> {
  const c = new RawClient(port);
  c.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
  await c.waitFor(/PONG\r\n/, 3000);
  return c;
}
