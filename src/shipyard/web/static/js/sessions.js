// The Sessions pages. The START launcher: each resource slider and its number box move
// together; Cancel and the close button put the launcher away without leaving the page.
// The list's row actions (copy id, terminate with a confirm). A session's output in a
// read-only terminal.
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

  // The list ---------------------------------------------------------------------------

  // The rows refresh every few seconds; not while a person is on one of them (keyboard
  // focus would be lost) or deciding in the terminate dialog.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var rows = document.getElementById("sessions-rows");
    if (!rows || event.detail.elt !== rows) return;
    if (rows.contains(document.activeElement) || document.querySelector(".modal.show")) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-copy-id");
    if (button) window.ShipyardClipboard.copy(button, button.dataset.copyId);
  });

  document.addEventListener("show.bs.modal", function (event) {
    var form = event.target.querySelector("[data-terminate-form]");
    var opener = event.relatedTarget;
    if (!form || !opener || !opener.dataset.terminate) return;
    form.action = opener.dataset.terminate;
    form.querySelector("[data-terminate-name]").textContent = opener.dataset.sessionName;
  });

  // A session's output -------------------------------------------------------------------

  // What the logs polls append to the <pre> is written to a read-only terminal, which draws
  // colours and cursor movement and stays at the bottom while new output comes (unless the
  // reader scrolled up). The plain-text download is the text alternative.
  var screen = document.getElementById("log-screen");
  var sink = document.getElementById("log-output");
  if (!screen || !sink || !window.Terminal) return;
  var term = new window.Terminal({
    disableStdin: true,
    convertEol: true,
    scrollback: 10000,
    fontSize: 13,
    screenReaderMode: true,
    cursorInactiveStyle: "none"
  });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  screen.hidden = false;
  sink.parentElement.hidden = true;
  term.open(screen);
  fit.fit();

  function feed() {
    var text = sink.textContent;
    if (!text) return;
    sink.textContent = "";
    term.write(text);
  }
  feed();
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === sink) feed();
  });
  window.addEventListener("resize", function () { fit.fit(); });
})();
