"use strict";
/* The caller's way through the IVR, as steps an agent reads (ivr/readable.py):
   "Main menu — pressed 2: Billing", in the desk's language; then the language
   chosen, the queue and what the caller keyed in. The one-line path stays below,
   small, for the log-minded. */
(function () {
  const H = window.Hotline;
  const $ = (id) => document.getElementById(id);

  function label(words, fallback) {
    if (words && typeof words === "object") {
      return words[H.lang()] || words.en || Object.values(words)[0] || fallback;
    }
    return fallback;
  }

  function languageName(code) {
    const key = "language." + code;
    const name = H.t(key);
    return name === key ? code : name;
  }

  function choiceWords(choice) {
    if (!choice) return "";
    if (choice.label && !choice.goto) return label(choice.label, "");
    if (choice.language) return H.t("ivr.choice.language", { language: languageName(choice.language) });
    if (choice.queue) return H.t("ivr.choice.queue", { queue: choice.queue });
    if (choice.goto) return H.t("ivr.choice.goto", { node: label(choice.label, choice.goto) });
    if ("hangup" in choice) return H.t("ivr.choice.hangup");
    return "";
  }

  function stepWords(step) {
    const key = "ivr.what." + step.what;
    let what = H.t(key, { detail: step.detail });
    if (what === key) what = H.t("ivr.what.other", { what: step.what, detail: step.detail });
    const choice = choiceWords(step.choice);
    return { node: label(step.label, step.node), what: choice ? what + ": " + choice : what };
  }

  function render(ivr) {
    const box = $("ivr");
    box.replaceChildren();
    const steps = (ivr && Array.isArray(ivr.steps)) ? ivr.steps : [];
    if (!ivr || (!steps.length && !ivr.language)) {
      box.append(H.el("p", "muted", ivr ? H.t("ivr.none") : "–"));
      return;
    }
    if (steps.length) {
      const ol = H.el("ol", "ivr-steps");
      ol.dataset.testid = "ivr-steps";
      for (const step of steps) {
        const words = stepWords(step);
        const li = H.el("li");
        li.append(H.el("strong", null, words.node), document.createTextNode(" — " + words.what));
        ol.append(li);
      }
      box.append(ol);
    }
    const dl = H.el("dl", "facts");
    if (ivr.language) dl.append(H.el("dt", null, H.t("ivr.language")), H.el("dd", null, languageName(ivr.language)));
    if (ivr.queue) dl.append(H.el("dt", null, H.t("ivr.queue")), H.el("dd", null, ivr.queue));
    for (const [name, value] of Object.entries(ivr.entries || {})) {
      dl.append(H.el("dt", null, H.t("ivr.entries") + ": " + name), H.el("dd", "mono", value));
    }
    box.append(dl);
    if (ivr.path) box.append(H.el("p", "muted mono ivr-path", ivr.path));
  }

  function take(m) {
    if (m.type === "screen_pop" || (m.type === "state" && "ivr" in m)) render(m.ivr || null);
  }

  take(Object.assign({ type: "state" }, window.HotlineDesk.initial));
  document.addEventListener("hotline:desk", (ev) => take(ev.detail || {}));
})();
