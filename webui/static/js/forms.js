/* Progressive enhancement for forms rendered by webui/formrender.py (they work without it):
   add/remove rows of lists in the page, a filter box for long people lists, focus on the error summary. */
(function () {
  "use strict";

  function rowsOf(group) {
    return Array.prototype.filter.call(group.children, function (el) { return el.matches("fieldset.row"); });
  }

  function renumber(row, group, from, to) {
    var path = group.dataset.path, oldName = path + "/" + from + "/", newName = path + "/" + to + "/";
    var oldId = group.dataset.id + "--" + from, newId = group.dataset.id + "--" + to;
    function fixId(value) {
      return value.split(" ").map(function (v) {
        return v === oldId || v.indexOf(oldId + "-") === 0 ? newId + v.slice(oldId.length) : v;
      }).join(" ");
    }
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (el) {
      ["id", "for", "aria-describedby"].forEach(function (attr) {
        if (el.hasAttribute(attr)) { el.setAttribute(attr, fixId(el.getAttribute(attr))); }
      });
      if (el.name && el.name.indexOf(oldName) === 0) { el.name = newName + el.name.slice(oldName.length); }
      if (el.name === path && el.type === "hidden") { el.value = String(to); }
      if (el.name === "_remove" && el.value === path + "/" + from) { el.value = path + "/" + to; }
    });
    row.dataset.index = String(to);
  }

  function clear(row, path) {
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = false;
        el.removeAttribute("checked");
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = false; o.removeAttribute("selected"); });
        if (!el.multiple) { el.selectedIndex = 0; }
      } else if (!(el.type === "hidden" && el.name === path)) {
        el.value = "";
        if (el.tagName === "TEXTAREA") { el.textContent = ""; }
      }
      el.removeAttribute("aria-invalid");
    });
    row.querySelectorAll(".field-error, .uploaded").forEach(function (el) { el.remove(); });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    row.querySelectorAll("[aria-describedby]").forEach(function (el) {
      var kept = el.getAttribute("aria-describedby").split(" ").filter(function (v) { return !/-error$/.test(v); });
      if (kept.length) { el.setAttribute("aria-describedby", kept.join(" ")); }
      else { el.removeAttribute("aria-describedby"); }
    });
  }

  function relabel(group) {
    var rows = rowsOf(group), max = parseInt(group.dataset.max || "0", 10);
    rows.forEach(function (row, i) {
      var legend = row.querySelector("legend.row-number"), remove = row.querySelector("button[name=_remove]");
      if (legend) { legend.textContent = group.dataset.title + " " + (i + 1); }
      if (remove) { remove.setAttribute("aria-label", remove.getAttribute("aria-label").replace(/\d+$/, i + 1)); }
    });
    var add = group.querySelector("button[name=_add][value='" + group.dataset.path + "']");
    if (add) { add.disabled = max > 0 && rows.length >= max; }
  }

  function addRow(group) {
    var rows = rowsOf(group), last = rows[rows.length - 1];
    var next = 1 + Math.max.apply(null, rows.map(function (r) { return parseInt(r.dataset.index, 10) || 0; }));
    var row = last.cloneNode(true);
    renumber(row, group, last.dataset.index, next);
    clear(row, group.dataset.path);
    last.parentNode.insertBefore(row, last.nextSibling);
    relabel(group);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  function removeRow(group, row) {
    if (rowsOf(group).length > 1) { row.remove(); } else { clear(row, group.dataset.path); }
    relabel(group);
    var add = group.querySelector("button[name=_add]");
    if (add) { add.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=_add], button[name=_remove]");
    var group = button && button.closest("fieldset.rows");
    if (!group) { return; }
    if (button.name === "_add" && button.value === group.dataset.path) {
      event.preventDefault();
      addRow(group);
    } else if (button.name === "_remove") {
      event.preventDefault();
      removeRow(group, button.closest("fieldset.row"));
    }
  });

  /* Text to match: lower case, without spaces or the · between name, unit and role. */
  function words(text) { return text.toLowerCase().replace(/[\s\u00b7]+/g, ""); }

  function addFilter(list) {
    var labels = list.querySelectorAll("label");
    if (labels.length < 9) { return; }
    var box = document.createElement("input");
    box.type = "search";
    box.className = "people-filter";
    box.placeholder = list.dataset.filter;
    box.setAttribute("aria-label", list.dataset.filter);
    box.addEventListener("input", function () {
      var query = words(box.value);
      labels.forEach(function (label) {
        var text = words(label.textContent);   // name · unit · role, as shown
        label.hidden = query !== "" && text.indexOf(query) < 0;
      });
    });
    box.addEventListener("keydown", function (event) { if (event.key === "Enter") { event.preventDefault(); } });
    list.parentNode.insertBefore(box, list);
  }

  /* An org-unit select that names a tier field offers only the units of the chosen tier; one that no longer fits
     is cleared. Without JS every unit is offered and the server refuses a unit outside the tier. */
  function narrowByTier(select) {
    var radios = document.querySelectorAll('input[type=radio][name="' + select.dataset.tierField + '"]');
    function narrow() {
      var checked = Array.prototype.find.call(radios, function (r) { return r.checked; });
      var tier = checked ? checked.value : "";
      select.querySelectorAll("option[data-tier]").forEach(function (option) {
        var off = tier !== "" && option.dataset.tier !== tier;
        option.hidden = off;
        option.disabled = off;
        if (off && option.selected) { select.value = ""; }
      });
      select.querySelectorAll("optgroup").forEach(function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", narrow); });
    narrow();
  }

  function start() {
    document.querySelectorAll(".people-list[data-filter]").forEach(addFilter);
    document.querySelectorAll("select[data-tier-field]").forEach(narrowByTier);
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
