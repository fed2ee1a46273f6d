// What the JetStream commands do on a terminal, driven in tmux (Debian's package) as a person
// would: the object store's progress bar, "Really delete …?" answered at the keyboard, and stream
// add asking for what its flags leave out; gnat bench's progress bars; gnat top live at 80×24, its
// figures moving with traffic, resized, re-sorted and quit. Each tmux runs on a socket of its own,
// in a temporary folder removed afterwards.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect } from "@nats-io/transport-node";
import { CLI, freePort } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { clientSuite, gnat, startTarget, type Target } from "./kit.js";

const { env } = clientSuite();
const run = promisify(execFile);
const HAS_TMUX = spawnSync("tmux", ["-V"]).status === 0;
if (!HAS_TMUX) console.warn("\n*** tmux is not installed (apt-get install tmux): the terminal tests are skipped ***\n");

/** A command in a tmux pane (110×40 unless given); `done` resolves when it has exited, with the screen. */
function inTmux(args: string[], size = { width: 110, height: 40 }): { socket: string; screen(): Promise<string>; keys(...k: string[]): Promise<void>; resize(width: number, height: number): Promise<void>; done: Promise<string>; kill(): void } {
  const socket = join(mkdtempSync(join(tmpdir(), "gnat-tmux-")), "socket");
  const tmux = (...a: string[]): Promise<{ stdout: string }> => run("tmux", ["-S", socket, ...a], { env });
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // After the command: its exit code on screen, a signal for the test, then wait for the kill.
  const shell = `XDG_CONFIG_HOME='${env.XDG_CONFIG_HOME}' ${quoted}; echo "EXIT=$?"; tmux -S '${socket}' wait-for -S done; read x`;
  spawnSync("tmux", ["-S", socket, "new-session", "-d", "-x", String(size.width), "-y", String(size.height), shell], { env });
  const screen = async (): Promise<string> => (await tmux("capture-pane", "-p")).stdout;
  const done = tmux("wait-for", "done").then(screen);
  // Killed before it ends (a failed test): nobody waits, and that is not an error of its own.
  done.catch(() => {});
  return {
    socket,
    screen,
    keys: async (...k) => void (await tmux("send-keys", ...k)),
    resize: async (width, height) => void (await tmux("resize-window", "-x", String(width), "-y", String(height))),
    done,
    kill: () => {
      spawnSync("tmux", ["-S", socket, "kill-server"]);
      rmSync(dirname(socket), { recursive: true, force: true });
    },
  };
}

/** Until the screen shows `re` (10 s at most): the prompt is there to answer. */
async function screenShows(t: { screen(): Promise<string> }, re: RegExp): Promise<string> {
  let last = "";
  return until(async () => {
    last = await t.screen();
    return re.test(last) ? last : null;
  }, { timeout: 10_000, interval: 50, what: `the screen to show ${re}` }).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}:\n${last}`);
  });
}

describe.skipIf(!HAS_TMUX)("on a terminal", () => {
  let target: Target;
  let dir: string;
  let s: string[];
  const panes: { kill(): void }[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gnat-client-tty-"));
    target = await startTarget("gnat", `jetstream { store_dir: "${dir}" }\n`);
    s = ["-s", target.url];
  });
  afterAll(async () => {
    for (const p of panes) p.kill();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("obj put shows a progress bar for a large file", async () => {
    expect((await gnat(["obj", "add", "TTY", ...s], env)).code).toBe(0);
    const file = join(dir, "large.bin");
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    const t = inTmux(["obj", "put", "TTY", file, ...s]);
    panes.push(t);
    const screen = await t.done;
    expect(screen).toMatch(/^large\.bin \[█{40}\] 100% \| 3\.0 MiB \/ 3\.0 MiB \| \S+ \S+\/s\n/);
    expect(screen).toMatch(/^Object information for TTY > large\.bin$/m);
    expect(screen).toMatch(/^EXIT=0$/m);
    // --no-progress: none.
    const quiet = inTmux(["obj", "put", "TTY", file, "--name", "again.bin", "--no-progress", ...s]);
    panes.push(quiet);
    expect(await quiet.done).toMatch(/^Object information for TTY > again\.bin\n/);
  }, 60_000);

  test("stream rm asks at the keyboard; y deletes", async () => {
    expect((await gnat(["stream", "add", "DOOMED", "--subjects", "doomed", "--defaults", ...s], env)).code).toBe(0);
    const t = inTmux(["stream", "rm", "DOOMED", ...s]);
    panes.push(t);
    await screenShows(t, /\? Really delete Stream DOOMED\? \(y\/N\)/);
    await t.keys("y", "Enter");
    expect(await t.done).toMatch(/^EXIT=0$/m);
    expect((await gnat(["stream", "info", "DOOMED", ...s], env)).stderr).toMatch(/stream not found/);
  }, 60_000);

  test("stream add with no flags asks for each setting; Enter takes the default", async () => {
    const t = inTmux(["stream", "add", ...s]);
    panes.push(t);
    await screenShows(t, /\? Stream Name/);
    await t.keys("ASKED", "Enter");
    await screenShows(t, /\? Subjects \(ASKED\)/);
    await t.keys("asked.>", "Enter");
    await screenShows(t, /\? Storage/);
    await t.keys("Down", "Enter"); // memory
    // The rest: Enter, each once its question is up.
    for (const q of ["Replication", "Retention Policy", "Discard Policy", "Stream Messages Limit", "Per Subject Messages Limit", "Total Stream Size", "Message TTL", "Max Message Size", "Duplicate tracking time window"]) {
      await screenShows(t, new RegExp(`\\? ${q}`));
      await t.keys("Enter");
    }
    const screen = await t.done;
    expect(screen).toMatch(/^EXIT=0$/m);
    const info = JSON.parse((await gnat(["stream", "info", "ASKED", "--json", ...s], env)).stdout) as { config: { subjects: string[]; storage: string; max_msgs: number } };
    expect(info.config).toMatchObject({ subjects: ["asked.>"], storage: "memory", max_msgs: -1 });
  }, 60_000);
});

describe.skipIf(!HAS_TMUX)("gnat bench and gnat top on a terminal", () => {
  let target: Target;
  let dir: string;
  let monitor: string;
  let s: string[];
  const panes: { kill(): void }[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gnat-client-top-tty-"));
    monitor = `127.0.0.1:${await freePort()}`;
    target = await startTarget("gnat", `http: "${monitor}"\njetstream { store_dir: "${dir}" }\n`);
    s = ["-s", target.url];
  });
  afterAll(async () => {
    for (const p of panes) p.kill();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("bench shows a progress bar per side while it runs, then the summary", async () => {
    const t = inTmux(["bench", "tty.bench", "--pub", "1", "--sub", "1", "--msgs", "20000", ...s]);
    panes.push(t);
    const screen = await t.done;
    expect(screen).toMatch(/^Published \[█+\] 100% \| 20000\/20000 \| [\d,]+ msgs\/s$/m);
    expect(screen).toMatch(/^Received  \[█+\] 100% \| 20000\/20000 \| [\d,]+ msgs\/s$/m);
    expect(screen).toMatch(/^ Sub stats: [\d,]+ msgs\/sec ~ .* ~ p99 \S+ ~ max \S+$/m);
    expect(screen).toMatch(/^EXIT=0$/m);
  }, 60_000);

  test("top fits 80×24, its figures move with traffic, it follows a resize, s re-sorts and q quits", async () => {
    expect((await gnat(["stream", "add", "TTYTOP", "--subjects", "ttytop.>", "--storage", "memory", "--defaults", ...s], env)).code).toBe(0);
    expect((await gnat(["consumer", "add", "TTYTOP", "slow", "--pull", "--defaults", ...s], env)).code).toBe(0);
    const t = inTmux(["top", monitor, "-d", "250ms"], { width: 80, height: 24 });
    panes.push(t);
    const lines = (screen: string): string[] => screen.replace(/\n$/, "").split("\n");
    let screen = await screenShows(t, /^TTYTOP > slow +0 /m);
    expect(lines(screen)).toHaveLength(24);
    for (const l of lines(screen)) expect([...l].length).toBeLessThanOrEqual(80);
    expect(lines(screen)[23]).toMatch(/^sort: cid \(s: next\) +q: quit +every 0\.25s$/);

    // Traffic: bounded, stopped below whatever happens.
    const nc = await connect({ servers: target.url, name: "tty-traffic" });
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop && i < 3000; i++) {
        for (let j = 0; j < 10; j++) nc.publish("ttytop.x", "m");
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      screen = await screenShows(t, /^ +\d+ tty-traffic +0 +\S+ +[1-9][\d.]*K? /m);
      expect(screen).toMatch(/^Throughput +in [1-9][\d.]*K? msgs\/s/m);
      // The consumer's pending count climbs from one refresh to a later one.
      const pending = (text: string): number => {
        const m = /^TTYTOP > slow +([\d.]+)(K?) /m.exec(text);
        return m === null ? -1 : Number(m[1]) * (m[2] === "K" ? 1000 : 1);
      };
      const before = pending(screen);
      expect(before).toBeGreaterThanOrEqual(0);
      await until(async () => pending(await t.screen()) > before, { timeout: 10_000, interval: 100, what: "the consumer's pending count to climb" });
    } finally {
      stop = true;
      await traffic;
      await nc.close();
    }

    await t.resize(100, 30);
    screen = await until(async () => {
      const now = lines(await t.screen());
      return now.length === 30 && /^sort: cid/.test(now[29]!) ? now : null;
    }, { timeout: 10_000, interval: 50, what: "the screen to use 100×30" });
    for (const l of screen) expect([...l].length).toBeLessThanOrEqual(100);

    await t.keys("s");
    await screenShows(t, /^sort: subs \(s: next\)/m);
    await t.keys("q");
    const after = await t.done;
    expect(after).toMatch(/^EXIT=0$/m);
    // The alternate screen is left: top's screen is gone from the terminal.
    expect(after).not.toMatch(/^Throughput/m);
  }, 60_000);
});
