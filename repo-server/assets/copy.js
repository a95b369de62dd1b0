// Copy buttons: <button data-copy="ID"> copies the value (or text) of element ID.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      source.select();
      document.execCommand("copy");
      done();
    }
  });
}());
