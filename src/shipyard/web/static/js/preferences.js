// The Preferences page: previews a theme as soon as it is chosen (leaving without saving
// shows the saved one again on the next page), asks for the notification permission when the
// switch goes on, shows the minutes field only for "Other…", copies a new token, and
// refreshes the token and key lists after a dialog revoked or deleted one.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.name === "theme" && field.type === "radio" && window.ShipyardTheme) {
      window.ShipyardTheme.apply(field.value);
    }
  });

  var notify = byId("pref-notify");
  var blocked = byId("pref-notify-blocked");
  var idle = byId("pref-idle");
  var customGroup = byId("pref-idle-custom-group");

  function showBlocked(permission) {
    if (!blocked) return;
    var text = "";
    if (!("Notification" in window)) text = blocked.dataset.unsupported;
    else if (permission === "denied") text = blocked.dataset.denied;
    blocked.textContent = text;
    blocked.hidden = !text || !notify.checked;
  }

  if (notify) {
    notify.addEventListener("change", function () {
      if (!notify.checked || !("Notification" in window)) { showBlocked(null); return; }
      if (Notification.permission !== "default") { showBlocked(Notification.permission); return; }
      Promise.resolve(Notification.requestPermission()).then(showBlocked, function () {
        showBlocked("denied");
      });
    });
    showBlocked("Notification" in window ? Notification.permission : null);
  }

  function showCustom() {
    if (idle && customGroup) customGroup.hidden = idle.value !== "custom";
  }
  if (idle) {
    idle.addEventListener("change", function () {
      showCustom();
      if (idle.value === "custom") byId("pref-idle-custom").focus();
    });
    showCustom();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-copy");
    var field = button && byId(button.dataset.copy);
    if (field) window.ShipyardClipboard.copy(button, field.value, field);
  });

  function refresh(path, target) {
    if (window.htmx && byId(target)) {
      window.htmx.ajax("GET", path, { target: "#" + target, swap: "outerHTML" });
    }
  }
  document.addEventListener("shipyard:tokens-changed", function () {
    refresh("/preferences/tokens", "tokens");
  });
  document.addEventListener("shipyard:ssh-keys-changed", function () {
    refresh("/preferences/ssh-keys", "ssh-keys");
  });
})();
