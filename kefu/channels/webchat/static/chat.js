// The customer's chat page (standalone or inside the widget's iframe). Plain DOM, textContent
// only: whatever anyone types is shown as text, never as HTML.
//
// Delivery: every message has a per-conversation number (seq). The page shows messages only
// as the server streams them, strictly in seq order, each once; after a reload or a network
// drop it reconnects with the last seq it has and gets exactly the ones after it. Sends carry
// a client id: a retried send is stored once.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("chat-config").textContent);
  const S = config.strings;
  const KEY = config.key;
  const STORE = "kefu-chat-" + KEY;
  const OPEN = ["waiting", "active", "transferring"];
  const EMOJI = "😀😁😂🙂😊😍🤔😅😢😭😡👍👌🙏👏💪🎉❤️🌹☕📱💡✅❌⏰📞📶💰🏠🚗✈️🔧";
  const $ = (id) => document.getElementById(id);

  let token = localStorage.getItem(STORE) || "";
  let state = null;
  let lastSeq = 0;
  let pending = {};
  let socket = null;
  let retry = 0;
  let score = 0;
  const outbox = new Map(); // client id -> text, until the server streams it back

  function t(key, params) {
    return String(S[key] || key).replace(/\{(\w+)\}/g, (m, k) =>
      params && params[k] !== undefined && params[k] !== null ? String(params[k]) : m);
  }

  function clientId() {
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  async function api(method, path, body, raw) {
    const headers = token ? { "X-Chat-Token": token } : {};
    const init = { method, headers };
    if (raw) { init.body = raw; }
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const res = await fetch("/api/v1/webchat" + path, init);
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error(data ? data.title + (data.detail ? "\n" + data.detail : "") : res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // --- rendering -----------------------------------------------------------------------------
  function systemText(m) {
    const d = m.data || {};
    switch (m.kind) {
      case "welcome": return m.body;
      case "ivr": return m.body;
      case "self_service": return t("webchat.self_service", d);
      case "agent_joined": return t("webchat.agent_joined", d);
      case "transferring": return t("webchat.transferring");
      case "ended": return t("webchat.ended");
      case "customer_left": return t("webchat.customer_left");
      case "callback_booked": return t("webchat.callback_booked", d);
      case "rated": return t("webchat.rated");
      case "closed": return t(d.status === "expired" ? "webchat.closed_expired" : d.status === "abandoned" ? "webchat.closed_abandoned" : "webchat.ended");
      default: return "";
    }
  }

  async function showImage(img, attachmentId) {
    try {
      const res = await fetch(`/api/v1/webchat/conversation/files/${attachmentId}`, { headers: { "X-Chat-Token": token } });
      if (res.ok) img.src = URL.createObjectURL(await res.blob());
    } catch (e) { /* the name stays visible */ }
  }

  async function download(attachmentId, name) {
    const res = await fetch(`/api/v1/webchat/conversation/files/${attachmentId}`, { headers: { "X-Chat-Token": token } });
    if (!res.ok) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = name;
    a.click();
  }

  function render(m) {
    const li = document.createElement("li");
    li.className = m.sender;
    li.dataset.seq = m.seq;
    li.dataset.kind = m.kind;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    if (m.sender === "system") {
      bubble.textContent = systemText(m);
    } else if (m.kind === "image") {
      const img = document.createElement("img");
      img.alt = m.body;
      bubble.appendChild(img);
      showImage(img, m.data.attachment_id);
    } else if (m.kind === "file") {
      const link = document.createElement("a");
      link.href = "#";
      link.textContent = "📄 " + m.body;
      link.addEventListener("click", (e) => { e.preventDefault(); download(m.data.attachment_id, m.body); });
      bubble.appendChild(link);
    } else {
      bubble.textContent = m.body;
    }
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = new Date(m.at).toLocaleTimeString();
    bubble.appendChild(time);
    li.appendChild(bubble);
    const list = $("messages");
    const pendingEl = m.client_id ? list.querySelector(`li.pending[data-client="${m.client_id}"]`) : null;
    if (pendingEl) pendingEl.remove();
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }

  function place(m) {
    if (m.seq <= lastSeq || pending[m.seq]) return;
    pending[m.seq] = m;
    while (pending[lastSeq + 1]) {
      const next = pending[lastSeq + 1];
      delete pending[lastSeq + 1];
      lastSeq = next.seq;
      if (next.client_id) outbox.delete(next.client_id);
      render(next);
      if (next.data && next.data.status) setStatus(next.data.status, next);
    }
  }

  function showPending(id, text) {
    const li = document.createElement("li");
    li.className = "customer pending";
    li.dataset.client = id;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    li.appendChild(bubble);
    $("messages").appendChild(li);
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  function setStatus(status, message) {
    if (!state) state = {};
    state.status = status;
    const open = OPEN.includes(status);
    $("composer").hidden = !open;
    $("end-chat").hidden = !open;
    $("callback-form").hidden = !(["waiting", "transferring"].includes(status) && state.callback_available);
    $("queue-info").hidden = !["waiting", "transferring"].includes(status);
    if (status === "active" && message && message.kind === "agent_joined") {
      $("agent-banner").textContent = t("webchat.agent_joined", message.data);
      $("agent-banner").hidden = false;
    }
    if (status !== "active") $("agent-banner").hidden = true;
    $("rating-form").hidden = !(status === "ended" && !state.rating);
    $("done").hidden = open || (status === "ended" && !state.rating);
  }

  function showQueue(position, wait) {
    if (!position) { $("queue-info").textContent = t("webchat.waiting_unknown"); return; }
    let text = t("webchat.waiting", { position: position - 1 });
    if (wait !== null && wait !== undefined) text += " · " + t("webchat.waiting_eta", { minutes: Math.max(1, Math.round(wait / 60)) });
    $("queue-info").textContent = text;
  }

  // --- the socket ----------------------------------------------------------------------------
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/webchat/ws`);
    socket = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ op: "hello", token, after_seq: lastSeq }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.op === "welcome") {
        retry = 0;
        $("notice").hidden = true;
        state = msg.conversation;
        setStatus(state.status);
        if (["waiting", "transferring"].includes(state.status)) showQueue(state.position, state.expected_wait_s);
        for (const [id, text] of outbox) ws.send(JSON.stringify({ op: "send", client_id: id, text }));
      } else if (msg.op === "message") {
        place(msg.message);
      } else if (msg.op === "queue") {
        showQueue(msg.position, msg.expected_wait_s);
      } else if (msg.op === "error") {
        if (msg.code === "chat_token_invalid") { forget(); return; }
        if (msg.client_id) {
          outbox.delete(msg.client_id);
          const el = document.querySelector(`li.pending[data-client="${msg.client_id}"]`);
          if (el) el.remove();
          $("send-error").textContent = t("error." + msg.code + ".title") + "\n" + t("error." + msg.code + ".detail");
        }
      }
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      if (!token) return;
      $("notice").textContent = t("webchat.reconnecting");
      $("notice").hidden = false;
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 300 * 2 ** retry);
    };
  }

  setInterval(() => { if (socket && socket.readyState === 1) socket.send(JSON.stringify({ op: "ping" })); }, 25000);

  function forget() {
    token = "";
    localStorage.removeItem(STORE);
    if (socket) { const s = socket; socket = null; s.close(); }
    lastSeq = 0; pending = {}; state = null; outbox.clear();
    $("messages").textContent = "";
    $("room").hidden = true;
    $("start-form").hidden = false;
    $("end-chat").hidden = true;
  }

  function enterRoom() {
    $("start-form").hidden = true;
    $("room").hidden = false;
    connect();
  }

  // --- actions -------------------------------------------------------------------------------
  async function start(event) {
    event.preventDefault();
    const form = event.target;
    $("start-error").textContent = "";
    const body = {
      name: form.name.value, phone: form.phone.value.replace(/[^0-9+]/g, ""), topic: form.topic.value,
      message: form.message.value, page_url: (document.referrer || "").slice(0, 500),
    };
    try {
      const out = await api("POST", `/public/${KEY}/conversations`, body);
      token = out.token;
      localStorage.setItem(STORE, token);
      state = out.conversation;
      enterRoom();
    } catch (e) { $("start-error").textContent = e.message; }
  }

  function send(event) {
    event.preventDefault();
    const input = $("input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    $("send-error").textContent = "";
    const id = clientId();
    outbox.set(id, text);
    showPending(id, text);
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify({ op: "send", client_id: id, text }));
    } else {
      api("POST", "/conversation/messages", { text, client_id: id }).catch(() => { /* resent on reconnect */ });
    }
  }

  async function upload(event) {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    $("send-error").textContent = "";
    try {
      await api("POST", `/files/conversation?name=${encodeURIComponent(file.name)}`, undefined, file);
    } catch (e) { $("send-error").textContent = e.message; }
  }

  async function callback(event) {
    event.preventDefault();
    $("send-error").textContent = "";
    try { await api("POST", "/conversation/callback", { phone: $("callback-phone").value }); }
    catch (e) { $("send-error").textContent = e.message; }
  }

  async function end() {
    try { await api("POST", "/conversation/end"); } catch (e) { $("send-error").textContent = e.message; }
  }

  async function rate(event) {
    event.preventDefault();
    try {
      await api("POST", "/conversation/rating", { score, comment: $("rating-comment").value });
      state.rating = score;
      $("rating-form").hidden = true;
      $("done").hidden = false;
    } catch (e) { $("send-error").textContent = e.message; }
  }

  async function boot() {
    $("start-form").addEventListener("submit", start);
    $("composer").addEventListener("submit", send);
    $("input").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(e); }
    });
    $("file-input").addEventListener("change", upload);
    $("callback-form").addEventListener("submit", callback);
    $("end-chat").addEventListener("click", end);
    $("rating-form").addEventListener("submit", rate);
    $("new-chat").addEventListener("click", forget);
    for (const star of document.querySelectorAll("#stars button")) {
      star.addEventListener("click", () => {
        score = Number(star.dataset.score);
        for (const other of document.querySelectorAll("#stars button")) other.classList.toggle("on", Number(other.dataset.score) <= score);
        $("rating-submit").disabled = false;
      });
    }
    const box = $("emoji");
    for (const ch of Array.from(EMOJI)) {
      if (!ch.trim() || ch === "\ufe0f") continue;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = ch;
      b.addEventListener("click", () => { $("input").value += ch; box.hidden = true; $("input").focus(); });
      box.appendChild(b);
    }
    $("emoji-toggle").addEventListener("click", () => { box.hidden = !box.hidden; });
    try {
      const widget = await api("GET", `/public/${KEY}`);
      $("welcome").textContent = widget.welcome;
      const select = document.querySelector("#start-form select[name=topic]");
      if (widget.topics.length) {
        $("topic-label").hidden = false;
        select.appendChild(new Option("—", ""));
        for (const topic of widget.topics) select.appendChild(new Option(topic.label, topic.code));
      }
    } catch (e) { $("start-error").textContent = e.message; }
    if (token) {
      try {
        state = await api("GET", "/conversation");
        enterRoom();
        return;
      } catch (e) {
        if (e.status === 401) forget();
      }
    }
    $("start-form").hidden = false;
  }

  boot();
})();
