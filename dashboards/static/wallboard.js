"use strict";
/* The supervisor wallboard: renders snapshots from /ws/wallboard and ticks
   the clocks locally each second between updates. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  let snap = {};
  let receivedAt = performance.now();   // when `snap` arrived, client clock
  let serverAt = Date.now() / 1000;     // `snap.at`, server clock

  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const elapsed = () => (performance.now() - receivedAt) / 1000;

  function level(tile, cls) {
    const t = $(tile);
    if (!t) return;
    t.classList.remove("ok", "warn", "bad");
    if (cls) t.classList.add(cls);
  }

  function threshold() { return num(snap.sl_threshold_s) || 20; }

  function renderLongest() {
    const waiting = num(snap.waiting) || 0;
    const longest = num(snap.longest_wait_s);
    const now = waiting > 0 && longest !== null ? longest + elapsed() : 0;
    $("longest").textContent = waiting > 0 ? H.duration(now) : "0:00";
    const t = threshold();
    const cls = waiting === 0 ? "ok" : now >= t ? "bad" : "warn";
    level("tile-longest", cls);
    level("tile-waiting", cls);
  }

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

  function renderAgents(agents) {
    const order = (s) => { const i = H.STATE_ORDER.indexOf(s); return i < 0 ? 99 : i; };
    const rows = agents.slice().sort((a, b) => order(a.state) - order(b.state) ||
      String(a.name || a.id).localeCompare(String(b.name || b.id), "vi"));
    const body = $("agent-rows");
    body.replaceChildren();
    for (const a of rows) {
      const tr = H.el("tr");
      const badge = H.el("span", "state-badge state-" + a.state, H.stateLabel(a.state));
      if (a.state === "paused" && a.pause_reason) badge.title = a.pause_reason;
      const since = H.el("td", "since mono");
      if (num(a.since) !== null) since.dataset.since = a.since;
      const stateCell = H.el("td");
      stateCell.append(badge);
      if (a.state === "paused" && a.pause_reason) stateCell.append(H.el("span", "muted reason", " " + a.pause_reason));
      const name = H.el("td", "agent-name", a.name || a.id);
      // a program plays this agent's desk (the demo's simulated agents)
      if (a.simulated === true) name.append(" ", H.el("span", "badge badge-sim", "simulated"));
      tr.append(name, stateCell, since, H.el("td", "mono muted", a.call_id || ""));
      body.append(tr);
    }
    tickAgents();
  }

  function tickAgents() {
    const nowServer = serverAt + elapsed();
    for (const td of document.querySelectorAll("#agent-rows td.since")) {
      const since = parseFloat(td.dataset.since);
      td.textContent = isFinite(since) ? H.duration(nowServer - since) : "–";
    }
  }

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
  }

  function render(s) {
    snap = s || {};
    receivedAt = performance.now();
    serverAt = num(snap.at) !== null ? snap.at : Date.now() / 1000;
    const show = (id, v) => { $(id).textContent = v === null ? "–" : v; };
    const waiting = num(snap.waiting);
    show("waiting", waiting);
    show("offered", num(snap.offered));
    show("answered", num(snap.answered));
    show("abandoned", num(snap.abandoned));
    const offered = num(snap.offered) || 0;
    const abandoned = num(snap.abandoned) || 0;
    const rate = offered > 0 ? (100 * abandoned) / offered : 0;
    $("abandon-rate").textContent = offered > 0 ? "(" + rate.toFixed(1) + " %)" : "";
    level("tile-abandoned", rate < 5 ? "ok" : rate < 10 ? "warn" : "bad");

    const sl = num(snap.service_level_pct);
    const target = num(snap.sl_target_pct) || 80;
    show("sl", sl === null ? null : Math.round(sl));
    $("sl-target").textContent = "target " + target + " % in " + threshold() + " s";
    $("sl-bar").style.width = (sl === null ? 0 : Math.max(0, Math.min(100, sl))) + "%";
    $("sl-bar-target").style.left = target + "%";
    level("tile-sl", sl === null ? null : sl >= target ? "ok" : sl >= target - 10 ? "warn" : "bad");

    const asa = num(snap.asa_s);
    $("asa").textContent = asa === null ? "–" : H.duration(asa);
    level("tile-asa", asa === null ? null : asa <= threshold() / 2 ? "ok" : asa <= threshold() ? "warn" : "bad");

    const agents = Array.isArray(snap.agents) ? snap.agents : [];
    renderStates(agents);
    renderAgents(agents);
    renderNodes(Array.isArray(snap.ami) ? snap.ami : []);
    $("updated").textContent = new Date(serverAt * 1000).toLocaleTimeString();
    renderLongest();
  }

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString();
    renderLongest();
    tickAgents();
  }

  try { render(JSON.parse($("initial-snapshot").textContent)); } catch (e) { render({}); }
  tick();
  setInterval(tick, 1000);
  H.openLive("/ws/wallboard", function (msg) {
    if (msg.type === "wallboard") render(msg);
  }, function () {
    H.checkSession("/api/wallboard").then(function (s) { if (s) render(s); });
  });
})();
