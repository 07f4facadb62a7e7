"use strict";
/* The desk's times in the agent's time zone: the picker lists the browser's zones with
   the config's time_zone first; the choice is kept in this browser (the hotline_tz
   cookie, a year) and every shown time follows at once (Hotline.rezone). Shows when
   the current state began ("since 14:03:05"). */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const pick = $("tz");
  let since = null;

  function showSince() {
    const box = $("state-since");
    if (since === null) { box.textContent = ""; delete box.dataset.at; return; }
    box.dataset.at = String(since);
    box.textContent = H.t("desk.since", { time: H.clock(since, false) });
  }

  function take(m) {
    if (m.type === "state" && "state" in m) {
      since = typeof m.since === "number" ? m.since : null;
      showSince();
    }
  }

  // every zone the browser knows, the config's first and the current one selected
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const first = pick.dataset.default;
  const names = [first, ...zones.filter((z) => z !== first)];
  if (!names.includes(pick.dataset.zone)) names.push(pick.dataset.zone);
  pick.replaceChildren(...names.map((z) => {
    const opt = H.el("option", null, z === first ? z + " ★" : z);
    opt.value = z;
    return opt;
  }));
  pick.value = pick.dataset.zone;
  pick.addEventListener("change", function () {
    pick.dataset.zone = pick.value;
    document.cookie = "hotline_tz=" + pick.value + "; path=/; max-age=31536000; samesite=strict";
    H.rezone();
    showSince();
  });

  take(Object.assign({ type: "state" }, window.HotlineDesk.initial));
  document.addEventListener("hotline:desk", (ev) => take(ev.detail || {}));
})();
