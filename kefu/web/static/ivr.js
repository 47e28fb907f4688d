// IVR pages: create a flow, edit its draft (JSON/YAML), validate, save, publish, roll back, prompts.
(function () {
  "use strict";
  const { request: call } = window.kefuHttp;
  const $ = (sel) => document.querySelector(sel);

  function problemText(res, data) {
    const lines = [data.title || res.statusText];
    if (data.detail) lines.push(data.detail);
    for (const e of data.errors || []) lines.push(`${e.field}: ${e.message}`);
    return lines.join("\n");
  }

  function showFindings(list) {
    const ul = $("#ivr-findings");
    if (!ul) return;
    ul.textContent = "";
    if (!list.length) {
      const li = document.createElement("li");
      li.className = "muted none";
      li.textContent = ul.dataset.none || "✓";
      ul.appendChild(li);
      return;
    }
    for (const f of list) {
      const li = document.createElement("li");
      li.className = `finding ${f.level}`;
      li.dataset.code = f.code;
      const b = document.createElement("b");
      b.textContent = ul.dataset[f.level] || f.level;
      li.appendChild(b);
      li.appendChild(document.createTextNode(" " + (f.node ? f.node + ": " : "") + f.message));
      ul.appendChild(li);
    }
  }

  function editorBody() {
    const editor = $("#ivr-editor");
    return { source: $("#ivr-source").value, format: editor.dataset.format };
  }

  async function onEditor(event) {
    const editor = $("#ivr-editor");
    const id = event.target.id;
    if (!editor || !["ivr-validate", "ivr-save", "ivr-publish"].includes(id)) return;
    const flow = editor.dataset.flow;
    const errors = $("#ivr-errors");
    const result = $("#ivr-result");
    errors.textContent = "";
    result.textContent = "";
    if (id === "ivr-validate") {
      const { res, data } = await call("POST", "/api/v1/ivr/validate", editorBody());
      if (!res.ok) { errors.textContent = problemText(res, data); return; }
      showFindings(data.findings);
      result.textContent = data.valid ? "✓" : "✖";
      result.dataset.valid = String(data.valid);
      return;
    }
    const saved = await call("PUT", `/api/v1/ivr/flows/${flow}/draft`, editorBody());
    if (!saved.res.ok) { errors.textContent = problemText(saved.res, saved.data); return; }
    showFindings(saved.data.findings);
    const version = saved.data.version.version;
    if (id === "ivr-save") {
      window.location.href = `/ivr/flows/${flow}?version=${version}&format=${editor.dataset.format}&saved=1`;
      return;
    }
    const pub = await call("POST", `/api/v1/ivr/flows/${flow}/versions/${version}/publish`);
    if (!pub.res.ok) { errors.textContent = problemText(pub.res, pub.data); return; }
    window.location.href = `/ivr/flows/${flow}?version=${version}&format=${editor.dataset.format}&published=1`;
  }

  async function onRollback(event) {
    const button = event.target.closest(".ivr-rollback");
    if (!button) return;
    const flow = $("#ivr-editor").dataset.flow;
    const { res, data } = await call("POST", `/api/v1/ivr/flows/${flow}/versions/${button.dataset.version}/rollback`);
    if (!res.ok) { $("#ivr-errors").textContent = problemText(res, data); return; }
    window.location.reload();
  }

  async function onCreate(event) {
    if (event.target.id === "ivr-new") {
      event.preventDefault();
      const form = event.target;
      const body = { code: form.elements.code.value.trim(), name: form.elements.name.value.trim(),
        source: form.elements.source.value, format: "json" };
      const { res, data } = await call("POST", "/api/v1/ivr/flows", body);
      if (!res.ok) { $("#ivr-new-errors").textContent = problemText(res, data); return; }
      window.location.href = `/ivr/flows/${data.flow.id}`;
    } else if (event.target.id === "ivr-prompt") {
      event.preventDefault();
      const form = event.target;
      const body = new FormData();
      for (const name of ["code", "name", "text"]) body.append(name, form.elements[name].value.trim());
      const file = form.elements.audio.files[0];
      if (file) body.append("audio", file);
      const { res, data } = await call("POST", "/api/v1/ivr/prompts", body);
      if (!res.ok) { $("#ivr-prompt-errors").textContent = problemText(res, data); return; }
      window.location.reload();
    }
  }

  document.addEventListener("click", onEditor);
  document.addEventListener("click", onRollback);
  document.addEventListener("submit", onCreate);
})();
