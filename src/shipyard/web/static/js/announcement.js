// The announcement banner: dismissing it hides this message for good on this browser.
// The key is a hash of the message (data-announcement-key), so a new message shows again.
(function () {
  "use strict";
  var STORE = "shipyard.announcement-dismissed";

  function dismissed() {
    try { return localStorage.getItem(STORE); } catch (e) { return null; }
  }

  function init() {
    var banner = document.querySelector("[data-announcement-key]");
    if (!banner) return;
    var key = banner.getAttribute("data-announcement-key");
    var box = banner.parentElement;
    if (dismissed() === key) { box.remove(); return; }
    banner.querySelector("[data-announcement-dismiss]").addEventListener("click", function () {
      try { localStorage.setItem(STORE, key); } catch (e) { /* private mode: hide for now */ }
      box.remove();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
