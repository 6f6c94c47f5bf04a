// The "协商引擎" group of the properties panel: what our engine reads from an element. The lists it offers (the
// draft's form and DMN files, the operators the engine registers, the directory's roles) come from `studioData`,
// a plain object the page fills from the server and keeps up to date.

import { h } from '@bpmn-io/properties-panel/preact';
import { useState } from '@bpmn-io/properties-panel/preact/hooks';
import { SelectEntry, TextAreaEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';

import {
  TIMER_KINDS, bo, getOperator, getParameter, getProperty, getText, getTimer, setOperator, setParameter,
  setProperty, setText, setTimer, timerDefinition
} from './extensions';

var SCHEMA = 'formJsonSchemaFilename';
var UI = 'formUiSchemaFilename';
var NEW_FORM = /^[A-Za-z0-9_-]{1,60}$/;

function is(element, type) {
  return bo(element).$instanceOf(type);
}

function t(data, key) {
  return (data.texts && data.texts[key]) || key;
}

function choices(data, current, values, labels) {
  var options = [{ value: '', label: t(data, 'none') }];
  values.forEach(function (v, i) { options.push({ value: v, label: labels ? labels[i] : v }); });
  if (current && values.indexOf(current) < 0) {
    options.push({ value: current, label: current + ' ' + t(data, 'missing') });
  }
  return options;
}

function FormFileEntry(props) {
  var element = props.element, key = props.propertyKey, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle'), translate = useService('translate');
  var suffix = key === SCHEMA ? '.schema.json' : '.ui.json';
  return SelectEntry({
    element: element, id: 'xs-' + key,
    label: translate(key === SCHEMA ? t(data, 'formSchema') : t(data, 'formUi')),
    getValue: function () { return getProperty(element, key); },
    setValue: function (value) { setProperty(element, key, value, modeling, moddle); },
    getOptions: function () {
      var files = data.formFiles().filter(function (f) { return f.endsWith(suffix); });
      return choices(data, getProperty(element, key), files);
    }
  });
}

// A name and a button (or Enter): sets the task's form to forms/NAME.schema.json and .ui.json and makes both files.
function NewFormEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle');
  var state = useState(''), name = state[0], setName = state[1];
  var invalid = name && !NEW_FORM.test(name);
  function create() {
    if (!name || invalid) return;
    var paths = data.newForm(name);
    setProperty(element, SCHEMA, paths[0], modeling, moddle);
    setProperty(element, UI, paths[1], modeling, moddle);
    setName('');
  }
  return h('div', { class: 'bio-properties-panel-entry xs-new-form' + (invalid ? ' has-error' : '') },
    h('label', { for: 'xs-new-form-input', class: 'bio-properties-panel-label' }, t(data, 'newForm')),
    h('div', { class: 'xs-new-form-row' },
      h('input', {
        id: 'xs-new-form-input', name: 'xs-new-form', class: 'bio-properties-panel-input', value: name,
        maxLength: 60, autoComplete: 'off',
        onInput: function (event) { setName(event.target.value.trim()); },
        onKeyDown: function (event) { if (event.key === 'Enter') { event.preventDefault(); create(); } }
      }),
      h('button', { type: 'button', class: 'xs-new-form-button', disabled: !name || invalid, onClick: create },
        t(data, 'create'))),
    invalid ? h('div', { class: 'bio-properties-panel-error' }, t(data, 'newFormInvalid')) :
      h('div', { class: 'bio-properties-panel-description' }, t(data, 'newFormHelp')));
}

// Properties the engine reads as Python expressions on the instance's data (engine/bpmn/expressions.py).
function ExpressionPropertyEntry(props) {
  var element = props.element, data = props.data, key = props.propertyKey;
  var modeling = useService('modeling'), moddle = useService('moddle'), debounce = useService('debounceInput');
  return TextFieldEntry({
    element: element, id: 'xs-prop-' + key, label: t(data, key), description: t(data, key + 'Help'),
    debounce: debounce,
    getValue: function () { return getProperty(element, key); },
    setValue: function (value) { setProperty(element, key, value, modeling, moddle); }
  });
}

function StepEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle');
  var steps = ['0', '1', '2', '3', '4', '5', '6'];
  return SelectEntry({
    element: element, id: 'xs-prop-step', label: t(data, 'step'),
    getValue: function () { return getProperty(element, 'step'); },
    setValue: function (value) { setProperty(element, 'step', value, modeling, moddle); },
    getOptions: function () { return choices(data, getProperty(element, 'step'), steps); }
  });
}

function InstructionsEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle'), debounce = useService('debounceInput');
  return TextAreaEntry({
    element: element, id: 'xs-instructions', label: t(data, 'instructions'), debounce: debounce, rows: 4,
    getValue: function () { return getText(element, 'spiffworkflow:InstructionsForEndUser'); },
    setValue: function (value) { setText(element, 'spiffworkflow:InstructionsForEndUser', value, modeling, moddle); }
  });
}

function OperatorEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle');
  return SelectEntry({
    element: element, id: 'xs-operator', label: t(data, 'operator'),
    getValue: function () { return getOperator(element); },
    setValue: function (value) { setOperator(element, value, modeling, moddle); },
    getOptions: function () {
      var ops = data.operators || [];
      return choices(data, getOperator(element), ops.map(function (o) { return o.name; }),
        ops.map(function (o) { return o.label + ' (' + o.name + ')'; }));
    }
  });
}

function ParameterEntry(props) {
  var element = props.element, data = props.data, param = props.param;
  var modeling = useService('modeling'), moddle = useService('moddle'), debounce = useService('debounceInput');
  return TextFieldEntry({
    element: element, id: 'xs-param-' + param.name,
    label: param.name + (param.required ? ' *' : ''),
    description: param.description + ' ' + t(data, 'expression'), debounce: debounce,
    getValue: function () { return getParameter(element, param.name); },
    setValue: function (value) { setParameter(element, param.name, value, modeling, moddle); }
  });
}

function TimerKindEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle');
  return SelectEntry({
    element: element, id: 'xs-timer-kind', label: t(data, 'timerKind'),
    getValue: function () { return getTimer(element).kind; },
    setValue: function (value) { setTimer(element, value, getTimer(element).body, modeling, moddle); },
    getOptions: function () {
      return choices(data, getTimer(element).kind, TIMER_KINDS, TIMER_KINDS.map(function (k) { return t(data, k); }));
    }
  });
}

function TimerBodyEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle'), debounce = useService('debounceInput');
  return TextFieldEntry({
    element: element, id: 'xs-timer-expression', label: t(data, 'timerExpression'),
    description: t(data, 'timerHelp'), debounce: debounce,
    getValue: function () { return getTimer(element).body; },
    setValue: function (value) {
      setTimer(element, getTimer(element).kind || 'timeDuration', value, modeling, moddle);
    }
  });
}

function LaneRoleEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling');
  function current() {
    var id = bo(element).get('id') || '';
    return id.indexOf('lane_') === 0 ? id.slice(5) : '';
  }
  return SelectEntry({
    element: element, id: 'xs-lane-role', label: t(data, 'laneRole'), description: t(data, 'laneRoleHelp'),
    getValue: current,
    setValue: function (value) {
      if (value) modeling.updateProperties(element, { id: 'lane_' + value });
    },
    getOptions: function () {
      var roles = data.roles || [];
      return choices(data, current(), roles.map(function (r) { return r.name; }),
        roles.map(function (r) { return r.label + ' (' + r.name + ')'; }));
    }
  });
}

function DecisionEntry(props) {
  var element = props.element, data = props.data;
  var modeling = useService('modeling'), moddle = useService('moddle');
  return SelectEntry({
    element: element, id: 'xs-decision', label: t(data, 'decision'),
    getValue: function () { return getText(element, 'spiffworkflow:CalledDecisionId'); },
    setValue: function (value) { setText(element, 'spiffworkflow:CalledDecisionId', value, modeling, moddle); },
    getOptions: function () {
      return choices(data, getText(element, 'spiffworkflow:CalledDecisionId'), data.decisions || []);
    }
  });
}

function entry(id, component, props) {
  return { id: id, component: function (p) { return h(component, Object.assign({}, props, p)); } };
}

export function engineEntries(element, data) {
  var entries = [];
  var base = { data: data };
  if (is(element, 'bpmn:UserTask')) {
    entries.push(entry('xs-' + SCHEMA, FormFileEntry, Object.assign({ propertyKey: SCHEMA }, base)));
    entries.push(entry('xs-' + UI, FormFileEntry, Object.assign({ propertyKey: UI }, base)));
    entries.push(entry('xs-new-form', NewFormEntry, base));
    ['orgUnit', 'assignee', 'dueDate'].forEach(function (key) {
      entries.push(entry('xs-prop-' + key, ExpressionPropertyEntry, Object.assign({ propertyKey: key }, base)));
    });
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:SubProcess')) {
    entries.push(entry('xs-prop-step', StepEntry, base));
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    entries.push(entry('xs-instructions', InstructionsEntry, base));
  }
  if (is(element, 'bpmn:ServiceTask')) {
    entries.push(entry('xs-operator', OperatorEntry, base));
    var chosen = (data.operators || []).find(function (o) { return o.name === getOperator(element); });
    (chosen ? chosen.parameters : []).forEach(function (param) {
      entries.push(entry('xs-param-' + param.name, ParameterEntry, Object.assign({ param: param }, base)));
    });
  }
  if (is(element, 'bpmn:Event') && timerDefinition(element)) {
    entries.push(entry('xs-timer-kind', TimerKindEntry, base));
    entries.push(entry('xs-timer-expression', TimerBodyEntry, base));
  }
  if (is(element, 'bpmn:Lane')) {
    entries.push(entry('xs-lane-role', LaneRoleEntry, base));
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    entries.push(entry('xs-decision', DecisionEntry, base));
  }
  return entries;
}

export default function EngineProvider(propertiesPanel, studioData) {
  this._data = studioData;
  propertiesPanel.registerProvider(500, this);     // checks getGroups: it must be there already (the prototype)
}

EngineProvider.prototype.getGroups = function (element) {
  var data = this._data;
  return function (groups) {
    var entries = engineEntries(element, data);
    if (entries.length) {
      groups.splice(Math.min(1, groups.length), 0, { id: 'xieshang', label: t(data, 'group'), entries: entries });
    }
    return groups;
  };
};

EngineProvider.$inject = ['propertiesPanel', 'studioData'];
