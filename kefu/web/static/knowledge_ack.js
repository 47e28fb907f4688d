// kefu knowledge: important announcements pop up on every page of a desktop user until each is
// acknowledged (GET …/announcements/pending, POST …/{id}/ack). Plain DOM, no CDN.
(function () {
  "use strict";
  if (window.kefuAckPopup) return;
  window.kefuAckPopup = true;
  const { fetchJson: api } = window.kefuHttp;
  const REFRESH_MS = 60_000; // announcements published while the page stays open appear too

  async function ackPopup(root) {
    const title = root.querySelector(".ack-title");
    const body = root.querySelector(".ack-body");
    const level = root.querySelector(".ack-level");
    const count = root.querySelector(".ack-count");
    const button = root.querySelector(".ack-button");
    const labels = JSON.parse(root.dataset.levels || "{}");
    let pending = [];
    const show = () => {
      if (!pending.length) { root.hidden = true; delete root.dataset.id; return; }
      const item = pending[0];
      title.textContent = item.title;
      body.textContent = item.body;
      level.textContent = labels[item.importance] || item.importance;
      level.className = `ack-level tag ${item.importance}`;
      root.classList.toggle("urgent", item.importance === "urgent");
      count.textContent = pending.length > 1 ? `(1/${pending.length})` : "";
      root.dataset.id = String(item.id);
      root.hidden = false;
    };
    const load = async () => {
      try { pending = await api("/api/v1/knowledge/announcements/pending"); } catch (e) { return; }
      show();
      root.dataset.loaded = "1";
    };
    button.addEventListener("click", async () => {
      const item = pending[0];
      if (!item) return;
      button.disabled = true;
      try {
        await api(`/api/v1/knowledge/announcements/${item.id}/ack`, { method: "POST" });
        pending.shift();
      } catch (e) { /* stays until the acknowledgement is recorded */ }
      button.disabled = false;
      show();
    });
    await load();
    setInterval(load, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-ack-popup]").forEach(ackPopup);
  });
})();
