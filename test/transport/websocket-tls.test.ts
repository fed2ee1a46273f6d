// WebSocket over TLS (issue #23): `websocket { tls {...} }`, wss://, on each HTTP engine this Node
// runs (uWebSockets.js's SSL app where it loads, node:https otherwise). The official browser
// client, nats.ws, in Node with the `ws` package standing in for the browser's WebSocket and
// trusting the test CA; one that does not trust it, and a plain ws:// dial, get no INFO.
import { connect, StringCodec, type NatsConnection } from "nats.ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { configToOptions, parseConfig } from "../../server/config/index.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";
import { ENGINES } from "../helpers/engines.js";
import { startGnat } from "../kit/gnat.js";

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

/** What a `ws` client gets from `url`: the first message's text, or the error that ended it. */
function firstMessage(url: string, ca?: string): Promise<{ text: string } | { error: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ca === undefined ? {} : { ca });
    ws.on("message", (d: Buffer) => {
      resolve({ text: d.toString("latin1") });
      ws.terminate();
    });
    ws.on("error", (e: Error) => resolve({ error: e.message }));
    ws.on("close", () => resolve({ error: "closed" }));
  });
}

describe.each(ENGINES)("wss:// on the %s engine", (engine) => {
  let server: Server;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startGnat({
      httpEngine: engine,
      websocket: { host: "127.0.0.1", port: 0, tls: { certFile: certs.server.cert, keyFile: certs.server.key } },
    });
    const ca = certs.pem(certs.ca);
    // nats.ws dials `new WebSocket(url)`: this one trusts the test CA, as a browser would once told to.
    (globalThis as { WebSocket?: unknown }).WebSocket = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    };
    nc = await connect({ servers: server.websocketUrl.replace("127.0.0.1", "localhost") });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.close();
  });

  test("the listener says wss:// and nats.ws speaks NATS through it", async () => {
    expect(server.websocketUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const sc = StringCodec();
    const sub = nc.subscribe("wss.echo", { max: 1 });
    nc.publish("wss.echo", sc.encode("secret"));
    for await (const m of sub) expect(sc.decode(m.data)).toBe("secret");
  });

  test("a client that does not trust the certificate gets no INFO", async () => {
    const got = await firstMessage(server.websocketUrl);
    expect(got).toEqual({ error: expect.stringMatching(/certificate|self.signed|verify/i) });
  });

  test("a plain ws:// dial to the wss port gets no INFO", async () => {
    const got = await firstMessage(server.websocketUrl.replace("wss://", "ws://"));
    expect("text" in got).toBe(false);
  });

  test("a client that trusts it gets INFO first, saying TLS is required and available (as nats-server's)", async () => {
    const got = await firstMessage(server.websocketUrl.replace("127.0.0.1", "localhost"), certs.pem(certs.ca));
    const text = "text" in got ? got.text : "";
    const info = JSON.parse(/^INFO (\{.*\}) \r\n/.exec(text)?.[1] ?? "{}") as Record<string, unknown>;
    expect(info).toMatchObject({ tls_required: true, tls_available: true });
    expect(info["tls_verify"]).toBeUndefined();
  });
});

test("the config's websocket { tls {} } needs no no_tls, and client certificates there are refused", () => {
  const tls = `tls { cert_file: ${JSON.stringify(certs.server.cert)}, key_file: ${JSON.stringify(certs.server.key)} }`;
  const ok = configToOptions(parseConfig(`websocket { port: 8443, ${tls} }`)).options;
  expect(ok.websocket?.tls?.certFile).toBe(certs.server.cert);
  const verify = `tls { cert_file: ${JSON.stringify(certs.server.cert)}, key_file: ${JSON.stringify(certs.server.key)}, verify: true }`;
  expect(() => configToOptions(parseConfig(`websocket { port: 8443, ${verify} }`))).toThrow(/not supported by gnat yet/);
});
