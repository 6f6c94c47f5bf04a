// xieshang's own bpmnlint rules (plugin `xieshang`): the cheap structural checks of the server's lint
// (engine/bpmn/lint.py) that need only the diagram, with the same messages, so a process owner sees them while
// drawing. The server's 校验 stays the authority: it also knows the draft's form files, the registered operators,
// the directory's roles and the variables a timer may read.

import { is } from 'bpmnlint-utils';

function properties(node) {
  var ext = node.extensionElements;
  var out = {};
  ((ext && ext.values) || []).forEach(function (value) {
    if (!is(value, 'spiffworkflow:Properties')) return;
    (value.values || []).forEach(function (p) {
      if (p.name) out[p.name] = p.value || '';
    });
  });
  return out;
}

// A user task names its form in spiffworkflow:property formJsonSchemaFilename (the server's _formless).
export function userTaskForm() {
  function check(node, reporter) {
    if (is(node, 'bpmn:UserTask') && !properties(node).formJsonSchemaFilename) {
      reporter.report(node.id, '用户任务没有表单 (user task without a form)');
    }
  }
  return { check: check };
}

// A leaf lane whose tasks for people do not all name their role must be `lane_<role>` with a role the directory
// knows (engine/bpmn/specs.py NodeInfo.role; the server's _lanes). config.roles: the directory's role names.
export function laneRole(config) {
  var roles = config && config.roles ? config.roles : null;
  function check(node, reporter) {
    if (!is(node, 'bpmn:Lane') || node.childLaneSet) return;
    var tasks = (node.flowNodeRef || []).filter(function (ref) { return is(ref, 'bpmn:UserTask'); });
    if (tasks.every(function (task) { return 'role' in properties(task); })) return;
    var id = node.id || '';
    var role = id.indexOf('lane_') === 0 ? id.slice(5) : null;
    if (!role || (roles && roles.indexOf(role) < 0)) {
      reporter.report(node.id, '泳道 ' + (node.name || id) + ' 没有对应的角色，其中的任务将由发起人办理 ' +
        '(lane has no role; its tasks go to the person who started the instance)');
    }
  }
  return { check: check };
}

// A Python string literal in one piece: '...' or "..." with no unescaped quote of its kind inside.
var LITERAL = /^(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")$/;
var NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// A timer's expression is a quoted literal ('P3D') or a variable name; the server also checks the name is known.
export function timerExpression() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:TimerEventDefinition')) return;
    var event = node.$parent;
    ['timeDuration', 'timeDate', 'timeCycle'].forEach(function (key) {
      var expression = node[key];
      if (!expression) return;
      var text = (expression.body || '').trim();
      if (LITERAL.test(text) || NAME.test(text)) return;
      reporter.report(event && event.id ? event.id : node.id, '定时表达式 ' + JSON.stringify(text.slice(0, 60)) +
        ' 既不是加引号的字面值，也不是变量名 (timer expression is neither a quoted literal nor a variable name)');
    });
  }
  return { check: check };
}
