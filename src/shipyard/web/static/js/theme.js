// Applies the theme before the page paints; loaded synchronously in <head>. "system" follows
// the operating system's choice, also when it changes. `window.ShipyardTheme.apply` shows
// another preference at once (the Preferences form previews a choice before it is saved).
(function () {
  "use strict";
  var root = document.documentElement;
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function apply(preference) {
    root.dataset.themePreference = preference;
    var dark = preference === "system" ? !!(query && query.matches) : preference === "dark";
    root.dataset.bsTheme = dark ? "dark" : "light";
  }

  apply(root.dataset.themePreference || "system");
  if (query) {
    query.addEventListener("change", function () {
      if (root.dataset.themePreference === "system") apply("system");
    });
  }
  window.ShipyardTheme = { apply: apply };
})();
