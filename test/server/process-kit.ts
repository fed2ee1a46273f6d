// A gnat (or nats-server) child process with a config file it can be told to re-read, and raw
// protocol clients that wait on what arrives: for reload and lame duck tests.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll } from "vitest";

const root = resolve(import.meta.dirname, "../..");
export const CLI = join(root, "dist/server/process/cli.js");

/** npm test builds first; a lone `vitest run` may not have. */
export function ensureBuilt(): void {
  // npm run build, not a bare tsc: it also makes cli.js executable (the nats-server symlink test
  // runs it directly) and copies the dashboard.
  if (!existsSync(CLI)) spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
}

/**
 * For a test file of processes and raw clients: gnat is built once, and after each test the
 * clients pushed onto `clients` are closed and the processes pushed onto `procs` stopped.
 */
export function processSuite(): { procs: ServerProcess[]; clients: RawClient[] } {
  const procs: ServerProcess[] = [];
  const clients: RawClient[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of procs.splice(0)) await p.stop();
  });
  return { procs, clients };
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  dir: string;
  conf: string;
  pidFile: string;
  /** Everything it logged so far. */
  log(): string;
  /** Resolves once the log has `count` lines matching `re` (counting from the start). */
  waitLog(re: RegExp, count?: number, ms?: number): Promise<void>;
  /** Rewrite the config file (the port line is kept). */
  rewrite(config: string): void;
  /** Send a signal; resolves at once. */
  signal(sig: NodeJS.Signals): void;
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

/** Start `cmd` (gnat by default) with `-c <file>` holding `listen` plus `config`. */
export async function startProcess(config: string, opts: { port: number; nats?: string; args?: string[]; logsToFile?: boolean }): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "gnat-reload-"));
  const conf = join(dir, "server.conf");
  const pidFile = join(dir, "server.pid");
  const head = `listen: 127.0.0.1:${opts.port}\npid_file: "${pidFile}"\n`;
  writeFileSync(conf, head + config);
  const args = ["-c", conf, ...(opts.args ?? [])];
  const child = opts.nats !== undefined
    ? spawn(opts.nats, args, { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => {
    for (const w of waiters.splice(0)) w();
    r(code);
  }));
  const waitLog = (re: RegExp, count = 1, ms = 8000): Promise<void> => new Promise((res, rej) => {
    const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${re} x${count} in:\n${out}`)), ms);
    const check = (): void => {
      if ((out.match(g)?.length ?? 0) >= count) {
        clearTimeout(timer);
        res();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        rej(new Error(`process exited (${child.exitCode}) before ${re}:\n${out}`));
      } else {
        waiters.push(check);
      }
    };
    check();
  });
  const p: ServerProcess = {
    child,
    port: opts.port,
    dir,
    conf,
    pidFile,
    log: () => out,
    waitLog,
    rewrite: (c) => writeFileSync(conf, head + c),
    signal: (sig) => child.kill(sig),
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exit;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A process that logs to a file: the caller waits on the file.
  if (opts.logsToFile !== true) await waitLog(/Server is ready/);
  return p;
}

/** A raw protocol client: what it was sent, in order, and whether the server closed it. */
export class RawClient {
  out = "";
  closed = false;
  private readonly sock: Socket;
  private waiters: (() => void)[] = [];

  private constructor(port: number) {
    this.sock = connect(port, "127.0.0.1");
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

  send(s: string): void {
    this.sock.write(s);
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
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
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
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Whether a TCP connection to `port` is refused (nothing listens). */
export function refused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      res(false);
    });
    s.once("error", () => res(true));
  });
}
