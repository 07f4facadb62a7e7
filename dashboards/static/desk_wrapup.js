"use strict";
/* The agent desk's wrap-up: a countdown to its end (the ACD's wrap-up timer), End
   wrap-up (ready now) and Extend (the end moves 30 s later, up to the queue's
   wrap_up_max_s; the button is off at the limit). POST /api/agent/wrap-up. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const STEP_S = 30;
  let until = null;  // epoch seconds the wrap-up ends (null: not in wrap-up)
  let limit = null;  // the latest an extension may reach

  function render() {
    const box = $("wrapup");
    box.hidden = until === null;
    if (until === null) return;
    $("wrapup-left").textContent = H.duration(until - Date.now() / 1000);
    $("btn-wrapup-extend").disabled = limit === null || until >= limit - 0.01;
  }

  function take(m) {
    if (m.type === "wrap_up" || (m.type === "state" && m.state === "wrapup" && typeof m.wrap_up_until === "number")) {
      until = m.wrap_up_until;
      limit = typeof m.wrap_up_limit === "number" ? m.wrap_up_limit : null;
    } else if (m.type === "state" && "state" in m && m.state !== "wrapup") {
      until = limit = null;
    }
    render();
  }

  take(Object.assign({ type: "state" }, window.HotlineDesk.initial));
  document.addEventListener("hotline:desk", (ev) => take(ev.detail || {}));

  $("btn-wrapup-extend").addEventListener("click", () =>
    window.HotlineDesk.action("/api/agent/wrap-up", { action: "extend", seconds: STEP_S }));
  $("btn-wrapup-end").addEventListener("click", () =>
    window.HotlineDesk.action("/api/agent/wrap-up", { action: "end" }));
  setInterval(render, 250);
})();
