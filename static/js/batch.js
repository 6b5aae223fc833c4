// Poll a certificate batch job and show its progress until the file can be downloaded.
(function () {
  "use strict";
  var box = document.getElementById("batch-job");
  if (!box) { return; }
  var bar = document.getElementById("batch-bar");
  var text = document.getElementById("batch-text");
  var link = document.getElementById("batch-download");
  function poll() {
    window.fetch(box.dataset.statusUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (job) {
        var pct = job.total ? Math.round(100 * job.done / job.total) : 0;
        bar.style.width = pct + "%";
        text.textContent = job.done + " / " + job.total;
        if (job.status === "done") { link.classList.remove("d-none"); return; }
        if (job.status === "failed") { text.textContent = box.dataset.msgFailed + (job.error || ""); return; }
        window.setTimeout(poll, 1000);
      }).catch(function () { window.setTimeout(poll, 3000); });
  }
  if (link && link.classList.contains("d-none")) { poll(); }
}());
