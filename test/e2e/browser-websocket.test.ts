// A real browser page (Debian's headless Chromium, driven by playwright-core) connects to gnat
// with nats.ws, subscribes, and receives a message that a TCP client publishes: over ws://, and
// over wss:// with the server's certificate trusted by the browser (by its key's hash, the way
// Chromium is told to trust one certificate) and an untrusted one refused.
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { connect as tcpConnect } from "nats";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { startGnat } from "../kit/gnat.js";
import { makeTestCerts, type TestCerts } from "../helpers/certs.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`\n*** SKIPPING the browser WebSocket test: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does) ***\n`);
}

// The ESM bundle nats.ws ships for browsers, served to the page as it is.
const require = createRequire(import.meta.url);
const bundlePath = join(require.resolve("nats.ws").replace(/cjs[/\\]nats\.js$/, ""), "esm", "nats.js");

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>gnat over WebSocket</title>
<script type="module">
  import { connect, StringCodec } from "/nats.js";
  const sc = StringCodec();
  window.natsTest = async (url) => {
    let nc;
    try {
      nc = await connect({ servers: url, reconnect: false, timeout: 5000 });
    } catch (e) {
      return { error: String(e && e.message || e) };
    }
    const sub = nc.subscribe("browser.greet", { max: 1 });
    await nc.flush();
    window.subscribed = true;
    const version = nc.info?.version ?? "";
    for await (const m of sub) {
      await nc.close();
      return { subject: m.subject, data: sc.decode(m.data), version };
    }
    return null;
  };
  window.ready = true;
</script>`;

describe.skipIf(!haveChromium)("a browser page with nats.ws", () => {
  let server: Server;
  let http: HttpServer;
  let pageUrl = "";
  let browser: Browser;
  /** One that trusts no test certificate. */
  let strictBrowser: Browser;
  let tlsServer: Server;
  let certs: TestCerts;

  /** Headless Chromium; the flags keep it off the network it would otherwise reach for (updates, sync, …). Playwright gives it a new empty profile of its own (it refuses --user-data-dir here). */
  const launch = (extra: string[]): Promise<Browser> => chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extra,
    ],
  });

  /** The page's test against `url` in browser `b`, with a TCP client of `natsUrl` publishing. */
  async function inPage(b: Browser, url: string, natsUrl: string): Promise<{ result: unknown; errors: string[] }> {
    const page = await b.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const result = page.evaluate(
      (u) => (window as unknown as { natsTest: (u: string) => Promise<unknown> }).natsTest(u),
      url,
    );
    // Once the page has subscribed (or has given up: its result then says why), a TCP client
    // publishes the greeting.
    const tcp = await tcpConnect({ servers: natsUrl });
    const subscribed = page.waitForFunction(() => (window as unknown as { subscribed?: boolean }).subscribed === true, undefined, { timeout: 15_000 })
      .then(() => true, () => false);
    if (await Promise.race([subscribed, result.then(() => false, () => false)])) {
      tcp.publish("browser.greet", "hello, browser");
      await tcp.flush();
    }
    const out = await result;
    await tcp.close();
    await page.close();
    return { result: out, errors };
  }

  beforeAll(async () => {
    server = await startGnat({ websocket: { host: "127.0.0.1", port: 0, noTls: true } });
    const bundle = readFileSync(bundlePath);
    http = createServer((req, res) => {
      if (req.url === "/nats.js") {
        res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
      } else if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const addr = http.address();
    pageUrl = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}/`;
    // The flags keep Chromium off the network it would otherwise reach for (updates, sync, …).
    // Playwright gives it a new empty profile of its own (it refuses --user-data-dir here).
    certs = makeTestCerts();
    tlsServer = await startGnat({
      websocket: { host: "127.0.0.1", port: 0, tls: { certFile: certs.server.cert, keyFile: certs.server.key } },
    });
    // The browser trusts the server's certificate, as a user who installed it would: Chromium
    // takes the SHA-256 of a certificate's public key (its SPKI) to accept it.
    const spki = new X509Certificate(readFileSync(certs.server.cert)).publicKey.export({ type: "spki", format: "der" });
    const trusted = createHash("sha256").update(spki).digest("base64");
    browser = await launch([`--ignore-certificate-errors-spki-list=${trusted}`]);
    strictBrowser = await launch([]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await strictBrowser?.close();
    await tlsServer?.close();
    certs?.cleanup();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await server?.close();
  });

  test("subscribes from the page and receives what a TCP client publishes", async () => {
    const { result, errors } = await inPage(browser, server.websocketUrl, server.url);
    expect(result).toEqual({ subject: "browser.greet", data: "hello, browser", version: "2.10.0" });
    expect(errors).toEqual([]);
  }, 60_000);

  test("over wss:// with the server's certificate trusted", async () => {
    const url = tlsServer.websocketUrl.replace("127.0.0.1", "localhost");
    expect(url).toMatch(/^wss:\/\/localhost:\d+$/);
    const { result, errors } = await inPage(browser, url, tlsServer.url);
    expect(result).toEqual({ subject: "browser.greet", data: "hello, browser", version: "2.10.0" });
    expect(errors).toEqual([]);
  }, 60_000);

  test("over wss:// a browser that does not trust the certificate does not connect", async () => {
    const { result } = await inPage(strictBrowser, tlsServer.websocketUrl.replace("127.0.0.1", "localhost"), tlsServer.url);
    expect(result).toMatchObject({ error: expect.any(String) });
    // The handshake failed: no client was ever made.
    expect(tlsServer.clients.size).toBe(0);
  }, 60_000);
});
