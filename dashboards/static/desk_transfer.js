"use strict";
/* The agent desk's Transfer control: hand the call on the phone (the call id the
   desk shows) to a queue, or to a named agent (agent picker), blind. The caller waits there as the same call and the
   next agent gets the same screen-pop; this desk goes to wrap-up. Kept apart from
   agent.js: it reads the call id from the page and talks only to the API. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const button = $("btn-transfer");
  const out = $("transfer-result");
  const callShown = () => {
    const id = ($("call-id").textContent || "").trim();
    return id && id !== "–" ? id : null;
  };
  let lastCall = null;
  function sync() {
    const id = callShown();
    button.disabled = !id;
    if (id !== lastCall) { out.textContent = ""; out.className = "rec-result"; lastCall = id; }
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
})();
