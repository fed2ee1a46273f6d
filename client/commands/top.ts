// Tested by test/client/top.test.ts (-o snapshots, bad input) and test/client/terminal.test.ts
// (live, in tmux: figures moving, 80×24, resize, s and q).
// gnat top [MONITOR]: a live view of a server's monitoring endpoints, nats-top's flags
// (-d interval, -n conns, --sort, -r max refreshes, -o snapshot to a file). On a terminal it
// draws in the alternate screen (ansi-escapes' sequences), redraws when the terminal is resized,
// `s` steps through the connection sort orders and `q` (or Ctrl-C) quits.
import { writeFileSync } from "node:fs";
import { emitKeypressEvents } from "node:readline";
import type { Command } from "commander";
import { parseCount, parseDuration } from "../duration.js";
import { ClientError, describeError, UsageError } from "../errors.js";
import { buildView, monitorBase, poll, SORT_KEYS, type Poll } from "../top/model.js";
import { renderScreen } from "../top/screen.js";
import { parseChoice } from "../ui.js";
import { io } from "../io.js";

interface TopFlags {
  interval: string;
  conns: string;
  sort: string;
  maxRefresh?: string;
  output?: string;
  timeout: string;
}

export function topCommand(program: Command): void {
  program.command("top")
    .description("a live view of a server's throughput, latency and queues from its monitoring port (gnat or nats-server started with -m)")
    .argument("[monitor]", "the monitoring URL, host:port or port", "127.0.0.1:8222")
    .option("-d, --interval <duration>", "time between refreshes (seconds, or 500ms, 2s …)", "1")
    .option("-n, --conns <n>", "most connections to ask for", "1024")
    .option("--sort <key>", `sort connections by (${SORT_KEYS.join(", ")})`, "cid")
    .option("-r, --max-refresh <n>", "quit after this many refreshes")
    .option("-o, --output <file>", "write one snapshot (two polls one interval apart, for the rates) to FILE (- for stdout) and quit")
    .option("--timeout <duration>", "time to wait for each monitoring request", "5s")
    .action(async (monitor: string, flags: TopFlags) => runTop(monitor, flags));
}

async function runTop(monitor: string, flags: TopFlags): Promise<void> {
  const interval = parseDuration(flags.interval, "--interval");
  if (interval <= 0) throw new UsageError(`invalid --interval "${flags.interval}": must be more than 0`);
  const limit = parseCount(flags.conns, "--conns");
  let sort = parseChoice(flags.sort, "--sort", SORT_KEYS);
  const maxRefresh = flags.maxRefresh === undefined ? Infinity : parseCount(flags.maxRefresh, "--max-refresh");
  const timeout = Math.max(1, Math.round(parseDuration(flags.timeout, "--timeout")));
  const base = monitorBase(monitor);
  try {
    new URL(base);
  } catch {
    throw new UsageError(`invalid monitoring URL "${monitor}"`);
  }
  const opts = (width: number, height: number, error?: string): Parameters<typeof renderScreen>[1] => ({
    width, height, url: base, sort, interval: interval / 1000, ...(error === undefined ? {} : { error }),
  });

  // Fails here, before the screen is taken, when the server is not there: one line, exit 1.
  let prev: Poll | null = null;
  let cur = await poll(base, sort, limit, timeout);

  if (flags.output !== undefined) {
    await new Promise((r) => setTimeout(r, interval));
    prev = cur;
    cur = await poll(base, sort, limit, timeout);
    const text = `${renderScreen(buildView(cur, prev), opts(100, 1000)).join("\n").replace(/\n+[^\n]*$/, "").trimEnd()}\n`;
    if (flags.output === "-") io().stdout.write(text);
    else {
      try {
        writeFileSync(flags.output, text);
      } catch (err) {
        throw new ClientError(`cannot write ${flags.output}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
      }
    }
    return;
  }
  if (io().stdout.isTTY !== true) throw new ClientError("gnat top draws on a terminal; -o FILE (or -o -) writes a snapshot instead");

  const esc = await import("ansi-escapes");
  const out = io().stdout;
  let error: string | undefined;
  const draw = (): void => {
    const lines = renderScreen(buildView(cur, prev), opts(out.columns ?? 80, out.rows ?? 24, error));
    out.write(`${esc.cursorTo(0, 0)}${lines.map((l) => `${l}${esc.eraseEndLine}`).join("\n")}${esc.eraseDown}`);
  };

  let wake: () => void = () => {};
  let quit = false;
  const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): void => {
    if (str === "q" || str === "Q" || (key?.ctrl === true && key.name === "c")) {
      quit = true;
      wake();
    } else if (str === "s" || str === "S") {
      sort = SORT_KEYS[(SORT_KEYS.indexOf(sort) + 1) % SORT_KEYS.length]!;
      wake();
    }
  };
  const onResize = (): void => draw();
  const stdin = io().stdin;
  out.write(`${esc.enterAlternativeScreen}${esc.cursorHide}`);
  if (stdin.isTTY === true) {
    emitKeypressEvents(stdin);
    stdin.setRawMode?.(true);
    stdin.on("keypress", onKey);
    stdin.resume();
  }
  out.on("resize", onResize);
  const restore = (): void => {
    out.off("resize", onResize);
    if (stdin.isTTY === true) {
      stdin.off("keypress", onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
    out.write(`${esc.cursorShow}${esc.exitAlternativeScreen}`);
  };
  const stopOnSignal = (): void => {
    quit = true;
    wake();
  };
  const offSignals = io().onInterrupt(stopOnSignal);
  try {
    draw();
    for (let refreshes = 1; !quit && refreshes < maxRefresh; refreshes++) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, interval);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      if (quit) break;
      try {
        const next = await poll(base, sort, limit, timeout);
        prev = cur;
        cur = next;
        error = undefined;
      } catch (err) {
        // The server went away or is slow: say so at the bottom and keep trying.
        error = describeError(err);
      }
      draw();
    }
  } finally {
    offSignals();
    restore();
  }
}
