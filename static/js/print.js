// The day sheet's "Print" button: shown only when scripts run (printing works from the browser's menu anyway).
(function () {
  "use strict";
  var button = document.getElementById("print-sheet");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
})();
