// Staffing calculator: calls per interval (typed or a CSV) → required agents (chart + table), exports.
(function () {
  "use strict";
  const { csrf } = window.kefuHttp;
  const pct = (v) => (v === null || v === undefined ? "" : (v * 100).toFixed(1) + " %");
  const num = (v, d) => (v === null || v === undefined ? "" : Number(v).toFixed(d));

  async function body(form) {
    const f = (name) => form.elements[name].value.trim();
    const opt = (name) => (f(name) === "" ? null : Number(f(name)));
    const out = {
      interval_min: Number(f("interval_min")),
      aht_s: opt("aht_s"),
      target: opt("target"),
      threshold_s: opt("threshold_s"),
      patience_s: opt("patience_s"),
      max_abandon: opt("max_abandon"),
      max_occupancy: opt("max_occupancy"),
      shrinkage: opt("shrinkage") ?? 0,
    };
    for (const k of ["target", "threshold_s"]) if (out[k] === null) delete out[k];
    const file = form.elements.file.files[0];
    if (file) {
      out.csv = await file.text();
    } else {
      const step = out.interval_min * 60000;
      const first = Date.parse(`${f("day")}T${f("first")}:00${form.dataset.offset}`);
      const calls = f("calls").split(/[\s,;，；]+/).filter((s) => s !== "");
      out.intervals = calls.map((c, i) => ({
        start: new Date(first + i * step).toISOString().replace(".000Z", "Z"),
        calls: Number.isFinite(Number(c)) ? Number(c) : c,
      }));
    }
    return out;
  }

  function showErrors(form, res, data) {
    const lines = [data.title || res.statusText];
    if (data.detail) lines.push(data.detail);
    for (const e of data.errors || []) lines.push(`${e.field}: ${e.message}`);
    form.querySelector(".form-errors").textContent = lines.join("\n");
  }

  function localTime(iso, offset) {
    const sign = offset[0] === "-" ? -1 : 1;
    const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
    return new Date(Date.parse(iso) + minutes * 60000).toISOString().slice(5, 16).replace("T", " ");
  }

  let chart = null;
  function show(form, data) {
    const labels = JSON.parse(form.dataset.labels);
    const times = data.rows.map((r) => localTime(r.start, form.dataset.offset));
    const section = document.getElementById("staffing-result");
    section.hidden = false;
    const tbody = document.querySelector("#staffing-table tbody");
    tbody.innerHTML = "";
    data.rows.forEach((r, i) => {
      const tr = document.createElement("tr");
      const cells = [times[i], num(r.calls, 0), num(r.aht_s, 0), num(r.load, 2), r.agents, r.scheduled,
        pct(r.service_level), num(r.asa_s, 1), pct(r.occupancy), pct(r.p_abandon)];
      cells.forEach((c, k) => {
        const td = document.createElement("td");
        td.textContent = String(c);
        if (k === 4) td.className = "agents";
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    document.getElementById("staffing-summary").textContent =
      `${data.model === "erlang_a" ? "Erlang A" : "Erlang C"} · ${labels.agents} max ${data.totals.peak_agents} · ${labels.scheduled} max ${data.totals.peak_scheduled}`;
    const el = document.getElementById("staffing-calc-chart");
    if (!window.echarts) return;
    chart = chart || window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.calls, labels.agents, labels.scheduled] },
      grid: { left: 48, right: 48, top: 32, bottom: 32 },
      xAxis: { type: "category", data: times.map((s) => s.slice(6)) },
      yAxis: [{ type: "value", name: labels.calls }, { type: "value", name: labels.agents, minInterval: 1 }],
      series: [
        { name: labels.calls, type: "bar", data: data.rows.map((r) => r.calls), itemStyle: { color: "#9fb8d3" } },
        { name: labels.agents, type: "line", step: "middle", yAxisIndex: 1, data: data.rows.map((r) => r.agents), lineStyle: { color: "#b42318" } },
        { name: labels.scheduled, type: "line", step: "middle", yAxisIndex: 1, data: data.rows.map((r) => r.scheduled), lineStyle: { color: "#0b6bcb", type: "dashed" } },
      ],
    }, true);
    el.dataset.rendered = "true";
  }

  async function post(form, url) {
    form.querySelector(".form-errors").textContent = "";
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(await body(form)),
      credentials: "same-origin",
    });
  }

  async function compute(event) {
    const form = event.target.closest("#staffing-form");
    if (!form) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const res = await post(form, "/api/v1/wfm/staffing");
    let data = {};
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) { showErrors(form, res, data); return; }
    show(form, data);
  }

  async function exportFile(event) {
    const button = event.target.closest("#staffing-form [data-export]");
    if (!button) return;
    const form = button.closest("form");
    const kind = button.dataset.export;
    const res = await post(form, `/api/v1/wfm/staffing/export?format=${kind}`);
    if (!res.ok) { showErrors(form, res, await res.json().catch(() => ({}))); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `staffing.${kind}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  document.addEventListener("submit", compute, true);
  document.addEventListener("click", exportFile);
  window.addEventListener("resize", () => chart && chart.resize());
})();
