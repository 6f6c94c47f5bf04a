// Instance page: draw the diagram with done / current / overdue markers, and its toolbar: zoom in, zoom out, fit,
// and "current step" (scroll to the diagram and zoom to the open tasks). The toolbar is plain buttons (Tab, Enter,
// Space); with focus on the toolbar or the diagram, + - 0 do the same. On a phone the diagram opens on the current
// step.
(function () {
  var holder = document.getElementById("diagram-data");
  var container = document.getElementById("diagram");
  if (!holder || !container || !window.XieshangDiagram) { return; }
  var payload = JSON.parse(holder.textContent);
  var toolbar = document.querySelector(".diagram-tools");
  var rendered = window.XieshangDiagram.render(container, payload.xml, payload.markers);
  if (!rendered || !rendered.then) { return; }
  rendered.then(function (viewer) {
    if (!viewer) { return; }
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var markers = payload.markers || {};
    var focusIds = (markers.overdue || []).concat(markers.current || []);
    var announce = toolbar && toolbar.querySelector('[data-diagram="announce"]');

    function say() {
      if (announce) {
        announce.textContent = toolbar.getAttribute("data-zoom-text") + Math.round(canvas.zoom() * 100) + "%";
      }
    }

    function zoomBy(factor) {
      var scale = Math.min(4, Math.max(0.01, canvas.zoom() * factor));
      var outer = canvas.viewbox().outer;
      canvas.zoom(scale, { x: outer.width / 2, y: outer.height / 2 });
      say();
    }

    function fit() {
      canvas.zoom("fit-viewport", "auto");
      say();
    }

    // Zoom so that every current (and overdue) task shows, centred, at most at 120 %.
    function focusCurrent(scroll) {
      var found = focusIds.map(function (id) { return registry.get(id); }).filter(Boolean);
      function holds(outer, inner) {
        return outer !== inner && inner.x >= outer.x && inner.y >= outer.y &&
          inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
      }
      // The open tasks themselves: not the step (sub-process) around them, nor the timers waiting on their edges.
      var tasks = found.filter(function (s) { return /Task$/.test(s.type); });
      var pool = tasks.length ? tasks : found;
      var shapes = pool.filter(function (s) { return !pool.some(function (o) { return holds(s, o); }); });
      if (!shapes.length) { return; }
      var left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
      shapes.forEach(function (s) {
        left = Math.min(left, s.x); top = Math.min(top, s.y);
        right = Math.max(right, s.x + s.width); bottom = Math.max(bottom, s.y + s.height);
      });
      var pad = 60;
      var outer = canvas.viewbox().outer;
      var scale = Math.min(1.2, outer.width / (right - left + 2 * pad), outer.height / (bottom - top + 2 * pad));
      var width = outer.width / scale, height = outer.height / scale;
      canvas.viewbox({ x: (left + right) / 2 - width / 2, y: (top + bottom) / 2 - height / 2,
                       width: width, height: height });
      if (scroll && container.scrollIntoView) { container.scrollIntoView({ block: "center", behavior: "smooth" }); }
      say();
    }

    var actions = {
      "zoom-in": function () { zoomBy(1.25); },
      "zoom-out": function () { zoomBy(0.8); },
      "fit": fit,
      "current": function () { focusCurrent(true); }
    };

    if (toolbar) {
      toolbar.hidden = false;
      toolbar.addEventListener("click", function (event) {
        var button = event.target.closest("button[data-diagram]");
        if (button && actions[button.getAttribute("data-diagram")]) { actions[button.getAttribute("data-diagram")](); }
      });
    }
    container.tabIndex = 0;          // the diagram itself takes focus, so the keys below work there too
    function keys(event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      var action = { "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "0": "fit" }[event.key];
      if (action) { event.preventDefault(); actions[action](); }
    }
    container.addEventListener("keydown", keys);
    if (toolbar) { toolbar.addEventListener("keydown", keys); }

    if (window.innerWidth <= 720) { focusCurrent(false); }
  });
})();
