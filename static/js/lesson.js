// Lesson heartbeats: while the page is visible and the learner has done something recently, tell
// the server every few seconds, with whether the end of the text was reached and which video
// seconds were seen playing. The server measures the time between beats and decides completion.
(function () {
  "use strict";
  var app = document.getElementById("lesson-app");
  if (!app) { return; }
  var beatMs = Number(app.dataset.beat) * 1000;
  var idleMs = Number(app.dataset.idle) * 1000;
  var state = document.getElementById("lesson-state");
  var lastActivity = Date.now();
  var atEnd = false;
  var played = [];
  var done = app.dataset.completed === "1";

  ["scroll", "touchstart", "keydown", "mousemove", "click"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });

  var end = document.getElementById("lesson-end");
  if (end && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) { if (entry.isIntersecting) { atEnd = true; } });
    }).observe(end);
  }

  var video = document.getElementById("lesson-video");
  if (video) {
    video.addEventListener("timeupdate", function () {
      if (!video.paused) { lastActivity = Date.now(); played.push(Math.floor(video.currentTime)); }
    });
    video.addEventListener("error", function () {
      document.getElementById("video-error").classList.remove("d-none");
    });
  }

  function format(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function show(data) {
    if (data.completed) {
      done = true;
      state.className = "badge text-bg-success";
      state.textContent = app.dataset.msgDone;
      return;
    }
    state.className = "badge text-bg-light";
    state.textContent = app.dataset.msgProgress.replace("{spent}", format(data.active_seconds))
      .replace("{need}", format(data.min_seconds));
    var videoNote = document.getElementById("video-progress");
    if (videoNote) { videoNote.textContent = app.dataset.msgVideo.replace("{pct}", String(Math.round(data.watched * 100))); }
  }

  function beat() {
    var visible = !document.hidden;
    var active = Date.now() - lastActivity < idleMs;
    if (!visible || !active) {
      if (!done) { state.textContent = app.dataset.msgIdle; }
      return;
    }
    var body = JSON.stringify({ at_end: atEnd, played: played.slice(-200) });
    played = [];
    window.fetch(app.dataset.beatUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": app.dataset.csrf },
      body: body
    }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) { state.textContent = app.dataset.msgExpired; return null; }
      return resp.json();
    }).then(function (data) { if (data && data.ok) { show(data); } }).catch(function () { /* next beat retries */ });
  }

  beat();
  window.setInterval(beat, beatMs);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { lastActivity = Date.now(); beat(); } });
}());
