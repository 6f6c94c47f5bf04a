"""The service-task operators a process may call, with the parameters each one reads, for the studio's modeler.

The engine's registry (engine/bpmn/operators.py) is the one list of operators and their parameters (names, which are
required): lint checks diagrams against it. What the values mean here is the domain's: `notify` is carried out by the
notification dispatcher (domain/notifications/dispatch.py), `publish` marks a consultation's results public
(domain/consultation/hooks.py), so this module words each parameter for process owners and falls back to the
engine's own description. Each parameter's value is a Python expression evaluated on the task's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.bpmn.operators import REGISTRY


@dataclass(frozen=True)
class Parameter:
    """One parameter an operator reads: its name, what it means (with the values it takes), whether it is needed."""

    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operator:
    """A service-task operator: its registered name, a label for people, and the parameters it reads."""

    name: str
    label: str
    parameters: tuple[Parameter, ...]


# What operators and their parameters mean for the county's processes (Chinese for the modeler; webui translates).
LABELS = {"notify": "发送通知", "publish": "公开协商成果"}
MEANINGS = {
    ("notify", "kind"): "通知类别：'reminder' 提醒、'escalation' 逾期督办、'declined' 不予受理、'completed' 办结、"
                        "'result' 办理结果",
    ("notify", "to"): "收件人（逗号分隔）：'assignee' 办理人、'supervisor' 督办人员、'county_leadership' 县政协领导、"
                      "'proposer' 提出人、'department' 承办单位、'user:用户名'、'角色@单位代码'",
    ("notify", "level"): "督办级别 0–2（逾期督办用）",
    ("notify", "step"): "方法步骤 0–6：通知该步骤的待办",
    ("notify", "message"): "通知正文（省略时按类别生成）",
    ("notify", "task_id"): "所涉任务：通知该任务的办理人",
    ("notify", "channels"): "只用这些渠道，如 ['sms']（省略时用全部已配置的渠道）",
    ("publish", "summary"): "公开的成果标题",
}


def catalogue(registered: Iterable[str]) -> list[Operator]:
    """The operators the engine has registered, in name order, with the parameters its registry lists (an operator
    outside the registry has none)."""
    found = []
    for name in sorted(registered):
        known = REGISTRY.get(name)
        parameters = () if known is None else tuple(
            Parameter(p.name, MEANINGS.get((name, p.name), p.description), p.required) for p in known.parameters)
        found.append(Operator(name, LABELS.get(name, known.description if known else name), parameters))
    return found
