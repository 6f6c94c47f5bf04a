// The header's menu groups are <details>: they open and close without this script. With it, one group is open at a
// time, and a click elsewhere or Escape closes it (Escape puts the focus back on the group's label).
(function () {
  "use strict";
  var groups = Array.prototype.slice.call(document.querySelectorAll("header .nav-group"));
  if (!groups.length) return;
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) return;
      groups.forEach(function (other) { if (other !== group) other.open = false; });
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) { if (group.open && !group.contains(event.target)) group.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    groups.forEach(function (group) {
      if (!group.open) return;
      group.open = false;
      group.querySelector("summary").focus();
    });
  });
})();
