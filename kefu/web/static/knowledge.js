// kefu knowledge: the search box (also on the agent desktop), copy/paste an answer, feedback,
// editor forms. The announcement popup is knowledge_ack.js (every page). Plain DOM, no CDN.
(function () {
  "use strict";
  if (window.kefuKnowledge) return; // included by several partials on one page
  window.kefuKnowledge = true;
  const { fetchJson: api } = window.kefuHttp;
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "html") node.innerHTML = v; // only for server-escaped snippets
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      const area = el("textarea", { style: "position:fixed;left:-9999px" });
      area.value = text;
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      area.remove();
      return ok;
    }
  }

  // --- the knowledge box --------------------------------------------------------------------
  function knowledgeBox(root) {
    const t = JSON.parse(root.dataset.i18n || "{}");
    const input = root.querySelector(".kb-q");
    const module = root.querySelector(".kb-module");
    const list = root.querySelector(".kb-results");
    const meta = root.querySelector(".kb-meta");
    const askBox = root.querySelector(".kb-ask");
    let lastQuery = "";
    let latest = 0; // only the newest search may render: an older answer never replaces it
    let timer = null;

    function render(data) {
      list.replaceChildren();
      meta.textContent = data.items.length ? (t.took || "").replace("{ms}", data.took_ms) : "";
      if (askBox) {
        askBox.hidden = data.items.length > 0 || !data.query;
        const field = askBox.querySelector("[name=text]");
        if (field && !field.value) field.value = data.query;
      }
      data.items.forEach((item, i) => {
        const answer = el("div", { class: "kb-answer", hidden: "" }, item.body);
        const status = el("span", { class: "kb-status muted small" });
        const copy = el("button", { type: "button", class: "kb-copy primary" }, t.copy || "copy");
        copy.addEventListener("click", async () => {
          await copyText(item.body);
          const reply = document.querySelector(root.dataset.target || "#reply");
          if (reply) { reply.value = item.body; reply.dispatchEvent(new Event("input")); }
          copy.textContent = t.copied || "copied";
          status.textContent = "";
        });
        const vote = (helpful) => async () => {
          await api(`/api/v1/knowledge/articles/${item.id}/feedback`, {
            method: "POST", body: JSON.stringify({ helpful, query: lastQuery }),
          });
          status.textContent = t.thanks || "thanks";
        };
        const title = el("a", { href: "#", class: "kb-title" }, item.title);
        title.addEventListener("click", (ev) => { ev.preventDefault(); answer.hidden = !answer.hidden; });
        list.append(
          el("li", { class: "kb-hit", "data-id": String(item.id) },
            el("div", { class: "kb-head" }, title, " ", el("span", { class: "tag" }, item.module || "")),
            el("div", { class: "kb-snippet small", html: item.snippet }),
            answer,
            el("div", { class: "kb-actions" }, copy,
              el("button", { type: "button", class: "kb-up", onclick: vote(true) }, t.helpful || "+"),
              el("button", { type: "button", class: "kb-down", onclick: vote(false) }, t.not_helpful || "-"),
              status)));
        if (i === 0) answer.hidden = false;
      });
    }

    async function search() {
      clearTimeout(timer);
      const mine = ++latest;
      const q = input.value.trim();
      lastQuery = q;
      if (!q) { list.replaceChildren(); meta.textContent = ""; return; }
      const params = new URLSearchParams({ q, limit: "8" });
      if (module && module.value) params.set("module_id", module.value);
      const data = await api(`/api/v1/knowledge/search?${params}`);
      if (mine === latest) render(data);
    }
    root.querySelector(".kb-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 300); });
    if (askBox) {
      askBox.querySelector("form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const form = ev.target;
        const body = { text: form.text.value, context: form.context ? form.context.value : "" };
        if (module && module.value) body.module_id = Number(module.value);
        const out = form.querySelector(".form-errors");
        try {
          const q = await api("/api/v1/knowledge/questions", { method: "POST", body: JSON.stringify(body) });
          out.textContent = (t.asked || "#") + q.id;
          form.reset();
        } catch (res) {
          out.textContent = res.statusText || "error";
        }
      });
    }
    if (input.value) search();
  }

  // --- simple action buttons: POST a JSON body and reload -------------------------------------
  function actionButtons() {
    document.addEventListener("click", async (ev) => {
      const button = ev.target.closest("[data-post]");
      if (!button) return;
      ev.preventDefault();
      const out = document.querySelector(button.dataset.errors || "#action-errors");
      try {
        await api(button.dataset.post, { method: "POST", body: button.dataset.body || "{}" });
        if (button.dataset.go) window.location.href = button.dataset.go;
        else window.location.reload();
      } catch (res) {
        let problem = {};
        try { problem = await res.json(); } catch (e) { /* not JSON */ }
        const lines = [problem.title || res.statusText, problem.detail || ""];
        for (const err of problem.errors || []) lines.push(`${err.field}: ${err.message}`);
        if (out) out.textContent = lines.filter(Boolean).join("\n");
      }
    });
  }

  // --- JSON forms with list/int/date fields (article editor, announcements, questions) ---------
  function formBody(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.disabled) continue;
      const type = field.dataset.type || "text";
      const value = field.type === "checkbox" ? field.checked : field.value;
      if (type === "lines") body[field.name] = value.split("\n").map((v) => v.trim()).filter(Boolean);
      else if (type === "csv") body[field.name] = value.split(/[,，、]/).map((v) => v.trim()).filter(Boolean);
      else if (type === "groups") body[field.name] = value.split("\n").map((line) => line.split(/[,，、]/).map((v) => v.trim()).filter(Boolean)).filter((g) => g.length > 1);
      else if (type === "list") body[field.name] = Array.from(field.selectedOptions).map((o) => o.value);
      else if (type === "bool") body[field.name] = field.type === "checkbox" ? field.checked : value === "true";
      else if (value === "" && !field.dataset.keepEmpty) continue;
      else if (type === "int") body[field.name] = Number(value);
      else if (type === "datetime") body[field.name] = value.length === 16 ? `${value}:00+08:00` : value;
      else body[field.name] = value;
    }
    return body;
  }

  function jsonForms() {
    document.addEventListener("submit", async (ev) => {
      const form = ev.target.closest("form[data-kb-api]");
      if (!form) return;
      ev.preventDefault();
      const out = form.querySelector(".form-errors");
      if (out) out.textContent = "";
      try {
        const data = await api(form.dataset.kbApi, {
          method: form.dataset.method || "POST", body: JSON.stringify(formBody(form)),
        });
        if (form.dataset.go) window.location.href = form.dataset.go.replace("{id}", data && data.id);
        else window.location.reload();
      } catch (res) {
        let problem = {};
        try { problem = await res.json(); } catch (e) { /* not JSON */ }
        const lines = [problem.title || res.statusText, problem.detail || ""];
        for (const err of problem.errors || []) lines.push(`${err.field}: ${err.message}`);
        if (out) out.textContent = lines.filter(Boolean).join("\n");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    jsonForms();
    document.querySelectorAll("[data-knowledge-box]").forEach(knowledgeBox);
    actionButtons();
  });
})();
