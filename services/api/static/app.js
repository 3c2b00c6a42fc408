// Workmode pages: small progressive enhancements only. Every page works without JavaScript.
"use strict";

// Forms with data-confirm ask first.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// Filters apply as soon as they change.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.form && el.form.id === "filters" && el.tagName === "SELECT") el.form.submit();
});
