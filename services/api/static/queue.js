// The approval queue: select all, and live updates (poll the rows; swap them in when they change,
// keeping what the person had ticked).
"use strict";

(function () {
  const body = document.getElementById("queue-rows");
  if (!body) return;
  const all = document.getElementById("select-all");
  const count = document.getElementById("queue-count");
  const POLL_MS = 3000;

  function boxes() {
    return Array.from(body.querySelectorAll('input[name="pick"]'));
  }
  if (all) {
    all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  }

  async function refresh() {
    try {
      const response = await fetch(body.dataset.source, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.redirected || !response.ok) return;
      const fingerprint = response.headers.get("X-Fingerprint");
      if (!fingerprint || fingerprint === body.dataset.fingerprint) return;
      const ticked = new Set(boxes().filter((b) => b.checked).map((b) => b.value));
      const doc = new DOMParser().parseFromString("<table><tbody>" + (await response.text()) + "</tbody></table>", "text/html");
      body.replaceChildren(...doc.querySelector("tbody").children);
      boxes().forEach((b) => { b.checked = ticked.has(b.value); });
      body.dataset.fingerprint = fingerprint;
      if (count) count.textContent = response.headers.get("X-Count") || count.textContent;
    } catch (err) {
      // offline for a moment: try again next time
    }
  }
  setInterval(refresh, POLL_MS);
})();
