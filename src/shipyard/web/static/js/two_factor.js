// Two-factor login in My Account: on the /account page the "2FA Enabled" switch opens its
// dialog as a page (in the modal htmx does that), and the recovery codes copy to the clipboard.
(function () {
  "use strict";

  // Without script a copy button could do nothing, so the markup keeps it hidden until now.
  function enableCopy(root) {
    if (!root || !root.querySelectorAll || !navigator.clipboard) return;
    root.querySelectorAll("[data-2fa-copy]").forEach(function (button) { button.hidden = false; });
  }

  function copy(button) {
    var list = document.getElementById(button.getAttribute("data-2fa-copy"));
    if (!list) return;
    var codes = Array.prototype.map.call(list.querySelectorAll("li"), function (item) {
      return item.textContent.trim();
    });
    navigator.clipboard.writeText(codes.join("\n") + "\n").then(function () {
      var done = button.parentElement.querySelector("[data-2fa-copied]");
      if (done) done.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enableCopy(document); });
  document.addEventListener("htmx:load", function (event) { enableCopy(event.detail.elt); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-2fa-copy]");
    if (button) copy(button);
  });

  document.addEventListener("change", function (event) {
    var toggle = event.target;
    if (!toggle.hasAttribute || !toggle.hasAttribute("data-2fa-switch")) return;
    if (toggle.hasAttribute("hx-get")) return; // the modal: htmx loads the dialog
    window.location.assign(toggle.getAttribute("data-2fa-switch"));
  });

  // Coming back to /account from the dialog page: show the switch as it really is.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("[data-2fa-switch]").forEach(function (toggle) {
      toggle.checked = toggle.defaultChecked;
    });
  });
})();
