"use strict";
/* The agent desktop: state and buttons, the screen-pop card (pushed over
   /ws/agent while the phone rings), and the disposition form. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  let since = null;          // server epoch of the last state change
  let callId = null;         // the call on the phone (recording buttons act on it)
  let muted = false;         // its recording is muted (as this desk asked)
  // The disposition form is bound to one call (formCall). Each call keeps its own
  // draft (code, FCR box, notes and the scheduled callback's time, number and note), so a
  // new call ringing never inherits what was typed for the previous one; calls not saved
  // yet stay in the form's call list.
  let formCall = null;
  const drafts = new Map();  // call id -> {code, fcr, notes, at, number, note, label}
  const EMPTY = { code: "", fcr: false, notes: "", at: "", number: "", note: "" };

  const postJSON = H.postJSON;

  function setState(state, sinceEpoch, reason) {
    const badge = $("state");
    badge.textContent = H.stateLabel(state);
    badge.className = "state-badge state-" + (state || "offline");
    since = typeof sinceEpoch === "number" ? sinceEpoch : null;
    $("pause-reason").textContent = state === "paused" && reason ? "(" + reason + ")" : "";
    tick();
  }

  function setCall(status, cls) {
    const p = $("call-status");
    p.textContent = status;
    p.className = "call-status " + cls;
  }

  function setCallId(id, callerNumber) {
    if ((id || null) !== callId) { muted = false; $("btn-rec-mute").textContent = H.t("rec.mute"); }
    callId = id || null;
    $("call-id").textContent = callId || "–";
    $("btn-rec-mute").disabled = !callId;
    $("btn-rec-start").disabled = !callId;
    if (callId && !drafts.has(callId)) {
      drafts.set(callId, { ...EMPTY, label: (callerNumber || "call") + " · " + callId });
    }
    if (callId && callId !== formCall) showForm(callId);
  }

  function keepDraft() {
    const d = formCall && drafts.get(formCall);
    if (d) {
      d.code = $("dispo-code").value; d.fcr = $("dispo-fcr").checked; d.notes = $("dispo-notes").value;
      d.at = $("sched-at").value; d.number = $("sched-number").value; d.note = $("sched-note").value;
    }
  }

  /* Bind the form to call `id`: what was typed for the previous call stays with it. */
  function showForm(id) {
    keepDraft();
    formCall = id;
    const d = drafts.get(id) || EMPTY;
    $("dispo-code").value = d.code;
    $("dispo-fcr").checked = d.fcr;
    $("dispo-notes").value = d.notes;
    $("sched-at").value = d.at;
    $("sched-number").value = d.number;
    $("sched-note").value = d.note;
    $("dispo-submit").disabled = !formCall;
    if (formCall !== null) { $("dispo-result").textContent = ""; $("sched-result").textContent = ""; }
    const list = $("dispo-call");
    list.replaceChildren();
    for (const [cid, draft] of drafts) {
      const opt = H.el("option", null, draft.label);
      opt.value = cid;
      list.append(opt);
    }
    list.value = formCall || "";
    list.disabled = drafts.size < 2;
  }

  /* The call's recording: start it (a queue that records on demand) and mute it
     while the caller reads out a card number. */
  async function recording(path, body, done) {
    const out = $("rec-result");
    if (!callId) return;
    const r = await postJSON("/api/calls/" + encodeURIComponent(callId) + "/recording/" + path, body);
    if (r.ok) { done(); out.className = "rec-result ok"; }
    else { out.textContent = r.data.reason || H.t("desk.refused", { status: r.status }); out.className = "rec-result bad"; }
  }

  function humanize(key) {
    const s = String(key).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function scalar(v) {
    if (v === null || v === undefined || v === "") return "–";
    if (typeof v === "boolean") return H.t(v ? "card.yes" : "card.no");
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  const NAME_KEYS = ["name", "display_name", "full_name", "customer_name"];

  function renderFacts(dl, obj, skip) {
    dl.replaceChildren();
    const keys = Object.keys(obj || {}).filter((k) => !(skip || []).includes(k));
    if (!keys.length) { dl.append(H.el("dt", null, "–"), H.el("dd")); return; }
    for (const k of keys) {
      const v = obj[k];
      dl.append(H.el("dt", null, H.tOr("card.field." + k, humanize(k))));
      if (Array.isArray(v)) {
        const dd = H.el("dd");
        const ul = H.el("ul", "history");
        for (const item of v.slice(0, 5)) {
          if (!(item && typeof item === "object")) { ul.append(H.el("li", null, scalar(item))); continue; }
          // a contact's time ("at", UTC from the CRM) in the desk's time zone
          const li = H.el("li");
          const rest = Object.entries(item).filter(([k, x]) => k !== "at" && x !== null && x !== "")
            .map(([, x]) => x).join(" · ");
          if (item.at) li.append(H.when(item.at), rest ? " · " : "");
          li.append(rest);
          ul.append(li);
        }
        if (!v.length) ul.append(H.el("li", "muted", H.t("card.none")));
        dd.append(ul);
        dl.append(dd);
      } else {
        dl.append(H.el("dd", null, scalar(v)));
      }
    }
  }

  // crm: what the CRM said ("found", "not_found", "pending": not answered yet,
  // "unavailable": failed or too slow; routing never waits for it).
  function renderCard(card, callerNumber, crm) {
    const box = $("card");
    box.replaceChildren();
    if (!card && crm === "unavailable") {
      box.append(H.el("p", "card-name card-unknown", H.t("card.unavailable")));
      box.append(H.el("p", "muted", H.t("card.unavailable_hint")));
      return;
    }
    if (!card && crm === "pending") {
      box.append(H.el("p", "card-name card-unknown", H.t("card.pending")));
      return;
    }
    if (!card) {
      box.append(H.el("p", "card-name card-unknown", H.t("card.unknown")));
      box.append(H.el("p", "muted", callerNumber ? H.t("card.no_match", { number: callerNumber }) : H.t("card.no_card")));
      return;
    }
    const nameKey = NAME_KEYS.find((k) => card[k]);
    const head = H.el("div", "card-head");
    head.append(H.el("p", "card-name", nameKey ? card[nameKey] : H.t("card.customer")));
    const tier = String(card.tier || "");
    if (card.vip === true || card.is_vip === true || tier.toLowerCase() === "vip") {
      head.append(H.el("span", "badge badge-vip", "VIP"));
    }
    if (tier && tier.toLowerCase() !== "vip") head.append(H.el("span", "badge", tier));
    if (card.segment) head.append(H.el("span", "badge", card.segment));
    box.append(head);
    const dl = H.el("dl", "facts");
    renderFacts(dl, card, NAME_KEYS.concat(["vip", "is_vip", "tier", "segment", "link"]));
    box.append(dl);
    if (typeof card.link === "string" && /^https?:\/\//.test(card.link)) {
      const a = H.el("a", "card-link", H.t("card.open"));
      a.href = card.link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.dataset.testid = "card-link";
      box.append(a);
    }
  }

  /* Every message the desk takes (pushed, answered, the page's first view) goes to the
     desk's other parts too (desk_*.js): a "hotline:desk" event with the message. */
  function tell(msg) {
    document.dispatchEvent(new CustomEvent("hotline:desk", { detail: msg }));
  }

  function apply(msg) {
    tell(Object.assign({ type: "state" }, msg));
    if ("state" in msg) setState(msg.state, msg.since, msg.pause_reason);
    if ("caller_number" in msg) $("caller-number").textContent = msg.caller_number || "–";
    if (msg.call_id) setCallId(msg.call_id, msg.caller_number);
    if ("card" in msg && (msg.card || msg.call_id)) renderCard(msg.card, msg.caller_number);
    if (msg.state === "ringing") setCall(H.t("call.ringing"), "call-ringing");
    else if (msg.state === "talking") setCall(H.t("call.on_call"), "call-talking");
    else if (msg.state === "wrapup") setCall(H.t("call.wrapup"), "call-ended");
  }

  function onMessage(msg) {
    if (msg.type !== "state") tell(msg);
    switch (msg.type) {
      case "screen_pop":
        setCallId(msg.call_id, msg.caller_number);
        $("caller-number").textContent = msg.caller_number || "–";
        renderCard(msg.card, msg.caller_number, msg.crm);
        // a transferred call: who handed it on, from which queue
        $("transfer-note").textContent = (msg.transfers || []).map(
          (t) => H.t("transfer.from", { agent: t.agent, queue: t.queue })).join("; ");
        // a queued callback: the customer's number, the attempt, a name they recorded
        const cb = msg.callback;
        $("callback-note").textContent = !cb ? "" :
          H.t("callback.pop", { number: cb.number, attempt: cb.attempt }) +
          (cb.name_file ? " " + H.t("callback.named") : "") +
          // scheduled from a desk: by whom, and their note
          (cb.scheduled_by ? " " + H.t("callback.scheduled_by", { agent: cb.scheduled_by }) : "") +
          (cb.note ? " " + H.t("callback.scheduled_note", { note: cb.note }) : "");
        setCall(H.t("call.ringing_from", { number: msg.caller_number || H.t("call.unknown_number") }), "call-ringing");
        break;
      case "card":  // the CRM answered after the pop went out
        if (msg.call_id === callId) renderCard(msg.card, msg.caller_number, msg.crm);
        break;
      case "call_ended":
        if (msg.call_id) setCallId(msg.call_id, msg.caller_number);
        setCall(H.t("call.ended"), "call-ended");
        break;
      case "state":
        apply(msg);
        break;
      default:
        break;
    }
  }

  function tick() {
    // `since` is the server's clock; the desk's clock is NTP-close enough for a timer.
    $("state-for").textContent = since === null ? "–" : H.duration(Date.now() / 1000 - since);
  }

  async function action(url, body) {
    const out = $("action-result");
    out.textContent = "";
    const r = await postJSON(url, body);
    if (r.ok) apply(r.data);
    else { out.textContent = r.data.reason || H.t("desk.refused", { status: r.status }); out.className = "action-result bad"; }
  }

  $("btn-ready").addEventListener("click", () => action("/api/agent/ready", {}));
  $("btn-rec-start").addEventListener("click", () => recording("start", {}, () => {
    $("rec-result").textContent = H.t("rec.recording");
  }));
  $("btn-rec-mute").addEventListener("click", () => recording("mute", { muted: !muted }, () => {
    muted = !muted;
    $("btn-rec-mute").textContent = H.t(muted ? "rec.unmute" : "rec.mute");
    $("rec-result").textContent = H.t(muted ? "rec.muted" : "rec.on");
  }));
  $("btn-pause").addEventListener("click", () => action("/api/agent/pause", { reason: $("pause-reason-select").value }));

  $("dispo-call").addEventListener("change", () => showForm($("dispo-call").value || null));
  // "Resolved on first contact" starts as the chosen code's default (fcr_dispositions)
  $("dispo-code").addEventListener("change", () => {
    $("dispo-fcr").checked = (($("dispo-code").selectedOptions[0] || {}).dataset || {}).fcr === "1";
  });

  $("dispo-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const out = $("dispo-result");
    const forCall = formCall;  // the call this form is bound to, whatever rings meanwhile
    if (!forCall) { out.textContent = H.t("dispo.no_call"); out.className = "dispo-result bad"; return; }
    const code = $("dispo-code").value;
    if (!code) { out.textContent = H.t("dispo.choose_outcome"); out.className = "dispo-result bad"; return; }
    $("dispo-submit").disabled = true;
    const r = await postJSON("/api/calls/" + encodeURIComponent(forCall) + "/disposition",
      { code: code, fcr: $("dispo-fcr").checked, notes: $("dispo-notes").value });
    $("dispo-submit").disabled = !formCall;
    if (r.ok) {
      const label = ($("dispo-code").selectedOptions[0] || {}).textContent;
      if (forCall !== callId) {  // an earlier call's: done, back to the call on the phone
        drafts.delete(forCall);
        if (formCall === forCall) { formCall = null; showForm(callId); }
      }
      // the call on the phone keeps its saved code and notes: saving again edits them
      out.textContent = H.t("dispo.saved", { label: label });
      out.className = "dispo-result ok";
    } else {
      out.textContent = H.t("dispo.not_saved", { reason: r.data.reason || H.t("dispo.error", { status: r.status }) });
      out.className = "dispo-result bad";
    }
  });

  // for the desk's other parts (desk_*.js): the same requests, the same answers
  let initial = {};
  try { initial = JSON.parse($("initial-view").textContent) || {}; } catch (e) { /* empty view */ }
  window.HotlineDesk = { postJSON, action, initial };
  apply(initial);
  setInterval(tick, 1000);
  H.openLive("/ws/agent", onMessage);
})();
