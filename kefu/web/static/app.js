// kefu page helpers: JSON forms with CSRF and problem-details errors; ECharts charts.
(function () {
  "use strict";
  const { csrf } = window.kefuHttp;

  function formValues(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      const type = el.dataset.type;
      if (type === "list") { body[el.name] = Array.from(el.selectedOptions).map((o) => o.value); continue; }
      if (el.value === "") continue;
      body[el.name] = type === "int" ? Number(el.value) : el.value;
    }
    return body;
  }

  async function submitJson(event) {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    const out = form.querySelector(".form-errors");
    if (out) out.textContent = "";
    const res = await fetch(form.dataset.api, {
      method: form.dataset.method || "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(formValues(form)),
      credentials: "same-origin",
    });
    if (res.ok) {
      if (form.dataset.reload) window.location.reload();
      return;
    }
    let problem = {};
    try { problem = await res.json(); } catch (e) { /* not JSON */ }
    const lines = [problem.title || res.statusText];
    for (const err of problem.errors || []) lines.push(`${err.field}: ${err.message}`);
    if (!problem.errors && problem.detail) lines.push(problem.detail);
    if (out) out.textContent = lines.join("\n");
  }

  function drawCharts() {
    if (!window.echarts) return;
    for (const el of document.querySelectorAll("[data-chart]")) {
      const data = JSON.parse(el.dataset.chart);
      const chart = window.echarts.init(el);
      chart.setOption({
        tooltip: {},
        grid: { left: 40, right: 16, top: 16, bottom: 40 },
        xAxis: { type: "category", data: data.map((d) => d.name) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: data.map((d) => d.value), itemStyle: { color: "#0b6bcb" } }],
      });
      el.dataset.rendered = "true";
      window.addEventListener("resize", () => chart.resize());
    }
  }

  document.addEventListener("submit", submitJson);
  window.addEventListener("load", drawCharts);
})();
