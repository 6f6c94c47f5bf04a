// Instance page: draw the diagram with done / current / overdue markers; on a phone, zoom to the current step.
(function () {
  var holder = document.getElementById("diagram-data");
  var container = document.getElementById("diagram");
  if (!holder || !container || !window.XieshangDiagram) { return; }
  var payload = JSON.parse(holder.textContent);
  var rendered = window.XieshangDiagram.render(container, payload.xml, payload.markers);
  if (!rendered || !rendered.then) { return; }
  rendered.then(function (viewer) {
    if (!viewer || window.innerWidth > 720) { return; }
    var focus = (payload.markers.overdue || []).concat(payload.markers.current || [])[0];
    if (!focus) { return; }
    var element = viewer.get("elementRegistry").get(focus);
    if (!element) { return; }
    var canvas = viewer.get("canvas");
    canvas.zoom(0.8);
    var box = canvas.viewbox();
    canvas.viewbox({ x: element.x + element.width / 2 - box.width / 2, y: element.y + element.height / 2 - box.height / 2,
                     width: box.width, height: box.height });
  });
})();
