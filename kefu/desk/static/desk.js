// The agent desktop (Alpine component "deskApp"): routing state, offers with their ring
// countdown, concurrent chats as tabs, customer 360, transfer, wrap-up, quick replies,
// knowledge. Every text from customers is rendered with x-text (never as HTML).
(function () {
  "use strict";

  const { csrf, api, fmt } = window.kefuHttp;

  function clientId() {
    return "d" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  // Commands sent over the staff websocket, waiting for their reply (by ref).
  const calls = new Map();

  // One command on the open socket: resolves with its data, rejects with the problem
  // (err.problem) or, when the socket is not open or does not answer, with err.transport.
  function socketCall(ws, op, payload, timeoutMs) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        const err = new Error("offline");
        err.transport = true;
        reject(err);
        return;
      }
      const ref = clientId();
      const timer = setTimeout(() => {
        calls.delete(ref);
        const err = new Error("timeout");
        err.transport = true;
        reject(err);
      }, timeoutMs || 5000);
      calls.set(ref, { resolve, reject, timer });
      ws.send(JSON.stringify(Object.assign({ op, ref }, payload)));
    });
  }

  function settleCall(msg) {
    const call = calls.get(msg.ref);
    if (!call) return false;
    calls.delete(msg.ref);
    clearTimeout(call.timer);
    if (msg.op === "result") call.resolve(msg.data);
    else {
      const p = msg.problem || {};
      const err = new Error((p.title || msg.code) + (p.detail ? "\n" + p.detail : ""));
      err.problem = p;
      call.reject(err);
    }
    return true;
  }

  window.deskApp = function () {
    return {
      s: {},
      me: { id: 0, name: "", job_number: "" },
      desk: { state: "offline", presence: "offline", reason: "", since: null, contacts: [], reasons: [], emotions: [], capacity: {} },
      convs: {},
      activeId: null,
      now: Date.now(),
      skew: 0,
      ws: null,
      online: true,
      error: "",
      dispositions: [],
      targets: { queues: [], agents: [] },
      transferOpen: false,
      transfer: { mode: "queue", queue: "", agent_id: "", note: "", emotion: "" },
      wrap: { disposition: "", business_type: "", notes: "", complaint: false },
      rtab: "customer",
      kb: { q: "", items: [], available: true, searched: false },
      refreshTimer: null,

      t(key, params) { return fmt(this.s[key] || key, params); },

      async init() {
        this.s = JSON.parse(document.getElementById("desk-strings").textContent);
        setInterval(() => { this.now = Date.now(); }, 500);
        document.addEventListener("keydown", (e) => this.onKey(e));
        try {
          const list = await api("GET", "/api/v1/desk/dispositions?limit=500");
          this.dispositions = list.items.filter((d) => d.active);
        } catch (e) { this.dispositions = []; }
        await this.refresh();
        this.connect();
      },

      // --- time ---------------------------------------------------------------------------
      serverNow() { return this.now + this.skew; },
      secondsSince(iso) { return iso ? Math.max(0, Math.floor((this.serverNow() - Date.parse(iso)) / 1000)) : 0; },
      secondsUntil(iso) { return iso ? Math.max(0, Math.ceil((Date.parse(iso) - this.serverNow()) / 1000)) : 0; },
      clock(sec) {
        const m = Math.floor(sec / 60), s = sec % 60;
        return (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
      },

      // --- routing state ------------------------------------------------------------------
      async refresh() {
        try {
          const desk = await api("GET", "/api/v1/desk/me");
          this.skew = Date.parse(desk.now) - Date.now();
          this.me = desk.user;
          this.desk = desk;
          const ids = desk.contacts.map((c) => c.contact_id);
          for (const id of Object.keys(this.convs)) {
            if (!ids.includes(id)) delete this.convs[id];
          }
          for (const c of desk.contacts) {
            const known = this.convs[c.contact_id];
            if (!known) { await this.openContact(c); continue; }
            const answered = known.contact.phase === "offered" && c.phase === "active";
            known.contact = c;
            if (answered) this.catchUp(known);  // what the customer wrote while it rang
          }
          if (!this.activeId || !this.convs[this.activeId]) {
            const first = desk.contacts.find((c) => c.phase !== "offered") || desk.contacts[0];
            this.activeId = first ? first.contact_id : null;
          }
        } catch (e) { this.fail(e); }
      },
      scheduleRefresh() {
        if (this.refreshTimer) return;
        this.refreshTimer = setTimeout(() => { this.refreshTimer = null; this.refresh(); }, 150);
      },
      get offers() { return this.desk.contacts.filter((c) => c.phase === "offered"); },
      get tabs() { return this.desk.contacts.filter((c) => c.phase !== "offered"); },
      get active() { return this.activeId ? this.convs[this.activeId] : null; },
      stateLabel() {
        const st = this.t("desk.state." + this.desk.state);
        if (this.desk.state === "not_ready" && this.desk.reason) {
          return st + " · " + (this.s["desk.reason." + this.desk.reason] || this.desk.reason);
        }
        return st;
      },
      load(media) {
        const cap = (this.desk.capacity || {})[media] || 0;
        const used = this.desk.contacts.filter((c) => c.media === media).length;
        return used + "/" + cap;
      },

      async act(fn) {
        this.error = "";
        try { await fn(); } catch (e) { this.fail(e); }
        await this.refresh();
      },
      fail(e) { this.error = this.t("desk.error") + ": " + (e && e.message ? e.message : String(e)); },
      signIn() { return this.act(() => api("POST", "/api/v1/routing/me/login")); },
      signOut() { return this.act(() => api("POST", "/api/v1/routing/me/logout")); },
      ready() {
        return this.act(async () => {
          if (this.desk.presence === "offline") await api("POST", "/api/v1/routing/me/login");
          await api("PUT", "/api/v1/routing/me/state", { presence: "ready" });
        });
      },
      notReady(reason) {
        return this.act(async () => {
          if (this.desk.presence === "offline") await api("POST", "/api/v1/routing/me/login");
          await api("PUT", "/api/v1/routing/me/state", { presence: "not_ready", reason: reason || "break" });
        });
      },
      accept(contactId) {
        const id = contactId || (this.offers[0] && this.offers[0].contact_id);
        if (!id) return;
        this.activeId = id;
        return this.act(() => api("POST", `/api/v1/routing/me/offers/${id}/accept`));
      },
      decline(contactId) {
        return this.act(() => api("POST", `/api/v1/routing/me/offers/${contactId}/decline`));
      },

      // --- contacts and chats -------------------------------------------------------------
      async openContact(c) {
        this.convs[c.contact_id] = {
          contact: c, pop: null, chat: null, messages: [], lastSeq: 0, pending: {},
          draft: "", replies: [], fetching: false, unread: 0,
          held: false, muted: false, sensitive: false, dtmf: "",
        };
        const conv = this.convs[c.contact_id];  // the reactive proxy
        try { conv.pop = await api("GET", `/api/v1/desk/contacts/${c.contact_id}/screen-pop`); } catch (e) { conv.pop = null; }
        try { conv.replies = (await api("GET", `/api/v1/desk/contacts/${c.contact_id}/quick-replies`)).items; } catch (e) { conv.replies = []; }
        if (c.media === "chat") {
          try {
            const data = await api("GET", `/api/v1/webchat/contacts/${c.contact_id}`);
            conv.chat = data.conversation;
            for (const m of data.messages) this.place(conv, m);
            this.catchUp(conv);  // anything stored between the load and now
          } catch (e) { conv.chat = null; }
        }
        this.$nextTick(() => this.scrollDown());
      },
      convByChat(chatId) {
        return Object.values(this.convs).find((c) => c.chat && c.chat.id === chatId);
      },
      place(conv, m) {
        if (m.seq <= conv.lastSeq || conv.pending[m.seq]) return;
        conv.pending[m.seq] = m;
        while (conv.pending[conv.lastSeq + 1]) {
          const next = conv.pending[conv.lastSeq + 1];
          delete conv.pending[conv.lastSeq + 1];
          conv.messages.push(next);
          conv.lastSeq = next.seq;
          if (next.data && next.data.status && conv.chat) conv.chat.status = next.data.status;
          if (next.kind === "rated" && conv.chat) conv.chat.rating = next.data.score;
        }
      },
      async catchUp(conv) {
        if (!conv.chat) return;
        try {
          const got = await api("GET", `/api/v1/webchat/conversations/${conv.chat.id}/messages?after_seq=${conv.lastSeq}`);
          for (const x of got.items) this.place(conv, x);
        } catch (e) { /* retried at the next reconnect */ }
      },
      async onChatMessage(m) {
        const conv = this.convByChat(m.conversation_id);
        if (!conv) return;
        if (m.seq > conv.lastSeq + 1 && !conv.fetching) {
          conv.fetching = true;  // a gap: fetch what is missing, then place in order
          try {
            const got = await api("GET", `/api/v1/webchat/conversations/${conv.chat.id}/messages?after_seq=${conv.lastSeq}`);
            for (const x of got.items) this.place(conv, x);
          } catch (e) { /* the next event retries */ }
          conv.fetching = false;
        }
        this.place(conv, m);
        if (conv !== this.active && m.sender === "customer") conv.unread += 1;
        this.$nextTick(() => this.scrollDown());
      },
      scrollDown() {
        const el = document.getElementById("transcript");
        if (el) el.scrollTop = el.scrollHeight;
      },
      select(id) {
        this.activeId = id;
        if (this.convs[id]) this.convs[id].unread = 0;
        this.wrap = { disposition: "", business_type: "", notes: "", complaint: false };
        this.$nextTick(() => this.scrollDown());
      },
      systemText(m) {
        const d = m.data || {};
        if (m.kind === "welcome") return m.body;
        return this.t("desk.msg." + m.kind, d);
      },
      fileUrl(m) { return `/api/v1/webchat/conversations/${m.conversation_id}/files/${m.data.attachment_id}`; },
      canChat() {
        const c = this.active;
        return c && c.chat && c.chat.status === "active" && c.contact.phase === "active";
      },
      async send() {
        const c = this.active;
        if (!c || !c.chat || !c.draft.trim()) return;
        const text = c.draft;
        const id = clientId();
        c.draft = "";
        try {
          let m;
          try {
            // Over the open socket (no HTTP request per message); if it is down or silent,
            // by REST with the same client_id: the server stores the text once either way.
            m = await socketCall(this.ws, "chat.send", { conversation_id: c.chat.id, text, client_id: id });
          } catch (e) {
            if (!e.transport) throw e;
            m = await api("POST", `/api/v1/webchat/conversations/${c.chat.id}/messages`, { text, client_id: id });
          }
          this.place(c, m);
          this.$nextTick(() => this.scrollDown());
        } catch (e) {
          c.draft = text;
          this.fail(e);
        }
      },
      async upload(event) {
        const c = this.active;
        const file = event.target.files[0];
        event.target.value = "";
        if (!c || !c.chat || !file) return;
        try {
          const res = await fetch(`/api/v1/webchat/files/conversations/${c.chat.id}?name=${encodeURIComponent(file.name)}`, {
            method: "POST", body: file, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() },
          });
          const data = await res.json();
          if (!res.ok) throw new Error(data.title + "\n" + (data.detail || ""));
          this.place(c, data);
        } catch (e) { this.fail(e); }
      },
      useReply(r) {
        const c = this.active;
        if (!c) return;
        c.draft = c.draft && !c.draft.startsWith("/") ? c.draft + r.text : r.text;
        this.$nextTick(() => { const el = document.getElementById("composer"); if (el) el.focus(); });
      },
      composerKey(e) {
        const c = this.active;
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          if (c && c.draft.startsWith("/")) {
            const word = c.draft.slice(1).trim();
            const hit = c.replies.find((r) => r.shortcut && r.shortcut === word);
            if (hit) { c.draft = hit.text; return; }
          }
          this.send();
        }
      },
      endChat() {
        const c = this.active;
        if (!c) return;
        if (c.chat && c.chat.status === "active") {
          return this.act(() => api("POST", `/api/v1/webchat/conversations/${c.chat.id}/end`));
        }
        if (c.contact.phase === "active") {
          return this.act(() => api("POST", `/api/v1/routing/me/contacts/${c.contact.contact_id}/complete`));
        }
      },

      // --- voice call controls (kefu.channels.voice) ---------------------------------------
      voiceCall(action, digits) {
        const c = this.active;
        if (!c || c.contact.media !== "voice") return;
        const body = { action, digits: action === "dtmf" ? (digits || "").replace(/[^0-9*#]/g, "") : "" };
        return this.act(async () => {
          await api("POST", `/api/v1/voice/calls/${c.contact.contact_id}/control`, body);
          if (action === "hold" || action === "unhold") c.held = action === "hold";
          if (action === "mute" || action === "unmute") c.muted = action === "mute";
          if (action === "dtmf") c.dtmf = "";
        });
      },
      voiceSensitive() {
        const c = this.active;
        if (!c || c.contact.media !== "voice") return;
        const active = !c.sensitive;  // recording pauses while the caller keys card numbers
        return this.act(async () => {
          await api("POST", `/api/v1/voice/calls/${c.contact.contact_id}/sensitive`, { active });
          c.sensitive = active;
        });
      },

      // --- transfer and wrap-up -----------------------------------------------------------
      async openTransfer() {
        try { this.targets = await api("GET", "/api/v1/desk/transfer-targets"); } catch (e) { this.fail(e); }
        this.transfer = { mode: "queue", queue: "", agent_id: "", note: "", emotion: "" };
        this.transferOpen = true;
      },
      doTransfer() {
        const c = this.active;
        if (!c) return;
        const body = { note: this.transfer.note, emotion: this.transfer.emotion };
        if (this.transfer.mode === "queue") body.queue = this.transfer.queue;
        else body.agent_id = Number(this.transfer.agent_id);
        this.transferOpen = false;
        return this.act(() => api("POST", `/api/v1/desk/contacts/${c.contact.contact_id}/transfer`, body));
      },
      async submitWrap() {
        const c = this.active;
        if (!c || !this.wrap.disposition) return;
        this.error = "";
        try {
          const out = await api("POST", `/api/v1/desk/contacts/${c.contact.contact_id}/wrap-up`, this.wrap);
          this.wrap = { disposition: "", business_type: "", notes: "", complaint: false };
          if (out && out.work_order_url) this.lastWorkOrderUrl = out.work_order_url;
        } catch (e) { this.fail(e); }
        await this.refresh();
      },
      lastWorkOrderUrl: "",
      businessTypes() {
        return Array.from(new Set(this.dispositions.map((d) => d.business_type).filter(Boolean)));
      },

      // --- knowledge ----------------------------------------------------------------------
      async searchKb() {
        if (!this.kb.q.trim()) return;
        try {
          const data = await api("GET", `/api/v1/knowledge/search?q=${encodeURIComponent(this.kb.q)}&limit=5`);
          this.kb.items = data.items || [];
          this.kb.available = true;
        } catch (e) {
          this.kb.items = [];
          this.kb.available = !(e.problem && (e.problem.status === 404 || e.problem.status === 403));
        }
        this.kb.searched = true;
      },
      useKb(item) {
        const c = this.active;
        if (c) c.draft = (c.draft ? c.draft + "\n" : "") + (item.snippet || item.title);
      },

      // --- keyboard -----------------------------------------------------------------------
      onKey(e) {
        if (!e.altKey) return;
        const k = e.key.toLowerCase();
        if (k === "a") { e.preventDefault(); this.accept(); }
        else if (k === "r") { e.preventDefault(); this.ready(); }
        else if (k === "n") { e.preventDefault(); this.notReady("break"); }
        else if (k === "w") { e.preventDefault(); this.submitWrap(); }
        else if (k === "e") { e.preventDefault(); this.endChat(); }
        else if (/^[1-9]$/.test(k)) {
          const tab = this.tabs[Number(k) - 1];
          if (tab) { e.preventDefault(); this.select(tab.contact_id); }
        }
      },

      // --- websocket ----------------------------------------------------------------------
      connect() {
        const proto = location.protocol === "https:" ? "wss:" : "ws:";
        const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws`);
        this.ws = ws;
        ws.onopen = () => {
          this.online = true;
          // My routing events, and the messages of every chat I serve (one topic for all).
          const topics = [`routing.agent.${this.me.id}`, `webchat.agent.${this.me.id}`];
          ws.send(JSON.stringify({ op: "subscribe", topics }));
          this.refresh();
          for (const c of Object.values(this.convs)) this.catchUp(c);
        };
        ws.onmessage = (ev) => {
          const msg = JSON.parse(ev.data);
          if (msg.op === "ping") { ws.send(JSON.stringify({ op: "pong" })); return; }
          if ((msg.op === "result" || msg.op === "error") && msg.ref && settleCall(msg)) return;
          if (msg.op !== "event") return;
          const event = msg.event;
          if (event.type === "webchat.message") this.onChatMessage(event.data);
          else if (event.topic.startsWith("routing.agent.")) this.scheduleRefresh();
        };
        ws.onclose = () => {
          this.online = false;
          for (const [ref, call] of calls) {  // unanswered: the sender retries by REST
            calls.delete(ref);
            clearTimeout(call.timer);
            const err = new Error("offline");
            err.transport = true;
            call.reject(err);
          }
          setTimeout(() => this.connect(), 1500);
        };
      },
    };
  };
})();
