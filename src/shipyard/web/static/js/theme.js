// Applies the "system" theme before the page paints; loaded synchronously in <head>.
(function () {
  "use strict";
  var root = document.documentElement;
  if (root.dataset.themePreference !== "system" || !window.matchMedia) return;
  var query = window.matchMedia("(prefers-color-scheme: dark)");
  var apply = function () { root.dataset.bsTheme = query.matches ? "dark" : "light"; };
  apply();
  query.addEventListener("change", apply);
})();
