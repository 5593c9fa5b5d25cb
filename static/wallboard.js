// Mayday wallboard: signs in over REST, follows the `wallboard` topic over WebSocket
// (token as the `bearer` subprotocol), applies the snapshot and the numbered deltas, and on
// any drop reconnects and resumes from the last sequence number it applied.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const state = { token: sessionStorage.getItem("mayday.token"), tenant: sessionStorage.getItem("mayday.tenant") || "", ws: null, epoch: null, seq: 0, queues: new Map(), agents: new Map(), alerts: [], updates: 0, retry: 1000 };

  const STATUS = { available: "Available", ringing: "Ringing", on_call: "On call", wrapup: "Wrap-up", paused: "Paused", logged_out: "Logged out" };

  function pct(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + "%"; }
  function secs(v) { return v === null || v === undefined ? "–" : Math.round(v) + " s"; }
  function elapsed(fromMs) {
    if (!fromMs) return "–";
    const s = Math.max(0, Math.floor((Date.now() - fromMs) / 1000));
    const m = Math.floor(s / 60);
    return m > 0 ? m + ":" + String(s % 60).padStart(2, "0") : s + " s";
  }
  function text(el, value) { if (el.textContent !== value) el.textContent = value; }

  function showLogin(message) {
    $("#board").hidden = true;
    $("#logout").hidden = true;
    $("#login").hidden = false;
    $("#login-tenant").value = state.tenant || new URLSearchParams(location.search).get("tenant") || "";
    text($("#login-error"), message || "");
  }

  async function login(ev) {
    ev.preventDefault();
    const body = { tenant: $("#login-tenant").value.trim(), username: $("#login-username").value.trim(), password: $("#login-password").value };
    text($("#login-error"), "");
    try {
      const res = await fetch("/api/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const json = await res.json();
      if (!res.ok) { text($("#login-error"), (json.error && json.error.message) || "Sign-in failed"); return; }
      state.token = json.token;
      state.tenant = body.tenant;
      sessionStorage.setItem("mayday.token", state.token);
      sessionStorage.setItem("mayday.tenant", state.tenant);
      start();
    } catch (e) {
      text($("#login-error"), "Cannot reach the server");
    }
  }

  function logout() {
    if (state.token) fetch("/api/auth/logout", { method: "POST", headers: { authorization: "Bearer " + state.token } });
    sessionStorage.removeItem("mayday.token");
    state.token = null;
    if (state.ws) state.ws.close(1000);
    showLogin("Signed out");
  }

  function setConn(s) { const el = $("#conn-state"); el.dataset.state = s; text(el, s === "live" ? "live" : s); }

  function connect() {
    setConn("connecting");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    const ws = new WebSocket(url, ["bearer", state.token]);
    state.ws = ws;
    ws.onopen = () => {
      const sub = { op: "subscribe", topic: "wallboard", id: "wallboard" };
      if (state.epoch !== null) sub.since = { epoch: state.epoch, seq: state.seq };
      ws.send(JSON.stringify(sub));
    };
    ws.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "hello") {
        const banner = $("#licence");
        banner.hidden = f.licence === "licensed";
        text(banner, f.licence === "development" ? "Development licence: small limits, not for production" : "Unlicensed installation: calls only, one agent seat");
        return;
      }
      if (f.type === "subscribed") { setConn("live"); state.retry = 1000; return; }
      if (f.type === "error") { console.warn("server:", f.code, f.message); return; }
      if (f.topic !== "wallboard") return;
      if (f.type === "snapshot") { state.queues.clear(); state.agents.clear(); apply(f); return; }
      if (f.type === "delta") {
        if (f.epoch !== state.epoch || f.seq !== state.seq + 1) {
          // A gap: ask again from scratch.
          state.epoch = null;
          ws.send(JSON.stringify({ op: "subscribe", topic: "wallboard", id: "resync" }));
          return;
        }
        apply(f);
      }
    };
    ws.onclose = (ev) => {
      state.ws = null;
      setConn("offline");
      if (ev.code === 4001) { sessionStorage.removeItem("mayday.token"); state.token = null; showLogin("Your session ended; sign in again"); return; }
      if (ev.code === 1000 && !state.token) return;
      setTimeout(() => { if (state.token) connect(); }, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function apply(f) {
    state.epoch = f.epoch;
    state.seq = f.seq;
    state.updates += 1;
    const d = f.data || {};
    (d.queues || []).forEach((q) => state.queues.set(q.asterisk_name, q));
    (d.agents || []).forEach((a) => state.agents.set(a.id, a));
    (d.removed_agents || []).forEach((id) => state.agents.delete(id));
    if (Array.isArray(d.alerts)) state.alerts = d.alerts;
    (d.removed_queues || []).forEach((name) => { for (const [k, q] of state.queues) if (q.name === name) state.queues.delete(k); });
    render();
  }

  function alertText(a) {
    if (a.kind === "low_balance") return "Low balance on trunk " + a.trunk + ": " + a.amount + " " + (a.currency || "") + " (below " + a.threshold + ")";
    return a.message || a.kind || "alert";
  }

  function render() {
    const alerts = $("#alerts");
    const lines = state.alerts.map(alertText);
    if (alerts.dataset.lines !== JSON.stringify(lines)) {
      alerts.dataset.lines = JSON.stringify(lines);
      alerts.replaceChildren(...lines.map((l) => { const li = document.createElement("li"); li.textContent = l; return li; }));
    }
    const tbody = $("#queues tbody");
    const names = [...state.queues.keys()].sort();
    names.forEach((name) => {
      const q = state.queues.get(name);
      let tr = tbody.querySelector('tr[data-queue="' + CSS.escape(name) + '"]');
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.queue = name;
        tr.innerHTML = '<td class="name"></td><td class="waiting"></td><td class="longest" data-since=""></td><td class="available"></td><td class="offered"></td><td class="answered"></td><td class="abandoned"></td><td class="timed_out"></td><td class="sl1"></td><td class="sl2"></td><td class="abandon_rate"></td><td class="asa"></td><td class="aht"></td>';
        tbody.appendChild(tr);
      }
      const f = q.figures;
      text(tr.querySelector(".name"), q.name);
      const w = tr.querySelector(".waiting"); w.dataset.n = String(q.waiting); text(w, String(q.waiting));
      tr.querySelector(".longest").dataset.since = q.oldest_joined_ms || "";
      text(tr.querySelector(".available"), q.available + " / " + q.logged_in);
      text(tr.querySelector(".offered"), String(f.offered));
      text(tr.querySelector(".answered"), String(f.answered));
      text(tr.querySelector(".abandoned"), String(f.abandoned));
      text(tr.querySelector(".timed_out"), String(f.timed_out));
      text(tr.querySelector(".sl1"), pct(f.sl1_pct));
      text(tr.querySelector(".sl2"), pct(f.sl2_pct));
      text(tr.querySelector(".abandon_rate"), pct(f.abandon_rate_pct));
      text(tr.querySelector(".asa"), secs(f.asa_secs));
      text(tr.querySelector(".aht"), secs(f.aht_secs));
    });
    tbody.querySelectorAll("tr").forEach((tr) => { if (!state.queues.has(tr.dataset.queue)) tr.remove(); });

    const grid = $("#agents");
    [...state.agents.values()].sort((a, b) => a.extension.localeCompare(b.extension)).forEach((a) => {
      let card = grid.querySelector('.agent[data-agent="' + a.id + '"]');
      if (!card) {
        card = document.createElement("div");
        card.className = "agent";
        card.dataset.agent = String(a.id);
        card.innerHTML = '<div class="name"></div><div class="ext"></div><div class="status"></div><div class="detail"></div>';
        grid.appendChild(card);
      }
      card.dataset.status = a.status;
      card.dataset.since = a.since_ms;
      text(card.querySelector(".name"), a.name);
      text(card.querySelector(".ext"), a.extension + " · " + a.calls_today + " calls today");
      text(card.querySelector(".status"), STATUS[a.status] || a.status);
      const detail = a.status === "paused" ? (a.reason || "") : a.call ? ((a.call.kind === "outbound" ? "to " : "from ") + (a.call.party || "unknown") + (a.call.queue ? " · " + a.call.queue : "")) : "";
      text(card.querySelector(".detail"), detail);
    });
    grid.querySelectorAll(".agent").forEach((c) => { if (!state.agents.has(Number(c.dataset.agent))) c.remove(); });
    text($("#last-seq"), "seq " + state.seq);
    text($("#updates"), String(state.updates));
    tick();
  }

  function tick() {
    document.querySelectorAll("#queues td.longest").forEach((td) => text(td, td.dataset.since ? elapsed(Number(td.dataset.since)) : "–"));
  }

  function start() {
    $("#login").hidden = true;
    $("#board").hidden = false;
    $("#logout").hidden = false;
    text($("#tenant-name"), state.tenant);
    connect();
  }

  $("#login").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  setInterval(tick, 1000);
  if (state.token) start(); else showLogin("");
})();
