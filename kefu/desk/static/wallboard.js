// The supervisor wallboard (Alpine component "wallboardApp"): queues, sites, agent grid with
// time in state, alerts, today's 15-minute trend (ECharts). Any routing event for the tenant
// (offers, answers, state changes, the once-a-second queue stats) refreshes it within a second.
(function () {
  "use strict";

  const { api, fmt } = window.kefuHttp;

  window.wallboardApp = function () {
    return {
      s: {},
      board: { queues: [], sites: [], agents: [], alerts: [], trend: { labels: [] }, at: null },
      waiting: { items: [], total: 0 },
      now: Date.now(),
      skew: 0,
      error: "",
      online: true,
      pending: null,
      chart: null,
      moveTo: {},
      watch: null,
      refreshes: 0,

      t(key, params) { return fmt(this.s[key] || key, params); },
      pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; },
      secondsSince(iso) { return iso ? Math.max(0, Math.floor((this.now + this.skew - Date.parse(iso)) / 1000)) : 0; },
      clock(sec) {
        const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
        return (h ? h + ":" : "") + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
      },
      stateCount(counts, state) { return (counts || {})[state] || 0; },
      alertText(a) {
        const value = a.kind === "long_wait" ? a.value : this.pct(a.value);
        const limit = a.kind === "long_wait" ? a.limit : this.pct(a.limit);
        return this.t("wb.alert." + a.kind, { queue: a.queue, value, limit });
      },
      below(q, window) {
        const level = (q[window] || {}).service_level;
        return q.sl_target !== null && level !== null && level !== undefined && level < q.sl_target;
      },

      async init() {
        this.s = JSON.parse(document.getElementById("wb-strings").textContent);
        setInterval(() => { this.now = Date.now(); }, 1000);
        await this.refresh();
        this.connect();
      },
      async refresh() {
        try {
          const [board, waiting] = await Promise.all([
            api("GET", "/api/v1/desk/wallboard"),
            api("GET", "/api/v1/desk/wallboard/waiting"),
          ]);
          this.skew = Date.parse(board.at) - Date.now();
          this.board = board;
          this.waiting = waiting;
          this.refreshes += 1;
          this.error = "";
          this.$nextTick(() => this.draw());
        } catch (e) { this.error = String(e.message || e); }
      },
      scheduleRefresh() {
        if (this.pending) return;
        this.pending = setTimeout(() => { this.pending = null; this.refresh(); }, 200);
      },
      draw() {
        const el = document.getElementById("trend");
        if (!el || !window.echarts) return;
        if (!this.chart) {
          this.chart = window.echarts.init(el);
          window.addEventListener("resize", () => this.chart.resize());
        }
        const tr = this.board.trend;
        this.chart.setOption({
          tooltip: { trigger: "axis" },
          legend: { data: [this.t("wb.offered"), this.t("wb.service_level")] },
          grid: { left: 40, right: 48, top: 30, bottom: 30 },
          xAxis: { type: "category", data: tr.labels },
          yAxis: [
            { type: "value", minInterval: 1 },
            { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => Math.round(v * 100) + "%" } },
          ],
          series: [
            { name: this.t("wb.offered"), type: "bar", data: tr.offered, itemStyle: { color: "#0b6bcb" } },
            { name: this.t("wb.service_level"), type: "line", yAxisIndex: 1, data: tr.service_level, connectNulls: true, itemStyle: { color: "#1a7f37" } },
          ],
        });
        el.dataset.rendered = "true";
      },
      connect() {
        const proto = location.protocol === "https:" ? "wss:" : "ws:";
        const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws`);
        ws.onopen = () => { this.online = true; ws.send(JSON.stringify({ op: "subscribe", topics: ["routing.*"] })); this.refresh(); };
        ws.onmessage = (ev) => {
          const msg = JSON.parse(ev.data);
          if (msg.op === "ping") { ws.send(JSON.stringify({ op: "pong" })); return; }
          if (msg.op === "event") this.scheduleRefresh();
        };
        ws.onclose = () => { this.online = false; setTimeout(() => this.connect(), 1500); };
        this.ws = ws;
      },
      async force(agent, presence) {
        try {
          await api("PUT", `/api/v1/routing/agents/${agent.user_id}/state`, { presence, reason: presence === "not_ready" ? "supervisor" : "" });
        } catch (e) { this.error = String(e.message || e); }
        this.scheduleRefresh();
      },
      async move(item) {
        const target = this.moveTo[item.contact_id];
        if (!target) return;
        try {
          await api("POST", `/api/v1/routing/contacts/${item.contact_id}/transfer`, { queue: target, note: "" });
        } catch (e) { this.error = String(e.message || e); }
        this.scheduleRefresh();
      },
      async silent(agent) {
        try {
          const list = await api("GET", `/api/v1/webchat/conversations?agent_id=${agent.user_id}&status=active`);
          const first = list.items[0];
          this.watch = { agent, conversation: null, messages: [], lastSeq: 0 };
          if (!first) return;
          const data = await api("GET", `/api/v1/webchat/conversations/${first.id}`);
          this.watch.conversation = data.conversation;
          this.watch.messages = data.messages;
          this.watch.lastSeq = data.messages.length ? data.messages[data.messages.length - 1].seq : 0;
          this.watchSocket(first.id, agent.user_id);
        } catch (e) { this.error = String(e.message || e); }
      },
      watchSocket(chatId, agentId) {
        if (this.watchWs) this.watchWs.close();
        const proto = location.protocol === "https:" ? "wss:" : "ws:";
        const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws`);
        // The agent's chat topic carries all its chats: keep this one's messages.
        ws.onopen = () => ws.send(JSON.stringify({ op: "subscribe", topics: [`webchat.agent.${agentId}`] }));
        ws.onmessage = async (ev) => {
          const msg = JSON.parse(ev.data);
          if (msg.op === "ping") { ws.send(JSON.stringify({ op: "pong" })); return; }
          if (msg.op !== "event" || !this.watch) return;
          const m = msg.event.data;
          if (m.conversation_id !== chatId || m.seq <= this.watch.lastSeq) return;
          if (m.seq > this.watch.lastSeq + 1) {
            const got = await api("GET", `/api/v1/webchat/conversations/${chatId}/messages?after_seq=${this.watch.lastSeq}`);
            for (const x of got.items) if (x.seq > this.watch.lastSeq) { this.watch.messages.push(x); this.watch.lastSeq = x.seq; }
            return;
          }
          this.watch.messages.push(m);
          this.watch.lastSeq = m.seq;
        };
        this.watchWs = ws;
      },
      closeWatch() { if (this.watchWs) this.watchWs.close(); this.watchWs = null; this.watch = null; },
      systemText(m) { return m.kind === "welcome" ? m.body : this.t("desk.msg." + m.kind, m.data || {}); },
    };
  };
})();
