// Data & Storage pages: the one dialog modal that htmx fills, the folder tabs kept across
// refreshes, and short notices after an action succeeds.
(function () {
  "use strict";
  var opener = null; // what had focus before the dialog opened; it gets focus back
  var returnTo = null; // the opener's id, for when a refreshed list has replaced it

  function byId(id) { return document.getElementById(id); }

  function focusFirst() {
    var box = byId("dialog-box");
    if (!box) return;
    var field = box.querySelector("[autofocus]") ||
      box.querySelector("input:not([type=hidden]), select, textarea, .modal-footer button");
    if (field) field.focus();
  }

  function focusTarget(element) {
    // A menu item disappears with its menu: its toggle button takes focus back instead.
    var menu = element.closest(".dropdown-menu");
    var toggle = menu && menu.parentElement.querySelector("[data-bs-toggle=dropdown]");
    return toggle || element;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var dialog = byId("dialog");
    var target = event.detail.target;
    if (!dialog || !target || target.id !== "dialog-box" || dialog.contains(event.detail.elt)) return;
    opener = focusTarget(event.detail.elt);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = byId("dialog");
    if (!dialog || event.detail.target.id !== "dialog-box") return;
    if (dialog.classList.contains("show")) { focusFirst(); return; }
    var modal = window.ShipyardModal.of(dialog);
    if (modal) modal.show();
  });

  document.addEventListener("shown.bs.modal", function (event) {
    // Already hiding again (closed while it faded in): leave focus where it goes back to.
    if (event.target.id !== "dialog" || !event.target.classList.contains("show")) return;
    // Someone quick (or a slow machine) may already be typing in it: keep their focus.
    var active = document.activeElement;
    if (active === event.target || !event.target.contains(active)) focusFirst();
  });

  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id !== "dialog") return;
    byId("dialog-box").replaceChildren();
    var back = opener && document.contains(opener) ? opener : null;
    returnTo = opener && opener.id ? opener.id : null;
    opener = null;
    (back || byId("main")).focus();
  });

  // A list refreshed after the dialog closed replaced what had focus: focus its namesake.
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (id !== "folders" && id !== "files") return;
    var lost = !document.activeElement || document.activeElement === document.body;
    var again = returnTo && byId(returnTo);
    returnTo = null;
    if (lost) (again || byId("main")).focus();
  });

  function notice(message) {
    var box = byId("toasts");
    if (!box || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast show";
    toast.setAttribute("role", "status");
    var body = document.createElement("div");
    body.className = "toast-body d-flex align-items-center gap-2";
    body.textContent = message;
    toast.append(body);
    box.append(toast);
    setTimeout(function () { toast.remove(); }, 5000);
  }

  document.addEventListener("shipyard:dialog-done", function (event) {
    window.ShipyardModal.hide(byId("dialog"));
    notice(event.detail && event.detail.message);
  });

  // Folder tabs: remember the open one, so a refresh after a change keeps it open.
  document.addEventListener("shown.bs.tab", function (event) {
    var section = byId("folders");
    var tab = event.target.getAttribute("data-tab");
    if (!section || !tab) return;
    section.setAttribute("data-tab", tab);
    history.replaceState(history.state, "", "/data?tab=" + encodeURIComponent(tab));
  });

  document.addEventListener("shipyard:folders-changed", function (event) {
    var section = byId("folders");
    if (!section || !window.htmx) return;
    var tab = (event.detail && event.detail.tab) || section.getAttribute("data-tab") || "own";
    window.htmx.ajax("GET", "/data?tab=" + encodeURIComponent(tab), { target: "#folders", swap: "outerHTML" });
  });
})();
