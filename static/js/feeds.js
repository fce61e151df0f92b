/* Calendar feeds page: a "Copy" button next to each feed address, and only the target
   field (space or equipment type) that the chosen scope needs. Without JavaScript the
   addresses can still be selected and copied by hand, and both fields are shown. */
(function () {
  "use strict";
  var norwegian = document.documentElement.lang === "nb";
  var copyText = norwegian ? "Kopier" : "Copy";
  var copiedText = norwegian ? "Kopiert" : "Copied";

  function copy(input, status) {
    input.select();
    var done = function () { status.textContent = copiedText; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    var label = document.querySelector('label[for="' + input.id + '"]');
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small feed-copy";
    button.textContent = copyText;
    button.setAttribute("aria-label", copyText + (label ? ": " + label.textContent : ""));
    var status = document.createElement("span");
    status.className = "feed-copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () { copy(input, status); });
    input.addEventListener("focus", function () { input.select(); });
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", button);
  });

  var scope = document.getElementById("scope");
  if (!scope) { return; }
  function showTargetOfScope() {
    document.querySelectorAll(".feed-target").forEach(function (field) {
      field.hidden = !field.classList.contains("feed-target--" + scope.value);
    });
  }
  scope.addEventListener("change", showTargetOfScope);
  showTargetOfScope();
})();
