// The audit log shows each time in the browser's own time zone; the exact UTC time stays in
// the element's title and datetime attribute. Runs again on every htmx swap of the results.
(function () {
  "use strict";

  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });

  function localise(root) {
    var times = (root || document).querySelectorAll("time[data-local-time]");
    times.forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (!isNaN(moment.getTime())) element.textContent = format.format(moment);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function () { localise(document); });
})();
