// Figures pages: draw the charts (webui/static/charts/charts.js) and colour the six-step heatmap on the
// consultation diagram (webui/static/bpmn/viewer.js). The numbers are always in the page's tables too.
(function () {
  "use strict";
  if (window.XieshangCharts) { window.XieshangCharts.drawAll(); }
  var holder = document.getElementById("heatmap-data");
  var container = document.getElementById("diagram");
  if (!holder || !container || !window.XieshangDiagram) { return; }
  var payload = JSON.parse(holder.textContent);
  window.XieshangDiagram.render(container, payload.xml, {}).then(function (viewer) {
    if (!viewer) { return; }
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(payload.levels).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, "xs-heat-" + payload.levels[id]); }
    });
    canvas.zoom("fit-viewport");
    container.setAttribute("data-heat-ready", "1");
  });
}());
