// The Logs / Errors page: lists, filters and clears the client-side log that app.js keeps.
// Colours follow severity (ShipyardLog.isError, the rule app.js records with): an error row is
// marked red; the status is red only when the status itself failed (0, or 400 and above), so a
// form refused with 200 reads as "200" beside "Validation error".
(function () {
  "use strict";
  var card = document.getElementById("client-log");
  var rows = document.getElementById("log-rows");
  var errorsOnly = document.getElementById("log-errors-only");
  var search = document.getElementById("log-search");
  var count = document.getElementById("log-count");
  var COLUMNS = 8;

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function paramsText(params) {
    return Object.keys(params || {}).map(function (name) {
      return name + "=" + params[name];
    }).join(", ");
  }

  var KINDS = { error: card.dataset.kindError, invalid: card.dataset.kindInvalid };

  function kindLabel(entry) {
    return KINDS[entry.kind] || card.dataset.kindRequest;
  }

  function isError(entry) { return window.ShipyardLog.isError(entry); }

  function statusFailed(entry) { return !entry.status || entry.status >= 400; }

  function row(entry) {
    var tr = document.createElement("tr");
    var error = isError(entry);
    if (error) tr.className = "client-log-error";
    var time = cell("", "text-nowrap");
    var stamp = document.createElement("time");
    stamp.dateTime = entry.time;
    stamp.textContent = new Date(entry.time).toLocaleString();
    time.append(stamp);
    tr.append(
      time,
      cell(entry.status ? String(entry.status) : "—",
           error && statusFailed(entry) ? "text-danger fw-bold" : ""),
      cell(kindLabel(entry), "text-nowrap" + (error ? " text-danger" : "")),
      cell(entry.method || "—"),
      cell(entry.url || "", "log-url"),
      cell(entry.title || "", error ? "text-danger" : ""),
      cell(entry.message || "", "log-message"),
      cell(paramsText(entry.params), "log-params font-monospace small")
    );
    return tr;
  }

  function matches(entry, term) {
    if (errorsOnly.checked && !isError(entry)) return false;
    if (!term) return true;
    var text = [entry.time, entry.status, kindLabel(entry), entry.method, entry.url, entry.title,
                entry.message, paramsText(entry.params)].join(" ");
    return text.toLowerCase().indexOf(term) !== -1;
  }

  function emptyRow(text) {
    var tr = document.createElement("tr");
    var td = cell(text, "text-secondary text-center py-4");
    td.colSpan = COLUMNS;
    tr.append(td);
    return tr;
  }

  function render() {
    var all = window.ShipyardLog.read();
    var term = search.value.trim().toLowerCase();
    var entries = all.slice().reverse().filter(function (entry) { return matches(entry, term); });
    rows.replaceChildren();
    if (!entries.length) {
      rows.append(emptyRow(all.length ? card.dataset.noMatch : card.dataset.empty));
    } else {
      rows.append.apply(rows, entries.map(row));
    }
    count.textContent = card.dataset.count
      .replace("{shown}", String(entries.length)).replace("{total}", String(all.length));
  }

  errorsOnly.addEventListener("change", render);
  search.addEventListener("input", render);
  document.getElementById("log-refresh").addEventListener("click", render);
  document.getElementById("log-clear-confirm").addEventListener("click", function () {
    window.ShipyardLog.clear();
    render();
    window.ShipyardModal.hide(document.getElementById("log-clear-dialog"));
  });
  // Another tab of the console may record entries meanwhile.
  window.addEventListener("storage", function (event) {
    if (event.key === null || event.key === "shipyard.client-log") render();
  });
  render();
})();
