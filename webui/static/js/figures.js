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
    var overlays = viewer.get("overlays");
    var tags = container.clientWidth < 600 ? payload.short : payload.tags;   // on a phone only the numbers fit
    Object.keys(payload.levels).forEach(function (id) {
      if (!registry.get(id)) { return; }
      canvas.addMarker(id, "xs-heat-" + payload.levels[id]);
      var tag = document.createElement("div");          // the step's number in words, readable at any zoom
      tag.className = "heat-tag xs-heat-" + payload.levels[id];
      tag.textContent = tags[id];
      overlays.add(id, "heat", {position: {top: 14, left: 2}, scale: false, html: tag});
    });
    canvas.zoom("fit-viewport");
    container.setAttribute("data-heat-ready", "1");
  });
}());
