// Tested by test/server/cli.test.ts.
// The pid file (-P / pid_file) and the ports file (--ports_file_dir), as nats-server writes them:
// at start-up, again when a reload changes where they go, and removed at shutdown.
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** The ports file's content: URLs per listener. */
export interface Ports {
  nats: string[];
  monitoring?: string[];
  cluster?: string[];
  websocket?: string[];
}

/** What a ports file lists: the bound listeners. */
export interface Listeners {
  host: string;
  port: number;
  monitorUrl?: string;
  cluster?: { host: string; port: number };
  websocketUrl?: string;
}

/** The ports file's content: URLs per listener, as nats-server writes them. */
export function portsOf(l: Listeners): Ports {
  const local = (h: string): string => (h === "0.0.0.0" || h === "" || h === "::" ? "127.0.0.1" : h.includes(":") ? `[${h}]` : h);
  const out: Ports = { nats: [`nats://${local(l.host)}:${l.port}`] };
  if (l.monitorUrl !== undefined) out.monitoring = [l.monitorUrl];
  if (l.cluster !== undefined) out.cluster = [`nats://${local(l.cluster.host)}:${l.cluster.port}`];
  if (l.websocketUrl !== undefined) out.websocket = [l.websocketUrl];
  return out;
}

/** Where the side files go, from the options in force. */
export interface SideFileOptions {
  pidFile: string;
  portsFileDir: string;
  programName: string;
}

export class SideFiles {
  private portsFile = "";
  private pidFileWritten = "";

  write(o: SideFileOptions, ports: () => Ports): void {
    if (o.pidFile) {
      writeAtomically(o.pidFile, String(process.pid));
      this.pidFileWritten = o.pidFile;
    }
    if (o.portsFileDir) {
      mkdirSync(o.portsFileDir, { recursive: true });
      const name = basename(o.programName || "gnat").replace(/\.(c|m)?js$/, "");
      this.portsFile = join(o.portsFileDir, `${name}_${process.pid}.ports`);
      writeAtomically(this.portsFile, JSON.stringify(ports()));
    }
  }

  /** After a reload: files whose place changed are removed, then both are written again. */
  rewrite(prev: SideFileOptions, o: SideFileOptions, ports: () => Ports): void {
    if (prev.pidFile !== o.pidFile && this.pidFileWritten) removeQuietly(this.pidFileWritten);
    if (prev.portsFileDir !== o.portsFileDir && this.portsFile) removeQuietly(this.portsFile);
    this.pidFileWritten = "";
    this.portsFile = "";
    this.write(o, ports);
  }

  remove(): void {
    for (const f of [this.portsFile, this.pidFileWritten]) if (f) removeQuietly(f);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Test harnesses poll for the ports and pid files and read them as soon as they appear: write a
 * temporary file and rename it, so a reader never sees one half written.
 */
function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
