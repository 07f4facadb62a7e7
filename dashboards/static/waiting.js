"use strict";
/* The wallboard's waiting calls, with the supervisor's hands on each: "Move to
   queue…", a priority and "To front", through POST /api/calls/{id}/move (the ACD's
   MoveCall: the call keeps its wait). Rows are in line order per queue (the ACD's
   positions). Like the agent rows (wallboard.js), each row keeps one controls cell
   for its life: the delta updates rebuild the other cells around it, so a chosen
   queue, a typed priority and focus survive them (one delegated listener on the
   table body). A call ringing an agent cannot be moved: its controls are disabled;
   a refusal (409: offered meanwhile...) shows above the table. wallboard.js calls
   render() with each snapshot and tick() each second. */
window.HotlineWaiting = (function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const rows = new Map();  // call id -> {tr, controls, key, queues}
  const busy = new Set();  // call ids with a request on its way
  let empty = null;        // the "nobody waiting" row

  function controlsCell(c) {
    const td = H.el("td", "call-actions");
    const tid = (what) => "call-" + c.call_id + "-" + what;
    const move = H.el("select", "queue-select");
    move.setAttribute("aria-label", "Move call " + c.call_id + " to queue");
    move.dataset.testid = tid("queue");
    const prio = H.el("input", "prio-input");
    prio.type = "number";
    prio.min = "0";
    prio.max = "1000";
    prio.placeholder = "prio";
    prio.setAttribute("aria-label", "Priority of call " + c.call_id);
    prio.dataset.testid = tid("priority-input");
    const setPrio = H.el("button", "btn btn-small btn-ghost", "Priority…");
    setPrio.type = "button";
    setPrio.dataset.move = "priority";
    setPrio.dataset.testid = tid("priority");
    const front = H.el("button", "btn btn-small btn-ready", "To front");
    front.type = "button";
    front.dataset.move = "front";
    front.dataset.testid = tid("front");
    td.append(move, prio, setPrio, front);
    return td;
  }

  function setControls(row, c, queues) {
    const ringing = c.state === "ringing";
    const select = row.controls.querySelector("select");
    const others = queues.filter((q) => q !== c.queue);
    const sig = c.queue + "|" + others.join(",");
    if (row.queues !== sig) {  // the options follow the queues; the element stays
      row.queues = sig;
      const first = H.el("option", "", "Move to queue…");
      first.value = "";
      select.replaceChildren(first, ...others.map((q) => {
        const o = H.el("option", "", q);
        o.value = q;
        return o;
      }));
    }
    select.disabled = ringing || !others.length;
    row.controls.querySelector("input").disabled = ringing;
    row.controls.querySelector("[data-move=priority]").disabled = ringing;
    row.controls.querySelector("[data-move=front]").disabled = ringing || c.position === 1;
  }

  function showError(text) {
    const p = $("call-action-error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  async function move(callId, body, what) {
    if (busy.has(callId)) return;
    busy.add(callId);
    try {
      const r = await H.postJSON("/api/calls/" + encodeURIComponent(callId) + "/move", body);
      if (r.status === 401) return;
      const data = r.data;
      showError(r.ok ? "" : "Call " + callId + ": " + what + " refused: " + (data.reason || data.error || "HTTP " + r.status));
    } catch (e) {
      showError("Call " + callId + ": " + what + " not sent: " + e);
    } finally {
      busy.delete(callId);
    }
  }

  function listen() {
    const body = $("waiting-rows");
    body.addEventListener("click", function (ev) {
      const b = ev.target.closest("button[data-move]");
      const tr = b && b.closest("tr[data-call]");
      if (!tr) return;
      const callId = tr.dataset.call;
      if (b.dataset.move === "front") {
        move(callId, { position: 1 }, "To front");
        return;
      }
      const typed = tr.querySelector(".prio-input").value.trim();
      const priority = Number(typed);
      if (typed === "" || !Number.isInteger(priority) || priority < 0 || priority > 1000) {
        showError("Call " + callId + ": the priority is a whole number from 0 to 1000");
        return;
      }
      move(callId, { priority }, "Priority");
    });
    body.addEventListener("change", function (ev) {
      const select = ev.target.closest("select.queue-select");
      const tr = select && select.closest("tr[data-call]");
      if (!tr || !select.value) return;
      const queue = select.value;
      select.value = "";
      move(tr.dataset.call, { queue }, "Move to " + queue);
    });
  }

  function row(c, queues) {
    let r = rows.get(c.call_id);
    if (!r) {
      const tr = H.el("tr");
      tr.dataset.call = c.call_id;
      tr.dataset.testid = "call-" + c.call_id;
      r = { tr, controls: controlsCell(c), key: null, queues: null };
      tr.append(r.controls);
      rows.set(c.call_id, r);
    }
    const key = JSON.stringify(c);
    if (key !== r.key) {
      r.key = key;
      const wait = H.el("td", "mono wait");
      wait.dataset.since = c.entered_at;
      const ewt = H.el("td", "mono muted", c.state === "ringing" ? "ringing" : num(c.ewt_s) === null ? "–" : H.duration(c.ewt_s));
      const cells = [H.el("td", "", c.queue), H.el("td", "mono position", c.position ?? "–"),
        H.el("td", "mono", c.caller || "–"), wait, H.el("td", "mono priority", String(c.priority ?? 0)), ewt];
      // every cell but the controls is rebuilt (the controls cell stays: focus, input)
      while (r.tr.firstChild !== r.controls) r.tr.firstChild.remove();
      for (const td of cells) r.tr.insertBefore(td, r.controls);
      r.tr.dataset.state = c.state || "waiting";
      r.tr.dataset.position = String(c.position ?? "");
    }
    setControls(r, c, queues);
    return r.tr;
  }

  /* calls: the snapshot's waiting_calls; queues: every queue's name */
  function render(calls, queues) {
    const body = $("waiting-rows");
    const sorted = calls.slice().sort((a, b) => String(a.queue).localeCompare(String(b.queue)) ||
      (a.position ?? 1e9) - (b.position ?? 1e9) || a.entered_at - b.entered_at);
    const live = new Set(sorted.map((c) => c.call_id));
    for (const [id, r] of rows) {
      if (!live.has(id)) { r.tr.remove(); rows.delete(id); }
    }
    const focused = body.contains(document.activeElement) ? document.activeElement : null;
    if (sorted.length && empty) { empty.remove(); empty = null; }
    let at = body.firstChild;
    for (const c of sorted) {
      const tr = row(c, queues);
      if (tr !== at) body.insertBefore(tr, at); else at = at.nextSibling;
    }
    if (!sorted.length && !empty) {
      empty = H.el("tr");
      empty.append(H.el("td", "muted", "nobody waiting"));
      body.append(empty);
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  }

  /* now: the server's clock (epoch seconds) */
  function tick(now) {
    for (const td of document.querySelectorAll("#waiting-rows td.wait")) td.textContent = H.duration(now - parseFloat(td.dataset.since));
  }

  let listening = false;
  return {
    render: function (calls, queues, now) {
      if (!listening) { listen(); listening = true; }
      render(calls, queues);
      tick(now);
    },
    tick,
  };
})();
