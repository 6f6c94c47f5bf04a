/* Progressive enhancement for the intake forms (they work without it: the village select is grouped by township):
   the village select offers only the chosen township's villages; changing the township clears a village of another. */
(function () {
  "use strict";

  function narrow(township, village, groups) {
    var chosen = township.value, keep = village.value;
    while (village.children.length > 1) { village.removeChild(village.lastChild); }
    groups.forEach(function (group) {
      if (!chosen || group.dataset.township === chosen) { village.appendChild(group); }
    });
    var still = Array.prototype.some.call(village.options, function (option) { return option.value === keep; });
    village.value = still ? keep : "";
  }

  document.querySelectorAll("select[data-township]").forEach(function (village) {
    var township = document.getElementById(village.dataset.township);
    if (!township) { return; }
    var groups = Array.prototype.slice.call(village.querySelectorAll("optgroup"));
    township.addEventListener("change", function () { narrow(township, village, groups); });
    // On a page sent back with errors, a village from another township stays visible beside its message.
    var selected = village.selectedOptions[0], group = selected && selected.parentNode;
    if (!selected || !selected.value || group.dataset.township === township.value) { narrow(township, village, groups); }
  });
}());
