// The console as a desktop app: registers the service worker (every page), and drives the
// Summary page's Desktop app panel (templates/_summary_desktop.html):
// - the Install button shows only while the browser offers installing (it fired
//   `beforeinstallprompt`) and the console is not already running as the installed app;
//   clicking it calls the event's prompt();
// - the preselected native download is refined from navigator.userAgentData where the
//   browser has it (the server guessed from the User-Agent, which hides Apple silicon).
// The panel may be swapped in by htmx later, so its state is applied on every htmx load too.
(function () {
  "use strict";
  var offer = null; // the deferred beforeinstallprompt event
  var HINT_OS = { Windows: "windows", macOS: "macos", Linux: "linux" };
  var HINT_ARCH = { x86: "x64", arm: "arm64" };

  if (window.isSecureContext && "serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch(function () {
        /* not installable then; the console works the same */
      });
    });
  }

  function installed() {
    return window.matchMedia("(display-mode: standalone)").matches ||
      window.navigator.standalone === true;
  }

  function show(root, selector, visible) {
    root.querySelectorAll(selector).forEach(function (element) { element.hidden = !visible; });
  }

  function syncInstall(root) {
    var app = installed();
    show(root, "[data-desktop-install]", offer !== null && !app);
    show(root, "[data-desktop-installed]", app);
    show(root, "[data-desktop-hint]", offer === null && !app && window.isSecureContext);
    show(root, "[data-desktop-insecure]", !app && !window.isSecureContext);
  }

  function choose(panel, os, arch) {
    var link = panel.querySelector('[data-os="' + os + '"][data-arch="' + arch + '"]');
    var main = panel.querySelector("[data-desktop-recommended]");
    if (!link || !main) return;
    panel.querySelectorAll("[data-os]").forEach(function (other) {
      var mine = other === link;
      other.classList.toggle("btn-primary", mine);
      other.classList.toggle("btn-outline-secondary", !mine);
      if (mine) other.setAttribute("aria-current", "true"); else other.removeAttribute("aria-current");
    });
    main.href = link.href;
    main.querySelector("[data-desktop-recommended-label]").textContent = link.dataset.label;
    main.hidden = false;
  }

  function refine(root) {
    var data = navigator.userAgentData;
    var panel = root.querySelector("[data-desktop-downloads]");
    if (!panel || !data || typeof data.getHighEntropyValues !== "function") return;
    data.getHighEntropyValues(["architecture", "bitness", "platform"]).then(function (hints) {
      var os = HINT_OS[hints.platform];
      var arch = HINT_ARCH[hints.architecture];
      if (os && arch) choose(panel, os, arch);
    }).catch(function () { /* keep the server's guess */ });
  }

  function apply(root) {
    syncInstall(root);
    refine(root);
  }

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault(); // our button asks instead of the browser's mini-infobar
    offer = event;
    syncInstall(document);
  });

  window.addEventListener("appinstalled", function () {
    offer = null;
    syncInstall(document);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-desktop-install]");
    if (!button || offer === null) return;
    var prompt = offer;
    offer = null; // a prompt can be shown once; the browser fires a new event if declined
    syncInstall(document);
    Promise.resolve(prompt.prompt()).catch(function () { /* dismissed or refused */ });
  });

  document.addEventListener("DOMContentLoaded", function () { apply(document); });
  document.addEventListener("htmx:load", function (event) {
    var target = event.target;
    if (target.matches("[data-desktop-panel]") || target.querySelector("[data-desktop-panel]")) {
      apply(document);
    }
  });
})();
