// Upload with a progress bar (large question banks take a while on a slow link), and a busy
// state on long-running confirm buttons. Without JavaScript the forms post normally.
(function () {
  "use strict";

  function showErrors(box, messages) {
    box.replaceChildren();
    messages.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      box.appendChild(line);
    });
    box.classList.remove("d-none");
  }

  document.querySelectorAll("form.js-progress-upload").forEach(function (form) {
    var panel = document.getElementById("upload-progress");
    var errors = document.getElementById("upload-errors");
    if (!panel || !window.FormData || !window.XMLHttpRequest) { return; }
    var bar = panel.querySelector(".progress-bar");
    var note = panel.querySelector("p");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.style.width = pct + "%";
        bar.textContent = pct + "%";
        if (pct >= 100) { note.textContent = note.dataset.parsing; }
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (ignored) { data = null; }
        if (xhr.status === 200 && data && data.next) {
          note.textContent = note.dataset.parsing;
          window.location.assign(data.next);
          return;
        }
        panel.classList.add("d-none");
        if (button) { button.disabled = false; }
        showErrors(errors, data && data.errors ? data.errors : [xhr.status + " " + xhr.statusText]);
      });
      xhr.addEventListener("error", function () {
        panel.classList.add("d-none");
        if (button) { button.disabled = false; }
        showErrors(errors, [errors.dataset.networkError || "Network error"]);
      });
      errors.classList.add("d-none");
      panel.classList.remove("d-none");
      bar.style.width = "0%";
      note.textContent = note.dataset.uploading;
      if (button) { button.disabled = true; }
      xhr.send(new FormData(form));
    });
  });

  document.querySelectorAll("form.js-busy-on-submit").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[type=submit][data-busy]");
      if (!button) { return; }
      window.setTimeout(function () {
        button.disabled = true;
        var spinner = document.createElement("span");
        spinner.className = "spinner-border spinner-border-sm me-2";
        spinner.setAttribute("aria-hidden", "true");
        button.textContent = button.dataset.busy;
        button.prepend(spinner);
      }, 0);
    });
  });
}());
