"use strict";
/* The supervisor's recordings page: search (GET /api/recordings), play with the
   muted spans drawn on a timeline, download, and the recording's audit log. */
(function () {
  const $ = (id) => document.getElementById(id);
  const PAGE = 25;
  let offset = 0;

  function text(tag, value) {
    const el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "–" : String(value);
    return el;
  }

  function seconds(s) {
    if (typeof s !== "number") return "–";
    const m = Math.floor(s / 60);
    const r = Math.round(s % 60);
    return m + ":" + String(r).padStart(2, "0");
  }

  function query() {
    const form = new FormData($("rec-form"));
    const q = new URLSearchParams();
    for (const [k, v] of form.entries()) {
      if (!v) continue;
      if (k === "since" || k === "until") {
        const day = new Date(v + "T00:00:00Z");
        if (k === "until") day.setUTCDate(day.getUTCDate() + 1);
        q.set(k, day.toISOString());
      } else {
        q.set(k, v);
      }
    }
    q.set("limit", String(PAGE));
    q.set("offset", String(offset));
    return q;
  }

  async function search() {
    $("rec-status").textContent = "Searching…";
    const resp = await fetch("/api/recordings?" + query().toString());
    const body = await resp.json();
    if (!resp.ok) { $("rec-status").textContent = body.reason || "error"; return; }
    const rows = $("rec-rows");
    rows.replaceChildren();
    for (const r of body.recordings) {
      const tr = document.createElement("tr");
      tr.dataset.recording = String(r.id);
      tr.append(text("td", r.started_at ? new Date(r.started_at).toLocaleString() : null),
                text("td", r.caller_number), text("td", r.queue), text("td", r.agent_id),
                text("td", seconds(r.duration_s)),
                text("td", r.mute_intervals.length ? r.mute_intervals.length + "×" : ""));
      const td = document.createElement("td");
      if (!r.deleted_at) {
        const play = document.createElement("button");
        play.type = "button";
        play.className = "btn";
        play.textContent = "Play";
        play.dataset.testid = "rec-play";
        play.addEventListener("click", () => open(r));
        td.append(play);
      } else {
        td.textContent = "deleted";
      }
      tr.append(td);
      rows.append(tr);
    }
    $("rec-status").textContent = body.recordings.length + " recording(s)" + (body.more ? ", more on the next page" : "");
    $("rec-prev").disabled = offset === 0;
    $("rec-next").disabled = !body.more;
  }

  function timeline(r) {
    const line = $("rec-timeline");
    line.replaceChildren();
    const total = r.duration_s || 0;
    for (const [start, end] of r.mute_intervals) {
      const span = document.createElement("div");
      span.className = "rec-muted";
      span.title = "muted " + start.toFixed(1) + "–" + end.toFixed(1) + " s";
      span.textContent = span.title;
      if (total > 0) {
        span.style.left = (100 * start / total) + "%";
        span.style.width = Math.max(0.5, 100 * (end - start) / total) + "%";
      }
      line.append(span);
    }
  }

  async function audit(id) {
    const resp = await fetch("/api/recordings/" + id + "/audit");
    if (!resp.ok) return;
    const body = await resp.json();
    const list = $("rec-audit");
    list.replaceChildren();
    for (const a of body.accesses) {
      list.append(text("li", a.action + " by " + a.role + " " + a.account_id + " at " +
                       new Date(a.at).toLocaleString() + (a.remote ? " from " + a.remote : "")));
    }
  }

  async function open(r) {
    $("rec-player").hidden = false;
    $("rec-title").textContent = "Call " + r.call_id + " · " + (r.caller_number || "");
    timeline(r);
    $("rec-download").href = "/api/recordings/" + r.id + "/download";
    const audio = $("rec-audio");
    audio.src = "/api/recordings/" + r.id + "/audio";
    try { await audio.play(); } catch (e) { /* the controls still work */ }
    await audit(r.id);
  }

  $("rec-form").addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; search(); });
  $("rec-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); search(); });
  $("rec-next").addEventListener("click", () => { offset += PAGE; search(); });
  search();
})();
