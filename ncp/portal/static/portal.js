// Progressive enhancement only (issue 15 item 18): every page works without this file.
// A form whose button has data-busy shows that text and cannot be sent twice while a
// foreign country answers (a real peer can take seconds).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  var button = form.querySelector("button[type=submit][data-busy]");
  if (!button) { return; }
  form.dataset.sent = "1";
  button.setAttribute("aria-busy", "true");
  button.textContent = button.dataset.busy;
  window.setTimeout(function () { button.disabled = true; }, 0);
}, true);
// Back/forward cache: a page shown again must accept a new submission.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) {
    delete form.dataset.sent;
    form.querySelectorAll("button[aria-busy]").forEach(function (b) {
      b.disabled = false; b.removeAttribute("aria-busy");
    });
  });
});
