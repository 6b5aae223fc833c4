// Drill pages: show the plan-revision fields only when a revision is needed, guard against
// submitting the drill form twice, and ask before deleting.
(function () {
  "use strict";
  var needed = document.getElementById("revision_needed");
  var fields = document.getElementById("revision-fields");
  if (needed && fields) {
    var sync = function () { fields.hidden = !needed.checked; };
    needed.addEventListener("change", sync);
    sync();
  }
  var form = document.getElementById("drill-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      var button = document.getElementById("drill-submit");
      if (button) { button.disabled = true; button.textContent = button.dataset.busy || button.textContent; }
    });
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (event) {
      if (!window.confirm(f.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
