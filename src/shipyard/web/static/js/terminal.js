// The session terminal: xterm.js in the page, bytes over a WebSocket to the manager.
(function () {
  "use strict";
  var screen = document.getElementById("terminal");
  var status = document.getElementById("terminal-status");
  if (!screen || !window.Terminal) return;

  var term = new window.Terminal({ cursorBlink: true, convertEol: false, fontSize: 14 });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  fit.fit();
  term.focus();

  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + screen.dataset.socket);
  socket.binaryType = "arraybuffer";
  var encoder = new TextEncoder();

  function show(state, css) {
    status.textContent = status.dataset[state];
    status.className = "badge " + css;
  }

  function sendSize() {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resize", rows: term.rows, cols: term.cols }));
    }
  }

  socket.addEventListener("open", function () {
    show("connected", "bg-green-lt");
    sendSize();
  });
  socket.addEventListener("message", function (event) {
    if (event.data instanceof ArrayBuffer) term.write(new Uint8Array(event.data));
  });
  socket.addEventListener("close", function () {
    show("closed", "bg-secondary-lt");
    term.options.disableStdin = true;
  });
  term.onData(function (data) {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onResize(sendSize);
  window.addEventListener("resize", function () { fit.fit(); });
})();
