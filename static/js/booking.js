// Booking form, progressive enhancement only: while "Does not repeat" is chosen, hide the
// repeat details (interval, weekdays, end). Without JavaScript every field stays visible.
(function () {
  "use strict";
  var repeat = document.getElementById("repeat");
  var details = document.getElementById("repeat-details");
  if (!repeat || !details) {
    return;
  }
  function update() {
    details.hidden = repeat.value === "none";
  }
  repeat.addEventListener("change", update);
  update();
})();
