"use strict";
/* A callback scheduled from the disposition form: a date and time (read in the desk's
   time zone, the hotline_tz cookie the zone picker keeps), a number (empty: the
   caller's) and a note, for the call the form is bound to (POST
   /api/calls/{id}/callback). At that time the call's queue dials it back. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);

  $("sched-submit").addEventListener("click", async function () {
    const out = $("sched-result");
    const forCall = $("dispo-call").value;  // the call the form is bound to
    if (!forCall) { out.textContent = H.t("dispo.no_call"); out.className = "dispo-result bad"; return; }
    const at = $("sched-at").value;
    if (!at) { out.textContent = H.t("sched.choose_time"); out.className = "dispo-result bad"; return; }
    const body = { at: at, note: $("sched-note").value };
    const number = $("sched-number").value.trim();
    if (number) body.number = number;
    $("sched-submit").disabled = true;
    const r = await window.HotlineDesk.postJSON("/api/calls/" + encodeURIComponent(forCall) + "/callback", body);
    $("sched-submit").disabled = false;
    if (r.ok) {
      out.replaceChildren(H.t("sched.done", { time: H.clock(Date.parse(r.data.due_at) / 1000, true),
                                              number: r.data.number }));
      out.className = "dispo-result ok";
      $("sched-at").value = ""; $("sched-number").value = ""; $("sched-note").value = "";
    } else {
      out.textContent = H.t("sched.not_done", { reason: r.data.reason || H.t("dispo.error", { status: r.status }) });
      out.className = "dispo-result bad";
    }
  });
})();
