// Admin lists (agents, resource groups, environments): after a dialog changed something,
// reload the list in place, keeping the filters and page of the address bar.
(function () {
  "use strict";
  document.addEventListener("shipyard:admin-changed", function () {
    var list = document.getElementById("admin-list");
    if (!list || !window.htmx) return;
    var here = window.location.pathname + window.location.search;
    window.htmx.ajax("GET", here, { target: "#admin-list", swap: "outerHTML" });
  });
})();
