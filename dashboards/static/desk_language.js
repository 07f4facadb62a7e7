"use strict";
/* The desk's language: the agent picks English or Tiếng Việt; the choice is kept in
   this browser (the hotline_lang cookie, a year) and the page is served again in it
   (callcenter/web/words.py). */
(function () {
  const pick = document.getElementById("lang");
  if (!pick) return;
  pick.addEventListener("change", function () {
    document.cookie = "hotline_lang=" + encodeURIComponent(pick.value) +
      "; path=/; max-age=31536000; samesite=strict";
    location.reload();
  });
})();
