"use strict";
/* Ringing with a sound and a browser notification. Browsers allow neither without the
   user: the agent clicks "Turn on call alerts" once, which asks for the notification
   permission (Notification API) and unlocks the page's audio (Web Audio). Then, while
   a call rings the desk: a two-tone ring every 2 s (no sound file: an oscillator) and
   one notification naming the caller (clicking it brings the desk forward); both stop
   when the call is answered, refused or gone. body[data-ring] says "on" while ringing
   sounds, "beeps" counts the rings played, "notified" names the call whose
   notification is open. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);
  let audio = null;        // AudioContext, made on the click
  let timer = null;        // the ring's repeat while ringing
  let note = null;         // the notification shown for the ringing call
  let beeps = 0;

  function ringOnce() {
    if (!audio) return;
    const now = audio.currentTime;
    for (const [freq, start] of [[440, 0], [480, 0], [440, 1.0], [480, 1.0]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(audio.destination);
      osc.start(now + start);
      osc.stop(now + start + 0.4);
    }
    beeps += 1;
    document.body.dataset.beeps = String(beeps);
  }

  function startRinging(callerNumber, callId) {
    if (timer === null && audio) {
      ringOnce();
      timer = setInterval(ringOnce, 2000);
      document.body.dataset.ring = "on";
    }
    if (note === null && "Notification" in window && Notification.permission === "granted") {
      note = new Notification(H.t("ring.title"), {
        body: H.t("ring.from", { number: callerNumber || H.t("call.unknown_number") }),
        tag: "hotline-" + (callId || "call"),
        requireInteraction: true,
      });
      note.onclick = () => { window.focus(); if (note) note.close(); };
      document.body.dataset.notified = callId || "call";
    }
  }

  function stopRinging() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    document.body.dataset.ring = "";
    if (note !== null) { note.close(); note = null; document.body.dataset.notified = ""; }
  }

  async function enable() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!audio && Ctx) audio = new Ctx();
      if (audio && audio.state === "suspended") await audio.resume();
    } catch (e) { audio = null; }
    let allowed = false;
    if ("Notification" in window) {
      allowed = Notification.permission === "granted" ||
        (Notification.permission !== "denied" && (await Notification.requestPermission()) === "granted");
    }
    $("alerts-state").textContent = H.t(allowed ? "ring.on" : "ring.sound_only");
    document.body.dataset.alerts = allowed ? "sound+notification" : "sound";
    $("btn-alerts").hidden = true;
  }

  document.addEventListener("hotline:desk", function (ev) {
    const m = ev.detail || {};
    if (m.type === "screen_pop") startRinging(m.caller_number, m.call_id);
    else if (m.type === "call_ended") stopRinging();
    else if (m.type === "state" && "state" in m && m.state !== "ringing") stopRinging();
  });
  $("btn-alerts").addEventListener("click", enable);
  document.body.dataset.ring = "";
})();
