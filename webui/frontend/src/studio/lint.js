// The studio's bpmnlint configuration, packed for the browser by hand (what bpmnlint-pack-config or a bundler
// plugin would generate): the rules are imported here, esbuild bundles them, and a StaticResolver hands them to
// the linter. `roles`: the directory's role names, for xieshang/lane-role.

import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';

import { laneRole, timerExpression, userTaskForm } from './lint-rules';

// bpmnlint's recommended rules that hold for our engine too. Left out: label-required (gateways and flows here
// often have no label), no-bpmndi (undrawn parts are kept as they are), no-inclusive-gateway and
// no-complex-gateway and no-gateway-join-fork (SpiffWorkflow runs them), no-implicit-start/-end and
// conditional-flows (the server's reachability lint covers paths), fake-join (the six-step process loops back
// into a task: SpiffWorkflow runs several flows into a task as an exclusive merge), no-overlapping-elements, superfluous-label,
// superfluous-termination, global, link-event.
var BPMNLINT = {
  'ad-hoc-sub-process': adHocSubProcess, 'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway, 'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'no-disconnected': noDisconnected, 'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'single-blank-start-event': singleBlankStartEvent, 'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired, 'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway
};
var WARN = { 'superfluous-gateway': true };
var OURS = { 'user-task-form': userTaskForm, 'lane-role': laneRole, 'timer-expression': timerExpression };

export default function lintConfig(roles) {
  var cache = {}, rules = {};
  Object.keys(BPMNLINT).forEach(function (name) {
    cache['rule:bpmnlint/' + name] = BPMNLINT[name];
    rules[name] = WARN[name] ? 'warn' : 'error';
  });
  Object.keys(OURS).forEach(function (name) {
    cache['rule:bpmnlint-plugin-xieshang/' + name] = OURS[name];
    rules['xieshang/' + name] = name === 'lane-role' ? ['warn', { roles: roles || null }] : 'warn';
  });
  return { config: { rules: rules }, resolver: new StaticResolver(cache) };
}

// Chinese for bpmnlint's words: the toggle button and the messages of the rules above (merged into studio/zh.js).
export var LINT_ZH = {
  'Toggle linting overlays': '显示/隐藏即时检查', 'No Issues': '未发现问题',
  '{errors} Errors, {warnings} Warnings': '{errors} 个错误，{warnings} 个警告',
  'Issues for child elements': '子元素的问题',
  'Process is missing start event': '流程缺少开始事件', 'Sub process is missing start event': '子流程缺少开始事件',
  'Process is missing end event': '流程缺少结束事件', 'Sub process is missing end event': '子流程缺少结束事件',
  'Element is not connected': '元素没有连线', 'SequenceFlow is a duplicate': '重复的顺序流',
  'Duplicate outgoing sequence flows': '出口顺序流重复', 'Duplicate incoming sequence flows': '入口顺序流重复',
  'Event has multiple event definitions': '事件有多个事件定义',
  'Gateway is superfluous. It only has one source and target.': '网关多余：只有一个来源和一个去向。',
  'An <Event-based Gateway> must have at least 2 outgoing <Sequence Flows>': '事件网关至少要有两条出口顺序流',
  'A <Sequence Flow> outgoing from an <Event-based Gateway> must not be conditional': '事件网关的出口顺序流不能带条件',
  'Start event must be blank': '子流程的开始事件不能带事件定义',
  'Process has multiple blank start events': '流程有多个空白开始事件',
  'Sub process has multiple blank start events': '子流程有多个空白开始事件',
  'Start event is missing event definition': '事件子流程的开始事件缺少事件定义',
  'A <Start Event> is not allowed in <Ad Hoc Sub Process>': '自由子流程中不能有开始事件',
  'An <End Event> is not allowed in <Ad Hoc Sub Process>': '自由子流程中不能有结束事件'
};
