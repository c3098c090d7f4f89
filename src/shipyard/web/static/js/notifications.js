// Desktop notifications when one of the user's sessions changes state. While a console page
// is open it polls the sessions API; a status that differs from the last one seen (by any
// tab, within the last minute) raises one notification. The first look only takes note, so
// opening a page never replays old changes.
(function () {
  "use strict";
  var config = document.getElementById("console-watch");
  if (!config || config.dataset.notifySessions !== "true" || !("Notification" in window)) return;
  var KEY = "shipyard.session-states";
  var EVERY = 10000;
  var FRESH = 60000;
  var URL = "/api/v1/sessions?all=true&limit=100";
  var timer = null;

  function seen() {
    try {
      var stored = JSON.parse(localStorage.getItem(KEY) || "null");
      return stored && Date.now() - stored.at < FRESH ? stored.states : null;
    } catch (e) { return null; }
  }

  function remember(states) {
    try {
      localStorage.setItem(KEY, JSON.stringify({ at: Date.now(), states: states }));
    } catch (e) { /* storage full */ }
  }

  function notify(session) {
    if (Notification.permission !== "granted") return;
    var text = config.dataset.notifyText
      .replace("{name}", session.name).replace("{status}", session.status);
    var note = new Notification(config.dataset.notifyTitle, {
      body: text,
      tag: "shipyard-session-" + session.id + "-" + session.status,
    });
    note.onclick = function () {
      window.focus();
      location.assign("/sessions/" + encodeURIComponent(session.id));
    };
  }

  function compare(sessions) {
    var before = seen();
    var now = {};
    sessions.forEach(function (session) {
      now[session.id] = session.status;
      if (before && before[session.id] && before[session.id] !== session.status) notify(session);
    });
    remember(now);
  }

  function poll() {
    fetch(URL, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { clearInterval(timer); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (body) { if (body && body.data) compare(body.data); })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  poll();
  timer = setInterval(poll, EVERY);
})();
