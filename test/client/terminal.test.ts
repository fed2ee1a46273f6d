// What the JetStream commands do on a terminal, driven in tmux (Debian's package) as a person
// would: the object store's progress bar, "Really delete …?" answered at the keyboard, and stream
// add asking for what its flags leave out. Each tmux runs on a socket of its own, in a temporary
// folder removed afterwards.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CLI } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { clientSuite, gnat, startTarget, type Target } from "./kit.js";

const { env } = clientSuite();
const run = promisify(execFile);
const HAS_TMUX = spawnSync("tmux", ["-V"]).status === 0;
if (!HAS_TMUX) console.warn("\n*** tmux is not installed (apt-get install tmux): the terminal tests are skipped ***\n");

/** A command in a tmux pane of 110×40; `done` resolves when it has exited, with the screen. */
function inTmux(args: string[]): { socket: string; screen(): Promise<string>; keys(...k: string[]): Promise<void>; done: Promise<string>; kill(): void } {
  const socket = join(mkdtempSync(join(tmpdir(), "gnat-tmux-")), "socket");
  const tmux = (...a: string[]): Promise<{ stdout: string }> => run("tmux", ["-S", socket, ...a], { env });
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // After the command: its exit code on screen, a signal for the test, then wait for the kill.
  const shell = `XDG_CONFIG_HOME='${env.XDG_CONFIG_HOME}' ${quoted}; echo "EXIT=$?"; tmux -S '${socket}' wait-for -S done; read x`;
  spawnSync("tmux", ["-S", socket, "new-session", "-d", "-x", "110", "-y", "40", shell], { env });
  const screen = async (): Promise<string> => (await tmux("capture-pane", "-p")).stdout;
  return {
    socket,
    screen,
    keys: async (...k) => void (await tmux("send-keys", ...k)),
    done: tmux("wait-for", "done").then(screen),
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
