// Progressive enhancement only (issue 15 item 18): every page works without this file.
// A form whose button has data-busy, or a link with data-busy, shows that text while a
// foreign country answers (a real peer can take seconds) and cannot be sent twice.
function busy(element) {
  if (!element.dataset.label) { element.dataset.label = element.textContent; }
  element.setAttribute("aria-busy", "true");
  element.textContent = element.dataset.busy;
}
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  var button = form.querySelector("button[type=submit][data-busy]");
  if (!button) { return; }
  form.dataset.sent = "1";
  busy(button);
  window.setTimeout(function () { button.disabled = true; }, 0);
}, true);
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("a[data-busy]") : null;
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
  if (link.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
  busy(link);
}, true);
// Back/forward cache: a page shown again must accept a new submission, with its own words.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-sent]").forEach(function (form) {
    delete form.dataset.sent;
  });
  document.querySelectorAll("[aria-busy]").forEach(function (element) {
    element.removeAttribute("aria-busy");
    if (element.dataset.label) { element.textContent = element.dataset.label; }
    if (element.tagName === "BUTTON") { element.disabled = false; }
  });
});
