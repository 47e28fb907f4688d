// Digital twin page: start a run (what-if knobs), poll its status, chart per-interval KPIs with CI bands.
(function () {
  "use strict";
  const { csrf } = window.kefuHttp;
  const charts = {};
  const COLORS = { base: "#6b7785", what_if: "#0b6bcb" };

  function bandSeries(name, values, ci, color, scale) {
    const v = values.map((x) => (x === null ? null : x * scale));
    const lo = values.map((x, i) => (x === null || ci[i] === null ? null : (x - ci[i]) * scale));
    const width = values.map((x, i) => (x === null || ci[i] === null ? null : 2 * ci[i] * scale));
    return [
      { name, type: "line", data: v, showSymbol: false, lineStyle: { color }, itemStyle: { color } },
      { name: `${name} lo`, type: "line", data: lo, stack: name, lineStyle: { opacity: 0 }, showSymbol: false, silent: true, tooltip: { show: false } },
      { name: `${name} CI`, type: "line", data: width, stack: name, lineStyle: { opacity: 0 }, showSymbol: false, areaStyle: { color, opacity: 0.15 }, silent: true, tooltip: { show: false } },
    ];
  }

  function draw(id, result, labels, metric, scale, bars) {
    const el = document.getElementById(id);
    if (!window.echarts) return;
    charts[id] = charts[id] || window.echarts.init(el);
    const series = [];
    const names = [];
    for (const key of ["base", "what_if"]) {
      const r = result[key];
      if (!r) continue;
      names.push(labels[key]);
      if (bars) {
        series.push({ name: labels[key], type: "bar", data: r[metric], itemStyle: { color: COLORS[key] } });
      } else {
        series.push(...bandSeries(labels[key], r[metric], r[`${metric}_ci`], COLORS[key], scale));
      }
    }
    charts[id].setOption({
      tooltip: { trigger: "axis" },
      legend: { data: names },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "category", data: result.base.labels },
      yAxis: { type: "value", max: scale === 100 ? 100 : null },
      series,
    }, true);
    el.dataset.rendered = "true";
  }

  function summary(result, labels) {
    const tbody = document.querySelector("#simulation-summary tbody");
    tbody.innerHTML = "";
    for (const key of ["base", "what_if"]) {
      const s = result[key] && result[key].summary;
      if (!s) continue;
      const tr = document.createElement("tr");
      tr.dataset.variant = key;
      const f = (v, d, p) => (v === null ? "" : p ? (v * 100).toFixed(d) + " %" : v.toFixed(d));
      for (const c of [labels[key], f(s.offered, 0), f(s.sl_f3, 1, true), f(s.asa_s, 1), f(s.p_abandon, 1, true)]) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
  }

  function show(result, labels) {
    document.getElementById("simulation-result").hidden = false;
    summary(result, labels);
    draw("sim-sl-chart", result, labels, "sl_f3", 100, false);
    draw("sim-asa-chart", result, labels, "asa_s", 1, false);
    draw("sim-occ-chart", result, labels, "occupancy", 100, false);
    draw("sim-ab-chart", result, labels, "abandoned", 1, true);
  }

  async function poll(id, labels, status) {
    for (;;) {
      const res = await fetch(`/api/v1/simulation/runs/${id}`, { credentials: "same-origin" });
      const run = await res.json();
      if (run.status === "done") {
        status.textContent = `${labels.done} (${run.seconds} s)`;
        status.dataset.status = "done";
        show(run.result, labels);
        return;
      }
      if (run.status === "failed" || !res.ok) {
        status.textContent = labels.failed;
        status.dataset.status = "failed";
        return;
      }
      status.textContent = `${labels.running} ${run.done}/${run.total}`;
      status.dataset.status = run.status;
      await new Promise((r) => setTimeout(r, 700));
    }
  }

  async function start(event) {
    const form = event.target.closest("#simulation-form");
    if (!form) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const labels = JSON.parse(form.dataset.labels);
    const errors = form.querySelector(".form-errors");
    errors.textContent = "";
    const v = (n) => form.elements[n].value;
    const body = {
      extra_agents: Number(v("extra_agents") || 0),
      extra_group: v("extra_group"),
      extra_from_interval: Number(v("extra_from_interval")),
      strategy: v("strategy") || null,
      replications: Number(v("replications") || 3),
      seed: Number(v("seed") || 1),
    };
    const res = await fetch("/api/v1/simulation/runs", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const lines = [data.title || res.statusText];
      for (const e of data.errors || []) lines.push(`${e.field}: ${e.message}`);
      errors.textContent = lines.join("\n");
      return;
    }
    await poll(data.id, labels, document.getElementById("simulation-status"));
  }

  document.addEventListener("submit", start, true);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
