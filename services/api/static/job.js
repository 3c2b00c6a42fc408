// A job that is still going: reload the page when it moves on (new events, status change).
"use strict";

(function () {
  const el = document.getElementById("job");
  if (!el) return;
  const POLL_MS = 1500;
  async function check() {
    try {
      const response = await fetch(el.dataset.stateUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const now = await response.json();
      const typing = document.activeElement && ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
      if (now.state !== el.dataset.state && !typing) window.location.reload();
    } catch (err) {
      // try again next time
    }
  }
  setInterval(check, POLL_MS);
})();
