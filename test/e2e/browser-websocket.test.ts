// A real browser page (Debian's headless Chromium, driven by playwright-core) connects to gnat
// with nats.ws, subscribes, and receives a message that a TCP client publishes.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { connect as tcpConnect } from "nats";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Server } from "../../server/index.js";
import { startGnat } from "../kit/gnat.js";

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
    const nc = await connect({ servers: url });
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
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await server?.close();
  });

  test("subscribes from the page and receives what a TCP client publishes", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const result = page.evaluate(
      (url) => (window as unknown as { natsTest: (u: string) => Promise<unknown> }).natsTest(url),
      server.websocketUrl,
    );
    await page.waitForFunction(() => (window as unknown as { subscribed?: boolean }).subscribed === true, undefined, { timeout: 10_000 });
    const tcp = await tcpConnect({ servers: server.url });
    tcp.publish("browser.greet", "hello, browser");
    await tcp.flush();
    await tcp.close();
    expect(await result).toEqual({ subject: "browser.greet", data: "hello, browser", version: "2.10.0" });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
