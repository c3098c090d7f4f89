// Automatic logout: after the user's idle minutes without keyboard, mouse or touch activity
// in any console tab, log out (POST /logout with the CSRF token) and go to /login?reason=idle.
// A warning appears a minute before. Tabs share the last activity time through localStorage.
(function () {
  "use strict";
  var config = document.getElementById("console-watch");
  var minutes = config ? parseInt(config.dataset.idleMinutes, 10) : NaN;
  if (!(minutes > 0)) return;
  var KEY = "shipyard.last-activity";
  var LOGGED_OUT_KEY = "shipyard.idle-logout";
  var LIMIT = minutes * 60000;
  var WARN_BEFORE = Math.min(60000, LIMIT / 2);
  var CHECK_EVERY = 5000;
  var WRITE_EVERY = 2000; // activity is written at most this often, not on every mouse move
  var lastWrite = 0;
  var warning = null;
  var leaving = false;

  function lastActivity() {
    var stored = parseInt(localStorage.getItem(KEY) || "0", 10);
    return stored > 0 ? stored : Date.now();
  }

  function active() {
    var now = Date.now();
    if (warning) hideWarning();
    if (now - lastWrite < WRITE_EVERY) return;
    lastWrite = now;
    try { localStorage.setItem(KEY, String(now)); } catch (e) { /* storage full */ }
  }

  function showWarning() {
    var box = document.getElementById("toasts");
    if (warning || !box) return;
    warning = document.createElement("div");
    warning.className = "toast show";
    warning.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "toast-body";
    var title = document.createElement("strong");
    title.className = "d-block";
    title.textContent = config.dataset.idleWarning;
    var hint = document.createElement("span");
    hint.textContent = config.dataset.idleStay;
    body.append(title, hint);
    warning.append(body);
    box.append(warning);
  }

  function hideWarning() {
    if (warning) warning.remove();
    warning = null;
  }

  function toLogin() { location.assign("/login?reason=idle"); }

  function logOut() {
    leaving = true;
    if (window.ShipyardLog) window.ShipyardLog.clear();
    try { localStorage.setItem(LOGGED_OUT_KEY, String(Date.now())); } catch (e) { /* full */ }
    var csrf = document.querySelector('meta[name="csrf-token"]');
    var token = csrf ? csrf.content : "";
    fetch("/logout", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token },
      body: "csrf_token=" + encodeURIComponent(token),
      credentials: "same-origin",
      redirect: "manual",
    }).then(toLogin, toLogin);
  }

  function check() {
    if (leaving) return;
    var idle = Date.now() - lastActivity();
    if (idle >= LIMIT) logOut();
    else if (idle >= LIMIT - WARN_BEFORE) showWarning();
    else hideWarning();
  }

  ["keydown", "mousedown", "mousemove", "wheel", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, active, { passive: true, capture: true });
  });
  // Another tab was active, or logged out for inactivity: follow it at once.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) check();
    if (event.key === LOGGED_OUT_KEY && event.newValue && !leaving) { leaving = true; toLogin(); }
  });
  lastWrite = 0;
  active();
  setInterval(check, CHECK_EVERY);
})();
