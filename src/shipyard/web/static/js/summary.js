// The Summary page's live panels (templates/summary.html, web/summary/panels.py).
//
// Each `.summary-live` wrapper refreshes its panel with htmx. This script:
//  - sends the version the panel shows (`data-etag`) as If-None-Match: the server answers 204
//    when nothing changed, and htmx then swaps nothing;
//  - swaps nothing either when the new HTML is the same as what is shown (routes that send no
//    ETag), or while focus is inside the panel (a select being used keeps its state);
//  - skips timed refreshes while the tab is hidden, and refreshes at once when it shows again;
//  - when a refresh fails (HTTP error or network), keeps the last figures and shows the notice
//    beside the panel ("Could not refresh — retrying") until the next refresh succeeds —
//    but not when the web session has ended (401): refreshes stop, app.js says so once.
(function () {
  "use strict";

  function isLive(elt) {
    return Boolean(elt && elt.classList && elt.classList.contains("summary-live"));
  }

  function noticeOf(live) {
    var slot = live.closest(".summary-slot");
    return slot ? slot.querySelector(".summary-stale") : null;
  }

  function staleText() {
    var page = document.querySelector(".summary");
    return (page && page.getAttribute("data-stale-text")) || "Could not refresh — retrying";
  }

  function setStale(live, stale) {
    var notice = noticeOf(live);
    if (notice) notice.textContent = stale ? staleText() : "";
    live.classList.toggle("is-stale", stale);
  }

  function sameAsShown(live, html) {
    var parsed = document.createElement("template");
    parsed.innerHTML = html;
    return parsed.innerHTML.trim() === live.innerHTML.trim();
  }

  document.addEventListener("htmx:confirm", function (event) {
    var live = event.detail.elt;
    if (!isLive(live) || !document.hidden) return;
    if (!event.detail.triggeringEvent) event.preventDefault(); // a timed refresh nobody sees
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var live = event.detail.elt;
    if (!isLive(live)) return;
    var etag = live.getAttribute("data-etag");
    if (etag) event.detail.headers["If-None-Match"] = etag;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var live = event.detail.elt;
    if (!isLive(live) || event.detail.target !== live) return;
    var xhr = event.detail.xhr;
    if (xhr.status < 200 || xhr.status >= 300 || xhr.status === 204) return;
    var focusInside = live.contains(document.activeElement) && document.activeElement !== live;
    if (focusInside || sameAsShown(live, xhr.responseText)) {
      event.detail.shouldSwap = false;
      return;
    }
    live.setAttribute("data-etag", xhr.getResponseHeader("ETag") || "");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (isLive(event.detail.elt) && event.detail.successful) setStale(event.detail.elt, false);
  });

  function failed(event) {
    var live = event.detail.elt;
    if (!isLive(live)) return;
    // Logged out: nothing is retried; app.js's one notice says why and leads to the login.
    if (event.detail.xhr && event.detail.xhr.status === 401) return;
    setStale(live, true);
    event.stopPropagation(); // a panel says so itself: no toast every five seconds
  }

  function quietError(event) {
    if (isLive(event.target)) event.stopPropagation();
  }

  function watch(live) {
    live.addEventListener("htmx:responseError", failed);
    live.addEventListener("htmx:sendError", failed);
    live.addEventListener("shipyard:error", quietError);
  }

  document.querySelectorAll(".summary-live").forEach(watch);

  document.addEventListener("visibilitychange", function () {
    if (document.hidden || typeof htmx === "undefined") return;
    document.querySelectorAll(".summary-live").forEach(function (live) {
      htmx.trigger(live, "summary:refresh");
    });
  });
})();
