// The START launcher: each resource slider and its number box move together; Cancel and
// the close button put the launcher away without leaving the page.
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var source = event.target;
    var partnerId = source.getAttribute && source.getAttribute("data-sync");
    var partner = partnerId && document.getElementById(partnerId);
    if (partner) partner.value = source.value;
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-launcher-close]");
    var launcher = close && document.getElementById("launcher");
    if (!launcher) return;
    event.preventDefault();
    launcher.remove();
    var opener = document.querySelector("[data-launcher-open]");
    if (opener) opener.focus();
  });
})();
