"use strict";
/* The agent desk's Transfer control: hand the call on the phone (the call id the
   desk shows) to a queue, blind. The caller waits there as the same call and the
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
    if (!id || !queue) return;
    button.disabled = true;
    const r = await H.postJSON("/api/calls/" + encodeURIComponent(id) + "/transfer",
                               { queue: queue, mode: "blind" });
    const data = r.data;
    if (r.status === 401) return;
    if (r.ok) {
      out.textContent = H.t("transfer.done", { queue: queue });
      out.className = "rec-result ok";
    } else {
      out.textContent = H.t("transfer.refused", { reason: data.reason || "error " + r.status });
      out.className = "rec-result bad";
      button.disabled = !callShown();
    }
  });
})();
