// gnat's live dashboard: polls /dashboard.json every second, turns the cumulative counters into
// rates and charts the last five minutes with uPlot. Plain browser JavaScript, no build step.
"use strict";
(function () {
  const KEEP = 300;
  const xs = [], inMsgs = [], outMsgs = [], inBytes = [], outBytes = [];
  let prev = null;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return String(Math.round(n));
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const rows = (id, list, cells) => {
    document.querySelector(`#${id} tbody`).innerHTML = list.map((x) => `<tr>${cells(x).join("")}</tr>`).join("");
  };
  const td = (v, cls) => `<td${cls ? ` class="${cls}"` : ""}>${esc(v)}</td>`;
  const num = (v) => td(fmt(v), "num");

  const chart = (el, label) => new uPlot({
    width: el.clientWidth || 600, height: 220,
    series: [{}, { label: `${label} in`, stroke: "#1a73e8", width: 2 }, { label: `${label} out`, stroke: "#e8710a", width: 2 }],
    axes: [{}, { values: (u, vals) => vals.map(fmt), size: 60 }],
    scales: { x: { time: true } },
  }, [xs, [], []], el);
  const msgsChart = chart($("chart-msgs"), "msgs/s");
  const bytesChart = chart($("chart-bytes"), "bytes/s");

  function render(d) {
    $("server").textContent = `${d.server_name} · ${d.version}`;
    if (prev !== null && d.now > prev.now) {
      const dt = (d.now - prev.now) / 1000;
      const rate = (k) => Math.max(0, (d[k] - prev[k]) / dt);
      xs.push(d.now / 1000);
      inMsgs.push(rate("in_msgs")); outMsgs.push(rate("out_msgs"));
      inBytes.push(rate("in_bytes")); outBytes.push(rate("out_bytes"));
      if (xs.length > KEEP) for (const a of [xs, inMsgs, outMsgs, inBytes, outBytes]) a.shift();
      $("rate-in-msgs").textContent = fmt(inMsgs.at(-1));
      $("rate-out-msgs").textContent = fmt(outMsgs.at(-1));
      $("rate-in-bytes").textContent = fmt(inBytes.at(-1));
      $("rate-out-bytes").textContent = fmt(outBytes.at(-1));
      msgsChart.setData([xs, inMsgs, outMsgs]);
      bytesChart.setData([xs, inBytes, outBytes]);
    }
    prev = d;
    $("connections").textContent = fmt(d.connections);
    $("subscriptions").textContent = fmt(d.subscriptions);
    $("slow-consumers").textContent = fmt(d.slow_consumers);
    $("total-in-msgs").textContent = fmt(d.in_msgs);
    rows("alerts", d.alerts, (a) => [td(a.name), td(a.active ? "firing" : "ok", a.active ? "firing" : "ok"), td(+a.value.toFixed(4), "num"), td(a.threshold, "num"), td(a.detail)]);
    rows("recent-alerts", d.recent_alerts, (e) => [td(new Date(e.since).toLocaleTimeString()), td(e.name), td(e.state, e.state), td(+e.value.toFixed(4), "num")]);
    rows("connections-table", d.top_connections, (c) => [td(c.cid), td(c.name), td(c.ip), num(c.in_msgs), num(c.out_msgs), num(c.in_bytes), num(c.out_bytes), num(c.pending_bytes)]);
    const streamRows = [];
    for (const s of d.streams) {
      streamRows.push({ stream: s.name, consumer: "", messages: s.messages, bytes: s.bytes });
      for (const c of s.consumers) streamRows.push({ stream: s.name, consumer: c.name, ...c });
    }
    rows("streams", streamRows, (r) => r.consumer === ""
      ? [td(r.stream), td(""), num(r.messages), num(r.bytes), td(""), td(""), td("")]
      : [td(""), td(r.consumer), td(""), td(""), num(r.num_pending), num(r.num_ack_pending), num(r.num_redelivered)]);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  async function poll() {
    try {
      const r = await fetch("./dashboard.json", { cache: "no-store" });
      if (r.ok) render(await r.json());
    } catch (e) {
      // The server restarting: keep polling, the next answer fills the page again.
    }
    setTimeout(poll, 1000);
  }
  window.addEventListener("resize", () => {
    for (const [c, el] of [[msgsChart, $("chart-msgs")], [bytesChart, $("chart-bytes")]]) c.setSize({ width: el.clientWidth, height: 220 });
  });
  poll();
})();
