// After a form comes back with problems, move focus to its error summary (as GOV.UK does), so that
// the first thing a screen reader or a keyboard user meets is what to fix. A link in the summary then
// moves focus to the field it names (a fieldset: its first control).
(function () {
  var summary = document.querySelector(".error-summary");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    var control = target.matches("input, select, textarea, button")
      ? target : target.querySelector("input, select, textarea, button");
    if (control) {
      event.preventDefault();
      target.scrollIntoView({ block: "center" });
      control.focus({ preventScroll: true });
    }
  });
})();
