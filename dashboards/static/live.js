"use strict";
/* Hotline pages: shared helpers. A WebSocket that reconnects by itself, and
   duration formatting. No framework, no build step. */
window.Hotline = (function () {
  const MAX_DELAY_MS = 15000;

  function showLive(state, label) {
    const live = document.getElementById("live");
    const text = document.getElementById("live-text");
    if (live) live.className = "live live-" + state;
    if (text) text.textContent = label;
    document.body.dataset.live = state;
  }

  /* Open `path` as a WebSocket, call onMessage(obj) for each JSON message,
     reconnect with backoff when it drops. The page counts as live once the
     first message (the current state) arrived. */
  function openLive(path, onMessage, onDrop) {
    let delay = 1000;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(scheme + location.host + path);
      let gotFirst = false;
      ws.onmessage = function (ev) {
        let msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (!gotFirst) { gotFirst = true; delay = 1000; showLive("open", tOr("live.open", "Live")); }
        onMessage(msg);
      };
      ws.onclose = function () {
        showLive("down", tOr("live.down", "Reconnecting…"));
        if (onDrop) onDrop();
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      };
    }
    showLive("connecting", tOr("live.connecting", "Connecting…"));
    connect();
  }

  /* After a drop: if the session expired, go to the login page. */
  async function checkSession(probeUrl) {
    try {
      const r = await fetch(probeUrl, { credentials: "same-origin" });
      if (r.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
      return r.ok ? r.json() : null;
    } catch (e) { return null; }
  }

  /* POST a JSON body as the signed-in user: {ok, status, data} (data {} when the
     answer has no JSON). A 401 (the session ended) goes to the login page. */
  async function postJSON(url, body) {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (r.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
    return { ok: r.ok, status: r.status, data: data || {} };
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    let s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const STATE_LABELS = {
    ready: "Ready", ringing: "Ringing", talking: "Talking", wrapup: "Wrap-up",
    paused: "Paused", offline: "Offline",
  };
  function stateLabel(state) {
    return state in STATE_LABELS ? tOr("state." + state, STATE_LABELS[state]) : (state ? String(state) : "–");
  }

  /* The page's words in its language (callcenter/web/words.py: the catalogue the
     server put in <script id="words">); `{name}` is filled from vars. An unknown key
     shows as itself. */
  let words = null;
  function t(key, vars) {
    if (words === null) {
      const tag = document.getElementById("words");
      try { words = tag ? JSON.parse(tag.textContent) || {} : {}; } catch (e) { words = {}; }
    }
    const text = key in words ? words[key] : key;
    return text.replace(/\{(\w+)\}/g, (m, name) =>
      vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : "");
  }
  function lang() { return document.documentElement.lang || "en"; }
  /* t(key), or `english` on a page without that word (the wallboard has no catalogue). */
  function tOr(key, english, vars) {
    const text = t(key, vars);
    return text === key ? english : text;
  }

  /* Times in the desk's time zone: the picker's (#tz data-zone: the agent's choice,
     else the config's time_zone), by the browser's own zone data (Intl). */
  function zone() {
    const tz = document.getElementById("tz");
    return (tz && tz.dataset.zone) || "UTC";
  }
  function clock(epoch, withDate) {
    let parts;
    const opts = { hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit",
                   year: "numeric", month: "2-digit", day: "2-digit" };
    try {
      parts = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone() }, opts)).formatToParts(new Date(epoch * 1000));
    } catch (e) {
      parts = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: "UTC" }, opts)).formatToParts(new Date(epoch * 1000));
    }
    const p = {};
    for (const part of parts) p[part.type] = part.value;
    const time = p.hour + ":" + p.minute + ":" + p.second;
    return withDate ? p.year + "-" + p.month + "-" + p.day + " " + time.slice(0, 5) : time;
  }
  /* A <time> that the zone picker re-renders (data-at: epoch seconds). */
  function when(value, withDate) {
    const epoch = typeof value === "number" ? value : Date.parse(value) / 1000;
    const e = document.createElement("time");
    if (!isFinite(epoch)) { e.textContent = String(value); return e; }
    e.className = "when";
    e.dataset.at = String(epoch);
    e.dataset.date = withDate === false ? "" : "1";
    e.textContent = clock(epoch, withDate !== false);
    return e;
  }
  function rezone() {
    for (const e of document.querySelectorAll("time.when[data-at]")) {
      e.textContent = clock(Number(e.dataset.at), e.dataset.date === "1");
    }
  }

  return { openLive, checkSession, postJSON, duration, el, stateLabel, t, tOr, lang, zone, clock, when, rezone, STATE_ORDER: Object.keys(STATE_LABELS) };
})();
