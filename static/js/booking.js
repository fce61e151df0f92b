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

// Common lengths next to the end time: choosing one writes the end time (and the end date when it
// runs past midnight); typing an end time yourself puts the choice back to "as the end time says".
(function () {
  "use strict";
  var length = document.getElementById("length");
  var day = document.getElementById("date");
  var start = document.getElementById("start_time");
  var end = document.getElementById("end_time");
  var endDate = document.getElementById("end_date");
  if (!length || !day || !start || !end) {
    return;
  }
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function apply() {
    var minutes = parseInt(length.value, 10);
    var startParts = /^(\d\d):(\d\d)/.exec(start.value);
    var dayParts = /^(\d{4})-(\d\d)-(\d\d)$/.exec(day.value);
    if (!minutes || !startParts || !dayParts) {
      return;
    }
    var when = new Date(Date.UTC(+dayParts[1], +dayParts[2] - 1, +dayParts[3], +startParts[1], +startParts[2] + minutes));
    end.value = pad(when.getUTCHours()) + ":" + pad(when.getUTCMinutes());
    if (endDate) {
      var sameDay = when.getUTCDate() === +dayParts[3] && when.getUTCMonth() === +dayParts[2] - 1;
      endDate.value = sameDay ? "" : when.getUTCFullYear() + "-" + pad(when.getUTCMonth() + 1) + "-" + pad(when.getUTCDate());
    }
  }
  length.addEventListener("change", apply);
  start.addEventListener("change", apply);
  day.addEventListener("change", apply);
  end.addEventListener("input", function () {
    length.value = "";
  });
})();

// The extra fields of each kind of space (room layout, catering...): show only the group of the
// chosen space's kind. Without JavaScript every group shows under its kind's name.
(function () {
  "use strict";
  var space = document.getElementById("space");
  var box = document.getElementById("booking-fields");
  if (!space || !box) {
    return;
  }
  var kinds = JSON.parse(box.getAttribute("data-space-kinds") || "{}");
  var groups = box.querySelectorAll("fieldset[data-kind]");
  function update() {
    var kind = String(kinds[space.value] || "");
    for (var i = 0; i < groups.length; i += 1) {
      groups[i].hidden = groups[i].getAttribute("data-kind") !== kind;
    }
  }
  space.addEventListener("change", update);
  update();
})();
