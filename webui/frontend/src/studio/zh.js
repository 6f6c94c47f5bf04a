// Chinese for the modeler's own words (palette, context pad, properties panel): bpmn-js asks its `translate`
// service for each. Words not listed stay in English.

import { LINT_ZH } from './lint';

var ZH = {
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '框选工具',
  'Activate create/remove space tool': '插入/删除空白', 'Activate global connect tool': '连线工具',
  'Create start event': '开始事件', 'Create intermediate/boundary event': '中间/边界事件',
  'Create end event': '结束事件', 'Create gateway': '网关', 'Create task': '任务',
  'Create expanded sub-process': '展开的子流程', 'Create data object reference': '数据对象',
  'Create data store reference': '数据存储', 'Create pool/participant': '池/参与者', 'Create group': '分组',
  'Append end event': '接结束事件', 'Append gateway': '接网关', 'Append task': '接任务',
  'Append intermediate/boundary event': '接中间事件', 'Append timer intermediate catch event': '接定时等待',
  'Append message intermediate catch event': '接消息等待', 'Append signal intermediate catch event': '接信号等待',
  'Append conditional intermediate catch event': '接条件等待', 'Append receive task': '接接收任务',
  'Append compensation activity': '接补偿活动', 'Add text annotation': '添加注释',
  'Connect using sequence/message flow or association': '连线', 'Connect to other element': '连接到其他元素',
  'Connect using association': '用关联连接', 'Connect using data input association': '用数据输入关联连接',
  'Change element': '更改类型', 'Delete': '删除', 'Search in diagram': '在图中搜索',
  'Add lane above': '在上方添加泳道', 'Add lane below': '在下方添加泳道',
  'Divide into two lanes': '分为两条泳道', 'Divide into three lanes': '分为三条泳道',
  'General': '基本', 'Documentation': '说明', 'Name': '名称', 'ID': 'ID', 'Process ID': '流程 ID',
  'Process name': '流程名称', 'Participant Name': '参与者名称', 'Executable': '可执行',
  'Element documentation': '元素说明', 'Process documentation': '流程说明', 'Multi-instance': '多实例',
  'Loop cardinality': '循环次数', 'Completion condition': '完成条件', 'Timer': '定时', 'Type': '类型',
  'Value': '值', 'Message': '消息', 'Signal': '信号', 'Error': '错误', 'Escalation': '升级', 'Link': '链接',
  'Compensation': '补偿', 'Code': '代码', '<none>': '（无）', 'Create new ...': '新建…',
  'Global message reference': '消息', 'Global signal reference': '信号', 'Global error reference': '错误',
  'Global escalation reference': '升级', 'Wait for completion': '等待完成', 'Activity reference': '活动',
  'ID must be unique.': 'ID 不能重复。', 'ID must not be empty.': 'ID 不能为空。',
  'ID must not contain spaces.': 'ID 不能包含空格。', 'ID must be a valid QName.': 'ID 须为合法的 XML 名称。',
  'ID must not contain prefix.': 'ID 不能带前缀。',
  'Select an element to edit its properties.': '选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single element to edit its properties.': '选中了多个元素。选择一个元素以编辑其属性。',
  'User Task': '用户任务', 'Service Task': '服务任务', 'Business Rule Task': '业务规则任务',
  'Script Task': '脚本任务', 'Manual Task': '人工任务', 'Send Task': '发送任务', 'Receive Task': '接收任务',
  'Task': '任务', 'Call Activity': '调用活动', 'Sub Process': '子流程', 'Transaction': '事务',
  'Start Event': '开始事件', 'End Event': '结束事件', 'Intermediate Throw Event': '中间抛出事件',
  'Intermediate Catch Event': '中间捕获事件', 'Boundary Event': '边界事件',
  'Timer Start Event': '定时开始事件', 'Timer Intermediate Catch Event': '定时等待事件',
  'Timer Boundary Event': '定时边界事件', 'Message Start Event': '消息开始事件',
  'Exclusive Gateway': '排他网关', 'Parallel Gateway': '并行网关', 'Inclusive Gateway': '包容网关',
  'Event Based Gateway': '事件网关', 'Sequence Flow': '顺序流', 'Lane': '泳道', 'Participant': '参与者',
  'Collaboration': '协作', 'Process': '流程', 'Text Annotation': '注释', 'Group': '分组',
  'Data Object Reference': '数据对象', 'Data Store Reference': '数据存储'
};

Object.assign(ZH, LINT_ZH);

export default function translator(lang) {
  var table = lang && lang.indexOf('zh') === 0 ? ZH : {};
  return function translate(template, replacements) {
    var text = table[template] || template;
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return replacements && key in replacements ? replacements[key] : '{' + key + '}';
    });
  };
}
