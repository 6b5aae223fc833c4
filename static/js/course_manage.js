// Course authoring and assignments. Without JavaScript every field shows and buttons post directly.
(function () {
  "use strict";

  // Lesson form: show only the fields of the chosen lesson type.
  var kind = document.querySelector("#lesson-form select[name=kind]");
  if (kind) {
    var update = function () {
      document.querySelectorAll("#lesson-form [data-kind]").forEach(function (box) {
        box.classList.toggle("d-none", box.dataset.kind !== kind.value);
      });
    };
    kind.addEventListener("change", update);
    update();
  }

  // Deleting a lesson or withdrawing an assignment asks first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
}());
