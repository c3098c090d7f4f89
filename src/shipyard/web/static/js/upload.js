// Uploads in a folder's file browser, through the tus API with tus-js-client: one progress
// bar per file, Cancel (the server deletes the partial upload), automatic retries after a
// dropped connection, and resume after a reload when the same file is chosen again.
// The page says where to upload and every text to show in #uploader's data-* attributes.
(function () {
  "use strict";
  var root = document.getElementById("uploader");
  if (!root || !window.tus || !window.tus.isSupported) return;
  var list = document.getElementById("upload-list");
  var input = document.getElementById("upload-input");
  var zone = document.getElementById("dropzone");
  var announcer = document.getElementById("upload-status");
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  var MAX_ACTIVE = 3;
  var queue = [];
  var active = 0;

  function say(key, values) {
    var text = root.getAttribute("data-msg-" + key) || "";
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function announce(text) { announcer.textContent = text; }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function humanBytes(count) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var value = count;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit === 0 ? value + " B" : value.toFixed(1) + " " + units[unit];
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, className, onClick, ariaLabel) {
    var node = element("button", "btn btn-sm " + (className || ""), label);
    node.type = "button";
    if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
    node.addEventListener("click", onClick);
    return node;
  }

  // One file's line in the list: name, figures, actions, its bar and a message.
  function Row(file) {
    this.file = file;
    this.item = element("li", "list-group-item upload-item");
    var top = element("div", "upload-top");
    this.name = element("span", "upload-name text-truncate", file.name);
    this.figures = element("span", "upload-figures text-secondary");
    this.actions = element("span", "upload-actions");
    top.append(this.name, this.figures, this.actions);
    this.bar = element("progress", "upload-bar");
    this.bar.setAttribute("max", "100");
    this.bar.setAttribute("value", "0");
    this.bar.setAttribute("aria-label", say("bar-label", { name: file.name }));
    this.message = element("div", "upload-message small");
    this.item.append(top, this.bar, this.message);
    this.setState("waiting", say("waiting"));
    this.show(0, file.size, "");
  }

  Row.prototype.setState = function (state, message) {
    this.item.setAttribute("data-state", state);
    if (message !== undefined) this.message.textContent = message;
  };

  Row.prototype.show = function (sent, total, speed) {
    var percent = total > 0 ? Math.floor((sent * 100) / total) : 0;
    this.bar.setAttribute("value", String(percent));
    var text = say("progress", { percent: percent, done: humanBytes(sent), total: humanBytes(total) });
    this.figures.textContent = speed ? text + " · " + speed : text;
  };

  Row.prototype.setActions = function (nodes) { this.actions.replaceChildren.apply(this.actions, nodes); };

  Row.prototype.cancelButton = function () {
    var row = this;
    return button(say("cancel"), "btn-outline-secondary", function () { cancel(row); },
                  say("cancel-label", { name: row.file.name }));
  };

  Row.prototype.dismissButton = function () {
    var row = this;
    return button("×", "btn-ghost-secondary", function () { row.item.remove(); },
                  say("dismiss-label", { name: row.file.name }));
  };

  function errorMessage(response) {
    try {
      var body = JSON.parse(response.getBody());
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) { /* not our JSON error shape */ }
    return "HTTP " + response.getStatus();
  }

  function statusOf(error) { return error.originalResponse ? error.originalResponse.getStatus() : 0; }
  function methodOf(error) { return error.originalRequest ? error.originalRequest.getMethod() : ""; }

  function shouldRetry(row, error) {
    // No answer at all (a dropped connection) or a server fault: try again. A 409/423 while
    // resuming means the offset moved on: tus asks for it again. Refusals are final.
    var status = statusOf(error);
    if (row.canceled) return false;
    if (status === 0 || status >= 500 || (methodOf(error) !== "POST" && (status === 409 || status === 423))) {
      row.setState("retrying", say("retrying"));
      return true;
    }
    return false;
  }

  function finished(row) {
    active -= 1;
    pump();
    if (row.canceled) return;
    row.setActions([row.dismissButton()]);
  }

  function failed(row, error) {
    var response = error.originalResponse;
    if (methodOf(error) === "POST" && statusOf(error) === 409 && !row.replace) {
      active -= 1;
      pump();
      askReplace(row);
      return;
    }
    row.setState("error", response ? say("failed", { message: errorMessage(response) }) : say("offline"));
    announce(row.message.textContent);
    finished(row);
  }

  function askReplace(row) {
    row.setState("exists", say("exists", { name: row.file.name }));
    var replace = button(say("replace"), "btn-primary", function () {
      row.replace = true;
      enqueue(row);
    });
    var skip = button(say("skip"), "btn-outline-secondary", function () {
      row.setState("skipped", say("skipped"));
      row.setActions([row.dismissButton()]);
    });
    row.setActions([replace, skip]);
    announce(row.message.textContent);
  }

  function options(row) {
    var file = row.file;
    var metadata = { filename: file.name, path: root.getAttribute("data-path") || "" };
    if (row.replace) metadata.replace = "1";
    var started = null;
    return {
      endpoint: root.getAttribute("data-endpoint"),
      chunkSize: Number(root.getAttribute("data-chunk-size")) || Infinity,
      retryDelays: RETRY_DELAYS,
      headers: { "X-CSRF-Token": csrfToken() },
      metadata: metadata,
      removeFingerprintOnSuccess: true,
      fingerprint: function (chosen) {
        return Promise.resolve(JSON.stringify(["shipyard", root.getAttribute("data-folder"), metadata.path,
                                               chosen.name, chosen.type, chosen.size, chosen.lastModified]));
      },
      onShouldRetry: function (error) { return shouldRetry(row, error); },
      onAfterResponse: function (request, response) {
        if (request.getMethod() === "HEAD" && response.getStatus() === 200) {
          var offset = Number(response.getHeader("Upload-Offset")) || 0;
          if (offset > 0) row.setState("uploading", say("resumed", { done: humanBytes(offset) }));
        }
      },
      onProgress: function (sent, total) {
        var now = Date.now();
        if (started === null) started = { at: now, sent: sent };
        var seconds = (now - started.at) / 1000;
        var speed = seconds >= 1 ? say("speed", { speed: humanBytes(Math.round((sent - started.sent) / seconds)) }) : "";
        if (row.item.getAttribute("data-state") !== "uploading") row.setState("uploading", "");
        row.show(sent, total, speed);
      },
      onSuccess: function () {
        row.show(file.size, file.size, "");
        row.bar.setAttribute("value", "100");
        row.setState("done", say("done"));
        finished(row);
        refreshListing();
      },
      onError: function (error) { failed(row, error); },
    };
  }

  // A listing refresh asked for while one is in flight runs after it: the swap replaces #files
  // (outerHTML), so a request queued on the old element would be lost with that element.
  var listing = { busy: false, again: false };
  function isListing(element) { return !!element && element.id === "files"; }
  function listingDone() {
    listing.busy = false;
    if (!listing.again) return;
    listing.again = false;
    window.setTimeout(refreshListing, 0);
  }
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (isListing(event.detail.elt)) listing.busy = true;
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (listing.busy && isListing(event.target)) listingDone();
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (listing.busy && isListing(event.detail.elt) && !event.detail.successful) listingDone();
  });
  function refreshListing() {
    if (!window.htmx) return;
    if (listing.busy) { listing.again = true; return; }
    window.htmx.trigger(document.body, "shipyard:files-changed");
  }

  function begin(row) {
    active += 1;
    row.setState("uploading", "");
    row.setActions([row.cancelButton()]);
    var upload = new window.tus.Upload(row.file, options(row));
    row.upload = upload;
    upload.findPreviousUploads().then(function (previous) {
      if (row.canceled) return;
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function pump() {
    while (active < MAX_ACTIVE && queue.length) {
      var row = queue.shift();
      if (!row.canceled) begin(row);
    }
  }

  function enqueue(row) {
    row.setState("waiting", say("waiting"));
    row.setActions([row.cancelButton()]);
    queue.push(row);
    pump();
  }

  function cancel(row) {
    var wasActive = row.upload && ["uploading", "retrying"].indexOf(row.item.getAttribute("data-state")) >= 0;
    row.canceled = true;
    var gone = function () {
      row.item.remove();
      announce(say("canceled", { name: row.file.name }));
    };
    if (wasActive) {
      active -= 1;
      pump();
    }
    if (!row.upload) { gone(); return; }
    row.upload.abort(true).then(gone, gone);
  }

  function add(files) {
    root.hidden = false;
    Array.prototype.forEach.call(files, function (file) {
      var row = new Row(file);
      list.append(row.item);
      enqueue(row);
    });
  }

  document.getElementById("upload-button").addEventListener("click", function () { input.click(); });
  input.addEventListener("change", function () {
    add(input.files);
    input.value = "";
  });

  // Drag and drop onto the listing.
  var depth = 0;
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
  }
  zone.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-dragover");
  });
  zone.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", function () {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("is-dragover");
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-dragover");
    var transfer = event.dataTransfer;
    if (!transfer) return;
    var files = [];
    var skipped = 0;
    Array.prototype.forEach.call(transfer.items || [], function (item) {
      if (item.kind !== "file") return;
      var entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry && entry.isDirectory) { skipped += 1; return; }
      var file = item.getAsFile();
      if (file) files.push(file);
    });
    if (!transfer.items || !transfer.items.length) files = Array.prototype.slice.call(transfer.files || []);
    if (skipped) announce(say("no-folders"));
    if (files.length) add(files);
  });
})();
