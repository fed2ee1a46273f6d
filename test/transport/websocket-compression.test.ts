// WebSocket compression (`websocket { compression: true }`, permessage-deflate) against
// nats-server 2.9: the same upgrade requests to both, the same Sec-WebSocket-Extensions answers
// (on each HTTP engine); frames over 64 bytes deflated (RSV1), smaller ones not, deflated frames
// from the client read; nats.ws (over the `ws` package, which offers the extension) through it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { connect, StringCodec } from "nats.ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { ENGINES } from "../helpers/engines.js";
import { startGnat } from "../kit/gnat.js";
import { freePort, NATS_SERVER, spawnNatsServer, type Listening } from "../kit/processes.js";
import { until } from "../kit/wait.js";
import { acceptedExtensions, checkAnswer, offersDeflate } from "../../server/transport/ws-compression.js";

const SKIP_REASON = "nats-server is not installed: differential tests SKIPPED";
const NO_NATS = NATS_SERVER === null;

/** The offers a client may make, nats-server's answer to each being the reference. */
const OFFERS: (string | null)[] = [
  null,
  "permessage-deflate",
  "permessage-deflate; client_max_window_bits",
  "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  "permessage-deflate; server_max_window_bits=10",
  "permessage-deflate; client_max_window_bits=abc",
  "PerMessage-Deflate",
  "x-webkit-deflate-frame",
  "x-webkit-deflate-frame, permessage-deflate",
];

interface Upgraded {
  status: string;
  extensions: string | null;
  socket: Socket;
  /** Bytes after the response head (the first frames). */
  rest: Buffer;
}

/** A raw upgrade: the status line and the Sec-WebSocket-Extensions header of the answer. */
function upgrade(port: number, offer: string | null): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const lines = got.subarray(0, end).toString("latin1").split("\r\n");
      const ext = lines.find((l) => /^sec-websocket-extensions:/i.test(l));
      resolve({ status: lines[0]!, extensions: ext === undefined ? null : ext.slice(ext.indexOf(":") + 1).trim(), socket, rest: got.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      (offer === null ? "" : `Sec-WebSocket-Extensions: ${offer}\r\n`) + "\r\n");
  });
}

interface Frame { rsv1: boolean; opcode: number; text: string }

/** Reads the server's frames off a raw socket, inflating the deflated ones. */
class FrameReader {
  frames: Frame[] = [];
  private buf: Buffer;

  constructor(private readonly u: Upgraded) {
    this.buf = u.rest;
    u.socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.parse();
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      const rsv1 = (b0 & 0x40) !== 0;
      const data = rsv1 ? inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 /* Z_SYNC_FLUSH */ }) : payload;
      this.frames.push({ rsv1, opcode: b0 & 0x0f, text: data.toString("latin1") });
    }
  }

  text(): string {
    return this.frames.map((f) => f.text).join("");
  }
}

/** A masked binary frame from the client, deflated (RSV1) when asked. */
function clientFrame(text: string, deflate: boolean): Buffer {
  let payload: Buffer = Buffer.from(text, "latin1");
  if (deflate) {
    const d = deflateRawSync(payload, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    payload = d.subarray(0, d.length - 4); // RFC 7692: the trailing 00 00 ff ff is left off
  }
  const mask = Buffer.from([1, 2, 3, 4]);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x82 | (deflate ? 0x40 : 0), 0x80 | n])
    : Buffer.from([0x82 | (deflate ? 0x40 : 0), 0x80 | 126, n >> 8, n & 0xff]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, masked]);
}

interface Target { name: string; port: number }

const gnats: Server[] = [];
/** The compressing gnat of each engine. */
const compressing = new Map<string, Server>();
let nats: Listening | null = null;
let natsPlainPort = 0;
let natsDir = "";
const targets: Target[] = [];
const plainTargets: Target[] = [];

beforeAll(async () => {
  for (const engine of ENGINES) {
    for (const compression of [true, false]) {
      const s = await startGnat({ httpEngine: engine, websocket: { host: "127.0.0.1", port: 0, noTls: true, compression } });
      gnats.push(s);
      if (compression) compressing.set(engine, s);
      (compression ? targets : plainTargets).push({ name: `gnat-${engine}`, port: Number(new URL(s.websocketUrl).port) });
    }
  }
  if (NATS_SERVER !== null) {
    natsDir = mkdtempSync(join(tmpdir(), "gnat-wsc-"));
    const port = await freePort();
    const wsPort = await freePort();
    writeFileSync(join(natsDir, "a.conf"), `listen: 127.0.0.1:${port}\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true, compression: true }\n`);
    nats = await spawnNatsServer(["-c", join(natsDir, "a.conf")], port);
    natsPlainPort = await freePort();
    targets.unshift({ name: "nats-server", port: wsPort });
    const port2 = await freePort();
    writeFileSync(join(natsDir, "b.conf"), `listen: 127.0.0.1:${port2}\nwebsocket { listen: "127.0.0.1:${natsPlainPort}", no_tls: true }\n`);
    const plain = await spawnNatsServer(["-c", join(natsDir, "b.conf")], port2);
    plainTargets.unshift({ name: "nats-server", port: natsPlainPort });
    natsPlain = plain;
  }
});
let natsPlain: Listening | null = null;
afterAll(async () => {
  for (const s of gnats) await s.close();
  await nats?.stop();
  await natsPlain?.stop();
  if (natsDir !== "") rmSync(natsDir, { recursive: true, force: true });
});

describe.skipIf(NO_NATS)(`the handshake, as nats-server answers it${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  test("compression on: every offer gets nats-server's Sec-WebSocket-Extensions (or none)", async () => {
    const answers: Record<string, (string | null)[]> = {};
    for (const t of targets) {
      answers[t.name] = [];
      for (const offer of OFFERS) {
        const u = await upgrade(t.port, offer);
        u.socket.destroy();
        expect(u.status, `${t.name}: ${offer}`).toMatch(/^HTTP\/1\.1 101 /);
        answers[t.name]!.push(u.extensions);
      }
    }
    const reference = answers["nats-server"]!;
    // What nats-server says, so that a change of it shows here rather than as a silent match.
    expect(reference[1]).toBe("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    expect(reference[0]).toBeNull();
    // node:http with ws answers nats-server's very bytes; uWS writes the same two parameters in
    // the other order (RFC 7692 gives them no order), so it is compared parameter by parameter.
    const params = (a: string | null): string[] | null => a === null ? null : a.split(";").map((p) => p.trim()).sort();
    for (const t of targets) {
      if (t.name === "gnat-uws") expect(answers[t.name]!.map(params), t.name).toEqual(reference.map(params));
      else expect(answers[t.name], t.name).toEqual(reference);
    }
  });

  test("compression off: no offer is taken", async () => {
    for (const t of plainTargets) {
      for (const offer of OFFERS) {
        const u = await upgrade(t.port, offer);
        u.socket.destroy();
        expect(u.status, `${t.name}: ${offer}`).toMatch(/^HTTP\/1\.1 101 /);
        expect(u.extensions, `${t.name}: ${offer}`).toBeNull();
      }
    }
  });
});

describe.skipIf(NO_NATS)(`frames, as nats-server sends and reads them${NO_NATS ? ` (${SKIP_REASON})` : ""}`, () => {
  const payload = "x".repeat(200);
  const script = [
    { text: "CONNECT {\"verbose\":false,\"protocol\":1}\r\nSUB big 1\r\nSUB small 2\r\n", deflate: false },
    // Deflated by the client: the server must inflate it.
    { text: `PUB big ${payload.length}\r\n${payload}\r\n`, deflate: true },
    { text: "PING\r\n", deflate: false },
  ];

  async function run(t: Target): Promise<{ frames: Frame[]; text: string }> {
    const u = await upgrade(t.port, "permessage-deflate; client_max_window_bits");
    const r = new FrameReader(u);
    try {
      await until(() => r.text().startsWith("INFO "), { timeout: 5000, what: `${t.name}: INFO` });
      for (const s of script) u.socket.write(clientFrame(s.text, s.deflate));
      await until(() => r.text().includes("PONG\r\n"), { timeout: 5000, what: `${t.name}: PONG` });
      u.socket.write(clientFrame("PUB small 2\r\nhi\r\nPING\r\n", true));
      await until(() => (r.text().match(/PONG\r\n/g) ?? []).length === 2, { timeout: 5000, what: `${t.name}: second PONG` });
      return { frames: r.frames, text: r.text().replace(/^INFO [^\r]*\r\n/, "INFO\r\n") };
    } finally {
      u.socket.destroy();
    }
  }

  test("a frame over 64 bytes goes deflated, one of 64 or less plain; deflated client frames are read", async () => {
    const results: Record<string, { frames: Frame[]; text: string }> = {};
    for (const t of targets) results[t.name] = await run(t);
    const ref = results["nats-server"]!;
    expect(ref.text).toBe(`INFO\r\nMSG big 1 ${payload.length}\r\n${payload}\r\nPONG\r\nMSG small 2 2\r\nhi\r\nPONG\r\n`);
    for (const t of targets) {
      const got = results[t.name]!;
      expect(got.text, t.name).toBe(ref.text);
      // How the bytes are cut into frames is each server's (nats-server: one per flush); the
      // rule is the same: deflated exactly when the frame's bytes are over 64.
      expect(got.frames.map((f) => [f.rsv1, f.text.length > 64]), t.name).toEqual(got.frames.map((f) => [f.text.length > 64, f.text.length > 64]));
      expect(got.frames.some((f) => f.rsv1), t.name).toBe(true);
      expect(got.frames.some((f) => !f.rsv1), t.name).toBe(true);
    }
  });
});

describe("nats.ws through a compressing listener", () => {
  for (const engine of ENGINES) {
    test(`${engine}: messages of every size cross, and the extension was negotiated`, async () => {
      const url = compressing.get(engine)!.websocketUrl;
      // The `ws` package stands in for the browser's WebSocket; it offers permessage-deflate.
      let negotiated = "";
      (globalThis as { WebSocket?: unknown }).WebSocket = class extends WebSocket {
        constructor(u: string, protocols?: string | string[]) {
          super(u, protocols, { perMessageDeflate: { threshold: 0 } });
          this.once("open", () => { negotiated = this.extensions; });
        }
      };
      const nc = await connect({ servers: url });
      try {
        expect(negotiated).toContain("permessage-deflate");
        const sc = StringCodec();
        const sizes = [0, 10, 64, 65, 1000, 100_000];
        const got: string[] = [];
        const sub = nc.subscribe("wsc.>", { callback: (_e, m) => got.push(sc.decode(m.data)) });
        await nc.flush();
        const bodies = sizes.map((n, i) => String(i).padEnd(n, "abcdefgh"));
        for (const [i, b] of bodies.entries()) nc.publish(`wsc.${i}`, sc.encode(b));
        await until(() => got.length === bodies.length, { timeout: 10_000, what: "every message back" });
        expect(got).toEqual(bodies);
        sub.unsubscribe();
      } finally {
        await nc.close();
      }
    });
  }
});

describe("the negotiation's rules (nats-server's wsPMCExtensionSupport)", () => {
  test("an offer is permessage-deflate anywhere among its ';' tokens, in any case, in any header value", () => {
    expect(offersDeflate(undefined)).toBe(false);
    expect(offersDeflate("x-webkit-deflate-frame")).toBe(false);
    expect(offersDeflate(["foo", " PERMESSAGE-DEFLATE ; bar"])).toBe(true);
    expect(acceptedExtensions(false, "permessage-deflate")).toBe("");
    expect(acceptedExtensions(true, "a, permessage-deflate; client_max_window_bits=9")).toBe("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  });

  test("a leaf remote takes a hub's answer only with no context takeover both ways", () => {
    expect(checkAnswer("")).toEqual({ compress: false, error: null });
    expect(checkAnswer("permessage-deflate; client_no_context_takeover; server_no_context_takeover")).toEqual({ compress: true, error: null });
    expect(checkAnswer("permessage-deflate; server_no_context_takeover")).toEqual({ compress: false, error: "compression negotiation error" });
  });
});
