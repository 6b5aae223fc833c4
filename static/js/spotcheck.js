// The inspector's spot-check page: refresh the results block while workers are answering.
(function () {
  "use strict";
  var box = document.getElementById("results");
  if (!box || !box.dataset.liveUrl) {
    return;
  }
  var url = box.dataset.liveUrl;
  var every = 5000;

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error(String(resp.status));
        }
        return resp.text();
      })
      .then(function (html) {
        // Keep open <details> open across refreshes.
        var opened = Array.prototype.map.call(box.querySelectorAll("details[open]"), function (d) {
          return d.closest("[data-position]") ? d.closest("[data-position]").dataset.position : "";
        });
        box.innerHTML = html;
        opened.forEach(function (pos) {
          var li = box.querySelector('[data-position="' + pos + '"] details');
          if (li) {
            li.open = true;
          }
        });
        var inner = document.getElementById("results-inner");
        if (inner && inner.dataset.state !== "open") {
          return; // the window has closed: nothing more will arrive
        }
        window.setTimeout(refresh, every);
      })
      .catch(function () {
        window.setTimeout(refresh, every * 3); // offline for a moment: try again later
      });
  }

  window.setTimeout(refresh, every);
})();
