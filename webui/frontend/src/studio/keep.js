// Keep what bpmn-js reads but would not write back, so a diagram survives an open and save unchanged.
//
// 1. Diagram parts it cannot show: on saving, bpmn-js rewrites each plane's elements from what it drew
//    (BpmnDiOrdering), which drops the shapes of a process no pool refers to and edges that name no element.
//    They are put back after that rewrite.
// 2. References to ids that do not exist: SpiffWorkflow names a multi-instance task's collection by its variable
//    name (<loopDataInputRef>answer_queue</loopDataInputRef>), which is no element's id; the XML reader warns and
//    drops the reference, and the engine would lose the loop's input. Each such single-valued reference is set back
//    to a stand-in carrying the same id, so it is written as it was read.

import { getDi } from 'bpmn-js/lib/util/ModelUtil';

var AFTER_DI_ORDERING = 1000;   // BpmnDiOrdering listens at 2000
var UNRESOLVED = /^unresolved reference </;

function standIn(moddle, type, id) {
  try {
    return moddle.create(type, { id: id });
  } catch (e) {
    return { id: id };
  }
}

export default function KeepUnshown(eventBus, elementRegistry, bpmnjs, moddle) {
  var undrawn = [];

  eventBus.on('import.done', function (event) {
    (event.warnings || []).forEach(function (warning) {
      var element = warning.element, name = warning.property;
      if (!UNRESOLVED.test(warning.message || '') || !element || !name || !element.$descriptor) return;
      var property = element.$descriptor.propertiesByName[name];
      if (!property || property.isMany || element.get(property.name)) return;
      element.set(property.name, standIn(moddle, property.type, warning.value));
    });
    undrawn = [];
    var drawn = new Set(elementRegistry.getAll().map(getDi));
    var definitions = bpmnjs.getDefinitions();
    ((definitions && definitions.get('diagrams')) || []).forEach(function (diagram) {
      var plane = diagram.plane;
      if (!plane) return;
      (plane.get('planeElement') || []).forEach(function (di) {
        if (!drawn.has(di)) undrawn.push({ plane: plane, di: di });
      });
    });
  });

  eventBus.on('saveXML.start', AFTER_DI_ORDERING, function () {
    undrawn.forEach(function (item) {
      var elements = item.plane.get('planeElement');
      if (elements.indexOf(item.di) < 0) elements.push(item.di);
    });
  });
}

KeepUnshown.$inject = ['eventBus', 'elementRegistry', 'bpmnjs', 'moddle'];
