/* Calendar feeds page: a "Copy" button next to each feed address, and only the target
   field (space or equipment type) that the chosen scope needs. Without JavaScript the
   addresses can still be selected and copied, and both fields are shown. */
(function () {
  "use strict";
  var lang = document.documentElement.lang === "nb";
  var copyText = lang ? "Kopier" : "Copy";
  var copiedText = lang ? "Kopiert" : "Copied";

  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small feed-copy";
    button.textContent = copyText;
    var label = document.querySelector('label[for="' + input.id + '"]');
    button.setAttribute("aria-label", copyText + (label ? ": " + label.textContent : ""));
    var status = document.createElement("span");
    status.className = "feed-copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      input.select();
      var done = function () { status.textContent = copiedText; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", button);
  });
  input_focus_select();

  function input_focus_select() {
    document.querySelectorAll("input[data-copy]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  var scope = document.getElementById("scope");
  if (!scope) { return; }
  function sync() {
    document.querySelectorAll(".feed-target").forEach(function (field) {
      var wanted = field.classList.contains("feed-target--" + scope.value);
      field.hidden = !wanted;
    });
  }
  scope.addEventListener("change", sync);
  sync();
})();
