// Users administration: after the back or forward button, the filter fields show what the
// restored list is filtered by (htmx restores the list, not what was typed in the fields).
(function () {
  "use strict";

  function syncFilters() {
    var form = document.getElementById("user-filters");
    if (!form) return;
    var params = new URLSearchParams(window.location.search);
    ["q", "role", "status"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) field.value = params.get(name) || "";
    });
  }

  document.addEventListener("htmx:historyRestore", syncFilters);
  window.addEventListener("popstate", function () { setTimeout(syncFilters, 0); });

  // A generated password is selected when shown, ready to copy.
  document.addEventListener("htmx:afterSettle", function () {
    var shown = document.getElementById("generated-password");
    if (shown && document.activeElement === shown) shown.select();
  });
})();
