// The compact menu on narrow screens: a "Menu" button opens and closes the grouped links.
// Without scripts (or on a wide screen) every link is shown as before.
(function () {
  "use strict";
  var header = document.querySelector(".site-header");
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (!header || !button || !nav) {
    return;
  }
  header.classList.add("site-header--compact");
  button.hidden = false;
  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("site-header--open", open);
  }
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      set(false);
      button.focus();
    }
  });
})();
