// My Account: the modal that the user menu fills with htmx, the view toggle of each password
// field, and the new name shown in the top bar once it is saved.
(function () {
  "use strict";
  var opener = null; // what had focus before the dialog opened; it gets focus back

  function byId(id) { return document.getElementById(id); }

  // Without script a toggle could do nothing, so the markup keeps them hidden until now.
  function enableToggles(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll(".js-password-toggle").forEach(function (button) {
      button.hidden = false;
    });
  }

  function toggle(button) {
    var field = byId(button.getAttribute("aria-controls"));
    if (!field) return;
    var show = field.type === "password";
    field.type = show ? "text" : "password";
    button.setAttribute("aria-pressed", show ? "true" : "false");
    button.setAttribute("aria-label", show ? button.dataset.hideLabel : button.dataset.showLabel);
    button.querySelector(".js-when-hidden").hidden = show;
    button.querySelector(".js-when-shown").hidden = !show;
  }

  function focusInDialog() {
    var box = byId("account-box");
    if (!box) return;
    var target = box.querySelector("[data-account-notice]") ||
      box.querySelector(".is-invalid") ||
      box.querySelector("input:not([type=hidden])");
    if (target) target.focus();
  }

  function focusTarget(element) {
    // A menu item disappears with its menu: its toggle button takes focus back instead.
    var menu = element.closest(".dropdown-menu");
    var toggleButton = menu && menu.parentElement.querySelector("[data-bs-toggle=dropdown]");
    return toggleButton || element;
  }

  document.addEventListener("DOMContentLoaded", function () { enableToggles(document); });
  document.addEventListener("htmx:load", function (event) { enableToggles(event.detail.elt); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-password-toggle");
    if (button) toggle(button);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var dialog = byId("account-dialog");
    var target = event.detail.target;
    if (!dialog || !target || target.id !== "account-box" || dialog.contains(event.detail.elt)) return;
    opener = focusTarget(event.detail.elt);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = byId("account-dialog");
    if (!dialog || event.detail.target.id !== "account-box") return;
    if (dialog.classList.contains("show")) { focusInDialog(); return; }
    var modal = window.ShipyardModal.of(dialog);
    if (modal) modal.show();
  });

  // Bootstrap focuses the dialog itself once it has faded in: someone quick (or a slow
  // machine) may already be typing in a field by then, and keeps it.
  var typing = null;

  document.addEventListener("show.bs.modal", function (event) {
    if (event.target.id === "account-dialog") typing = null;
  });

  document.addEventListener("focusin", function (event) {
    var dialog = byId("account-dialog");
    if (dialog && dialog.contains(event.target) && event.target.matches("input, textarea")) {
      typing = event.target;
    }
  });

  document.addEventListener("shown.bs.modal", function (event) {
    if (event.target.id !== "account-dialog") return;
    if (typing && document.contains(typing)) typing.focus();
    else focusInDialog();
  });

  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id !== "account-dialog") return;
    byId("account-box").replaceChildren();
    var back = opener && document.contains(opener) ? opener : byId("main");
    opener = null;
    if (back) back.focus();
  });

  document.addEventListener("shipyard:account-updated", function (event) {
    var name = event.detail && event.detail.name;
    if (!name) return;
    document.querySelectorAll(".topbar-user-name").forEach(function (element) {
      element.textContent = name;
    });
  });
})();
