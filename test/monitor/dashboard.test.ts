// The live dashboard in a real browser: Debian's Chromium driven by playwright-core loads the page
// from the monitoring port, traffic is published, and the numbers shown must change. Saves the
// README's screenshot (docs/dashboard.png).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { chromium, type Browser } from "playwright-core";
import { afterAll, expect, test } from "vitest";
import { startServer, type Server } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`\n*** SKIPPING the dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does) ***\n`);

// As root in a closed network: no sandbox, and none of Chromium's background connections.
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let server: Server | null = null;
let browser: Browser | null = null;
const clients: NatsConnection[] = [];
const store = tempDir("gnat-dashboard-");

afterAll(async () => {
  await browser?.close();
  for (const c of clients) await c.close();
  await server?.close();
  store.remove();
});

test.skipIf(!haveChromium)("the dashboard shows live rates, connections, consumers and alerts, and its numbers change with traffic", async () => {
  server = await startServer({
    host: "127.0.0.1", port: 0, httpPort: 0, noLog: true, jetstream: true, storeDir: store.dir,
    alerts: { interval: 100, consumer_pending: { threshold: 50 }, slow_consumers: { threshold: 5 } },
  });
  const pub = await connect({ servers: server.url, name: "orders-api" });
  const sub = await connect({ servers: server.url, name: "billing-worker" });
  clients.push(pub, sub);
  sub.subscribe("orders.>", { callback: () => {} });
  await sub.flush();
  const jsm = await jetstreamManager(pub);
  await jsm.streams.add({ name: "ORDERS", subjects: ["js.orders.>"] });
  await jsm.consumers.add("ORDERS", { durable_name: "SHIPPING", ack_policy: AckPolicy.Explicit });
  const js = jetstream(pub);
  for (let i = 0; i < 60; i++) await js.publish("js.orders.new", `order ${i}`);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.monitorUrl}/`);
  // The page counts its own refreshes in body[data-updates].
  const updates = async (): Promise<number> => Number(await page.getAttribute("body", "data-updates") ?? "0");
  await page.waitForFunction(() => Number(document.body.dataset.updates ?? "0") >= 1);
  const totalBefore = (await page.textContent("#total-in-msgs")) ?? "";
  expect(await page.textContent("#connections")).toBe("2");

  // Traffic while the page polls: the totals and the rates shown must move.
  const traffic = setInterval(() => { for (let i = 0; i < 200; i++) pub.publish("orders.created", "x".repeat(256)); }, 50);
  try {
    const seen = await updates();
    await page.waitForFunction((n) => Number(document.body.dataset.updates ?? "0") >= n + 3, seen);
    await page.waitForFunction(() => (document.getElementById("rate-in-msgs")?.textContent ?? "–") !== "–" && Number.parseFloat(document.getElementById("rate-in-msgs")?.textContent ?? "0") > 0);
  } finally {
    clearInterval(traffic);
  }
  expect(await page.textContent("#total-in-msgs")).not.toBe(totalBefore);
  expect(Number.parseFloat((await page.textContent("#rate-out-bytes")) ?? "0")).toBeGreaterThan(0);
  const streams = (await page.textContent("#streams")) ?? "";
  expect(streams).toContain("ORDERS");
  expect(streams).toContain("SHIPPING");
  expect(streams).toContain("60");
  expect(await page.textContent("#connections-table")).toContain("orders-api");
  expect(await page.textContent("#alerts")).toMatch(/consumer_pending\s*firing/);
  expect(await page.textContent("#recent-alerts")).toContain("consumer_pending");
  expect(errors).toEqual([]);

  // The README's screenshot is refreshed on request (UPDATE_SCREENSHOTS=1 npm test), so an
  // ordinary run leaves the work tree as it was.
  const shot = await page.screenshot({ fullPage: true });
  expect(shot.length).toBeGreaterThan(10_000);
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    const docs = fileURLToPath(new URL("../../docs/", import.meta.url));
    mkdirSync(docs, { recursive: true });
    writeFileSync(`${docs}dashboard.png`, shot);
  }
}, 60_000);
