// gnat's live dashboard: polls /dashboard.json every second and charts the server's own history
// (one sample a second, kept by the server: message rates, queue lengths, latencies), so the
// first load already shows the last minutes. Plain browser JavaScript, no build step.
"use strict";
(function () {
  const KEEP = 300;
  const FIELDS = ["t", "in_msgs", "out_msgs", "in_bytes", "out_bytes", "js_acks", "js_redeliveries",
    "stream_msgs", "num_pending", "num_ack_pending", "store_p50_ms", "store_p99_ms", "client_rtt_ms", "loop_lag_ms"];
  const hist = Object.fromEntries(FIELDS.map((f) => [f, []]));
  let since = 0;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => {
    if (n === null || n === undefined || Number.isNaN(n)) return "–";
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
    if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
    if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
    if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
    if (a >= 1) return n.toFixed(1);
    return String(+n.toPrecision(2));
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const rows = (id, list, cells) => {
    document.querySelector(`#${id} tbody`).innerHTML = list.map((x) => `<tr>${cells(x).join("")}</tr>`).join("");
  };
  const td = (v, cls) => `<td${cls ? ` class="${cls}"` : ""}>${esc(v)}</td>`;
  const num = (v) => td(fmt(v), "num");

  const HEIGHT = 220;
  // Every y axis starts at 0: a 3 % wobble must look like one, not like a spike.
  const fromZero = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];
  // At least the last minute across: a fresh server's few samples start at the right, not
  // stretched over the whole width with half-second ticks.
  const lastMinute = (u, min, max) => [max === null ? Date.now() / 1000 - 60 : Math.min(min, max - 60), max === null ? Date.now() / 1000 : max];
  const charts = [];
  // The uPlot instances, for a look from the browser's console (and the tests).
  window.gnatDashboard = { charts: {} };
  // `right`: a second y axis on the right for series of another size (JetStream acks beside core
  // traffic would be a flat line at 0 on the same scale).
  const chart = (id, series, right) => {
    const el = $(id);
    const unit = el.dataset.unit;
    const u = new uPlot({
      width: el.clientWidth || 300, height: HEIGHT,
      series: [{}, ...series.map(([field, label, stroke, dash, scale]) => ({ label, stroke, width: 2, dash, scale: scale || "y", value: (_, v) => fmt(v), spanGaps: false }))],
      axes: [{}, { label: unit, values: (_, vals) => vals.map(fmt), size: 56 },
        ...(right ? [{ scale: right.scale, side: 1, label: right.label, values: (_, vals) => vals.map(fmt), size: 56, grid: { show: false } }] : [])],
      scales: { x: { time: true, range: lastMinute }, y: { range: fromZero }, ...(right ? { [right.scale]: { range: fromZero } } : {}) },
      // The legend names the series; the figures are in the tiles above.
      legend: { live: false },
    }, [[], ...series.map(() => [])], el);
    const c = { u, el, fields: series.map((s) => s[0]) };
    charts.push(c);
    window.gnatDashboard.charts[id] = u;
    return c;
  };
  chart("chart-rates", [["in_msgs", "in", "#1a73e8"], ["out_msgs", "out", "#e8710a", [6, 4]], ["js_acks", "JetStream acks (right)", "#2e7d32", null, "js"], ["js_redeliveries", "redeliveries (right)", "#b3261e", null, "js"]],
    { scale: "js", label: "JetStream msgs/s" });
  chart("chart-queue", [["stream_msgs", "stream messages", "#1a73e8"], ["num_pending", "num_pending", "#e8710a"], ["num_ack_pending", "ack pending", "#8e24aa"]]);
  chart("chart-latency", [["store_p50_ms", "store p50", "#1a73e8"], ["store_p99_ms", "store p99", "#b3261e"], ["client_rtt_ms", "client RTT", "#2e7d32"], ["loop_lag_ms", "loop lag", "#888", [4, 4]]]);
  chart("chart-bytes", [["in_bytes", "in", "#1a73e8"], ["out_bytes", "out", "#e8710a", [6, 4]]]);

  function addHistory(h) {
    if (!h || !h.t || h.t.length === 0) return;
    for (const f of FIELDS) hist[f].push(...(h[f] || h.t.map(() => null)));
    const extra = hist.t.length - KEEP;
    if (extra > 0) for (const f of FIELDS) hist[f].splice(0, extra);
    since = hist.t[hist.t.length - 1];
    const xs = hist.t.map((t) => t / 1000);
    for (const c of charts) c.u.setData([xs, ...c.fields.map((f) => hist[f])]);
    const last = (f) => hist[f][hist[f].length - 1];
    $("rate-in-msgs").textContent = fmt(last("in_msgs"));
    $("rate-out-msgs").textContent = fmt(last("out_msgs"));
    $("rate-in-bytes").textContent = fmt(last("in_bytes"));
    $("rate-out-bytes").textContent = fmt(last("out_bytes"));
    $("rate-acks").textContent = fmt(last("js_acks"));
    $("rate-redeliveries").textContent = fmt(last("js_redeliveries"));
    $("stream-msgs").textContent = fmt(last("stream_msgs"));
    $("num-pending").textContent = fmt(last("num_pending"));
    $("num-ack-pending").textContent = fmt(last("num_ack_pending"));
    $("store-p99").textContent = fmt(last("store_p99_ms"));
  }

  function render(d) {
    $("server").textContent = `${d.server_name} · ${d.version}`;
    addHistory(d.history);
    $("connections").textContent = fmt(d.connections);
    $("subscriptions").textContent = fmt(d.subscriptions);
    $("slow-consumers").textContent = fmt(d.slow_consumers);
    $("total-in-msgs").textContent = fmt(d.in_msgs);
    rows("alerts", d.alerts, (a) => [td(a.name), td(a.active ? "firing" : "ok", a.active ? "firing" : "ok"), td(+a.value.toFixed(4), "num"), td(a.threshold, "num"), td(a.detail)]);
    rows("recent-alerts", d.recent_alerts, (e) => [td(new Date(e.since).toLocaleTimeString()), td(e.name), td(e.state, e.state), td(+e.value.toFixed(4), "num")]);
    rows("connections-table", d.top_connections, (c) => [td(c.cid), td(c.name), td(c.ip), num(c.in_msgs), num(c.out_msgs), num(c.in_bytes), num(c.out_bytes), num(c.pending_bytes)]);
    // Links up, then configured ones that are down (shown as such).
    const linkRows = [...(d.links || []), ...(d.links_down || []).map((l) => ({ kind: l.kind, remote: "down", ip: l.url, down: true }))];
    rows("links", linkRows, (l) => l.down
      ? [td(l.kind), td("down", "firing"), td(l.ip), td(""), td(""), td(""), td(""), td(""), td("")]
      : [td(l.kind), td(l.remote), td(l.ip), td(+l.rtt_ms.toFixed(3), "num"), num(l.in_msgs), num(l.out_msgs), num(l.in_bytes), num(l.out_bytes), num(l.pending_bytes)]);
    const streamRows = [];
    for (const s of d.streams) {
      streamRows.push({ stream: s.name, consumer: "", messages: s.messages, bytes: s.bytes });
      for (const c of s.consumers) streamRows.push({ stream: s.name, consumer: c.name, ...c });
    }
    rows("streams", streamRows, (r) => r.consumer === ""
      ? [td(r.stream), td(""), num(r.messages), num(r.bytes), td(""), td(""), td("")]
      : [td(""), td(r.consumer), td(""), td(""), num(r.num_pending), num(r.num_ack_pending), num(r.num_redelivered)]);
    // The page counts its refreshes and the samples it holds (tests wait on these).
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    document.body.dataset.samples = String(hist.t.length);
  }

  async function poll() {
    try {
      const r = await fetch(`./dashboard.json?since=${since}`, { cache: "no-store" });
      if (r.ok) render(await r.json());
    } catch (e) {
      // The server restarting: keep polling, the next answer fills the page again.
    }
    setTimeout(poll, 1000);
  }
  // Charts follow their boxes: the window resizing, the grid reflowing.
  const resize = () => { for (const c of charts) if (c.el.clientWidth > 0 && c.el.clientWidth !== c.u.width) c.u.setSize({ width: c.el.clientWidth, height: HEIGHT }); };
  if (typeof ResizeObserver === "function") { const ro = new ResizeObserver(resize); for (const c of charts) ro.observe(c.el); }
  window.addEventListener("resize", resize);
  poll();
})();
