"use strict";
/* The agent desk's Transfer control: hand the call on the phone (the call id the
   desk shows) to a queue, or to a named agent (agent picker), blind. The caller waits there as the same call and the
   next agent gets the same screen-pop; this desk goes to wrap-up. Consult (attended):
   the picked agent's phone rings while the caller holds ("any agent": the picked
   queue's next Ready agent, as the ACD would route); once it answered, Complete
   hands the caller over (this desk goes to wrap-up), Cancel brings the caller back.
   Kept apart from agent.js: it reads the call id from the page, the desk's messages
   ("hotline:desk" events) and talks only to the API. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const button = $("btn-transfer");
  const out = $("transfer-result");
  const callShown = () => {
    const id = ($("call-id").textContent || "").trim();
    return id && id !== "–" ? id : null;
  };
  const consult = $("btn-consult");
  const complete = $("btn-consult-complete");
  const cancel = $("btn-consult-cancel");
  let consulting = null;  // the call under consultation (this desk's), or null
  let lastCall = null;
  function sync() {
    const id = callShown();
    button.disabled = !id || consulting !== null;
    consult.disabled = !id || consulting !== null;
    complete.hidden = cancel.hidden = consulting === null;
    if (id !== lastCall) {
      out.textContent = ""; out.className = "rec-result"; lastCall = id;
      if (consulting !== null && consulting !== id) consulting = null;
    }
  }
  function say(text, ok) {
    out.textContent = text;
    out.className = "rec-result " + (ok ? "ok" : "bad");
  }
  new MutationObserver(sync).observe($("call-id"), { childList: true, characterData: true, subtree: true });
  sync();

  button.addEventListener("click", async () => {
    const id = callShown();
    const queue = $("transfer-queue").value;
    const picker = $("transfer-agent");
    const agent = picker.value;  // "": any agent of the queue
    if (!id || (!queue && !agent)) return;
    button.disabled = true;
    // to a named agent: in the call's own queue (the caller waits for that agent first)
    const body = agent ? { agent: agent, mode: "blind" } : { queue: queue, mode: "blind" };
    const r = await H.postJSON("/api/calls/" + encodeURIComponent(id) + "/transfer", body);
    const data = r.data;
    if (r.status === 401) return;
    if (r.ok) {
      out.textContent = agent
        ? H.t("transfer.agent_done", { agent: picker.options[picker.selectedIndex].text })
        : H.t("transfer.done", { queue: queue });
      out.className = "rec-result ok";
    } else {
      out.textContent = H.t("transfer.refused", { reason: data.reason || "error " + r.status });
      out.className = "rec-result bad";
      button.disabled = !callShown();
    }
  });

  const agentName = () => {
    const picker = $("transfer-agent");
    return picker.value ? picker.options[picker.selectedIndex].text : "";
  };
  // an agent id's name in the picker (the queue's pick is told by id), else the id
  const nameOf = (id) => {
    const opt = Array.from($("transfer-agent").options).find((o) => o.value === String(id));
    return opt ? opt.text : String(id || "");
  };
  consult.addEventListener("click", async () => {
    const id = callShown();
    const agent = $("transfer-agent").value;  // "": the queue's next Ready agent
    const queue = $("transfer-queue").value;
    if (!id || (!agent && !queue)) return;
    consult.disabled = button.disabled = true;
    const r = await H.postJSON("/api/calls/" + encodeURIComponent(id) + "/transfer",
      agent ? { agent: agent, mode: "attended" } : { queue: queue, mode: "attended" });
    if (r.status === 401) return;
    if (r.ok) {
      consulting = id;
      complete.disabled = true;  // until the other agent answers
      // the queue's pick is named by the controller's "consult" message (before or after)
      if (agent) say(H.t("consult.ringing", { agent: agentName() }), true);
    } else {
      say(H.t("transfer.refused", { reason: r.data.reason || "error " + r.status }), false);
    }
    sync();
  });
  async function end(action) {
    const id = consulting;
    if (!id) return;
    complete.disabled = cancel.disabled = true;
    const r = await H.postJSON("/api/calls/" + encodeURIComponent(id) + "/transfer/" + action, {});
    cancel.disabled = false;
    if (r.status === 401) return;
    if (!r.ok) {
      say(H.t("transfer.refused", { reason: r.data.reason || "error " + r.status }), false);
      complete.disabled = false;
    }
  }
  complete.addEventListener("click", () => end("complete"));
  cancel.addEventListener("click", () => end("cancel"));

  // the controller tells how the consultation goes; a consulted desk is told who asks
  document.addEventListener("hotline:desk", (ev) => {
    const msg = ev.detail || {};
    if (msg.type === "screen_pop") {
      $("consult-note").textContent = msg.consult_by ? H.t("consult.from", { agent: msg.consult_by }) : "";
      return;
    }
    if (msg.type === "transferred" && msg.call_id === consulting) {
      consulting = null;
      say(H.t("transfer.agent_done", { agent: nameOf(msg.agent) }), true);
      sync();
      return;
    }
    if (msg.type !== "consult" || msg.call_id !== callShown()) return;
    if (msg.state === "ringing") {
      consulting = msg.call_id;
      say(H.t("consult.ringing", { agent: nameOf(msg.agent) }), true);
    }
    else if (msg.state === "answered") {
      complete.disabled = false;
      say(H.t("consult.answered", { agent: nameOf(msg.agent) }), true);
    } else if (msg.state === "ended") {
      consulting = null;
      say(H.t("consult.ended", { result: msg.result }), false);
    }
    sync();
  });
})();
