// The Logs / Errors page: lists, filters and clears the client-side log of app.js.
(function () {
  "use strict";
  var card = document.getElementById("client-log");
  var rows = document.getElementById("log-rows");
  var errorsOnly = document.getElementById("log-errors-only");
  var search = document.getElementById("log-search");

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function render() {
    var term = search.value.trim().toLowerCase();
    var entries = window.ShipyardLog.read().slice().reverse().filter(function (entry) {
      if (errorsOnly.checked && !entry.error) return false;
      return !term || JSON.stringify(entry).toLowerCase().indexOf(term) !== -1;
    });
    rows.replaceChildren();
    if (!entries.length) {
      var tr = document.createElement("tr");
      var td = cell(card.dataset.empty, "text-secondary text-center");
      td.colSpan = 5;
      tr.append(td);
      rows.append(tr);
      return;
    }
    entries.forEach(function (entry) {
      var tr = document.createElement("tr");
      var params = JSON.stringify(entry.params || {});
      tr.append(
        cell(new Date(entry.time).toLocaleString(), "text-nowrap"),
        cell(entry.status ? String(entry.status) : "—", entry.error ? "text-danger" : ""),
        cell(entry.method || "—"),
        cell(entry.url || ""),
        cell((entry.message || "") + (params !== "{}" ? " " + params : ""))
      );
      rows.append(tr);
    });
  }

  errorsOnly.addEventListener("change", render);
  search.addEventListener("input", render);
  document.getElementById("log-refresh").addEventListener("click", render);
  document.getElementById("log-clear").addEventListener("click", function () {
    if (window.confirm(card.dataset.confirm)) {
      window.ShipyardLog.clear();
      render();
    }
  });
  render();
})();
