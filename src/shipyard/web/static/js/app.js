// Console behaviour that every page shares: CSRF header for htmx, error toasts, client log.
//
// The client log (DESIGN.md §7) keeps the last LOG_LIMIT entries in localStorage:
//   {time, kind: "request" | "invalid" | "error", status, error, title, message, method, url,
//    params, ms}
// Every htmx request is recorded, except successful polls and aborted requests; a plain form
// is recorded when the page it leads to answers with an error status; script errors are
// recorded too. Parameters whose names look secret are masked. Logging out clears the log.
//
// Severity: an entry is an error (`error: true`) if and only if its status is 400 or more,
// the request failed on the network (status 0), it is a script error (kind "error"), or the
// server refused the form it sent (kind "invalid": the X-Shipyard-Outcome: invalid header of
// web/kit.py, on a form shown again with its errors, often with status 200).
//
// An htmx request answered "logged out" (401, event "shipyard:logged-out", web/errors.py)
// changes nothing on the page: a notice offers the login page with `next` set to this page,
// and timed refreshes stop.
(function () {
  "use strict";
  var LOG_KEY = "shipyard.client-log";
  var PENDING_KEY = "shipyard.pending-form";
  var LOG_LIMIT = 2000;
  var MASK = "***";
  var SECRET = /(pass(word)?|token|secret|otp|code|key|auth)/i;
  var SKIPPED = { csrf_token: true };
  var OUTCOME_HEADER = "X-Shipyard-Outcome";
  var loggedOut = false;
  // Titles for plain-form failures that re-render their own page (an error page has its own).
  var REASONS = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
                  422: "Unprocessable Content", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function readLog() {
    try { return JSON.parse(localStorage.getItem(LOG_KEY) || "[]"); } catch (e) { return []; }
  }

  function isError(entry) {
    // The severity rule (see the top of this file); the Logs / Errors page uses it too.
    return entry.kind === "error" || entry.kind === "invalid" || !entry.status ||
      entry.status >= 400;
  }

  function record(entry) {
    var entries = readLog();
    entry.time = entry.time || new Date().toISOString();
    entry.error = isError(entry);
    entries.push(entry);
    if (entries.length > LOG_LIMIT) entries = entries.slice(entries.length - LOG_LIMIT);
    try { localStorage.setItem(LOG_KEY, JSON.stringify(entries)); } catch (e) { /* storage full */ }
  }

  function clearLog() {
    localStorage.removeItem(LOG_KEY);
    sessionStorage.removeItem(PENDING_KEY);
  }

  function maskParams(params) {
    var masked = {};
    var source = params || {};
    var names = typeof source.keys === "function" ? Array.from(source.keys()) : Object.keys(source);
    names.forEach(function (name) {
      if (SKIPPED[name]) return;
      var value = typeof source.get === "function" ? source.get(name) : source[name];
      if (typeof File !== "undefined" && value instanceof File) value = value.name;
      masked[name] = SECRET.test(name) ? MASK : String(value).slice(0, 200);
    });
    return masked;
  }

  function shown(text) { return String(text || "").replace(/\s+/g, " ").trim().slice(0, 300); }

  // Requests made with htmx ---------------------------------------------------------------

  function serverError(xhr) {
    // Console errors answer htmx with an HX-Trigger event (web/errors.py): "shipyard:error",
    // or "shipyard:logged-out" when the web session has ended.
    try {
      var events = JSON.parse(xhr.getResponseHeader("HX-Trigger") || "{}");
      return events["shipyard:error"] || events["shipyard:logged-out"] || null;
    } catch (e) { return null; }
  }

  function isPoll(elt) {
    var trigger = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
    return Boolean(trigger && trigger.indexOf("every ") !== -1);
  }

  function formErrors(target) {
    // A refused form shown again: its alert and the message by each field.
    var found = target ? target.querySelectorAll("[role=alert], .invalid-feedback") : [];
    return Array.from(found).map(function (node) { return shown(node.textContent); })
      .filter(Boolean).join(" · ");
  }

  function requestEntry(detail) {
    var config = detail.requestConfig || {};
    var start = detail.elt.__shipyardStart;
    return {
      kind: "request",
      method: (config.verb || "get").toUpperCase(),
      url: config.path || "",
      status: 0,
      title: "",
      message: "",
      params: maskParams(config.parameters),
      ms: start ? Date.now() - start : null,
    };
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (loggedOut && isPoll(event.detail.elt)) { event.preventDefault(); return; }
    event.detail.elt.__shipyardStart = Date.now();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail;
    var xhr = detail.xhr;
    if (!xhr || !xhr.status) return; // no answer: htmx:sendError or htmx:timeout records it
    var entry = requestEntry(detail);
    entry.status = xhr.status;
    if (xhr.status >= 400) {
      var reported = serverError(xhr);
      entry.title = shown((reported && reported.title) || xhr.statusText || "HTTP " + xhr.status);
      entry.message = shown((reported && reported.message) || "");
    } else if (xhr.getResponseHeader(OUTCOME_HEADER) === "invalid") {
      entry.kind = "invalid";
      entry.title = "Validation error";
      entry.message = formErrors(detail.target);
    } else if (isPoll(detail.elt)) {
      return;
    }
    record(entry);
  });

  function networkFailure(title) {
    return function (event) {
      var entry = requestEntry(event.detail);
      entry.title = title;
      entry.message = "The server could not be reached.";
      record(entry);
    };
  }

  document.addEventListener("htmx:sendError", networkFailure("Network error"));
  document.addEventListener("htmx:timeout", networkFailure("Timed out"));

  // Plain forms: the answer replaces the page, so the entry waits for the next page --------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.classList) return;
    if (form.classList.contains("js-logout")) { clearLog(); return; }
    if (event.defaultPrevented) return; // htmx sends it, and records it after the answer
    var entry = {
      kind: "request",
      method: (form.getAttribute("method") || "get").toUpperCase(),
      url: new URL(form.action, location.href).pathname,
      params: maskParams(new FormData(form, event.submitter)),
      started: Date.now(),
    };
    try { sessionStorage.setItem(PENDING_KEY, JSON.stringify(entry)); } catch (e) { /* full */ }
  });

  function pageProblem() {
    // error.html: a heading and a message; a form shown again: its alert or field message.
    var errorPage = document.querySelector("h1.empty-title");
    var alert = errorPage ? errorPage.parentElement.querySelector(".empty-subtitle")
      : document.querySelector("[role=alert], .invalid-feedback");
    return {
      title: errorPage ? errorPage.textContent : "",
      message: shown(alert ? alert.textContent : ""),
    };
  }

  function settlePendingForm() {
    var raw = sessionStorage.getItem(PENDING_KEY);
    if (!raw) return;
    sessionStorage.removeItem(PENDING_KEY);
    var entry;
    try { entry = JSON.parse(raw); } catch (e) { return; }
    var navigation = performance.getEntriesByType("navigation")[0];
    var status = navigation && navigation.responseStatus;
    if (!status || status < 400 || Date.now() - entry.started > 60000) return;
    entry.status = status;
    entry.error = true;
    var problem = pageProblem();
    entry.title = shown(problem.title || REASONS[status] || "HTTP " + status);
    entry.message = problem.message;
    entry.ms = Math.round(navigation.responseEnd - navigation.startTime);
    delete entry.started;
    record(entry);
  }

  // Script errors ----------------------------------------------------------------------------

  function scriptError(title, message, where) {
    record({ kind: "error", method: "", url: where || location.pathname, status: 0, error: true,
             title: shown(title), message: shown(message), params: {} });
  }

  window.addEventListener("error", function (event) {
    if (event.target && event.target !== window) return; // a failed <img>/<script>, not code
    var error = event.error;
    var where = event.filename ? event.filename + ":" + event.lineno : "";
    scriptError(error && error.name ? error.name : "Error", event.message || "script error", where);
  });

  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    var name = reason && reason.name ? reason.name : "Unhandled rejection";
    scriptError(name, reason && reason.message ? reason.message : String(reason), "");
  });

  // Toasts -------------------------------------------------------------------------------------

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

  window.ShipyardLog = { read: readLog, clear: clearLog, isError: isError, limit: LOG_LIMIT };

  // Bootstrap ignores hide() while a modal is still fading in: a quick click, a busy machine
  // or an answer faster than the animation would leave the dialog open. hideModal hides it
  // now, or as soon as it has finished showing.
  var fadingIn = new WeakSet();
  var hideWhenShown = new WeakSet();

  function modalOf(element) {
    var Modal = window.tabler && window.tabler.Modal;
    return element && Modal ? Modal.getOrCreateInstance(element) : null;
  }

  function hideModal(element) {
    if (!element) return;
    if (fadingIn.has(element)) { hideWhenShown.add(element); return; }
    var modal = modalOf(element);
    if (modal) modal.hide();
  }

  document.addEventListener("show.bs.modal", function (event) {
    if (!event.defaultPrevented) fadingIn.add(event.target);
  });
  document.addEventListener("shown.bs.modal", function (event) {
    fadingIn.delete(event.target);
    if (!hideWhenShown.has(event.target)) return;
    hideWhenShown.delete(event.target);
    hideModal(event.target);
  });

  window.ShipyardModal = { of: modalOf, hide: hideModal };

  // A copy button says "Copied" (its data-copied) in its own label for two seconds. Outside
  // a secure context the clipboard API is missing: a selected `field` is copied instead.
  function copyText(button, text, field) {
    function confirm() {
      var label = button.querySelector(".js-copy-label");
      var before = label.textContent;
      label.textContent = button.dataset.copied;
      setTimeout(function () { label.textContent = before; }, 2000);
    }
    if (field) field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(confirm);
    } else if (field && document.execCommand("copy")) {
      confirm();
    }
  }

  window.ShipyardClipboard = { copy: copyText };

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  document.addEventListener("shipyard:error", function (event) {
    var detail = event.detail || {};
    showToast(detail.title || "Error", detail.message || "");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("Network error", "The server could not be reached.");
  });

  function loginUrl(reason) {
    var page = location.pathname + location.search;
    return "/login?next=" + encodeURIComponent(page) + "&reason=" + encodeURIComponent(reason);
  }

  function showLoggedOut(detail) {
    // One notice that stays (every refresh of the page would answer the same) until used.
    var box = document.getElementById("toasts");
    if (!box || document.getElementById("logged-out-notice")) return;
    var notice = document.createElement("div");
    notice.id = "logged-out-notice";
    notice.className = "toast show";
    notice.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "toast-body";
    var title = document.createElement("strong");
    title.className = "d-block";
    title.textContent = detail.title || "Logged out";
    var message = document.createElement("p");
    message.className = "mb-2";
    message.textContent = detail.message || "";
    var link = document.createElement("a");
    link.className = "btn btn-primary btn-sm";
    link.href = loginUrl(detail.reason || "logged-out");
    link.textContent = detail.action || "Log in again";
    body.append(title, message, link);
    notice.append(body);
    box.append(notice);
  }

  document.addEventListener("shipyard:logged-out", function (event) {
    loggedOut = true;
    showLoggedOut(event.detail || {});
  });

  settlePendingForm();
})();
