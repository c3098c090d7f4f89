// Console behaviour that every page shares: CSRF header for htmx, error toasts, client log.
(function () {
  "use strict";
  var LOG_KEY = "shipyard.client-log";
  var LOG_LIMIT = 2000;
  var SECRET = /(pass(word)?|token|secret|otp|code|key)/i;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function readLog() {
    try { return JSON.parse(localStorage.getItem(LOG_KEY) || "[]"); } catch (e) { return []; }
  }

  function record(entry) {
    var entries = readLog();
    entry.time = new Date().toISOString();
    entries.push(entry);
    if (entries.length > LOG_LIMIT) entries = entries.slice(entries.length - LOG_LIMIT);
    try { localStorage.setItem(LOG_KEY, JSON.stringify(entries)); } catch (e) { /* storage full */ }
  }

  function maskParams(params) {
    var masked = {};
    Object.keys(params || {}).forEach(function (name) {
      if (name === "csrf_token") return;
      masked[name] = SECRET.test(name) ? "********" : String(params[name]).slice(0, 200);
    });
    return masked;
  }

  function showToast(title, message) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast show";
    toast.setAttribute("role", "alert");
    var header = document.createElement("div");
    header.className = "toast-header";
    var strong = document.createElement("strong");
    strong.className = "me-auto text-danger";
    strong.textContent = title;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { toast.remove(); });
    header.append(strong, close);
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = message;
    toast.append(header, body);
    box.append(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  }

  window.ShipyardLog = { read: readLog, clear: function () { localStorage.removeItem(LOG_KEY); } };

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var config = event.detail.requestConfig || {};
    record({
      kind: "request",
      method: (config.verb || "get").toUpperCase(),
      url: config.path || "",
      status: xhr ? xhr.status : 0,
      error: !event.detail.successful,
      params: maskParams(config.parameters),
      message: event.detail.successful ? "" : (xhr && xhr.statusText) || "request failed",
    });
  });

  document.addEventListener("shipyard:error", function (event) {
    var detail = event.detail || {};
    showToast(detail.title || "Error", detail.message || "");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("Network error", "The server could not be reached.");
  });

  window.addEventListener("error", function (event) {
    record({ kind: "error", method: "", url: location.pathname, status: 0, error: true,
             params: {}, message: String(event.message || "script error") });
  });

  document.addEventListener("submit", function (event) {
    if (event.target.classList && event.target.classList.contains("js-logout")) {
      window.ShipyardLog.clear();
    }
  });
})();
