// Upload areas (<form data-upload data-endpoint=... data-csrf=...>): drag-and-drop or file
// picker; the file is streamed as the XHR body (the browser reads it from disk as it sends),
// progress shown in bytes and %; then the server's answer (a record form) is shown, or the
// page it redirects to is opened.
(function () {
  "use strict";
  function setup(form) {
    var zone = form.querySelector(".drop-zone");
    var input = form.querySelector("input[type=file]");
    var typeSelect = form.querySelector("select[name=type]");
    var bar = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var box = form.querySelector(".progress");
    var result = document.getElementById(form.dataset.result || "");
    var messages = document.getElementById("messages");

    function send(file) {
      var url = form.dataset.endpoint + "?filename=" + encodeURIComponent(file.name);
      if (typeSelect) { url += "&type=" + encodeURIComponent(typeSelect.value); }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      box.hidden = false;
      bar.value = 0;
      if (result) { result.innerHTML = ""; }
      if (messages) { messages.innerHTML = ""; }
      xhr.upload.addEventListener("progress", function (e) {
        var total = e.lengthComputable ? e.total : file.size;
        var pct = total > 0 ? Math.floor((e.loaded * 100) / total) : 100;
        bar.value = pct;
        status.textContent = e.loaded + " of " + total + " bytes (" + pct + "%)";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status !== 200) {
          status.textContent = "Upload failed.";
          if (messages) { messages.innerHTML = xhr.responseText; }
          return;
        }
        bar.value = 100;
        status.textContent = file.size + " of " + file.size + " bytes (100%): stored.";
        if (xhr.responseURL && xhr.responseURL.indexOf(form.dataset.endpoint) === -1) {
          window.location.assign(xhr.responseURL);
          return;
        }
        if (result) {
          result.innerHTML = xhr.responseText;
          var first = result.querySelector("input:not([type=hidden])");
          if (first) { first.focus(); }
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "Upload failed: the connection was interrupted.";
      });
      xhr.send(file);
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (input.files.length > 0) { send(input.files[0]); }
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer.files.length > 0) { send(e.dataTransfer.files[0]); }
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(setup);
}());
