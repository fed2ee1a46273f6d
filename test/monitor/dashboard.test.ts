// The live dashboard in a real browser: Debian's Chromium driven by playwright-core loads the page
// from the monitoring port at a desktop and a phone size, traffic is published, and the page must
// fit its window (by the elements' boxes), draw its three charts from the server's history at
// once, and move with the traffic. Saves the README's screenshot (docs/dashboard.png) on request.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, expect, test, vi } from "vitest";
import type { Server } from "../../server/index.js";
import { tempDir } from "../jetstream/helpers.js";
import { startGnat } from "../kit/gnat.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`\n*** SKIPPING the dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does) ***\n`);

// As root in a closed network: no sandbox, and none of Chromium's background connections
// (playwright gives each launch a fresh, empty profile directory itself).
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

const CHARTS = { "chart-rates": "msgs/s", "chart-queue": "messages", "chart-latency": "ms", "chart-bytes": "bytes/s" } as const;

interface Layout {
  scrollWidth: number; clientWidth: number; innerWidth: number;
  /** Elements sticking out of the page's width (outside boxes that scroll): for the message. */
  wide: string[];
  charts: { id: string; left: number; right: number; plotWidth: number; boxWidth: number; axisLabel: string; yMin: number; axes: number; points: number }[];
  lastColumn: { right: number; fits: boolean; scrollerRight: number; scrolls: boolean; unscrolled: boolean };
}

/** What the test checks of the layout, read from the elements' boxes. */
function layout(page: Page): Promise<Layout> {
  return page.evaluate((ids) => {
    const charts = ids.map((id) => {
      const el = document.getElementById(id)!;
      const u = (window as unknown as { gnatDashboard: { charts: Record<string, { width: number; axes: { label?: string }[]; scales: Record<string, { min: number }>; data: unknown[][]; root: HTMLElement }> } }).gnatDashboard.charts[id]!;
      const r = u.root.getBoundingClientRect();
      return { id, left: r.left, right: r.right, plotWidth: u.width, boxWidth: el.clientWidth, axisLabel: u.axes[1]?.label ?? "", yMin: Math.max(...Object.entries(u.scales).filter(([k]) => k !== "x").map(([, sc]) => Math.abs(sc.min))), axes: u.axes.length, points: u.data[0]!.length };
    });
    // The streams table's last column: on screen, or inside a box that scrolls to it.
    const cell = document.querySelector("#streams thead th:last-child")!;
    const scroller = cell.closest(".scroll") as HTMLElement;
    const style = getComputedStyle(scroller);
    const scrolls = (style.overflowX === "auto" || style.overflowX === "scroll");
    scroller.scrollLeft = 0;
    const unscrolled = cell.getBoundingClientRect().right <= Math.min(scroller.getBoundingClientRect().right, window.innerWidth) + 0.5;
    scroller.scrollLeft = scroller.scrollWidth;
    const right = cell.getBoundingClientRect().right;
    const scrollerRight = scroller.getBoundingClientRect().right;
    scroller.scrollLeft = 0;
    return {
      scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, innerWidth: window.innerWidth,
      wide: Array.from(document.querySelectorAll("body *")).filter((e) => e.closest(".scroll") === null && e.getBoundingClientRect().right > document.documentElement.clientWidth)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`).slice(0, 10),
      charts,
      lastColumn: { right, fits: right <= window.innerWidth, scrollerRight, scrolls, unscrolled },
    };
  }, Object.keys(CHARTS));
}

function expectFits(l: Layout): void {
  expect(l.scrollWidth, l.wide.join("\n")).toBeLessThanOrEqual(l.clientWidth);
  expect(l.charts.map((c) => c.id)).toEqual(Object.keys(CHARTS));
  for (const c of l.charts) {
    expect(c.left, c.id).toBeGreaterThanOrEqual(0);
    expect(c.right, c.id).toBeLessThanOrEqual(l.innerWidth);
    // Sized to its box, not a fixed width.
    expect(Math.abs(c.plotWidth - c.boxWidth), c.id).toBeLessThanOrEqual(1);
    expect(c.axisLabel, c.id).toBe(CHARTS[c.id as keyof typeof CHARTS]);
    // Every y scale (the rates chart has a second, on the right, for JetStream) starts at 0.
    expect(c.yMin, c.id).toBe(0);
  }
  const last = l.lastColumn;
  // Either on screen, or scrolled into its own box, which is on screen.
  if (!last.fits) {
    expect(last.scrolls).toBe(true);
    expect(last.scrollerRight).toBeLessThanOrEqual(l.innerWidth);
    expect(last.right).toBeLessThanOrEqual(last.scrollerRight + 1);
  }
}

/** Waits until every chart has been sized to its box (after a viewport change). */
async function chartsFollow(page: Page): Promise<void> {
  await page.waitForFunction((ids) => ids.every((id) => {
    const el = document.getElementById(id)!;
    const u = (window as unknown as { gnatDashboard: { charts: Record<string, { width: number }> } }).gnatDashboard.charts[id]!;
    return Math.abs(u.width - el.clientWidth) <= 1;
  }), Object.keys(CHARTS));
}

const tile = async (page: Page, id: string): Promise<number> => Number.parseFloat((await page.textContent(`#${id}`)) ?? "");

test.skipIf(!haveChromium)("the dashboard charts rates, queue length and latency from the server's history, fits a desktop and a phone, and moves with traffic", async () => {
  server = await startGnat({
    httpPort: 0, jetstream: true, storeDir: store.dir,
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
  await jsm.consumers.add("ORDERS", { durable_name: "AUDIT", ack_policy: AckPolicy.Explicit });
  const js = jetstream(pub);
  for (let i = 0; i < 60; i++) await js.publish("js.orders.new", `order ${i}`);
  // Acks: AUDIT takes ten and acks them.
  const audit = await js.consumers.get("ORDERS", "AUDIT");
  const batch = await audit.fetch({ max_messages: 10, expires: 2000 });
  for await (const m of batch) await m.ackAck();

  // The server samples once a second whether a page is open: wait for a few samples taken after
  // the traffic, so the page's first answer must already chart them.
  const monitorUrl = server.monitorUrl;
  await vi.waitFor(async () => {
    const d = await (await fetch(`${monitorUrl}/dashboard.json`)).json() as { history: { t: number[]; stream_msgs: number[]; js_acks: number[] } };
    expect(d.history.t.length).toBeGreaterThanOrEqual(3);
    expect(d.history.stream_msgs.at(-1)).toBe(60);
    expect(d.history.js_acks.some((x) => x > 0)).toBe(true);
  }, { timeout: 10_000, interval: 100 });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${monitorUrl}/`);
  // The page counts its own refreshes in body[data-updates].
  await page.waitForFunction(() => Number(document.body.dataset.updates ?? "0") >= 1);
  // First answer: the history is drawn at once, not one point at a time.
  const first = await layout(page);
  for (const c of first.charts) expect(c.points, c.id).toBeGreaterThanOrEqual(3);
  expect(first.charts.find((c) => c.id === "chart-rates")!.axes).toBe(3);
  expect(await page.textContent("#connections")).toBe("2");
  // Queue length: the stream's messages and the consumers' num_pending as the server has them.
  const info = await jsm.streams.info("ORDERS");
  expect(await tile(page, "stream-msgs")).toBe(info.state.messages);
  const pending = (await jsm.consumers.info("ORDERS", "SHIPPING")).num_pending + (await jsm.consumers.info("ORDERS", "AUDIT")).num_pending;
  expect(pending).toBe(110);
  expect(await tile(page, "num-pending")).toBe(pending);
  // Latency: store p99 and the client RTT were measured (JetStream publishes, two connections).
  const latency = await page.evaluate(() => {
    const u = (window as unknown as { gnatDashboard: { charts: Record<string, { data: (number | null)[][]; series: { label?: string }[] }> } }).gnatDashboard.charts["chart-latency"]!;
    return u.series.slice(1).map((s, i) => ({ label: s.label, measured: u.data[i + 1]!.filter((v) => v !== null && v > 0).length }));
  });
  expect(latency.find((s) => s.label === "store p99")?.measured).toBeGreaterThan(0);
  expect(latency.find((s) => s.label === "client RTT")?.measured).toBeGreaterThan(0);
  // Acks were charted.
  expect(await page.evaluate(() => (window as unknown as { gnatDashboard: { charts: Record<string, { data: (number | null)[][] }> } }).gnatDashboard.charts["chart-rates"]!.data[3]!.some((v) => (v ?? 0) > 0))).toBe(true);

  // Traffic while the page polls: the totals and the rates shown must move.
  const totalBefore = (await page.textContent("#total-in-msgs")) ?? "";
  const traffic = setInterval(() => {
    for (let i = 0; i < 200; i++) pub.publish("orders.created", "x".repeat(256));
    void js.publish("js.orders.more", "more").catch(() => {});
  }, 50);
  try {
    await page.waitForFunction(() => Number.parseFloat(document.getElementById("rate-in-msgs")?.textContent ?? "") > 0
      && Number.parseFloat(document.getElementById("rate-out-bytes")?.textContent ?? "") > 0);
  } finally {
    clearInterval(traffic);
  }
  await pub.flush();
  expect(await page.textContent("#total-in-msgs")).not.toBe(totalBefore);
  // The queue chart follows the stream: once the page has a sample from after the last publish,
  // its figure is the stream's count.
  const after = (await jsm.streams.info("ORDERS")).state.messages;
  expect(after).toBeGreaterThan(60);
  await page.waitForFunction((n) => Number.parseFloat(document.getElementById("stream-msgs")?.textContent ?? "") === n, after);

  const streams = (await page.textContent("#streams")) ?? "";
  expect(streams).toContain("ORDERS");
  expect(streams).toContain("SHIPPING");
  expect(await page.textContent("#connections-table")).toContain("orders-api");
  expect(await page.textContent("#alerts")).toMatch(/consumer_pending\s*firing/);
  expect(await page.textContent("#recent-alerts")).toContain("consumer_pending");

  const updating = process.env.UPDATE_SCREENSHOTS === "1";
  if (updating) {
    // For the README's picture: half a minute of uneven traffic, acks and a backlog to chart.
    let tick = 0;
    const more = setInterval(() => {
      tick++;
      const n = 100 + 80 * Math.round(3 + 3 * Math.sin(tick / 40));
      for (let i = 0; i < n; i++) pub.publish("orders.created", "x".repeat(256));
      if (tick % 2 === 0) void js.publish("js.orders.more", "more").catch(() => {});
      if (tick % 5 === 0) void audit.next({ expires: 1000 }).then((m) => m?.ack()).catch(() => {});
    }, 50);
    try {
      await page.waitForFunction(() => Number(document.body.dataset.samples ?? "0") >= 40, undefined, { timeout: 60_000 });
    } finally {
      clearInterval(more);
    }
  }

  // Desktop: nothing sticks out, and the streams table is whole without scrolling.
  const desktop = await layout(page);
  expectFits(desktop);
  expect(desktop.lastColumn.unscrolled).toBe(true);
  const shot = await page.screenshot({ fullPage: true });
  expect(shot.length).toBeGreaterThan(10_000);

  // A phone: the same page, resized; the charts follow the window.
  await page.setViewportSize({ width: 390, height: 844 });
  await chartsFollow(page);
  const phone = await layout(page);
  expectFits(phone);
  expect(phone.charts[0]!.plotWidth).toBeLessThan(390);
  const phoneShot = await page.screenshot({ fullPage: true });
  expect(errors).toEqual([]);

  // The README's screenshots are refreshed on request (UPDATE_SCREENSHOTS=1 npm test), so an
  // ordinary run leaves the work tree as it was.
  if (updating) {
    const docs = fileURLToPath(new URL("../../docs/", import.meta.url));
    mkdirSync(docs, { recursive: true });
    writeFileSync(`${docs}dashboard.png`, shot);
    writeFileSync(`${docs}dashboard-phone.png`, phoneShot);
  }
}, process.env.UPDATE_SCREENSHOTS === "1" ? 120_000 : 60_000);
