// WFM planner: CSV upload, forecast-vs-actual and staffing-gap charts (ECharts, vendored).
(function () {
  "use strict";
  const { csrf } = window.kefuHttp;

  async function upload(event) {
    const form = event.target.closest("form[data-upload]");
    if (!form) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const out = form.querySelector(".form-errors");
    out.textContent = "";
    const file = form.querySelector('input[type="file"]').files[0];
    if (!file) return;
    const interval = form.querySelector('[name="interval_min"]').value;
    const res = await fetch(`${form.dataset.upload}?interval_min=${interval}`, {
      method: "POST",
      headers: { "Content-Type": "text/csv", "X-CSRF-Token": csrf() },
      body: await file.text(),
      credentials: "same-origin",
    });
    let body = {};
    try { body = await res.json(); } catch (e) { /* not JSON */ }
    if (res.ok) { window.location.reload(); return; }
    const lines = [body.title || res.statusText];
    for (const err of body.errors || []) lines.push(`${err.field}: ${err.message}`);
    out.textContent = lines.join("\n");
  }

  function forecastChart() {
    const el = document.getElementById("forecast-chart");
    if (!el || !window.echarts) return;
    const data = JSON.parse(el.dataset.forecast);
    const labels = JSON.parse(el.dataset.labels);
    const chart = window.echarts.init(el);
    const pick = document.getElementById("forecast-queue");
    const summary = document.getElementById("forecast-summary");
    const draw = () => {
      const q = data.queues[pick.value];
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [labels.actual, labels.forecast] },
        grid: { left: 48, right: 16, top: 32, bottom: 56 },
        xAxis: { type: "category", data: data.labels.map((s) => s.slice(5, 16).replace("T", " ")) },
        yAxis: { type: "value" },
        dataZoom: [{ type: "inside" }, { type: "slider", height: 16, bottom: 8 }],
        series: [
          { name: labels.actual, type: "line", data: q.actual, showSymbol: false, lineStyle: { color: "#6b7785" } },
          { name: labels.forecast, type: "line", data: q.forecast, showSymbol: false, lineStyle: { color: "#0b6bcb" } },
        ],
      }, true);
      summary.textContent = `${labels.total}: ${q.total_forecast}` + (q.wape === null ? "" : ` · WAPE ${(q.wape * 100).toFixed(1)} %`);
      el.dataset.rendered = "true";
    };
    pick.addEventListener("change", draw);
    draw();
    window.addEventListener("resize", () => chart.resize());
  }

  function staffingChart() {
    const el = document.getElementById("staffing-chart");
    if (!el || !window.echarts) return;
    const data = JSON.parse(el.dataset.staffing);
    const labels = JSON.parse(el.dataset.labels);
    const chart = window.echarts.init(el);
    const pick = document.getElementById("staffing-day");
    const step = data.interval_min;
    const times = data.required[0].map((_, i) => {
      const m = i * step;
      return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    });
    const draw = () => {
      const d = Number(pick.value);
      const req = data.required[d];
      const sch = data.scheduled[d];
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [labels.required, labels.scheduled, labels.gap] },
        grid: { left: 48, right: 16, top: 32, bottom: 32 },
        xAxis: { type: "category", data: times },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: labels.required, type: "line", step: "end", data: req, showSymbol: false, lineStyle: { color: "#b42318" } },
          { name: labels.scheduled, type: "line", step: "end", data: sch, showSymbol: false, lineStyle: { color: "#0b6bcb" } },
          { name: labels.gap, type: "bar", data: sch.map((s, i) => s - req[i]), itemStyle: { color: "#9fb8d3" } },
        ],
      }, true);
      el.dataset.rendered = "true";
    };
    pick.addEventListener("change", draw);
    draw();
    window.addEventListener("resize", () => chart.resize());
  }

  function intradayChart() {
    const el = document.getElementById("intraday-chart");
    if (!el || !window.echarts) return;
    const labels = JSON.parse(el.dataset.labels);
    const chart = window.echarts.init(el);
    const pick = document.getElementById("intraday-queue");
    const draw = async () => {
      const res = await fetch(`/api/v1/wfm/intraday?queue=${encodeURIComponent(pick.value)}`, { credentials: "same-origin" });
      if (!res.ok) return;
      const d = await res.json();
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [labels.forecast, labels.actual, labels.reforecast, labels.required, labels.scheduled, labels.gap] },
        grid: { left: 48, right: 48, top: 40, bottom: 32 },
        xAxis: { type: "category", data: d.labels },
        yAxis: [{ type: "value", name: "" }, { type: "value", minInterval: 1 }],
        series: [
          { name: labels.forecast, type: "line", data: d.forecast, showSymbol: false, lineStyle: { type: "dashed", color: "#9aa5b1" } },
          { name: labels.actual, type: "line", data: d.actual, showSymbol: false, lineStyle: { color: "#1f2933" } },
          { name: labels.reforecast, type: "line", data: d.reforecast, showSymbol: false, lineStyle: { color: "#0b6bcb" } },
          { name: labels.required, type: "line", step: "end", yAxisIndex: 1, data: d.required, showSymbol: false, lineStyle: { color: "#b42318" } },
          { name: labels.scheduled, type: "line", step: "end", yAxisIndex: 1, data: d.scheduled, showSymbol: false, lineStyle: { color: "#2f9e44" } },
          { name: labels.gap, type: "bar", yAxisIndex: 1, data: d.gap, itemStyle: { color: "#9fb8d3" } },
        ],
      }, true);
      el.dataset.rendered = "true";
    };
    pick.addEventListener("change", draw);
    draw();
    window.addEventListener("resize", () => chart.resize());
  }

  function twin() {
    const button = document.getElementById("evaluate-twin");
    const el = document.getElementById("twin-chart");
    if (!button || !el || !window.echarts) return;
    const labels = JSON.parse(el.dataset.labels);
    button.addEventListener("click", async () => {
      button.disabled = true;
      const day = Number((document.getElementById("staffing-day") || {}).value || 0);
      const res = await fetch(button.dataset.api, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ day: day, replications: 5 }),
        credentials: "same-origin",
      });
      button.disabled = false;
      if (!res.ok) return;
      const d = await res.json();
      el.hidden = false;
      const chart = window.echarts.init(el);
      const pct = (xs) => xs.map((x) => (x === null ? null : Math.round(x * 1000) / 10));
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [labels.twin, labels.erlang, labels.target] },
        grid: { left: 48, right: 16, top: 32, bottom: 32 },
        xAxis: { type: "category", data: d.labels },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value} %" } },
        series: [
          { name: labels.twin, type: "line", data: pct(d.sl_twin), lineStyle: { color: "#0b6bcb" } },
          { name: labels.erlang, type: "line", data: pct(d.sl_erlang), showSymbol: false, lineStyle: { type: "dashed", color: "#9aa5b1" } },
          { name: labels.target, type: "line", data: d.labels.map(() => d.target * 100), showSymbol: false, lineStyle: { color: "#b42318" } },
        ],
      }, true);
      document.getElementById("twin-summary").textContent =
        `${labels.day}: ${(d.day_sl * 100).toFixed(1)} % ± ${(d.day_sl_ci * 100).toFixed(1)}`;
      el.dataset.rendered = "true";
    });
  }

  // Live adherence exceptions: the server records one when an agent's state breaks the schedule.
  function liveExceptions() {
    const table = document.getElementById("exceptions");
    if (!table || !window.WebSocket) return;
    const names = JSON.parse(table.dataset.names || "{}");
    const body = table.querySelector("tbody");
    let since = null;
    const connect = () => {
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`);
      ws.onopen = () => ws.send(JSON.stringify(since === null
        ? { op: "subscribe", topics: ["wfm.adherence"] }
        : { op: "subscribe", topics: ["wfm.adherence"], since: since }));
      ws.onmessage = (msg) => {
        const m = JSON.parse(msg.data);
        if (m.op === "ping") { ws.send(JSON.stringify({ op: "pong" })); return; }
        if (m.op === "snapshot") { since = m.last_event_id; return; }
        if (m.op !== "event" || m.event.type !== "wfm_adherence_exception") return;
        since = m.event.id;
        const d = m.event.data;
        const at = new Date(m.event.occurred_at);
        const row = document.createElement("tr");
        row.className = "live";
        for (const text of [names[d.agent_id] || d.agent_id, d.scheduled, d.actual,
          `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`, table.dataset.live]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        }
        body.prepend(row);
      };
      ws.onclose = () => setTimeout(connect, 3000);
    };
    connect();
  }

  document.addEventListener("submit", upload, true);
  window.addEventListener("load", () => { forecastChart(); staffingChart(); intradayChart(); twin(); liveExceptions(); });
})();
