"use strict";
/* The supervisor wallboard. /ws/wallboard sends a first snapshot, then deltas
   (callcenter/board.py: set / unset / upsert / remove); a reconnect starts from a
   fresh snapshot. The clocks (longest waits, time in state) tick here each second
   from the epochs the server sent. Every target and colour threshold comes from
   the snapshot (the config file), none is written here. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const KEYED = { queues: "name", agents: "id", intervals: "start", waiting_calls: "call_id" };
  let snap = {};
  let receivedAt = performance.now();   // when `snap.at` arrived, client clock
  let serverAt = Date.now() / 1000;     // `snap.at`, server clock

  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const nowServer = () => serverAt + (performance.now() - receivedAt) / 1000;
  const thresholds = () => snap.thresholds || {};

  function level(el, cls) {
    if (!el) return;
    el.classList.remove("ok", "warn", "bad");
    if (cls) el.classList.add(cls);
  }
  const RANK = { ok: 0, warn: 1, bad: 2 };
  const worst = (a, b) => ((RANK[b] || 0) > (RANK[a] || 0) ? b : a);

  /* the delta of callcenter/board.py:diff applied to `snap` */
  function applyDelta(d) {
    const out = Object.assign({}, snap, d.set || {});
    for (const k of d.unset || []) delete out[k];
    for (const name of Object.keys(KEYED)) {
      const ups = (d.upsert || {})[name] || [];
      const rem = (d.remove || {})[name] || [];
      if (!ups.length && !rem.length) continue;
      const key = KEYED[name];
      const items = new Map((out[name] || []).map((i) => [i[key], i]));
      for (const k of rem) items.delete(k);
      for (const i of ups) items.set(i[key], i);
      out[name] = Array.from(items.values());
    }
    return out;
  }

  function longestOf(oldestAt) {
    const o = num(oldestAt);
    return o === null ? 0 : Math.max(0, nowServer() - o);
  }
  function waitLevel(waiting, longest, limit) {
    if (!waiting) return "ok";
    const amber = (num(thresholds().longest_wait_amber_pct) || 50) / 100;
    if (limit === null) return null;
    return longest >= limit ? "bad" : longest >= amber * limit ? "warn" : "ok";
  }
  function slLevel(sl, target) {
    if (sl === null || target === null) return null;
    const band = num(thresholds().sl_amber_band_pct);
    return sl >= target ? "ok" : sl >= target - (band === null ? 10 : band) ? "warn" : "bad";
  }
  function abandonLevel(rate) {
    if (rate === null) return null;
    const t = thresholds();
    return rate >= (num(t.abandon_red_pct) ?? 10) ? "bad" : rate >= (num(t.abandon_amber_pct) ?? 5) ? "warn" : "ok";
  }
  const pct = (v) => (num(v) === null ? "–" : (Math.round(v * 10) / 10) + " %");

  /* -- per-queue tiles, keyed by queue name */
  function queueTile(q) {
    let tile = document.querySelector('.queue-tile[data-queue="' + CSS.escape(q.name) + '"]');
    if (!tile) {
      tile = H.el("article", "tile queue-tile");
      tile.dataset.queue = q.name;
      tile.dataset.testid = "queue-" + q.name;
      const fig = (label, part) => {
        const box = H.el("div", "qfig qfig-" + part);
        box.append(H.el("span", "qlabel", label), H.el("span", "qval"));
        box.lastChild.dataset.testid = "queue-" + q.name + "-" + part;
        return box;
      };
      tile.append(H.el("h2", "", q.name),
        fig("Waiting", "waiting"), fig("Longest", "longest"), fig("SL today", "sl"),
        fig("SL 30 min", "sl30"), fig("ASA", "asa"), fig("Abandoned", "abandon"),
        fig("Offered", "offered"), fig("EWT", "ewt"), H.el("div", "qagents"));
      tile.lastChild.dataset.testid = "queue-" + q.name + "-agents";
      $("queues").append(tile);
    }
    return tile;
  }
  function setFig(tile, part, text, cls) {
    const v = tile.querySelector(".qfig-" + part + " .qval");
    v.textContent = text;
    level(v.parentNode, cls);
  }
  function renderQueues() {
    const queues = (snap.queues || []).slice().sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const names = new Set(queues.map((q) => q.name));
    for (const t of document.querySelectorAll(".queue-tile")) if (!names.has(t.dataset.queue)) t.remove();
    for (const q of queues) {
      const tile = queueTile(q);
      $("queues").append(tile);  // config order
      setFig(tile, "waiting", String(q.waiting ?? "–"));
      const sl = num(q.service_level_pct);
      setFig(tile, "sl", pct(sl), slLevel(sl, num(q.sl_target_pct)));
      tile.querySelector(".qfig-sl .qlabel").title = "target " + q.sl_target_pct + " % in " + q.sl_threshold_s + " s";
      setFig(tile, "sl30", pct(q.service_level_30m_pct), slLevel(num(q.service_level_30m_pct), num(q.sl_target_pct)));
      setFig(tile, "asa", num(q.asa_s) === null ? "–" : H.duration(q.asa_s));
      const rate = num(q.abandon_rate_pct);
      setFig(tile, "abandon", (q.abandoned ?? "–") + (rate === null ? "" : " (" + rate + " %)"), abandonLevel(rate));
      setFig(tile, "offered", String(q.offered ?? "–"));
      // EWT: shown when the ACD gives one (acd.ewt); "–" while it cannot estimate
      const ewt = tile.querySelector(".qfig-ewt");
      ewt.hidden = !("ewt_s" in q);
      setFig(tile, "ewt", num(q.ewt_s) === null ? "–" : H.duration(q.ewt_s));
      if (q.ewt_inputs) ewt.title = "mean talk " + (num(q.ewt_inputs.talk_s) === null ? "–" : q.ewt_inputs.talk_s + " s") +
        " over " + q.ewt_inputs.talk_samples + " calls, " + q.ewt_inputs.serving_agents + " agent(s) serving";
      tile.querySelector(".qfig-abandon .qlabel").title = "rate without the " + (q.short_abandoned ?? 0) +
        " short abandon(s) (under " + q.short_abandon_s + " s)";
      const agents = tile.querySelector(".qagents");
      agents.replaceChildren();
      for (const s of H.STATE_ORDER) {
        const n = (q.agents || {})[s] || 0;
        if (n && s !== "offline") agents.append(H.el("span", "qchip state-" + s, n + " " + H.stateLabel(s)));
      }
      if (!agents.childNodes.length) agents.append(H.el("span", "muted", "no agent logged in"));
    }
    tickQueues();
  }
  function tickQueues() {
    let centre = "ok";
    for (const q of snap.queues || []) {
      const tile = document.querySelector('.queue-tile[data-queue="' + CSS.escape(q.name) + '"]');
      if (!tile) continue;
      const longest = q.waiting ? longestOf(q.oldest_at) : 0;
      const cls = waitLevel(q.waiting, longest, num(q.longest_wait_limit_s));
      setFig(tile, "longest", q.waiting ? H.duration(longest) : "0:00", cls);
      level(tile, worst(cls, worst(slLevel(num(q.service_level_pct), num(q.sl_target_pct)), null)));
      centre = worst(centre, cls);
    }
    const waiting = num(snap.waiting) || 0;
    $("longest").textContent = waiting > 0 ? H.duration(longestOf(snap.oldest_at)) : "0:00";
    const down = pbxDown();
    level($("tile-longest"), down ? null : centre);
    level($("tile-waiting"), down ? null : centre);
  }

  /* -- agents: rows keyed by id, updated in place */
  const ORDER = (s) => { const i = H.STATE_ORDER.indexOf(s); return i < 0 ? 99 : i; };
  function renderStates(agents) {
    const counts = {};
    for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
    const box = $("states");
    box.replaceChildren();
    const states = H.STATE_ORDER.concat(Object.keys(counts).filter((s) => !H.STATE_ORDER.includes(s)));
    for (const s of states) {
      const chip = H.el("div", "state-chip state-" + s);
      chip.append(H.el("span", "state-count", counts[s] || 0), H.el("span", "state-name", H.stateLabel(s)));
      chip.dataset.state = s;
      box.append(chip);
    }
    $("agents-on").textContent = agents.filter((a) => a.state !== "offline").length;
  }
  /* Supervisor controls per agent: Pause (with a reason), Ready, Log off, through
     POST /api/agents/{id}/state, and Listen / Whisper / Barge on a talking agent. Each row keeps one controls cell for its life: the
     delta updates rebuild the other cells around it, so the buttons keep their
     handlers (one delegated listener on the table body), the typed reason and focus.
     An action that does not apply to the agent's state is disabled (the ACD's agent
     table: no Pause or Ready while talking, no Ready while ringing). */
  const ACTIONS = {
    paused: (s) => ["ready", "ringing", "wrapup", "paused"].includes(s),
    ready: (s) => ["offline", "wrapup", "paused"].includes(s),
    logged_out: (s) => s !== "offline",
  };
  const LABELS = { paused: "Pause", ready: "Ready", logged_out: "Log off" };
  const LOOKS = { paused: "btn-pause", ready: "btn-ready", logged_out: "btn-ghost" };
  /* Listen, whisper, barge (POST /api/agents/{id}/spy, callcenter/web/supervise_api.py):
     the server rings the supervisor's own phone (their login's device) into ChanSpy on
     the agent's call; only while the agent talks. */
  const SPIES = { listen: "Listen", whisper: "Whisper", barge: "Barge" };
  const SPY_TIPS = {
    listen: "Ring your phone to hear this call, unheard",
    whisper: "Ring your phone to talk to the agent only",
    barge: "Ring your phone to talk to both the agent and the caller",
  };
  // agent ids with a request on its way: a second click waits for the answer (the
  // buttons are not disabled meanwhile, that would drop the focus)
  const busy = new Set();
  function controlsCell(a) {
    const td = H.el("td", "agent-actions");
    const reason = H.el("input", "reason-input");
    reason.type = "text";
    reason.maxLength = 64;
    reason.placeholder = "reason";
    reason.setAttribute("aria-label", "Pause reason for " + (a.name || a.id));
    reason.dataset.testid = "agent-" + a.id + "-reason";
    td.append(reason);
    for (const action of Object.keys(ACTIONS)) {
      const b = H.el("button", "btn btn-small " + LOOKS[action], LABELS[action]);
      b.type = "button";
      b.dataset.action = action;
      b.dataset.testid = "agent-" + a.id + "-" + action;
      td.append(b);
    }
    for (const mode of Object.keys(SPIES)) {
      const b = H.el("button", "btn btn-small btn-ghost btn-spy", SPIES[mode]);
      b.type = "button";
      b.dataset.spy = mode;
      b.title = SPY_TIPS[mode];
      b.dataset.testid = "agent-" + a.id + "-" + mode;
      td.append(b);
    }
    return td;
  }
  function setControls(row, state) {
    for (const b of row.controls.querySelectorAll("button[data-action]")) {
      b.disabled = !ACTIONS[b.dataset.action](state);
    }
    for (const b of row.controls.querySelectorAll("button[data-spy]")) b.disabled = state !== "talking";
  }
  function showActionError(text) {
    const p = $("agent-action-error");
    p.textContent = text || "";
    p.hidden = !text;
    if (text) showActionNote("");
  }
  function showActionNote(text) {
    const p = $("agent-action-note");
    p.textContent = text || "";
    p.hidden = !text;
  }
  async function spy(agentId, mode) {
    const row = rows.get(agentId);
    if (!row || busy.has(agentId)) return;
    busy.add(agentId);
    const who = row.tr.querySelector(".agent-name").firstChild.textContent;
    try {
      const r = await H.postJSON("/api/agents/" + encodeURIComponent(agentId) + "/spy", { mode });
      if (r.status === 401) return;
      const data = r.data;
      if (r.ok) {
        showActionError("");
        showActionNote(who + ": " + SPIES[mode] + ": your phone " + (data.phone || "") + " rings");
      } else {
        showActionError(who + ": " + SPIES[mode] + " refused: " + (data.reason || data.error || "HTTP " + r.status));
      }
    } catch (e) {
      showActionError(who + ": " + SPIES[mode] + " not sent: " + e);
    } finally {
      busy.delete(agentId);
    }
  }
  async function act(agentId, action) {
    const row = rows.get(agentId);
    if (!row || busy.has(agentId)) return;
    const body = { state: action };
    const reason = row.controls.querySelector(".reason-input").value.trim();
    if (action === "paused" && reason) body.reason = reason;
    busy.add(agentId);
    const who = row.tr.querySelector(".agent-name").firstChild.textContent;
    try {
      const r = await H.postJSON("/api/agents/" + encodeURIComponent(agentId) + "/state", body);
      if (r.status === 401) return;
      const data = r.data;
      showActionError(r.ok ? "" : who + ": " + LABELS[action] + " refused: " + (data.reason || data.error || "HTTP " + r.status));
    } catch (e) {
      showActionError(who + ": " + LABELS[action] + " not sent: " + e);
    } finally {
      busy.delete(agentId);
    }
  }
  $("agent-rows").addEventListener("click", function (ev) {
    const b = ev.target.closest("button[data-action], button[data-spy]");
    const tr = b && b.closest("tr[data-agent]");
    if (!tr) return;
    if (b.dataset.spy) spy(tr.dataset.agent, b.dataset.spy);
    else act(tr.dataset.agent, b.dataset.action);
  });

  const rows = new Map();  // agent id -> {tr, controls, key}
  function agentRow(a) {
    let row = rows.get(a.id);
    if (!row) {
      const tr = H.el("tr");
      tr.dataset.agent = a.id;
      tr.dataset.testid = "agent-" + a.id;
      row = { tr, controls: controlsCell(a), key: null };
      tr.append(row.controls);
      rows.set(a.id, row);
    }
    const key = JSON.stringify(a);
    if (row.key === key) return row.tr;
    row.key = key;
    const badge = H.el("span", "state-badge state-" + a.state, H.stateLabel(a.state));
    const stateCell = H.el("td");
    stateCell.append(badge);
    if (a.state === "paused" && a.pause_reason) {
      badge.title = a.pause_reason;
      stateCell.append(H.el("span", "muted reason", " " + a.pause_reason));
    }
    const since = H.el("td", "since mono");
    if (num(a.since) !== null) since.dataset.since = a.since;
    const name = H.el("td", "agent-name", a.name || a.id);
    // a program plays this agent's desk (the demo's simulated agents)
    if (a.simulated === true) name.append(" ", H.el("span", "badge badge-sim", "simulated"));
    // every cell but the controls is rebuilt (the controls cell stays: focus, input)
    while (row.tr.firstChild !== row.controls) row.tr.firstChild.remove();
    for (const td of [name, stateCell, since, H.el("td", "mono", a.calls ?? "–"),
      H.el("td", "mono aht", num(a.aht_s) === null ? "–" : H.duration(a.aht_s)), H.el("td", "mono muted", a.call_id || "")]) {
      row.tr.insertBefore(td, row.controls);
    }
    row.tr.dataset.state = a.state;
    setControls(row, a.state);
    return row.tr;
  }
  function renderAgents(agents) {
    const ids = new Set(agents.map((a) => a.id));
    for (const [id, row] of rows) if (!ids.has(id)) { row.tr.remove(); rows.delete(id); }
    const sorted = agents.slice().sort((a, b) => ORDER(a.state) - ORDER(b.state) ||
      String(a.name || a.id).localeCompare(String(b.name || b.id), "vi"));
    const body = $("agent-rows");
    // moving a row (its state changed its place) blurs what had focus in it: give it back
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    let at = body.firstChild;
    for (const a of sorted) {
      const tr = agentRow(a);
      if (tr !== at) body.insertBefore(tr, at); else at = at.nextSibling;
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
    tickAgents();
  }
  function tickAgents() {
    const now = nowServer();
    for (const td of document.querySelectorAll("#agent-rows td.since")) {
      const since = parseFloat(td.dataset.since);
      td.textContent = isFinite(since) ? H.duration(now - since) : "–";
    }
  }

  /* the waiting calls and the supervisor's moves: waiting.js */
  function renderWaitingCalls(calls) {
    const queues = (Array.isArray(snap.queues) ? snap.queues : []).map((q) => q.name);
    window.HotlineWaiting.render(calls, queues, nowServer());
  }
  function tickWaiting() {
    window.HotlineWaiting.tick(nowServer());
  }

  /* the day by 15 minutes: answered and abandoned bars, SL % on the right axis */
  const INTERVAL_S = 15 * 60;
  let chart = null;
  let chartKey = null;
  function renderChart() {
    const box = $("chart");
    const rows = (Array.isArray(snap.intervals) ? snap.intervals : []).slice().sort((a, b) => a.start - b.start);
    box.dataset.intervals = String(rows.length);
    box.dataset.calls = String(rows.reduce((n, r) => n + r.answered + r.abandoned + r.other, 0));
    const key = JSON.stringify(rows) + "|" + snap.day_start;
    if (key === chartKey || typeof window.uPlot !== "function") return;
    chartKey = key;
    const start = num(snap.day_start) !== null ? snap.day_start : (rows.length ? rows[0].start : serverAt);
    const byStart = new Map(rows.map((r) => [Math.round(r.start), r]));
    const xs = [], answered = [], abandoned = [], sl = [];
    const end = Math.max(serverAt, rows.length ? rows[rows.length - 1].start : serverAt);
    for (let t = start; t <= end; t += INTERVAL_S) {
      const r = byStart.get(Math.round(t));
      xs.push(t);
      answered.push(r ? r.answered : 0);
      abandoned.push(r ? r.abandoned : 0);
      sl.push(r && num(r.service_level_pct) !== null ? r.service_level_pct : null);
    }
    const bars = window.uPlot.paths.bars({ size: [0.8, 40] });
    const opts = {
      width: Math.max(300, box.clientWidth || 800), height: 220,
      legend: { show: true },
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      axes: [
        { stroke: "#94a3b8", grid: { stroke: "#1f2937" } },
        { stroke: "#94a3b8", grid: { stroke: "#1f2937" }, label: "calls" },
        { scale: "pct", side: 1, stroke: "#94a3b8", grid: { show: false }, label: "SL %" },
      ],
      series: [
        {},
        { label: "Answered", stroke: "#22c55e", fill: "rgba(34,197,94,.5)", paths: bars, points: { show: false } },
        { label: "Abandoned", stroke: "#f87171", fill: "rgba(248,113,113,.6)", paths: bars, points: { show: false } },
        { label: "SL %", scale: "pct", stroke: "#60a5fa", width: 2, spanGaps: true },
      ],
    };
    if (chart) chart.destroy();
    box.replaceChildren();
    chart = new window.uPlot(opts, [xs, answered, abandoned, sl], box);
  }

  function pbxDown() { return Array.isArray(snap.pbx_down) && snap.pbx_down.length > 0; }
  function renderNodes(nodes) {
    const ul = $("nodes");
    ul.replaceChildren();
    if (!nodes.length) ul.append(H.el("li", "node node-down", "no AMI node configured"));
    for (const n of nodes) {
      const li = H.el("li", "node " + (n.connected ? "node-up" : "node-down"));
      li.append(H.el("span", "dot"), H.el("span", "node-name", n.node), H.el("span", "node-state", n.connected ? "connected" : "DOWN"));
      if (!n.connected && n.error) li.title = n.error;
      ul.append(li);
    }
    const banner = $("pbx-banner");
    const down = pbxDown() ? snap.pbx_down : (nodes.length ? [] : ["(none configured)"]);
    banner.hidden = !down.length;
    banner.textContent = down.length ? "PBX link down: " + down.join(", ") +
      ". Calls on it are not seen: the figures below may be wrong until it is back." : "";
    document.body.classList.toggle("pbx-down", down.length > 0);
  }

  function render() {
    receivedAt = performance.now();
    serverAt = num(snap.at) !== null ? snap.at : Date.now() / 1000;
    const show = (id, v) => { $(id).textContent = v === null ? "–" : v; };
    show("waiting", num(snap.waiting));
    show("offered", num(snap.offered));
    show("answered", num(snap.answered));
    show("abandoned", num(snap.abandoned));
    const rate = num(snap.abandon_rate_pct);
    $("abandon-rate").textContent = rate === null ? "" : "(" + rate.toFixed(1) + " %)";
    level($("tile-abandoned"), abandonLevel(rate));

    const sl = num(snap.service_level_pct);
    const target = num(snap.sl_target_pct);
    show("sl", sl === null ? null : Math.round(sl));
    $("sl30").textContent = pct(snap.service_level_30m_pct);
    const thr = num(snap.sl_threshold_s);
    $("sl-target").textContent = "target " + (target === null ? "–" : target) + " %" + (thr === null ? "" : " in " + thr + " s");
    $("sl-bar").style.width = (sl === null ? 0 : Math.max(0, Math.min(100, sl))) + "%";
    $("sl-bar-target").style.left = (target || 0) + "%";
    level($("tile-sl"), slLevel(sl, target));

    const asa = num(snap.asa_s);
    $("asa").textContent = asa === null ? "–" : H.duration(asa);

    const agents = Array.isArray(snap.agents) ? snap.agents : [];
    renderStates(agents);
    renderAgents(agents);
    renderQueues();
    renderWaitingCalls(Array.isArray(snap.waiting_calls) ? snap.waiting_calls : []);
    renderChart();
    renderNodes(Array.isArray(snap.ami) ? snap.ami : []);
    $("updated").textContent = new Date(serverAt * 1000).toLocaleTimeString();
    tickQueues();
  }

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString();
    tickQueues();
    tickAgents();
    tickWaiting();
  }

  /* TV mode: full screen, larger figures, no agent table; ?tv=1 opens in it */
  function setTv(on) {
    document.body.classList.toggle("tv", on);
    if (on && document.documentElement.requestFullscreen && !document.fullscreenElement) {
      document.documentElement.requestFullscreen().catch(function () { /* refused: the class is enough */ });
    } else if (!on && document.fullscreenElement) {
      document.exitFullscreen().catch(function () {});
    }
  }
  $("tv-toggle").addEventListener("click", function () { setTv(!document.body.classList.contains("tv")); });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && document.body.classList.contains("tv")) setTv(false); });
  if (new URLSearchParams(location.search).get("tv") === "1") document.body.classList.add("tv");

  try { snap = JSON.parse($("initial-snapshot").textContent) || {}; } catch (e) { snap = {}; }
  render();
  tick();
  setInterval(tick, 1000);
  H.openLive("/ws/wallboard", function (msg) {
    if (msg.type === "wallboard") { snap = msg; render(); }
    else if (msg.type === "wallboard_delta") { snap = applyDelta(msg); render(); }
  }, function () {
    H.checkSession("/api/wallboard").then(function (s) { if (s) { snap = s; render(); } });
  });
})();
