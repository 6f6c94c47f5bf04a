"""The service-task operators a process may call, with the parameters each one reads, for the studio's modeler.

The engine registers the operators' names (engine/store/versions.py OPERATORS) and refuses a diagram that calls
another; what each operator reads from its parameters is the domain's: `notify` is carried out by the notification
dispatcher (domain/notifications/dispatch.py), `publish` marks a consultation's results public
(domain/consultation/hooks.py). Each parameter's value is a Python expression evaluated on the task's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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


# What each operator reads (Chinese for the modeler; webui translates), by the operator's registered name.
_KNOWN = {op.name: op for op in (
    Operator("notify", "发送通知", (
        Parameter("kind", "通知类别：'reminder' 提醒、'escalation' 逾期督办、'declined' 不予受理、'completed' 办结、"
                          "'result' 办理结果", True),
        Parameter("to", "收件人（逗号分隔）：'assignee' 办理人、'supervisor' 督办人员、'county_leadership' 县政协领导、"
                        "'proposer' 提出人、'department' 承办单位、'user:用户名'、'角色@单位代码'", True),
        Parameter("level", "督办级别 0–2（逾期督办用）"),
        Parameter("step", "方法步骤 0–6：通知该步骤的待办"),
        Parameter("message", "通知正文（省略时按类别生成）"),
    )),
    Operator("publish", "公开协商成果", (
        Parameter("summary", "公开的成果标题", True),
    )),
)}


def catalogue(registered: Iterable[str]) -> list[Operator]:
    """The operators the engine has registered, in name order; one without a description here has no parameters."""
    return [_KNOWN.get(name, Operator(name, name, ())) for name in sorted(registered)]
