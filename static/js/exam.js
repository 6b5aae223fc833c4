// Taking an exam on a phone: every answer is sent to the server as it is chosen, kept in
// localStorage until the server confirms it, and retried when the network comes back. The
// countdown runs from the seconds the server said were left, so a wrong phone clock does not matter.
(function () {
  "use strict";
  var app = document.getElementById("exam-app");
  if (!app) { return; }

  var attemptId = app.dataset.attempt;
  var storeKey = "trainapp-attempt-" + attemptId;
  var saveUrl = app.dataset.saveUrl;
  var eventUrl = app.dataset.eventUrl;
  var csrf = app.dataset.csrf;
  var state = document.getElementById("save-state");
  var countdown = document.getElementById("countdown");
  var submitForm = document.getElementById("submit-form");
  var sections = Array.prototype.slice.call(document.querySelectorAll(".exam-q"));
  var navButtons = Array.prototype.slice.call(document.querySelectorAll(".nav-q"));
  var onePerPage = app.dataset.onePerPage === "1";
  var current = 0;
  var pending = {};
  var inFlight = false;
  var retryDelay = 2000;
  var retryTimer = null;
  var closed = false;

  function loadPending() {
    try { pending = JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { pending = {}; }
  }
  function storePending() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(pending)); } catch (e) { /* private mode */ }
  }
  function pendingCount() { return Object.keys(pending).length; }

  function showState(kind, text) {
    state.className = "badge " + ({ saved: "text-bg-light", saving: "text-bg-info", offline: "text-bg-warning",
      error: "text-bg-danger" }[kind] || "text-bg-light");
    state.textContent = text;
    state.dataset.state = kind;
  }

  function responseOf(section) {
    var picked = Array.prototype.slice.call(section.querySelectorAll("input:checked")).map(function (i) { return i.value; });
    return picked.sort().join("");
  }

  function markNav(position, answered) {
    var button = navButtons[position - 1];
    if (!button) { return; }
    button.classList.toggle("btn-primary", answered);
    button.classList.toggle("btn-outline-secondary", !answered);
  }

  function applyLocal() {
    // Answers chosen while offline (or before a sign-in expired) are shown again and resent.
    Object.keys(pending).forEach(function (position) {
      var section = document.getElementById("q" + position);
      if (!section) { delete pending[position]; return; }
      var value = pending[position];
      section.querySelectorAll("input").forEach(function (input) { input.checked = value.indexOf(input.value) >= 0; });
      markNav(Number(position), value !== "");
    });
  }

  function scheduleRetry() {
    if (retryTimer || closed) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function post(url, body) {
    return window.fetch(url, {
      method: "POST", credentials: "same-origin", redirect: "follow",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "XMLHttpRequest" },
      body: JSON.stringify(body)
    });
  }

  function flush() {
    if (inFlight || closed) { return; }
    var positions = Object.keys(pending);
    if (!positions.length) { showState("saved", app.dataset.msgSaved); retryDelay = 2000; return; }
    inFlight = true;
    showState("saving", app.dataset.msgSaving);
    var position = positions[0];
    var value = pending[position];
    post(saveUrl, { position: Number(position), response: value }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        // Redirected to the sign-in page: the session ended. Keep the answers for later.
        inFlight = false;
        showState("error", app.dataset.msgExpired);
        return null;
      }
      return resp.json().then(function (data) {
        inFlight = false;
        if (resp.ok && data.ok) {
          if (pending[position] === value) { delete pending[position]; storePending(); }
          retryDelay = 2000;
          flush();
        } else if (data.closed) {
          closed = true;
          window.localStorage.removeItem(storeKey);
          showState("error", app.dataset.msgClosed);
          window.location.reload();
        } else {
          // Refused (e.g. an invalid value): drop it so the queue keeps moving.
          delete pending[position];
          storePending();
          showState("error", data.error || "");
          flush();
        }
      });
    }).catch(function () {
      inFlight = false;
      showState("offline", app.dataset.msgOffline.replace("{n}", String(pendingCount())));
      scheduleRetry();
    });
  }

  function choose(section) {
    var position = section.dataset.position;
    var value = responseOf(section);
    pending[position] = value;
    storePending();
    markNav(Number(position), value !== "");
    flush();
  }

  function show(index) {
    if (!onePerPage) { return; }
    current = Math.max(0, Math.min(sections.length - 1, index));
    sections.forEach(function (s, i) { s.classList.toggle("d-none", i !== current); });
    navButtons.forEach(function (b, i) { b.classList.toggle("active", i === current); });
    document.getElementById("prev-q").disabled = current === 0;
    document.getElementById("next-q").disabled = current === sections.length - 1;
  }

  sections.forEach(function (section) {
    section.addEventListener("change", function () { choose(section); });
  });
  navButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      var index = Number(button.dataset.goto) - 1;
      if (onePerPage) { show(index); window.scrollTo(0, 0); } else { sections[index].scrollIntoView(); }
    });
  });
  document.getElementById("prev-q").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next-q").addEventListener("click", function () { show(current + 1); });
  if (!onePerPage) { document.querySelector(".exam-pager").classList.add("d-none"); }
  document.getElementById("paper").addEventListener("submit", function (e) { e.preventDefault(); });

  function unanswered() {
    return sections.filter(function (s) { return responseOf(s) === ""; }).length;
  }

  function submitNow(auto) {
    closed = true;
    document.getElementById("auto-flag").value = auto ? "1" : "0";
    submitForm.submit();
  }

  submitForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var left = unanswered();
    var question = left ? app.dataset.msgUnanswered.replace("{n}", String(left)) : app.dataset.msgConfirm;
    if (!window.confirm(question)) { return; }
    waitForQueue(5000, function () { submitNow(false); });
  });

  function waitForQueue(limitMs, then) {
    var started = Date.now();
    flush();
    (function check() {
      if (!pendingCount() || Date.now() - started > limitMs) { then(); return; }
      window.setTimeout(check, 200);
    }());
  }

  // Countdown from the server's figure; at zero, send what is queued and submit.
  var endsAt = Date.now() + Number(app.dataset.remaining) * 1000;
  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    countdown.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    countdown.classList.toggle("text-bg-danger", left <= 60);
    if (left <= 0) {
      if (!closed) { waitForQueue(3000, function () { submitNow(true); }); closed = true; }
      return;
    }
    window.setTimeout(tick, 1000);
  }

  document.addEventListener("visibilitychange", function () {
    if (closed) { return; }
    post(eventUrl, { kind: document.hidden ? "leave" : "return" }).catch(function () {});
    if (!document.hidden) { flush(); }
  });
  window.addEventListener("online", function () { retryDelay = 2000; flush(); });

  loadPending();
  applyLocal();
  show(0);
  tick();
  flush();
}());
