// Reading and writing the spiffworkflow extension elements our engine reads (descriptor: spiffworkflow.json).
// Every write goes through bpmn-js `modeling`, so it is one undoable command and the diagram knows it changed.

export function bo(element) {
  return element.businessObject || element;
}

// The first extension element of `type` (e.g. 'spiffworkflow:Properties') on the element, or null.
export function extension(element, type) {
  var ext = bo(element).get('extensionElements');
  if (!ext) return null;
  return (ext.get('values') || []).find(function (v) { return v.$instanceOf(type); }) || null;
}

function ensureExtensionElements(element, modeling, moddle) {
  var owner = bo(element);
  var ext = owner.get('extensionElements');
  if (!ext) {
    ext = moddle.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = owner;
    modeling.updateModdleProperties(element, owner, { extensionElements: ext });
  }
  return ext;
}

// The extension element of `type`, created (with `attrs`) when missing.
export function ensureExtension(element, type, modeling, moddle, attrs) {
  var found = extension(element, type);
  if (found) return found;
  var ext = ensureExtensionElements(element, modeling, moddle);
  var made = moddle.create(type, attrs || {});
  made.$parent = ext;
  modeling.updateModdleProperties(element, ext, { values: (ext.get('values') || []).concat([made]) });
  return made;
}

// Remove the extension element of `type` (and an emptied extensionElements with it).
export function removeExtension(element, type, modeling) {
  var owner = bo(element);
  var ext = owner.get('extensionElements');
  var found = extension(element, type);
  if (!ext || !found) return;
  var rest = ext.get('values').filter(function (v) { return v !== found; });
  if (rest.length) {
    modeling.updateModdleProperties(element, ext, { values: rest });
  } else {
    modeling.updateModdleProperties(element, owner, { extensionElements: undefined });
  }
}

// spiffworkflow:properties/property[@name]
export function getProperty(element, name) {
  var props = extension(element, 'spiffworkflow:Properties');
  if (!props) return '';
  var prop = (props.get('values') || []).find(function (p) { return p.get('name') === name; });
  return prop ? (prop.get('value') || '') : '';
}

export function setProperty(element, name, value, modeling, moddle) {
  var props = extension(element, 'spiffworkflow:Properties');
  if (!value) {
    if (!props) return;
    var rest = props.get('values').filter(function (p) { return p.get('name') !== name; });
    if (rest.length) {
      modeling.updateModdleProperties(element, props, { values: rest });
    } else {
      removeExtension(element, 'spiffworkflow:Properties', modeling);
    }
    return;
  }
  props = props || ensureExtension(element, 'spiffworkflow:Properties', modeling, moddle, { values: [] });
  var prop = (props.get('values') || []).find(function (p) { return p.get('name') === name; });
  if (prop) {
    modeling.updateModdleProperties(element, prop, { value: value });
  } else {
    prop = moddle.create('spiffworkflow:Property', { name: name, value: value });
    prop.$parent = props;
    modeling.updateModdleProperties(element, props, { values: (props.get('values') || []).concat([prop]) });
  }
}

// Body-text extension elements: instructionsForEndUser, calledDecisionId, preScript, postScript.
export function getText(element, type) {
  var found = extension(element, type);
  return found ? (found.get('value') || '') : '';
}

export function setText(element, type, value, modeling, moddle) {
  if (!value) {
    removeExtension(element, type, modeling);
    return;
  }
  var found = extension(element, type);
  if (found) {
    modeling.updateModdleProperties(element, found, { value: value });
  } else {
    ensureExtension(element, type, modeling, moddle, { value: value });
  }
}

// spiffworkflow:serviceTaskOperator: its id (the operator) and its parameters by id.
export function getOperator(element) {
  var op = extension(element, 'spiffworkflow:ServiceTaskOperator');
  return op ? (op.get('id') || '') : '';
}

export function setOperator(element, name, modeling, moddle) {
  if (!name) {
    removeExtension(element, 'spiffworkflow:ServiceTaskOperator', modeling);
    return;
  }
  var op = extension(element, 'spiffworkflow:ServiceTaskOperator');
  if (op) {
    if (op.get('id') !== name) {
      modeling.updateModdleProperties(element, op, { id: name });
    }
    return;
  }
  var owner = bo(element);
  ensureExtension(element, 'spiffworkflow:ServiceTaskOperator', modeling, moddle,
    { id: name, resultVariable: (owner.get('id') || 'service') + '_result' });
}

export function getParameter(element, id) {
  var op = extension(element, 'spiffworkflow:ServiceTaskOperator');
  var list = op && op.get('parameterList');
  if (!list) return '';
  var param = (list.get('values') || []).find(function (p) { return p.get('id') === id; });
  return param ? (param.get('value') || '') : '';
}

export function setParameter(element, id, value, modeling, moddle) {
  var op = extension(element, 'spiffworkflow:ServiceTaskOperator');
  if (!op) return;
  var list = op.get('parameterList');
  if (!list) {
    if (!value) return;
    list = moddle.create('spiffworkflow:Parameters', { values: [] });
    list.$parent = op;
    modeling.updateModdleProperties(element, op, { parameterList: list });
  }
  var values = list.get('values') || [];
  var param = values.find(function (p) { return p.get('id') === id; });
  if (!value) {
    if (param) modeling.updateModdleProperties(element, list, { values: values.filter(function (p) { return p !== param; }) });
  } else if (param) {
    modeling.updateModdleProperties(element, param, { value: value });
  } else {
    param = moddle.create('spiffworkflow:Parameter', { id: id, type: 'str', value: value });
    param.$parent = list;
    modeling.updateModdleProperties(element, list, { values: values.concat([param]) });
  }
}

// The timer event definition of an event, or null.
export function timerDefinition(element) {
  var defs = bo(element).get('eventDefinitions') || [];
  return defs.find(function (d) { return d.$instanceOf('bpmn:TimerEventDefinition'); }) || null;
}

export var TIMER_KINDS = ['timeDuration', 'timeDate', 'timeCycle'];

export function getTimer(element) {
  var def = timerDefinition(element);
  if (!def) return { kind: '', body: '' };
  for (var i = 0; i < TIMER_KINDS.length; i++) {
    var expr = def.get(TIMER_KINDS[i]);
    if (expr) return { kind: TIMER_KINDS[i], body: expr.get('body') || '' };
  }
  return { kind: '', body: '' };
}

export function setTimer(element, kind, body, modeling, moddle) {
  var def = timerDefinition(element);
  if (!def || !kind) return;
  var update = {};
  TIMER_KINDS.forEach(function (k) { update[k] = undefined; });
  var expr = moddle.create('bpmn:FormalExpression', { body: body });
  expr.$parent = def;
  update[kind] = expr;
  modeling.updateModdleProperties(element, def, update);
}
